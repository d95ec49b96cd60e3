//! The `void sim` command-line contract: JSON shape, exit codes, replay commands.

use std::process::{Command, Output};

use serde_json::Value;

fn void(args: &[&str]) -> Option<Output> {
    let Some(bin) = void_tests::void_bin() else {
        eprintln!(
            "skipped: no void binary (build with `cargo build --release -p void-node` or set VOID_BIN)"
        );
        return None;
    };
    Some(Command::new(bin).args(args).output().expect("void runs"))
}

fn last_json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no stdout; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

#[test]
fn single_run_json_has_the_contract_fields_and_is_deterministic() {
    let Some(a) = void(&["sim", "hlc-ping", "--seed", "7", "--json"]) else { return };
    assert_eq!(a.status.code(), Some(0));
    let a = last_json(&a);
    for key in [
        "scenario",
        "seed",
        "nodes",
        "events",
        "messages_delivered",
        "virtual_time_ms",
        "violations",
        "failing_seeds",
        "trace_hash",
        "metrics",
    ] {
        assert!(a.get(key).is_some(), "missing {key} in {a}");
    }
    let b = last_json(&void(&["sim", "hlc-ping", "--seed", "7", "--json"]).unwrap());
    let c = last_json(&void(&["sim", "hlc-ping", "--seed", "8", "--json"]).unwrap());
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_ne!(a["trace_hash"], c["trace_hash"]);
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(void_tests::golden_path()).unwrap()).unwrap();
    assert_eq!(a["trace_hash"], golden["hlc-ping/7"], "the CLI and the library disagree");
}

#[test]
fn a_plain_run_shows_the_protocol_metrics_the_json_has() {
    let Some(plain) = void(&["sim", "pbft-normal", "--seed", "2"]) else { return };
    assert_eq!(plain.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&plain.stderr);
    let json = last_json(&void(&["sim", "pbft-normal", "--seed", "2", "--json"]).unwrap());
    let committed = json["metrics"]["committed_ops"].as_f64().unwrap();
    assert!(committed > 0.0);
    assert!(stderr.contains(&format!("committed_ops {committed:.0},")), "{stderr}");
    assert!(stderr.contains("view_changes "), "{stderr}");
    let many = void(&["sim", "pbft-normal", "--seeds", "1..2"]).unwrap();
    assert!(String::from_utf8_lossy(&many.stderr).contains("metrics (mean per run):"));
}

#[test]
fn seed_ranges_aggregate_and_report_no_violations() {
    let Some(out) = void(&["sim", "clock-skew", "--seeds", "1..40", "--json"]) else { return };
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = last_json(&out);
    assert_eq!(v["seeds"], "1..40");
    assert_eq!(v["runs"], 40);
    assert_eq!(v["failing_seeds"].as_array().unwrap().len(), 0);
    assert_eq!(v["trace_hash"].as_str().unwrap().len(), 64);
    assert!(v["metrics"]["stamps_refused"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_broken_clock_exits_1_with_a_replay_command_that_reproduces_it() {
    let Some(out) = void(&["sim", "hlc-ping", "--seeds", "1..3", "--param", "clock=ignore-remote", "--json"])
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let v = last_json(&out);
    let violations = v["violations"].as_array().unwrap();
    assert!(!violations.is_empty());
    let replay = violations[0]["replay"].as_str().unwrap();
    assert!(replay.starts_with("void sim hlc-ping --seed "), "{replay}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(replay), "the replay command is printed on stderr");
    // Replaying the printed command gives the same violation.
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let mut args = args;
    args.push("--json");
    let again = void(&args).unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(last_json(&again)["violations"][0]["step"], violations[0]["step"]);
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("void-cli-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_nodes = dir.join("bad-nodes.json");
    std::fs::write(&bad_nodes, r#"{"name":"x","protocol":"hlc-ping","nodes":0,"duration_ms":5}"#).unwrap();
    let bad_json = dir.join("bad-syntax.json");
    std::fs::write(&bad_json, "{ not json").unwrap();
    let bad_loss = dir.join("bad-loss.json");
    std::fs::write(
        &bad_loss,
        r#"{"name":"x","protocol":"hlc-ping","nodes":3,"duration_ms":5,"network":{"loss":2}}"#,
    )
    .unwrap();
    let bad_behaviour = dir.join("bad-behaviour.json");
    std::fs::write(
        &bad_behaviour,
        r#"{"name":"x","protocol":"hlc-ping","nodes":3,"duration_ms":50,
            "faults":[{"kind":"misbehave","at_ms":1,"node":0,"behaviour":"ignore-remot"}]}"#,
    )
    .unwrap();
    let late_fault = dir.join("late-fault.json");
    std::fs::write(
        &late_fault,
        r#"{"name":"x","protocol":"hlc-ping","nodes":3,"duration_ms":100,
            "faults":[{"kind":"crash","at_ms":500,"node":1}]}"#,
    )
    .unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["sim".into(), empty.display().to_string()], "the file is empty"),
        (vec!["sim".into(), "no-such-scenario".into()], "no-such-scenario"),
        (vec!["sim".into(), "hlc-pnig".into()], "did you mean \"hlc-ping\"?"),
        (vec!["sim".into(), "pbft".into()], "begin so: pbft-normal, "),
        (vec!["sim".into(), late_fault.display().to_string()], "after the run ends"),
        (vec!["sim".into(), "hlc-ping".into(), "--nodes".into(), "99999999999".into()], "1..=10000"),
        (vec!["sim".into(), "hlc-ping".into(), "--nodes".into(), "2".into()], "use at least"),
        (vec!["sim".into(), bad_behaviour.display().to_string()], "faults[0].behaviour"),
        (vec!["sim".into(), bad_nodes.display().to_string()], "nodes"),
        (vec!["sim".into(), bad_json.display().to_string()], "JSON"),
        (vec!["sim".into(), bad_loss.display().to_string()], "network.loss"),
        (vec!["sim".into(), "hlc-ping".into(), "--param".into(), "reply=3".into()], "params.reply"),
        (vec!["sim".into(), "hlc-ping".into(), "--param".into(), "noequals".into()], "KEY=VALUE"),
        (vec!["sim".into(), "hlc-ping".into(), "--seeds".into(), "9..2".into()], "empty"),
        (vec!["sim".into(), "hlc-ping".into(), "--nodes".into(), "0".into()], "nodes"),
        (vec!["sim".into(), "hlc-ping".into(), "--seed".into(), "x".into()], "--seed"),
        (
            vec!["sim".into(), "hlc-ping".into(), "--seed".into(), "-1".into()],
            "a seed is a whole number from 0",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some(out) = void(&args) else { return };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_run_cut_short_by_max_events_says_so() {
    let dir = std::env::temp_dir().join(format!("void-cli-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.json");
    std::fs::write(
        &short,
        r#"{"name":"short","protocol":"hlc-ping","nodes":3,"duration_ms":1000,"max_events":50}"#,
    )
    .unwrap();
    let path = short.display().to_string();
    let Some(out) = void(&["sim", &path, "--seed", "1", "--json"]) else { return };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("max_events = 50") && stderr.contains("did not run"), "{stderr}");
    assert_eq!(last_json(&out)["event_limit_reached"], true);
    let Some(out) = void(&["sim", &path, "--seeds", "1..4", "--json"]) else { return };
    assert!(String::from_utf8_lossy(&out.stderr).contains("seeds [1, 2, 3, 4]"));
    assert_eq!(last_json(&out)["event_limit_seeds"], serde_json::json!([1, 2, 3, 4]));
    let Some(out) = void(&["sim", "hlc-ping", "--seed", "1", "--json"]) else { return };
    assert!(!String::from_utf8_lossy(&out.stderr).contains("max_events"));
    assert_eq!(last_json(&out)["event_limit_reached"], false);
}

#[test]
fn list_names_every_builtin_with_a_summary() {
    let Some(out) = void(&["sim", "--list"]) else { return };
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in void_core::sim::builtin_names() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(line.split_whitespace().count() > 2, "{name} has no summary: {line}");
    }
    let Some(out) = void(&["sim", "--list", "--json"]) else { return };
    let names: Vec<String> = last_json(&out)["scenarios"]
        .as_array()
        .expect("a scenarios array")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, void_core::sim::builtin_names());
    // A run's arguments beside --list are a mistake, not silently dropped.
    let Some(out) = void(&["sim", "hlc-ping", "--list"]) else { return };
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn dump_trace_writes_one_json_event_per_line() {
    let path = std::env::temp_dir().join(format!("void-trace-{}.jsonl", std::process::id()));
    let Some(out) =
        void(&["sim", "hlc-ping", "--seed", "3", "--dump-trace", path.to_str().unwrap(), "--json"])
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0));
    let events = last_json(&out)["events"].as_u64().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count() as u64, events);
    for line in text.lines().take(50) {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v.get("index").is_some() && v.get("kind").is_some(), "{line}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn dump_trace_is_the_shared_writer_and_reads_back_to_the_trace_hash() {
    use void_core::sim;
    let path = std::env::temp_dir().join(format!("void-trace-bytes-{}.jsonl", std::process::id()));
    let Some(out) =
        void(&["sim", "pbft-byzantine", "--seed", "4", "--dump-trace", path.to_str().unwrap(), "--json"])
    else {
        return;
    };
    let summary = last_json(&out);
    let written = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let scenario = sim::Scenario::from_json(sim::load_builtin("pbft-byzantine").unwrap()).unwrap();
    let mut run = sim::build(&scenario, 4, true).unwrap();
    run.run_to_end();
    // The playground exports with `trace_jsonl` too: the same bytes for the same run.
    assert!(written == sim::trace_jsonl(&*run).into_bytes(), "the CLI and the shared writer differ");
    let text = String::from_utf8(written).unwrap();
    let (events, hash) = sim::rehash_trace("pbft", &text).unwrap();
    assert_eq!(Some(events), summary["events"].as_u64());
    assert_eq!(Some(hash.as_str()), summary["trace_hash"].as_str());
}

#[test]
fn bench_sim_reports_the_single_thread_and_the_all_threads_rate() {
    let Some(out) = void(&["bench", "sim", "hlc-ping", "--min-ms", "1", "--threads", "2", "--json"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = last_json(&out);
    assert!(v["deliveries_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{v}");
    assert_eq!(v["all_threads"]["threads"], 2, "{v}");
    assert!(v["all_threads"]["deliveries_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{v}");
    assert!(v["all_threads"]["messages_delivered"].as_u64().is_some_and(|d| d > 0), "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("one thread:") && stderr.contains("2 threads at once"), "{stderr}");

    let Some(single) = void(&["bench", "sim", "hlc-ping", "--min-ms", "1", "--threads", "1", "--json"])
    else {
        return;
    };
    assert!(last_json(&single)["all_threads"].is_null());
}

#[test]
fn output_to_a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error_not_a_panic() {
    let Some(bin) = void_tests::void_bin() else { return };
    // The reader is gone before the program starts, so its first write fails with EPIPE.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(&bin)
        .args(["sim", "hlc-ping", "--seeds", "1..2", "--json"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("void runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    if std::path::Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full opens");
        let out = Command::new(&bin).args(["sim", "--list"]).stdout(full).output().expect("void runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("writing to standard output"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn client_input_errors_exit_2_before_any_connection() {
    let dir = std::env::temp_dir().join(format!("void-cli-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Nothing is dialled: every case fails on the input (the ports are not listened on).
    let mut cluster = String::new();
    for (i, key) in [
        "e9b56164338313bbb1bea16c6caf43760a54ac4bbfc1c8c9361b8a881ad28d58",
        "19bf73b8c1b336ba02002ed98421bb596d1d605f15825e14eb40c5266fbb592d",
        "19cb6f2720ebb0332fb3004ee3a008d6621b09511ef899b8f5b7847625c44b3d",
        "67a0686175d9904ddaddbbe051804cb97d522f39f1af44781cc004e1ee774c88",
    ]
    .iter()
    .enumerate()
    {
        cluster.push_str(&format!(
            "[[replicas]]\nid = {i}\naddr = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{}\"\nkey = \"{key}\"\n\n",
            i + 1,
            i + 11
        ));
    }
    let cluster_file = dir.join("cluster.toml");
    std::fs::write(&cluster_file, cluster).unwrap();
    let Some(minted) = void(&["macaroon", "mint", "--root-key", "k", "--id", "admin"]) else { return };
    assert_eq!(minted.status.code(), Some(0));
    let good = dir.join("good.macaroon");
    std::fs::write(&good, &minted.stdout).unwrap();
    let garbage = dir.join("garbage.macaroon");
    std::fs::write(&garbage, "AgEEdGVzdAIE").unwrap();
    let (c, g, t) =
        (cluster_file.display().to_string(), good.display().to_string(), garbage.display().to_string());
    let at_good = format!("@{g}");
    let long_value = "x".repeat(5000);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--token", &t, "get", "k"], "token file"),
        (vec!["--token", &g, "put", "k", &long_value], "VALUE is 5000 bytes"),
        (vec!["--token", &g, "cas", "k", "-", &long_value], "NEW is 5000 bytes"),
        (vec!["--token", &g, "--timeout", "0", "get", "k"], "--timeout"),
        (vec!["--token", &g, "get", "k", "--at", "yesterday"], "expected an HLC timestamp"),
        (vec!["--token", &g, "get", "k", "--at", "1795801179445984.1@9"], "node 9 is not a replica"),
        // `@FILE`, as the macaroon commands take it, reads the same file.
        (vec!["--token", &at_good, "--timeout", "0", "get", "k"], "--timeout"),
    ];
    for (rest, needle) in cases {
        let mut args = vec!["client", "--cluster", &c];
        args.extend(rest);
        let Some(out) = void(&args) else { return };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
        assert!(!stderr.contains("replica 0"), "{args:?} dialled a replica: {stderr}");
    }
    // No cluster file, or its directory instead: what to pass.
    let d = dir.display().to_string();
    let missing = dir.join("nothing.toml").display().to_string();
    for (cluster, needle) in [(&missing, "void cluster up"), (&d, "cluster.toml")] {
        let out = void(&["client", "--cluster", cluster, "--token", &g, "get", "k"]).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
    }
    // Valid input, nobody listening: with --json the failure is a JSON line too.
    let out =
        void(&["client", "--cluster", &c, "--token", &g, "--timeout", "1", "get", "k", "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(last_json(&out)["error"].as_str().is_some_and(|e| e.contains("no replica answered")));
}

#[test]
fn node_keygen_creates_a_private_key_file_once_and_prints_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let Some(first) = void(&["node", "--keygen", d]) else { return };
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let public = String::from_utf8_lossy(&first.stdout).trim().to_string();
    assert!(public.len() == 64 && public.chars().all(|c| c.is_ascii_hexdigit()), "{public}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("node.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let second = void(&["node", "--keygen", d]).unwrap();
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), public, "the key is kept, not replaced");
    let missing = void(&["node", "--keygen", dir.path().join("nope").to_str().unwrap()]).unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn a_caveat_no_verifier_could_accept_is_refused_and_a_foreign_one_noted() {
    let Some(out) =
        void(&["macaroon", "mint", "--root-key", "k", "--id", "a", "--caveat", "time < tomorrow"])
    else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a UNIX time"), "{stderr}");
    let out = void(&["macaroon", "mint", "--root-key", "k", "--id", "a", "--caveat", "tier = gold"]).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside Void's caveat language"));
}

#[test]
fn simulated_failures_become_incidents_that_causal_learn_reads() {
    let dir = tempfile::tempdir().unwrap();
    let incidents = dir.path().join("incidents.jsonl");
    let inc = incidents.to_str().unwrap();
    // A crashed primary: one run, one line naming it.
    let Some(out) = void(&["sim", "pbft-primary-crash", "--seed", "3", "--incidents", inc]) else { return };
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Two Byzantine replicas of four: agreement breaks, and each line says so.
    let out = void(&["sim", "pbft-too-many-faults", "--seeds", "1..3", "--incidents", inc]).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // Said before any result: the scenario breaks PBFT's fault assumption on purpose.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("note: 2 replicas turn Byzantine in this scenario (0, 3), more than f = 1"),
        "{said}"
    );
    let text = std::fs::read_to_string(&incidents).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0]["failed"], serde_json::json!(["node-0"]), "{text}");
    for l in &lines[1..] {
        let failed: Vec<&str> = l["failed"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert!(failed.iter().filter(|f| f.starts_with("node-")).count() >= 2, "{text}");
        assert!(failed.iter().any(|f| f.starts_with("invariant:")), "{text}");
    }
    // Every name in the file as a node of a model: learn reads the file.
    let mut names: Vec<String> = lines
        .iter()
        .flat_map(|l| l["failed"].as_array().unwrap().iter().filter_map(Value::as_str).map(String::from))
        .collect();
    names.sort();
    names.dedup();
    let nodes: Vec<Value> = names.iter().map(|n| serde_json::json!({"name": n, "prior": 0.2})).collect();
    let model = dir.path().join("model.json");
    std::fs::write(&model, serde_json::json!({"nodes": nodes, "edges": []}).to_string()).unwrap();
    let out =
        void(&["causal", "learn", "--model", model.to_str().unwrap(), "--incidents", inc, "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(last_json(&out)["incidents"], 4);
}

#[test]
fn binding_a_discharge_to_a_token_without_third_party_caveats_is_refused() {
    let Some(root) = void(&["macaroon", "mint", "--root-key", "k", "--id", "admin"]) else { return };
    let root = String::from_utf8_lossy(&root.stdout).trim().to_string();
    let with_tp = void(&[
        "macaroon",
        "add-third-party",
        "--token",
        &root,
        "--location",
        "auth",
        "--caveat-key",
        "ck",
        "--id",
        "user-is-alice",
    ])
    .unwrap();
    assert_eq!(with_tp.status.code(), Some(0), "{}", String::from_utf8_lossy(&with_tp.stderr));
    let with_tp = String::from_utf8_lossy(&with_tp.stdout).trim().to_string();
    let discharge =
        void(&["macaroon", "discharge", "--caveat-key", "ck", "--id", "user-is-alice", "--location", "auth"])
            .unwrap();
    assert_eq!(discharge.status.code(), Some(0), "{}", String::from_utf8_lossy(&discharge.stderr));
    let discharge = String::from_utf8_lossy(&discharge.stdout).trim().to_string();
    let ok = void(&["macaroon", "bind", "--token", &with_tp, "--discharge", &discharge]).unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    // The same two, swapped: the discharge has no third-party caveat to bind to.
    let swapped = void(&["macaroon", "bind", "--token", &discharge, "--discharge", &with_tp]).unwrap();
    let stderr = String::from_utf8_lossy(&swapped.stderr);
    assert_eq!(swapped.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("swapped"), "{stderr}");
}
