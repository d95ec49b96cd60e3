//! `cargo xtask soak`: the long runs CI has no time for, each recorded in SOAK.md.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::cmd::{self, say};
use crate::testing::TestCounts;
use crate::workspace::Workspace;

pub struct SoakOptions {
    /// Inclusive seed range handed to `void sim --seeds`.
    pub seeds: String,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions { seeds: String::from("1..10000") }
    }
}

impl SoakOptions {
    pub fn parse(args: &[String]) -> Result<SoakOptions> {
        let mut opts = SoakOptions::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let value = match arg.strip_prefix("--seeds=") {
                Some(v) => v.to_owned(),
                None if arg == "--seeds" => it.next().context("--seeds needs a value like 1..10000")?.clone(),
                None => bail!("soak: unknown argument `{arg}` (expected --seeds A..B)"),
            };
            check_seed_range(&value)?;
            opts.seeds = value;
        }
        Ok(opts)
    }
}

fn check_seed_range(value: &str) -> Result<()> {
    let parsed =
        value.split_once("..").and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    match parsed {
        Some((a, b)) if a <= b => Ok(()),
        _ => bail!("--seeds `{value}` is not an inclusive range A..B of whole numbers with A <= B"),
    }
}

/// One line of the SOAK.md table.
struct Row {
    command: String,
    runs: String,
    failing: String,
    wall: String,
    ok: bool,
}

pub fn soak(ws: &Workspace, opts: &SoakOptions) -> Result<()> {
    let start = Instant::now();
    let void = ws.build_void()?;
    let scenarios = list_scenarios(&void)?;
    say(&format!(
        "soaking {} scenarios over seeds {}: {}",
        scenarios.len(),
        opts.seeds,
        scenarios.join(", ")
    ));

    let mut log = SoakLog::open(&ws.root)?;
    let revision =
        cmd::probe(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(&ws.root));
    log.section(revision.as_deref().map(str::trim), &opts.seeds)?;

    let shown_void = relative(&void, &ws.root);
    let mut failed = Vec::new();
    for scenario in &scenarios {
        let mut sim = Command::new(&void);
        sim.args(["sim", scenario, "--seeds", &opts.seeds, "--json"]).current_dir(&ws.root);
        let row = sim_row(&mut sim, format!("{shown_void} sim {scenario} --seeds {} --json", opts.seeds))?;
        if !row.ok {
            failed.push(scenario.clone());
        }
        log.row(&row)?;
    }

    let mut ignored = ws.cargo();
    ignored.args(["test", "-p", "void-tests", "--release", "--", "--ignored"]).env("VOID_BIN", &void);
    let row = ignored_tests_row(&mut ignored, "cargo test -p void-tests --release -- --ignored")?;
    if !row.ok {
        failed.push(String::from("ignored tests"));
    }
    log.row(&row)?;

    // Decoders of untrusted bytes, a million generated inputs per fuzz target.
    for args in FUZZ_RUNS {
        let mut fuzz = ws.cargo();
        fuzz.args(args.split(' ')).env("VOID_FUZZ_CASES", "1000000");
        let shown = format!("VOID_FUZZ_CASES=1000000 cargo {args}");
        let row = ignored_tests_row(&mut fuzz, &shown)?;
        if !row.ok {
            failed.push(shown);
        }
        log.row(&row)?;
    }

    let verdict =
        if failed.is_empty() { String::from("all passed") } else { format!("FAILED: {}", failed.join(", ")) };
    let total = cmd::human_duration(start.elapsed());
    log.line(&format!("\nTotal wall time {total}; {verdict}.\n"))?;
    say(&format!("soak finished in {total}: {verdict}; recorded in {}", log.path.display()));
    if !failed.is_empty() {
        bail!("soak failures in {} (see SOAK.md for the failing seeds)", failed.join(", "));
    }
    Ok(())
}

/// The fuzz targets: macaroon text and binary decoders, PBFT and gossip wire decoders
/// (the cargo arguments, split on spaces).
const FUZZ_RUNS: &[&str] = &[
    "test --release -p void-core --test macaroon_props fuzz -- --test-threads=1",
    "test --release -p void-core --lib pbft::tests::decode",
    "test --release -p void-core --lib gossip::tests::wire",
];

/// First word of each line of `void sim --list`.
fn list_scenarios(void: &Path) -> Result<Vec<String>> {
    let mut list = Command::new(void);
    list.args(["sim", "--list"]).stdin(Stdio::null()).stderr(Stdio::inherit());
    let shown = cmd::display(&list);
    let out = list.output().with_context(|| format!("could not start `{shown}`"))?;
    if let Some(why) = cmd::failure(out.status) {
        bail!("`{shown}` failed ({why})");
    }
    let names = scenario_names(&String::from_utf8_lossy(&out.stdout));
    if names.is_empty() {
        bail!("`{shown}` listed no scenarios");
    }
    Ok(names)
}

fn scenario_names(list: &str) -> Vec<String> {
    list.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect()
}

fn sim_row(sim: &mut Command, shown: String) -> Result<Row> {
    let (teed, took) = cmd::timed(|| cmd::tee(sim));
    let teed = teed?;
    let wall = cmd::human_duration(took);
    // Exit 1 means invariants were violated: the JSON still lists the seeds.
    let code = teed.status.code();
    if !matches!(code, Some(0) | Some(1)) {
        let why = cmd::failure(teed.status).unwrap_or_default();
        say(&format!("`{shown}` failed ({why})"));
        let runs = String::from("-");
        return Ok(Row { command: shown, runs, failing: format!("error: {why}"), wall, ok: false });
    }
    let summary =
        SimSummary::from_stdout(&teed.stdout).with_context(|| format!("reading the JSON of `{shown}`"))?;
    let ok = code == Some(0) && summary.failing_seeds.is_empty();
    Ok(Row {
        command: shown,
        runs: summary.runs.to_string(),
        failing: seed_list(&summary.failing_seeds),
        wall,
        ok,
    })
}

#[derive(Debug, PartialEq)]
struct SimSummary {
    runs: u64,
    failing_seeds: Vec<u64>,
}

impl SimSummary {
    /// The last stdout line of `void sim --seeds ... --json` is one JSON object.
    fn from_stdout(stdout: &str) -> Result<SimSummary> {
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).context("no output on stdout")?;
        let json: serde_json::Value =
            serde_json::from_str(last).context("the last stdout line is not JSON")?;
        let runs = json.get("runs").and_then(|v| v.as_u64()).context("no whole-number `runs`")?;
        let failing_seeds = json
            .get("failing_seeds")
            .and_then(|v| v.as_array())
            .context("no `failing_seeds` array")?
            .iter()
            .map(|v| v.as_u64().context("a failing seed is not a whole number"))
            .collect::<Result<Vec<u64>>>()?;
        Ok(SimSummary { runs, failing_seeds })
    }
}

fn seed_list(seeds: &[u64]) -> String {
    const SHOWN: usize = 20;
    if seeds.is_empty() {
        return String::from("none");
    }
    let head: Vec<String> = seeds.iter().take(SHOWN).map(u64::to_string).collect();
    if seeds.len() > SHOWN {
        format!("{} … ({} in all)", head.join(", "), seeds.len())
    } else {
        head.join(", ")
    }
}

fn ignored_tests_row(test: &mut Command, shown: &str) -> Result<Row> {
    let (teed, took) = cmd::timed(|| cmd::tee(test));
    let teed = teed?;
    let counts = TestCounts::parse(&teed.stdout);
    let failing = failed_tests(&teed.stdout);
    let ok = teed.status.success() && counts.failed == 0;
    let failing = match (ok, failing.is_empty()) {
        (true, _) => String::from("none"),
        (false, false) => failing.join(", "),
        (false, true) => format!("error: {}", cmd::failure(teed.status).unwrap_or_default()),
    };
    let runs = format!("{} tests ({} passed)", counts.passed + counts.failed, counts.passed);
    Ok(Row { command: shown.to_owned(), runs, failing, wall: cmd::human_duration(took), ok })
}

/// Names from libtest's `test NAME ... FAILED` lines.
fn failed_tests(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(str::to_owned)
        .collect()
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// SOAK.md, appended to row by row so an interrupted soak still leaves its finished runs.
struct SoakLog {
    path: PathBuf,
    file: std::fs::File,
}

impl SoakLog {
    fn open(root: &Path) -> Result<SoakLog> {
        let path = root.join("SOAK.md");
        let fresh = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {} to append", path.display()))?;
        let mut log = SoakLog { path, file };
        if fresh {
            log.line("# Soak runs\n\nLong runs that CI has no time for, appended by `cargo xtask soak`.")?;
        }
        Ok(log)
    }

    fn section(&mut self, revision: Option<&str>, seeds: &str) -> Result<()> {
        let at = revision.map(|r| format!(" at {r}")).unwrap_or_default();
        let date = utc_timestamp(SystemTime::now());
        self.line(&format!(
            "\n## {date}: `cargo xtask soak --seeds {seeds}`{at}\n\n\
             | command | runs | failing seeds / tests | wall time |\n|---|---|---|---|"
        ))
    }

    fn row(&mut self, row: &Row) -> Result<()> {
        self.line(&format!("| `{}` | {} | {} | {} |", row.command, row.runs, row.failing, row.wall))
    }

    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.file, "{text}")
            .and_then(|()| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// `YYYY-MM-DD HH:MM UTC`, computed here to keep xtask free of a date crate.
fn utc_timestamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem / 60 % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_512), (2026, 2, 28));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        let t = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        assert_eq!(utc_timestamp(t), "2026-09-21 14:13 UTC");
    }

    #[test]
    fn scenario_names_are_first_words() {
        let list = "pbft-basic  four replicas, no faults\n\ngossip-churn  joins and leaves\n";
        assert_eq!(scenario_names(list), ["pbft-basic", "gossip-churn"]);
    }

    #[test]
    fn reads_the_sim_summary_from_the_last_line() {
        let out = "progress\n{\"seeds\":\"1..5\",\"runs\":5,\"failing_seeds\":[2,4],\"metrics\":{}}\n";
        let s = SimSummary::from_stdout(out).unwrap();
        assert_eq!(s, SimSummary { runs: 5, failing_seeds: vec![2, 4] });
        assert!(SimSummary::from_stdout("{\"runs\":5}").is_err());
        assert!(SimSummary::from_stdout("").is_err());
    }

    #[test]
    fn long_seed_lists_are_cut() {
        assert_eq!(seed_list(&[]), "none");
        assert_eq!(seed_list(&[3, 9]), "3, 9");
        let many: Vec<u64> = (1..=25).collect();
        assert!(seed_list(&many).ends_with("20 … (25 in all)"));
    }

    #[test]
    fn finds_failed_test_names() {
        let out = "test a ... ok\ntest kill_nine_soak ... FAILED\ntest b ... ignored\n";
        assert_eq!(failed_tests(out), ["kill_nine_soak"]);
    }

    #[test]
    fn seed_option_is_checked() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(SoakOptions::parse(&args(&[])).unwrap().seeds, "1..10000");
        assert_eq!(SoakOptions::parse(&args(&["--seeds", "5..9"])).unwrap().seeds, "5..9");
        assert_eq!(SoakOptions::parse(&args(&["--seeds=1..1"])).unwrap().seeds, "1..1");
        assert!(SoakOptions::parse(&args(&["--seeds", "9..5"])).is_err());
        assert!(SoakOptions::parse(&args(&["--seeds", "x"])).is_err());
        assert!(SoakOptions::parse(&args(&["--seeds"])).is_err());
        assert!(SoakOptions::parse(&args(&["--fast"])).is_err());
    }
}
