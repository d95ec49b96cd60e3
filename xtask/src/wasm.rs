//! The web bundle (`build-web`) and the browser tests of `void-web`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cmd::{self, say};
use crate::install::{Browser, WASM_TARGET, WasmBindgen};
use crate::testing::TestCounts;
use crate::workspace::Workspace;

const WEB_PACKAGE: &str = "void-web";
const PROFILE: &str = "wasm-release";

/// Builds `void-web` for the browser and writes the JS glue and wasm to `www/pkg/`: the
/// playground's bundle (`void_web`), then the Workbenches page's (`void_web_bench`, the
/// `bench-bundle` feature), which the playground fetches when that page is opened.
/// Returns the playground bundle's wasm file.
pub fn build_web(ws: &Workspace, wasm_bindgen: &WasmBindgen) -> Result<PathBuf> {
    let wasm_opt = crate::install::ensure_wasm_opt(ws)?;
    let bundle = build_bundle(ws, wasm_bindgen, &wasm_opt, "void_web", &[])?;
    build_bundle(ws, wasm_bindgen, &wasm_opt, "void_web_bench", &["--features", "bench-bundle"])?;
    Ok(bundle)
}

/// wasm-opt's size passes without inlining: rustc already inlined for size, and inlining
/// more makes the many near-identical generic copies differ, which gzip then compresses
/// worse (measured in BENCHMARKS.md). The features are those wasm-bindgen's output uses.
const WASM_OPT_ARGS: &[&str] = &[
    "-Os",
    "--always-inline-max-function-size",
    "0",
    "--flexible-inline-max-function-size",
    "0",
    "--one-caller-inline-max-function-size",
    "0",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-simd",
];

fn build_bundle(
    ws: &Workspace,
    wasm_bindgen: &WasmBindgen,
    wasm_opt: &Path,
    name: &str,
    features: &[&str],
) -> Result<PathBuf> {
    cmd::run(
        ws.cargo()
            .args(["build", "-p", WEB_PACKAGE, "--lib", "--target", WASM_TARGET, "--profile", PROFILE])
            .args(features),
    )?;
    let built = ws.target_dir.join(WASM_TARGET).join(PROFILE).join("void_web.wasm");
    if !built.is_file() {
        bail!("cargo reported success but {} is missing", built.display());
    }
    let out_dir = ws.root.join("www").join("pkg");
    cmd::run(
        Command::new(&wasm_bindgen.cli)
            .args(["--target", "web", "--no-typescript", "--remove-name-section", "--out-dir"])
            .arg(&out_dir)
            .args(["--out-name", name])
            .arg(&built)
            .current_dir(&ws.root),
    )?;
    let bundle = out_dir.join(format!("{name}_bg.wasm"));
    cmd::run(
        Command::new(wasm_opt).args(WASM_OPT_ARGS).arg(&bundle).arg("-o").arg(&bundle).current_dir(&ws.root),
    )?;
    let raw = std::fs::metadata(&bundle)
        .with_context(|| format!("wasm-bindgen did not write {}", bundle.display()))?
        .len();
    let gzip = match gzip_size(&bundle) {
        Some(n) => format!(", {} gzip -9", kib(n)),
        None => String::from(" (gzip not available to measure the compressed size)"),
    };
    say(&format!("web bundle {}: {}{gzip}", bundle.display(), kib(raw)));
    Ok(bundle)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Size of `gzip -c -9 FILE`, counted as it streams so nothing is written to disk.
fn gzip_size(file: &Path) -> Option<u64> {
    let mut child = Command::new("gzip")
        .args(["-c", "-9"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let n = std::io::copy(&mut out, &mut std::io::sink()).ok();
    let ok = child.wait().ok()?.success();
    n.filter(|_| ok)
}

/// Runs every wasm-bindgen test of `void-web` in headless Chromium and returns the counts.
/// Fails when no test ran: a misconfigured runner would otherwise pass silently.
pub fn browser_tests(ws: &Workspace, wasm_bindgen: &WasmBindgen, browser: &Browser) -> Result<TestCounts> {
    let caps = ws.root.join("web").join("webdriver.json");
    if !caps.is_file() {
        bail!("{} is missing; it carries the Chromium flags headless runs as root need", caps.display());
    }
    let mut test = ws.cargo();
    // `--tests` leaves out doctests: their examples are not browser tests.
    test.args(["test", "-p", WEB_PACKAGE, "--target", WASM_TARGET, "--tests"])
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &wasm_bindgen.test_runner)
        .env("CHROMEDRIVER", &browser.chromedriver)
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &caps)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        // Chromium starts slowly on a busy two-core machine; the runner's default is 5 s.
        .env("WASM_BINDGEN_TEST_DRIVER_TIMEOUT", "60")
        // Test files without `wasm_bindgen_test_configure!` would otherwise need Node.js.
        .env("WASM_BINDGEN_USE_BROWSER", "1");
    // The runner prefers these over CHROMEDRIVER; the tests are written for Chromium.
    for other in ["GECKODRIVER", "SAFARIDRIVER", "MSEDGEDRIVER"] {
        test.env_remove(other).env_remove(format!("{other}_REMOTE"));
    }
    test.env_remove("CHROMEDRIVER_REMOTE").env_remove("NO_HEADLESS");
    let teed = cmd::tee(&mut test)?;
    let counts = TestCounts::parse(&teed.stdout);
    if let Some(why) = cmd::failure(teed.status) {
        bail!("`{}` failed ({why}); {}", cmd::display(&test), counts.describe());
    }
    if counts.passed == 0 {
        bail!(
            "`{}` ran no browser test ({}); each file in web/tests needs \
             `wasm_bindgen_test_configure!(run_in_browser);` and #[wasm_bindgen_test] tests",
            cmd::display(&test),
            counts.describe()
        );
    }
    Ok(counts)
}
