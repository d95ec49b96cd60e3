//! End to end: the Workbenches page, served by `void play --no-cluster` as its own wasm
//! bundle, is opened from the simulator's top bar in headless Chromium; its macaroon verdict
//! and its annealer's placement (wasm32) are checked against this process (x86_64).
//!
//! Needs `VOID_BIN` (set by `cargo xtask test`), a built www/pkg (both bundles) and
//! chromedriver; without them the test prints why and passes without running.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use void_core::sched::{AnnealConfig, Problem, anneal};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("an address").port()
}

fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chromedriver")).find(|p| p.is_file())
}

fn missing_prerequisite() -> Option<String> {
    if std::env::var_os("VOID_BIN").is_none() {
        return Some("VOID_BIN is not set (run through `cargo xtask test`)".into());
    }
    for file in ["void_web_bg.wasm", "void_web_bench_bg.wasm"] {
        let pkg = workspace().join("www").join("pkg").join(file);
        if !pkg.is_file() {
            return Some(format!("{} is missing (run `cargo xtask build-web`)", pkg.display()));
        }
    }
    if chromedriver().is_none() {
        return Some("chromedriver is not installed (`cargo xtask ensure`)".into());
    }
    None
}

/// A child process that is killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_play(bin: &Path) -> (Guard, String) {
    let mut child = Command::new(bin)
        .args(["play", "--no-cluster", "--port", &free_port().to_string()])
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("`void play` starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("`void play` prints its URL");
    let url =
        line.trim().strip_prefix("Void playground: ").unwrap_or_else(|| panic!("unexpected line {line:?}"));
    (guard, url.to_owned())
}

fn start_chromedriver(path: &Path) -> (Guard, u16) {
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let guard = Guard(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

fn capabilities(profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text =
        std::fs::read_to_string(workspace().join("web").join("webdriver.json")).expect("webdriver.json");
    let mut caps: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("webdriver.json is a JSON object");
    let args = caps
        .get_mut("goog:chromeOptions")
        .and_then(|o| o.get_mut("args"))
        .and_then(|a| a.as_array_mut())
        .expect("goog:chromeOptions.args");
    args.push(format!("--user-data-dir={}", profile.display()).into());
    args.push("--window-size=1280,720".into());
    caps
}

async fn wait_for(client: &Client, selector: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector} is shown: {e}"));
}

async fn click(client: &Client, selector: &str) {
    let el = client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    el.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

async fn attr(client: &Client, selector: &str, name: &str) -> String {
    let el = client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    el.attr(name).await.expect("attribute read").unwrap_or_else(|| panic!("{selector} has {name}"))
}

async fn value(client: &Client, selector: &str) -> String {
    let el = client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    el.prop("value").await.expect("a value").unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbenches_load_from_void_play_and_agree_with_native_core() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping the workbenches end-to-end test: {why}");
        return;
    }
    let bin = PathBuf::from(std::env::var_os("VOID_BIN").expect("checked above"));
    let (_play, base) = start_play(&bin);
    let (_driver, driver_port) = start_chromedriver(&chromedriver().expect("checked above"));
    let profile =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-bench-profile-{}", std::process::id()));
    let client = ClientBuilder::native()
        .capabilities(capabilities(&profile))
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");

    client.goto(&base).await.expect("the playground opens");
    wait_for(&client, "[data-node]").await;
    click(&client, "[data-testid=view-workbenches]").await;
    // The benches' bundle is fetched now.
    wait_for(&client, "[data-testid=macaroon-bench]").await;
    assert_eq!(attr(&client, "[data-testid=mac-verdict]", "data-valid").await, "true");

    click(&client, "[data-testid=bench-scheduler]").await;
    wait_for(&client, "[data-testid=sched-run-anneal]").await;
    let problem = Problem::from_json(&value(&client, "[data-testid=sched-input]").await).expect("valid");
    let native = anneal(&problem, &AnnealConfig::for_problem(&problem, 1));
    let shown: f64 =
        attr(&client, "[data-testid=sched-run-anneal]", "data-energy").await.parse().expect("a number");
    let assignment: Vec<u32> = attr(&client, "[data-testid=sched-run-anneal]", "data-assignment")
        .await
        .split(',')
        .map(|n| n.parse().expect("a node index"))
        .collect();
    assert_eq!((shown, assignment), (native.best.energy, native.best.assignment), "wasm32 and x86_64 agree");

    click(&client, "[data-testid=bench-causal]").await;
    wait_for(&client, "[data-testid=causal-do]").await;
    let png = client.screenshot().await.expect("a screenshot");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("..").join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    std::fs::write(dir.join("workbenches.png"), &png).expect("the screenshot is written");

    click(&client, "[data-testid=view-simulate]").await;
    wait_for(&client, "[data-node]").await;
    assert!(client.find(Locator::Css("[data-testid=causal-bench]")).await.is_err(), "the benches are gone");

    client.close().await.expect("the session closes");
    let _ = std::fs::remove_dir_all(&profile);
}
