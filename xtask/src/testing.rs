//! `cargo xtask test`: every test layer in order, stopping at the first failing step.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cmd::{self, say};
use crate::install::{self, Browser, EMBEDDED_TARGET, WASM_TARGET, WasmBindgen};
use crate::workspace::Workspace;
use crate::{soak, wasm};

/// Totals of the `test result:` lines of one or more libtest-style runs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    /// How many `test result:` lines were seen (one per test binary).
    pub suites: u64,
}

impl TestCounts {
    /// Reads libtest's (and wasm-bindgen-test's) closing lines, e.g.
    /// `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
    pub fn parse(output: &str) -> TestCounts {
        let mut counts = TestCounts::default();
        for line in output.lines() {
            let Some((_, rest)) = line.split_once("test result:") else {
                continue;
            };
            counts.suites += 1;
            let words: Vec<&str> = rest.split_whitespace().collect();
            for pair in words.windows(2) {
                let Ok(n) = pair[0].parse::<u64>() else { continue };
                let label = pair[1].trim_end_matches([';', ',', '.']);
                match label {
                    "passed" => counts.passed += n,
                    "failed" => counts.failed += n,
                    "ignored" => counts.ignored += n,
                    _ => {}
                }
            }
        }
        counts
    }

    pub fn describe(&self) -> String {
        format!(
            "{} passed, {} failed, {} ignored in {} test binaries",
            self.passed, self.failed, self.ignored, self.suites
        )
    }
}

/// Steps of a run, for a summary at the end whatever happens.
pub struct Steps {
    plan: Vec<String>,
    done: Vec<String>,
}

impl Steps {
    pub fn new(plan: &[&str]) -> Steps {
        Steps { plan: plan.iter().map(|s| s.to_string()).collect(), done: Vec::new() }
    }

    /// Runs one step; `f` returns its value and a one-line detail for the summary.
    pub fn run<T>(&mut self, name: &str, f: impl FnOnce() -> Result<(T, String)>) -> Result<T> {
        say(&format!("== {name} =="));
        let (out, took) = cmd::timed(f);
        match out {
            Ok((value, detail)) => {
                self.record("ok", name, &detail, took);
                Ok(value)
            }
            Err(err) => {
                self.record("FAILED", name, &format!("{err:#}"), took);
                self.summary();
                let left = self.plan.len().saturating_sub(self.done.len());
                say(&format!("step `{name}` failed; {left} later steps not run"));
                Err(err.context(format!("step `{name}` failed")))
            }
        }
    }

    fn record(&mut self, verdict: &str, name: &str, detail: &str, took: Duration) {
        let mut line = format!("{verdict:<6} {name} ({})", cmd::human_duration(took));
        if !detail.is_empty() {
            line.push_str(": ");
            line.push_str(detail);
        }
        say(&line);
        self.done.push(line);
    }

    fn summary(&self) {
        say("summary:");
        for line in &self.done {
            say(&format!("  {line}"));
        }
        for name in self.plan.iter().skip(self.done.len()) {
            say(&format!("  {:<6} {name}", "-"));
        }
    }

    /// Prints the summary of a run whose steps all passed.
    pub fn finish(&self) {
        self.summary();
        say(&format!("all {} steps passed", self.done.len()));
    }
}

/// Every tool the full test run needs.
pub struct Tools {
    pub wasm_bindgen: WasmBindgen,
    pub browser: Browser,
}

pub fn ensure_tools(ws: &Workspace) -> Result<Tools> {
    install::ensure_targets(ws, &[WASM_TARGET, EMBEDDED_TARGET])?;
    let wasm_bindgen = install::ensure_wasm_bindgen(ws)?;
    let browser = install::ensure_chromium()?;
    Ok(Tools { wasm_bindgen, browser })
}

/// `cargo xtask test [--soak]`.
pub fn test(ws: &Workspace, with_soak: bool) -> Result<()> {
    let mut plan = vec!["tools", "wasm build", "release build", "host tests", "browser tests"];
    if with_soak {
        plan.push("soak");
    }
    let mut steps = Steps::new(&plan);
    let tools = steps.run("tools", || {
        let tools = ensure_tools(ws)?;
        let detail =
            format!("wasm-bindgen {}, {}", tools.wasm_bindgen.version, tools.browser.chromedriver.display());
        Ok((tools, detail))
    })?;
    // Before the host tests: the end-to-end tests serve www/pkg through `void play`.
    steps.run("wasm build", || {
        let bundle = wasm::build_web(ws, &tools.wasm_bindgen)?;
        Ok(((), bundle.display().to_string()))
    })?;
    let void_bin = steps.run("release build", || {
        let bin = ws.build_void()?;
        let shown = bin.display().to_string();
        Ok((bin, shown))
    })?;
    steps.run("host tests", || {
        let counts = host_tests(ws, &void_bin, &tools.browser)?;
        Ok(((), counts.describe()))
    })?;
    steps.run("browser tests", || {
        let counts = wasm::browser_tests(ws, &tools.wasm_bindgen, &tools.browser)?;
        Ok(((), counts.describe()))
    })?;
    if with_soak {
        steps.run("soak", || {
            soak::soak(ws, &soak::SoakOptions::default())?;
            Ok(((), String::from("recorded in SOAK.md")))
        })?;
    }
    steps.finish();
    Ok(())
}

/// `cargo test` on the host for everything but the browser crate.
fn host_tests(ws: &Workspace, void_bin: &Path, browser: &Browser) -> Result<TestCounts> {
    let mut test = ws.cargo();
    test.args(["test", "--workspace", "--exclude", "void-web"])
        .env("VOID_BIN", void_bin)
        .env("CHROMEDRIVER", &browser.chromedriver);
    let teed = cmd::tee(&mut test)?;
    let counts = TestCounts::parse(&teed.stdout);
    if let Some(why) = cmd::failure(teed.status) {
        bail!("`{}` failed ({why}); {}", cmd::display(&test), counts.describe());
    }
    if counts.passed == 0 {
        bail!("`{}` ran no test ({})", cmd::display(&test), counts.describe());
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_test_binary() {
        let out = "\
running 3 tests
test a ... ok
test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

running 0 tests
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 filtered out; finished in 0.03s
";
        let counts = TestCounts::parse(out);
        assert_eq!(counts, TestCounts { passed: 4, failed: 2, ignored: 1, suites: 3 });
    }

    #[test]
    fn no_result_line_means_nothing_ran() {
        let counts = TestCounts::parse("no tests to run!\n");
        assert_eq!(counts, TestCounts::default());
    }

    #[test]
    fn failed_step_stops_with_its_name() {
        let mut steps = Steps::new(&["first", "second", "third"]);
        let first: Result<u8> = steps.run("first", || Ok((1, String::new())));
        assert_eq!(first.unwrap(), 1);
        let err = steps.run::<()>("second", || bail!("broke")).unwrap_err();
        assert_eq!(format!("{err:#}"), "step `second` failed: broke");
        assert_eq!(steps.done.len(), 2);
        assert!(steps.done[1].starts_with("FAILED second"), "{}", steps.done[1]);
    }
}
