//! The `void schedule` and `void causal` contract: happy paths and exit-2 cases.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

fn void(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_void")).args(args).output().expect("run void")
}

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples").join(name);
    path.to_string_lossy().into_owned()
}

/// A fresh path in the temp dir (the file is not created).
fn temp(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("void-sched-causal-{}-{n}-{name}", std::process::id()))
}

fn write(name: &str, body: &str) -> String {
    let path = temp(name);
    std::fs::write(&path, body).expect("write temp file");
    path.to_string_lossy().into_owned()
}

/// Exit 0 and the JSON object on the last stdout line.
fn ok_json(args: &[&str]) -> Value {
    let out = void(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "void {args:?} failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}"))
}

/// Exit 2 with `needle` in the message.
fn bad_input(args: &[&str], needle: &str) {
    let out = void(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "void {args:?}: {stderr}");
    assert!(stderr.contains(needle), "void {args:?}: expected {needle:?} in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn schedule_reports_assignment_energy_and_terms() {
    let input = example("schedule-8x3.json");
    let exact = ok_json(&["schedule", "--input", &input, "--solver", "exact", "--json"]);
    let anneal = ok_json(&["schedule", "--input", &input, "--seed", "3", "--json"]);
    let greedy = ok_json(&["schedule", "--input", &input, "--solver", "greedy", "--json"]);
    for v in [&exact, &anneal, &greedy] {
        assert_eq!(v["assignment"].as_object().map(|m| m.len()), Some(8), "{v}");
        let t = &v["terms"];
        // Weights of the example: overload 10, communication 1, imbalance 0.5.
        let e = 10.0 * number(t, "overload") + number(t, "communication") + 0.5 * number(t, "imbalance");
        assert!((e - number(v, "energy")).abs() < 1e-9, "{v}");
        assert!(number(v, "millis") >= 0.0);
        assert!(number(v, "energy") >= number(&exact, "energy") - 1e-9);
    }
    // The annealer finds the optimum of this small instance.
    assert!((number(&anneal, "energy") - number(&exact, "energy")).abs() < 1e-9);
    // The example gives its weights; a problem without them is told what it gets.
    let said =
        |path: &str| String::from_utf8_lossy(&void(&["schedule", "--input", path]).stderr).into_owned();
    assert!(!said(&input).contains("no \"weights\""));
    let bare =
        write("bare.json", r#"{"tasks":[{"id":"t1","cpu":1,"mem":1}],"nodes":[{"id":"n","cpu":2,"mem":2}]}"#);
    assert!(said(&bare).contains("gives no \"weights\"; overload, communication and imbalance weigh 1 each"));
    // Same seed, same answer.
    let again = ok_json(&["schedule", "--input", &input, "--seed", "3", "--json"]);
    assert_eq!(again["assignment"], anneal["assignment"]);
    assert_eq!(again["steps"], anneal["steps"]);
}

#[test]
fn schedule_trace_time_budget_and_ising_export() {
    let input = example("schedule-8x3.json");
    let v = ok_json(&["schedule", "--input", &input, "--trace", "--json"]);
    let trace = v["trace"].as_array().expect("trace");
    assert!(!trace.is_empty() && trace.len() <= 500, "{}", trace.len());
    assert!(trace.iter().all(|p| p.as_array().is_some_and(|p| p.len() == 2 && p[1].is_f64())));
    let timed = ok_json(&["schedule", "--input", &input, "--time-ms", "20", "--json"]);
    assert!(timed["steps"].as_u64().is_some_and(|s| s > 0), "{timed}");
    let ising = temp("ising.json");
    let ising_arg = ising.to_string_lossy().into_owned();
    ok_json(&["schedule", "--input", &input, "--solver", "greedy", "--export-ising", &ising_arg, "--json"]);
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(&ising).expect("ising file")).expect("json");
    assert_eq!(model["format"], "void-ising/1");
    let spins = model["spins"].as_array().expect("spins");
    assert_eq!(spins.len(), model["h"].as_array().map(Vec::len).unwrap_or(0));
    assert_eq!(spins.iter().filter(|s| s["kind"] == "assign").count(), 24);
    assert!(model["J"].as_array().is_some_and(|j| !j.is_empty()));
    assert!(model["offset"].is_f64());
    let _ = std::fs::remove_file(ising);
}

#[test]
fn schedule_bad_input_exits_2() {
    bad_input(&["schedule", "--input", "/nonexistent/problem.json"], "cannot read problem file");
    let unknown = write(
        "unknown.json",
        r#"{"tasks":[{"id":"t1","cpu":1,"mem":1}],"nodes":[{"id":"n","cpu":2,"mem":2}],
           "links":[{"a":"t1","b":"t9","weight":1}]}"#,
    );
    bad_input(&["schedule", "--input", &unknown], r#"link 0 names unknown task "t9""#);
    let typed = write("typed.json", r#"{"tasks":[{"id":"t1","cpu":"x","mem":1}],"nodes":[]}"#);
    bad_input(&["schedule", "--input", &typed], "tasks[0].cpu");
    let negative = write("negative.json", r#"{"tasks":[],"nodes":[{"id":"n","cpu":-2,"mem":2}]}"#);
    bad_input(&["schedule", "--input", &negative], r#"node "n" cpu is -2"#);
    let big: Vec<String> = (0..13).map(|i| format!(r#"{{"id":"t{i}","cpu":1,"mem":1}}"#)).collect();
    let big = write(
        "big.json",
        &format!(r#"{{"tasks":[{}],"nodes":[{{"id":"n","cpu":20,"mem":20}}]}}"#, big.join(",")),
    );
    bad_input(&["schedule", "--input", &big, "--solver", "exact"], "at most 12 tasks and 4 nodes");
    let input = example("schedule-8x3.json");
    bad_input(&["schedule", "--input", &input, "--time-ms", "0"], "--time-ms");
    bad_input(&["schedule", "--input", &input, "--solver", "greedy", "--trace"], "--trace");
    bad_input(&["schedule", "--input", &input, "--solver", "quantum"], "quantum");
}

#[test]
fn causal_query_distinguishes_seeing_from_doing() {
    let model = example("causal-confounder.json");
    // P(API = 1 | extra...), as the JSON reports it.
    let p_api = |extra: &[&str]| {
        let mut args = vec!["causal", "query", "--model", model.as_str(), "--target", "API", "--json"];
        args.extend_from_slice(extra);
        number(&ok_json(&args), "probability")
    };
    let (p_seen, p_done) = (p_api(&["--given", "DB=1"]), p_api(&["--do", "DB=1"]));
    let by_hand = 1.0 - 0.98 * 0.5 * (1.0 - 0.6 * 0.1);
    assert!((p_done - by_hand).abs() < 1e-12, "{p_done} vs {by_hand}");
    assert!(p_seen > p_done + 0.05, "{p_seen} vs {p_done}");
    // Several settings in one flag, as --failed takes its nodes.
    let listed = p_api(&["--given", "DB=1,Network=0"]);
    let apart = p_api(&["--given", "DB=1", "--given", "Network=0"]);
    assert_eq!(listed, apart);
    let plain = void(&["causal", "query", "--model", &model, "--target", "API"]);
    let p: f64 = String::from_utf8_lossy(&plain.stdout).trim().parse().expect("a number");
    assert!((0.0..=1.0).contains(&p));
}

#[test]
fn causal_root_cause_and_learn() {
    let model = example("causal-confounder.json");
    let v = ok_json(&["causal", "root-cause", "--model", &model, "--failed", "DB,API", "--json"]);
    let ranking = v["ranking"].as_array().expect("ranking");
    assert_eq!(ranking.len(), 2);
    assert!(number(&ranking[0], "score") >= number(&ranking[1], "score"));
    let root_cause = |failed: &str, unobserved: &str| {
        ok_json(&[
            "causal",
            "root-cause",
            "--model",
            &model,
            "--failed",
            failed,
            "--unobserved",
            unobserved,
            "--json",
        ])
    };
    let v = root_cause("Network,DB", "API");
    assert_eq!(v["ranking"][0]["node"], "Network");
    assert_eq!(number(&v["ranking"][0], "score"), 1.0);
    // A node not observed is scored beside the ranking: the confounder of two failures.
    let v = root_cause("API,DB", "Network");
    assert_eq!(v["ranking"].as_array().expect("ranking").len(), 2, "only failed nodes are ranked");
    assert_eq!(v["unobserved"][0]["node"], "Network");
    let hidden = number(&v["unobserved"][0], "score");
    assert!(hidden > number(&v["ranking"][0], "score"), "Network explains both failures: {v}");

    let out = temp("learned.json");
    let out_arg = out.to_string_lossy().into_owned();
    let incidents = example("causal-incidents.jsonl");
    let v = ok_json(&[
        "causal",
        "learn",
        "--model",
        &model,
        "--incidents",
        &incidents,
        "--out",
        &out_arg,
        "--json",
    ]);
    assert!(number(&v, "log_likelihood") < 0.0);
    assert!(v["iterations"].as_u64().is_some_and(|i| i >= 1));
    assert_eq!(v["model"]["nodes"].as_array().map(Vec::len), Some(3));
    // The written model loads again.
    ok_json(&["causal", "query", "--model", &out_arg, "--target", "API", "--json"]);
    let _ = std::fs::remove_file(out);
}

#[test]
fn causal_bad_input_exits_2() {
    let model = example("causal-confounder.json");
    let q = |extra: &[&str]| {
        let mut args = vec!["causal", "query", "--model", model.as_str(), "--target", "API"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, needle: &str| {
        bad_input(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle)
    };
    run(q(&["--given", "DB=2"]), "must be 1 (failed) or 0 (healthy)");
    run(q(&["--given", "DB"]), "expected NODE=1");
    run(q(&["--given", "Nope=1"]), r#"unknown node "Nope""#);
    run(q(&["--do", "Nope=0"]), r#"unknown node "Nope""#);
    run(q(&["--given", "DB=0", "--do", "DB=1"]), "--do DB=1 and --given DB=0");
    bad_input(
        &["causal", "root-cause", "--model", &model, "--failed", "API", "--unobserved", "API"],
        "both --failed and --unobserved",
    );
    bad_input(&["causal", "query", "--model", &model, "--target", "Nope"], r#"unknown node "Nope""#);
    let cyclic = write(
        "cycle.json",
        r#"{"nodes":[{"name":"A","prior":0.1},{"name":"B","prior":0.1}],
           "edges":[{"from":"A","to":"B","weight":0.5},{"from":"B","to":"A","weight":0.5}]}"#,
    );
    bad_input(&["causal", "query", "--model", &cyclic, "--target", "A"], "cycle: ");
    let prior = write("prior.json", r#"{"nodes":[{"name":"A","prior":1.5}]}"#);
    bad_input(&["causal", "query", "--model", &prior, "--target", "A"], r#"prior of node "A" is 1.5"#);
    let zero = write("zero.json", r#"{"nodes":[{"name":"A","prior":0},{"name":"B","prior":0.3}]}"#);
    bad_input(&["causal", "query", "--model", &zero, "--target", "B", "--given", "A=1"], "probability zero");
    bad_input(&["causal", "root-cause", "--model", &model, "--failed", "DB,Nope"], r#"unknown node "Nope""#);
    let incidents = write("bad.jsonl", "{\"failed\":[\"DB\"]}\n{\"failed\":[\"Nope\"]}\n");
    bad_input(&["causal", "learn", "--model", &model, "--incidents", &incidents], "line 2");
    bad_input(
        &["causal", "learn", "--model", &model, "--incidents", "/nonexistent.jsonl"],
        "cannot read incidents file",
    );
}
