//! Running external programs with inherited stdio and errors that name the command.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Prints a progress line in the form every xtask message uses.
pub fn say(msg: &str) {
    eprintln!("xtask: {msg}");
}

/// The command line as a person would type it, for messages.
pub fn display(cmd: &Command) -> String {
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            out.push_str(&format!("{}={} ", key.to_string_lossy(), quote(value)));
        }
    }
    // The toolchain's cargo has a long path; the person reading knows it as `cargo`.
    let program = Path::new(cmd.get_program());
    if program.file_name().is_some_and(|n| n == "cargo") {
        out.push_str("cargo");
    } else {
        out.push_str(&quote(cmd.get_program()));
    }
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(arg));
    }
    out
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain { s.into_owned() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Why a finished command counts as failed, or `None` when it succeeded.
pub fn failure(status: ExitStatus) -> Option<String> {
    if status.success() {
        return None;
    }
    if let Some(code) = status.code() {
        return Some(format!("exit code {code}"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Some(format!("killed by signal {signal}"));
        }
    }
    Some(format!("{status}"))
}

fn spawn_error(cmd: &Command) -> String {
    format!("could not start `{}`", display(cmd))
}

/// Runs `cmd` with inherited stdio; fails naming the command and its exit code.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    say(&format!("running `{shown}`"));
    let status = cmd.status().with_context(|| spawn_error(cmd))?;
    match failure(status) {
        None => Ok(()),
        Some(why) => bail!("`{shown}` failed ({why})"),
    }
}

/// Runs `cmd` with stdin closed and both outputs captured; for quick probes such as `--version`.
/// Returns `None` when the program cannot be started or exits non-zero.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a teed run produced: its status and everything it wrote to stdout.
pub struct Teed {
    pub status: ExitStatus,
    pub stdout: String,
}

/// Runs `cmd`, copying its stdout to ours as it arrives and keeping a copy to read afterwards.
/// Stderr stays inherited. The caller decides what a non-zero exit means.
pub fn tee(cmd: &mut Command) -> Result<Teed> {
    tee_into(cmd, &mut std::io::stdout())
}

fn tee_into(cmd: &mut Command, ours: &mut dyn Write) -> Result<Teed> {
    say(&format!("running `{}`", display(cmd)));
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| spawn_error(cmd))?;
    let mut pipe = child.stdout.take().context("child stdout was not captured")?;
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the output of a child process"),
        };
        kept.extend_from_slice(&buf[..n]);
        // A closed stdout of ours must not stop the child's run.
        let _ = ours.write_all(&buf[..n]).and_then(|()| ours.flush());
    }
    let status = child.wait().with_context(|| format!("waiting for `{}`", display(cmd)))?;
    Ok(Teed { status, stdout: String::from_utf8_lossy(&kept).into_owned() })
}

/// Finds `name` on PATH, as the shell would.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// `1h02m03s`-style wall time for summaries.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{}.{}s", s, d.subsec_millis() / 100)
    }
}

/// Times a closure.
pub fn timed<T>(f: impl FnOnce() -> Result<T>) -> (Result<T>, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let mut cmd = Command::new("cargo");
        cmd.args(["test", "-p", "void web", "--", "it's"]).env("VOID_BLESS", "1");
        assert_eq!(display(&cmd), r"VOID_BLESS=1 cargo test -p 'void web' -- 'it'\''s'");
        let toolchain = Command::new("/root/.rustup/toolchains/stable/bin/cargo");
        assert_eq!(display(&toolchain), "cargo");
        assert_eq!(display(&Command::new("/usr/bin/chromedriver")), "/usr/bin/chromedriver");
    }

    #[test]
    fn failure_names_the_exit_code() {
        let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(failure(status).as_deref(), Some("exit code 3"));
        let ok = Command::new("true").status().unwrap();
        assert_eq!(failure(ok), None);
    }

    #[test]
    fn run_error_names_command_and_code() {
        let err = run(Command::new("sh").args(["-c", "exit 7"])).unwrap_err();
        assert_eq!(err.to_string(), "`sh -c 'exit 7'` failed (exit code 7)");
    }

    #[test]
    fn missing_program_is_named() {
        let err = run(&mut Command::new("void-no-such-program")).unwrap_err();
        assert!(err.to_string().contains("could not start `void-no-such-program`"), "{err}");
    }

    #[test]
    fn tee_keeps_stdout() {
        let mut shown = Vec::new();
        let mut sh = Command::new("sh");
        sh.args(["-c", "echo one; echo two; exit 4"]);
        let teed = tee_into(&mut sh, &mut shown).unwrap();
        assert_eq!(teed.stdout, "one\ntwo\n");
        assert_eq!(shown, b"one\ntwo\n");
        assert_eq!(failure(teed.status).as_deref(), Some("exit code 4"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(4_250)), "4.2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(human_duration(Duration::from_secs(3_725)), "1h02m05s");
    }
}
