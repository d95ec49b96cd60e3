//! End to end: `void play --no-cluster` serves the playground; headless Chromium opens it,
//! steps, crashes a node through the UI, reopens the share link, and compares the trace
//! hash the browser (wasm32) computes with the one this process (x86_64) computes.
//!
//! A second test runs `void play` with its local native cluster: the page's live panel writes
//! and reads a key through it, streams every node's events, and reconnects after a node is
//! killed and restarted. A third opens the Workbenches page (its own wasm bundle) from the
//! top bar and checks its macaroon verdict and its annealer's placement (wasm32) against
//! this process (x86_64).
//!
//! Needs `VOID_BIN` (set by `cargo xtask test`), a built www/pkg and chromedriver; without
//! them the test prints why and passes without running.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use void_core::sched::{AnnealConfig, Problem, anneal};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chromedriver")).find(|p| p.is_file())
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if std::env::var_os("VOID_BIN").is_none() {
        return Some("VOID_BIN is not set (run through `cargo xtask test`)".into());
    }
    let pkg = workspace().join("www").join("pkg").join("void_web_bg.wasm");
    if !pkg.is_file() {
        return Some(format!("{} is missing (run `cargo xtask build-web`)", pkg.display()));
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

/// Starts `void play --no-cluster` and returns it with the URL it printed.
fn start_play(bin: &Path) -> (Guard, String) {
    start_play_with(bin, &["--no-cluster"])
}

/// Starts `void play` with `extra` arguments and returns it with the URL it printed.
fn start_play_with(bin: &Path, extra: &[&str]) -> (Guard, String) {
    let mut child = Command::new(bin)
        .arg("play")
        .args(extra)
        .args(["--port", &free_port().to_string()])
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
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, port)
}

/// Chromium's flags from web/webdriver.json (the browser tests use the same), a fresh
/// profile and a projector-sized window.
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
    args.push("--force-device-scale-factor=1".into());
    caps
}

async fn attr(client: &Client, selector: &str, name: &str) -> String {
    let el = client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    el.attr(name).await.expect("attribute read").unwrap_or_default()
}

/// Text content (not the rendered, possibly clipped text).
async fn content(client: &Client, testid: &str) -> String {
    let script = format!("return document.querySelector('[data-testid={testid}]').textContent;");
    let value = client.execute(&script, vec![]).await.unwrap_or_else(|e| panic!("{testid}: {e}"));
    value.as_str().unwrap_or_default().to_owned()
}

async fn click(client: &Client, selector: &str) {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

async fn open(client: &Client, url: &str) {
    // A URL differing only in its fragment would not reload the page.
    client.goto("about:blank").await.expect("about:blank");
    client.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    client
        .wait()
        .at_most(Duration::from_secs(30))
        // SVG or canvas (big clusters have no per-node elements): the cluster is drawn.
        .for_element(Locator::Css("section.cluster[data-render]"))
        .await
        .expect("the playground draws its cluster");
}

/// Makes the page's viewport (not the window around it) `width`×`height`.
async fn fit_viewport(client: &Client, width: u32, height: u32) {
    let script = "return [window.innerWidth, window.innerHeight];";
    let (w, h) = client.get_window_size().await.expect("the window size");
    let inner = client.execute(script, vec![]).await.expect("the viewport size");
    let read = |i: usize| inner.get(i).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    let (extra_w, extra_h) = ((w as u32).saturating_sub(read(0)), (h as u32).saturating_sub(read(1)));
    client.set_window_size(width + extra_w, height + extra_h).await.expect("the window is resized");
}

fn native_hash(name: &str, seed: u64) -> String {
    use void_core::sim;
    let scenario = sim::Scenario::from_json(sim::load_builtin(name).expect("built in")).expect("valid");
    let mut run = sim::build(&scenario, seed, false).expect("builds");
    run.run_to_end();
    run.trace_hash()
}

/// Milliseconds from navigation start to the page's performance mark `name`.
async fn mark_ms(client: &Client, name: &str) -> f64 {
    let script =
        format!("const m = performance.getEntriesByName('{name}'); return m.length ? m[0].startTime : null;");
    let value = client.execute(&script, vec![]).await.unwrap_or_else(|e| panic!("mark {name}: {e}"));
    value.as_f64().unwrap_or_else(|| panic!("the page left no performance mark {name}"))
}

/// Events per second of `scenario` with `seed` in the native binary (trace hashing on).
fn native_events_per_sec(bin: &Path, scenario: &str, seed: u64) -> f64 {
    let out = Command::new(bin)
        .args(["bench", "sim", scenario, "--seed", &seed.to_string(), "--min-ms", "1000", "--json"])
        .output()
        .expect("void bench sim runs");
    assert!(out.status.success(), "void bench sim: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["events_per_sec"].as_f64().expect("events_per_sec")
}

fn target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().map(Path::to_path_buf).expect("a target directory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_steps_crashes_and_reopens_its_link() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping the playground end-to-end test: {why}");
        return;
    }
    let bin = PathBuf::from(std::env::var_os("VOID_BIN").expect("checked above"));
    let (mut play, base) = start_play(&bin);
    let (_driver, driver_port) = start_chromedriver(&chromedriver().expect("checked above"));
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-profile-{}", std::process::id()));
    let client = ClientBuilder::native()
        .capabilities(capabilities(&profile))
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");
    fit_viewport(&client, 1280, 720).await;

    // Steps move the event index.
    open(&client, &format!("{base}#s=hlc-ping&seed=5")).await;
    let nodes = client.find_all(Locator::Css("[data-node]")).await.expect("nodes");
    assert_eq!(nodes.len(), 5, "hlc-ping has five nodes");
    let first: u64 = content(&client, "event-index").await.parse().expect("a number");
    for _ in 0..4 {
        click(&client, "[data-testid=step]").await;
    }
    let stepped: u64 = content(&client, "event-index").await.parse().expect("a number");
    assert!(stepped > first, "{stepped} > {first}");

    // Crash node 2 from the inspector.
    click(&client, "[data-node=\"2\"] .node-body").await;
    click(&client, "[data-testid=crash]").await;
    assert_eq!(attr(&client, "[data-node=\"2\"]", "data-state").await, "crashed");
    for _ in 0..40 {
        click(&client, "[data-testid=step]").await;
    }
    let hash = content(&client, "trace-hash").await;
    let events = content(&client, "event-index").await;

    // The share link reproduces the run, crash included.
    click(&client, "[data-testid=share]").await;
    let link = client
        .find(Locator::Css("[data-testid=permalink]"))
        .await
        .expect("the link is shown")
        .prop("value")
        .await
        .expect("its value")
        .unwrap_or_default();
    assert!(link.contains("#s=hlc-ping&seed=5&at=") && link.contains("&f="), "{link}");
    open(&client, &link).await;
    assert_eq!(content(&client, "trace-hash").await, hash);
    assert_eq!(content(&client, "event-index").await, events);
    assert_eq!(attr(&client, "[data-node=\"2\"]", "data-state").await, "crashed");

    // A picture for people: mid-run, one node crashed, another inspected.
    click(&client, "[data-node=\"1\"] .node-body").await;
    let png = client.screenshot().await.expect("a screenshot");
    let dir = target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    std::fs::write(dir.join("playground.png"), &png).expect("the screenshot is written");
    eprintln!("screenshot: {}", dir.join("playground.png").display());

    // wasm32 in Chromium and x86_64 here agree on the whole run.
    open(&client, &format!("{base}#s=hlc-ping&seed=7&at={}", u64::MAX)).await;
    let shown = content(&client, "trace-hash").await;
    assert_eq!(shown, native_hash("hlc-ping", 7));
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../golden/trace-hashes.json")).expect("the golden file is JSON");
    assert_eq!(Some(shown.as_str()), golden.get("hlc-ping/7").and_then(|v| v.as_str()));

    // Budgets reported, not asserted (the machine is shared): the first interactive frame
    // of a fresh page, and the page's simulation speed against the native binary's.
    open(&client, &base).await;
    let first_frame = mark_ms(&client, "void-first-frame").await;
    open(&client, &format!("{base}#s=plumtree&seed=1&at={}", u64::MAX)).await;
    let open_ms = mark_ms(&client, "void-open-end").await - mark_ms(&client, "void-open-start").await;
    let events: f64 = content(&client, "event-index").await.parse().expect("a number");
    let in_page = events / (open_ms / 1000.0);
    let native = native_events_per_sec(&bin, "plumtree", 1);
    let report = serde_json::json!({
        "first_interactive_frame_ms": first_frame,
        "scenario": "plumtree/1",
        "events": events,
        "in_page_ms": open_ms,
        "in_page_events_per_sec": in_page,
        "native_events_per_sec": native,
        "in_page_to_native": in_page / native,
    });
    std::fs::write(dir.join("timing.json"), report.to_string()).expect("the timing report is written");
    eprintln!("playground timing: {report}");

    // Large text for a projector keeps the top bar one line at 1280 px, even at the end of
    // a long run (the widest time, event count and status).
    click(&client, "[data-testid=large-text]").await;
    let one_line = client
        .execute(
            "const boxes = Array.from(document.querySelector('.topbar').children)
                 .map(c => c.getBoundingClientRect()).filter(r => r.width > 0);
             const top = Math.min(...boxes.map(r => r.bottom));
             return boxes.every(r => r.top < top);",
            vec![],
        )
        .await
        .expect("the script runs");
    assert_eq!(one_line, serde_json::Value::Bool(true), "the top bar wraps with large text");

    client.close().await.expect("the session closes");
    let _ = std::fs::remove_dir_all(&profile);

    // SIGTERM stops the server cleanly.
    let pid = play.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = play.0.try_wait().expect("waitable") {
            assert!(status.success(), "`void play` exits 0 on SIGTERM, got {status}");
            break;
        }
        assert!(Instant::now() < deadline, "`void play` did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops `void play` with SIGTERM (so it stops its nodes too) when dropped, even on a panic.
struct Stopper(Guard);

impl Drop for Stopper {
    fn drop(&mut self) {
        let pid = self.0.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Waits until `script` (a JavaScript expression) is true in the page.
/// Whether an element matches `selector` now.
async fn exists(client: &Client, selector: &str) -> bool {
    let script = format!("return !!document.querySelector({selector:?});");
    client.execute(&script, vec![]).await.expect("the script runs").as_bool() == Some(true)
}

async fn wait_for(client: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let value = client.execute(&format!("return !!({script});"), vec![]).await.expect("the script runs");
        if value.as_bool() == Some(true) {
            return;
        }
        assert!(Instant::now() < deadline, "waited 40 s for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_panel_streams_every_node_and_reconnects_after_a_restart() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping the live-cluster end-to-end test: {why}");
        return;
    }
    let bin = PathBuf::from(std::env::var_os("VOID_BIN").expect("checked above"));
    let (play, base) = start_play_with(&bin, &[]);
    let _play = Stopper(play);
    let (_driver, driver_port) = start_chromedriver(&chromedriver().expect("checked above"));
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-live-{}", std::process::id()));
    let client = ClientBuilder::native()
        .capabilities(capabilities(&profile))
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");
    open(&client, &base).await;
    client.execute("document.querySelector('details.live').open = true;", vec![]).await.expect("opened");
    let open_streams = "document.querySelectorAll('[data-testid=live-stream][data-open=true]').length";
    wait_for(&client, &format!("{open_streams} === 4"), "four open event streams").await;

    // Watch live: the main cluster view and the space-time diagram draw the native cluster.
    let sim_hash = content(&client, "trace-hash").await;
    click(&client, "[data-testid=live-watch]").await;
    let live_node = |i: u32, state: &str| {
        format!("document.querySelector('.stage.live [data-node=\"{i}\"][data-state={state}]')")
    };
    for i in 0..4 {
        wait_for(&client, &live_node(i, "up"), &format!("replica {i} drawn up in the live view")).await;
    }
    // The top bar says what is shown; the paused run's controls wait, hidden.
    wait_for(
        &client,
        "(document.querySelector('[data-testid=live-status]') || {}).textContent?.startsWith('● live: 4 native nodes')",
        "the live top bar",
    )
    .await;
    assert!(
        !exists(&client, "[data-testid=play], [data-testid=step], [data-testid=seed]").await,
        "run controls hidden"
    );
    // Messages in flight are drawn moving between the nodes: note any that appears.
    client
        .execute(
            "window.voidInFlight = [];
             new MutationObserver(() => document.querySelectorAll('.stage.live [data-inflight]')
                 .forEach(m => window.voidInFlight.push(m.dataset.msgType))).observe(document.body,
                 {subtree: true, childList: true, attributes: true});",
            vec![],
        )
        .await
        .expect("observer installed");
    wait_for(&client, "document.querySelector('.stage.live [data-node][data-role=primary]')", "a primary")
        .await;
    wait_for(
        &client,
        "document.querySelectorAll('.spacetime [data-lane]').length >= 4",
        "a lane per replica",
    )
    .await;
    // The side panels follow: the inspector shows a native node (no simulated faults to
    // inject), the invariant panel says where invariants are checked, the editor steps aside.
    wait_for(&client, "document.querySelector('[data-testid=invariants-live]')", "the live invariants note")
        .await;
    assert!(
        !exists(&client, "[data-testid=scenario-editor], .editor").await,
        "no scenario editor while live"
    );
    click(&client, ".stage.live [data-node=\"2\"] .node-body").await;
    wait_for(
        &client,
        "document.querySelector('[data-testid=inspector][data-inspected=\"2\"]')",
        "node 2 inspected",
    )
    .await;
    assert!(
        !exists(&client, "[data-testid=inspector] [data-testid=crash]").await,
        "no simulated crash button"
    );

    // put and get through the page: `void play` relays them to the cluster's gateway.
    let type_into = |selector: &'static str, text: &'static str| {
        let client = client.clone();
        async move {
            let field =
                client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
            field.clear().await.expect("cleared");
            field.send_keys(text).await.expect("typed");
        }
    };
    type_into("[data-testid=live-key]", "colour").await;
    type_into("[data-testid=live-value]", "teal").await;
    click(&client, "[data-testid=live-put]").await;
    // The put's request and the replicas' protocol messages fly across the live view.
    wait_for(&client, "window.voidInFlight.length > 0", "a message drawn in flight").await;
    let kinds =
        client.execute("return [...new Set(window.voidInFlight)].join(' ');", vec![]).await.expect("kinds");
    eprintln!("kinds drawn in flight: {}", kinds.as_str().unwrap_or_default());
    let answer = "document.querySelector('[data-testid=live-answer]')";
    wait_for(
        &client,
        &format!("{answer} && {answer}.textContent.startsWith('put') && {answer}.dataset.ok === 'true'"),
        "the put to be acknowledged",
    )
    .await;
    click(&client, "[data-testid=live-get]").await;
    wait_for(
        &client,
        &format!("{answer}.textContent.startsWith('get') && {answer}.textContent.endsWith(': teal')"),
        "the get to read the value back",
    )
    .await;
    // A gossip broadcast from the page: HyParView/Plumtree carry it from one node to all.
    type_into("[data-testid=live-text]", "hello, class").await;
    click(&client, "[data-testid=live-broadcast]").await;
    wait_for(
        &client,
        &format!("{answer}.textContent.startsWith('broadcast → N') && {answer}.textContent.includes(' sent') && {answer}.dataset.ok === 'true'"),
        "the broadcast to be sent",
    )
    .await;
    // Held, the picture stays as it is while events keep arriving; going on shows the latest.
    click(&client, "[data-testid=live-hold]").await;
    let caption = "document.querySelector('[data-testid=live-note]').textContent";
    let read = || async { client.execute(&format!("return {caption};"), vec![]).await.expect("the caption") };
    let held = read().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(read().await, held, "the held picture changed");
    click(&client, "[data-testid=live-hold]").await;
    wait_for(&client, &format!("{caption} !== {held}"), "the picture to go on after the hold").await;

    // kill -9 node 0 from the page: its stream closes, the others stay.
    let node0 = "[data-testid=live-nodes] tr:nth-child(2)";
    click(&client, &format!("{node0} button")).await;
    let closed = "document.querySelector('[data-testid=live-nodes] tr:nth-child(2) [data-testid=live-stream]')\
                  .dataset.open === 'false'";
    wait_for(&client, closed, "node 0's stream to close").await;
    wait_for(&client, &format!("{open_streams} === 3"), "the other three streams to stay open").await;
    wait_for(&client, &live_node(0, "crashed"), "node 0 drawn crashed in the live view").await;
    wait_for(
        &client,
        "document.querySelectorAll('.spacetime .st-event').length > 0",
        "live events in the diagram",
    )
    .await;
    // The nodes' sends and deliveries pair up: messages drawn between lanes.
    wait_for(&client, "document.querySelectorAll('.spacetime .st-msg').length > 0", "live message arrows")
        .await;
    let png = client.screenshot().await.expect("a screenshot");
    let dir = target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    std::fs::write(dir.join("live.png"), &png).expect("the screenshot is written");
    eprintln!("screenshot: {}", dir.join("live.png").display());

    // Restart it from the page: the panel opens its stream again by itself.
    let restart = "document.querySelector('[data-testid=live-nodes] tr:nth-child(2) button')\
                   .textContent === 'restart'";
    wait_for(&client, restart, "the restart button").await;
    click(&client, &format!("{node0} button")).await;
    wait_for(&client, &format!("{open_streams} === 4"), "node 0's stream to reopen").await;
    wait_for(&client, &live_node(0, "up"), "node 0 drawn up again").await;

    // Back to the simulation from the top bar: the same run, untouched, its controls back.
    click(&client, "[data-testid=leave-live]").await;
    wait_for(&client, "!document.querySelector('.stage.live')", "the simulated run drawn again").await;
    assert!(exists(&client, "[data-testid=play]").await, "run controls back");
    assert_eq!(attr(&client, "[data-testid=live-watch]", "aria-pressed").await, "false");
    assert_eq!(content(&client, "trace-hash").await, sim_hash, "live mode leaves the run as it was");

    client.close().await.expect("the session closes");
    let _ = std::fs::remove_dir_all(&profile);
}

async fn value(client: &Client, selector: &str) -> String {
    let el = client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    el.prop("value").await.expect("a value").unwrap_or_default()
}

async fn wait_for_element(client: &Client, selector: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector} is shown: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbenches_load_from_void_play_and_agree_with_native_core() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("skipping the workbenches end-to-end test: {why}");
        return;
    }
    let bench = workspace().join("www").join("pkg").join("void_web_bench_bg.wasm");
    assert!(bench.is_file(), "{} is missing: `cargo xtask build-web` builds both bundles", bench.display());
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

    // A run that breaks an invariant: the causal bench is handed its failures.
    open(&client, &format!("{base}#s=pbft-too-many-faults&seed=1&at=100000")).await;
    click(&client, "[data-testid=view-workbenches]").await;
    // The benches' bundle is fetched now.
    wait_for_element(&client, "[data-testid=macaroon-bench]").await;
    assert_eq!(attr(&client, "[data-testid=mac-verdict]", "data-valid").await, "true");

    click(&client, "[data-testid=bench-scheduler]").await;
    wait_for_element(&client, "[data-testid=sched-run-anneal]").await;
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
    wait_for_element(&client, "[data-testid=causal-do]").await;
    // The run's failures crossed from the simulator's bundle to the benches'.
    let run = content(&client, "causal-run").await;
    assert!(run.contains("pbft-too-many-faults, seed 1"), "{run}");
    assert!(run.contains("node-0, node-3 crashed or Byzantine; agreement violated"), "{run}");
    click(&client, "[data-testid=causal-from-run]").await;
    wait_for_element(&client, "[data-testid=causal-ranking] li[data-name='invariant:agreement']").await;
    assert_eq!(attr(&client, "[data-testid=causal-ranking] li", "data-name").await, "node-0");
    let png = client.screenshot().await.expect("a screenshot");
    let dir = target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    std::fs::write(dir.join("workbenches.png"), &png).expect("the screenshot is written");

    let url = client.current_url().await.expect("a URL");
    assert_eq!(url.query(), Some("bench=causal"), "the address names the bench: {url}");

    click(&client, "[data-testid=view-simulate]").await;
    wait_for_element(&client, "[data-node]").await;
    assert!(client.find(Locator::Css("[data-testid=causal-bench]")).await.is_err(), "the benches are gone");
    assert_eq!(client.current_url().await.expect("a URL").query(), None);

    // Back returns to the bench the address named.
    client.back().await.expect("back");
    wait_for_element(&client, "[data-testid=causal-bench]").await;
    client.forward().await.expect("forward");
    wait_for_element(&client, "[data-node]").await;

    client.close().await.expect("the session closes");
    let _ = std::fs::remove_dir_all(&profile);
}
