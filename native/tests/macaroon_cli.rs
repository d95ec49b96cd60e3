//! `void macaroon` against its command-line contract: outputs and exit codes 0/1/2.

use std::path::PathBuf;
use std::process::{Command, Output};

fn void(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(args)
        .env_remove("VOID_ROOT_KEY")
        .output()
        .expect("run void")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn ok(args: &[&str]) -> String {
    let o = void(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    stdout(&o)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("void-macaroon-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const KEY: &str = "this is our super secret key; only we should know it";

#[test]
fn mint_matches_the_published_v1_vector() {
    let t = ok(&[
        "macaroon",
        "mint",
        "--root-key",
        KEY,
        "--id",
        "we used our secret key",
        "--location",
        "http://mybank/",
        "--format",
        "v1",
    ]);
    assert_eq!(
        t,
        "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo"
    );
}

#[test]
fn verify_reports_valid_and_invalid_with_exit_codes() {
    let t = ok(&[
        "macaroon",
        "mint",
        "--root-key",
        "k",
        "--id",
        "id1",
        "--caveat",
        "op = read",
        "--caveat",
        "time < 1700000000",
    ]);
    let verify = |extra: &[&str]| {
        let mut args = vec!["macaroon", "verify", "--root-key", "k", "--token", &t, "--context", "op=read"];
        args.extend_from_slice(extra);
        void(&args)
    };
    let o = verify(&["--now", "1600000000"]);
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), "valid".to_string()));
    let o = verify(&["--now", "1700000500"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "invalid: caveat \"time < 1700000000\" not satisfied: now is 1700000500");
    let o = void(&["macaroon", "verify", "--root-key", "wrong", "--token", &t, "--now", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("invalid: signature of macaroon \"id1\" does not match"));
}

#[test]
fn attenuated_token_is_narrower_and_keeps_its_format() {
    let t = ok(&["macaroon", "mint", "--root-key", "k", "--id", "id", "--format", "v2json"]);
    let a = ok(&["macaroon", "attenuate", "--token", &t, "--caveat", "user = alice"]);
    assert!(a.starts_with('{'));
    let v = |user: &str| {
        void(&["macaroon", "verify", "--root-key", "k", "--token", &a, "--context", user]).status.code()
    };
    assert_eq!(v("user=alice"), Some(0));
    assert_eq!(v("user=bob"), Some(1));
}

#[test]
fn third_party_flow_from_files_and_env_key() {
    let dir = scratch("tp");
    let key_file = dir.join("root.key");
    std::fs::write(&key_file, "root secret\n").unwrap();
    let caveat_key = dir.join("caveat.key");
    std::fs::write(&caveat_key, "shared with auth").unwrap();
    let kf = key_file.to_str().unwrap();
    let t = ok(&["macaroon", "mint", "--root-key-file", kf, "--id", "root", "--format", "v1"]);
    let t = ok(&[
        "macaroon",
        "add-third-party",
        "--token",
        &t,
        "--location",
        "void://auth",
        "--caveat-key-file",
        caveat_key.to_str().unwrap(),
        "--id",
        "is-alice",
    ]);
    let token_file = dir.join("token");
    std::fs::write(&token_file, &t).unwrap();
    let at_token = format!("@{}", token_file.display());
    let d = ok(&[
        "macaroon",
        "discharge",
        "--caveat-key",
        "shared with auth",
        "--id",
        "is-alice",
        "--caveat",
        "user = alice",
    ]);
    let bound = ok(&["macaroon", "bind", "--token", &at_token, "--discharge", &d]);

    let verify = |discharges: &[&str], user: &str| {
        let mut args = vec!["macaroon", "verify", "--token", at_token.as_str(), "--context", user];
        for d in discharges {
            args.extend_from_slice(&["--discharge", d]);
        }
        let o = Command::new(env!("CARGO_BIN_EXE_void"))
            .args(&args)
            .env("VOID_ROOT_KEY", "root secret")
            .output()
            .unwrap();
        (o.status.code(), stdout(&o))
    };
    assert_eq!(verify(&[&bound], "user=alice"), (Some(0), "valid".into()));
    assert_eq!(verify(&[&bound], "user=bob").0, Some(1));
    let (code, out) = verify(&[&d], "user=alice");
    assert_eq!(code, Some(1));
    assert!(out.contains("not bound"), "{out}");
    let (code, out) = verify(&[], "user=alice");
    assert_eq!(
        (code, out.as_str()),
        (Some(1), "invalid: third-party caveat \"is-alice\" at \"void://auth\" has no discharge")
    );

    let json = ok(&["macaroon", "inspect", &at_token, "--json"]);
    let v: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(v["format"], "v1");
    assert_eq!(v["identifier"], "root");
    assert_eq!(v["caveats"][0]["party"], "third");
    assert_eq!(v["caveats"][0]["location"], "void://auth");
    let human = ok(&["macaroon", "inspect", &bound]);
    assert!(human.contains("first-party: user = alice"), "{human}");
    // `--token`, as every other subcommand takes it, works too.
    assert_eq!(ok(&["macaroon", "inspect", "--token", &bound]), human);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn use_once_token_is_refused_after_its_nonce_is_consumed() {
    let dir = scratch("nonce");
    let t = ok(&["macaroon", "mint", "--root-key", "k", "--id", "once", "--caveat", "nonce = 9f3c"]);
    let consumed = dir.join("consumed");
    std::fs::write(&consumed, "other\n").unwrap();
    let run = || {
        void(&[
            "macaroon",
            "verify",
            "--root-key",
            "k",
            "--token",
            &t,
            "--consumed",
            consumed.to_str().unwrap(),
        ])
    };
    assert_eq!(run().status.code(), Some(0));
    std::fs::write(&consumed, "other\n9f3c\n").unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("nonce \"9f3c\" was already consumed"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let cases: &[&[&str]] = &[
        &["macaroon", "verify", "--root-key", "k", "--token", "not a token!"],
        &["macaroon", "verify", "--root-key", "k", "--token", "@/nonexistent/token"],
        &["macaroon", "inspect", "AgEC"],
        &["macaroon", "mint", "--id", "x"],
        &["macaroon", "mint", "--root-key", "k", "--id", "x", "--format", "v3"],
        &[
            "macaroon",
            "verify",
            "--root-key",
            "k",
            "--token",
            "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo",
            "--context",
            "colour=red",
        ],
        &[
            "macaroon",
            "verify",
            "--root-key",
            "k",
            "--token",
            "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo",
            "--context",
            "ip=999.1.1.1",
        ],
        &["macaroon", "verify", "--root-key", "k", "--token", "{\"v\":2}"],
        &["macaroon", "attenuate", "--token", "AgEC"],
        &["macaroon", "mint", "--root-key", "k", "--id", "x", "--caveat", " "],
    ];
    for args in cases {
        let o = void(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.trim().is_empty() && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_token_file_named_without_its_at_sign_is_pointed_out() {
    let token = ok(&["macaroon", "mint", "--root-key", "0123456789abcdef", "--id", "x"]);
    let path = scratch("plain").join("token.macaroon");
    std::fs::write(&path, token).unwrap();
    let p = path.to_string_lossy().into_owned();
    let o = void(&["macaroon", "verify", "--root-key", "0123456789abcdef", "--token", &p]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("write @{p}")), "{err}");
    let o = void(&["macaroon", "verify", "--root-key", "0123456789abcdef", "--token", &format!("@{p}")]);
    assert_eq!(stdout(&o).trim(), "valid");
    // One of the language's caveats without its spaces is refused with the fix.
    let o = void(&["macaroon", "mint", "--root-key", "0123456789abcdef", "--id", "x", "--caveat", "op=get"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`op = get`"));
}
