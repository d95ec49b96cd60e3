//! One module per subcommand. Each exposes its clap arguments and a `run` that returns
//! the process exit code: 0 success, 1 the checked property failed, 2 bad input.

/// `println!` for results on standard output, without its panic when the output cannot be
/// written (see [`out_line`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::out_line(format_args!($($arg)*))
    };
}

pub mod bench;
pub mod causal;
pub mod client;
pub mod cluster;
pub mod live;
pub mod macaroon;
pub mod node;
pub mod play;
pub mod schedule;
pub mod sim;

use std::process::ExitCode;

/// Why a subcommand stopped early.
#[derive(Debug)]
pub enum Failure {
    /// The user's input (flag, file, field) is wrong: exit 2 with this message.
    BadInput(String),
    /// Anything else (I/O on our side, a failed operation): exit 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

pub type CliResult = Result<ExitCode, Failure>;

/// Shorthand for a bad-input failure.
pub fn bad(msg: impl Into<String>) -> Failure {
    Failure::BadInput(msg.into())
}

/// Print `value` as the last line of stdout (the `--json` contract).
pub fn print_json(value: &serde_json::Value) {
    outln!("{}", serde_json::to_string(value).unwrap_or_else(|_| "{}".into()));
}

/// Writes one line of results to standard output. A reader that has gone away (`| head`)
/// ends the program quietly, as Unix tools do; any other failure (a full disk) ends it
/// with a message and exit code 1 instead of a panic.
pub fn out_line(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(line).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// Read a file that the user named, with a size bound checked before reading it all.
pub fn read_user_file(path: &std::path::Path, what: &str, max_bytes: u64) -> Result<String, Failure> {
    let meta =
        std::fs::metadata(path).map_err(|e| bad(format!("cannot read {what} {}: {e}", path.display())))?;
    if meta.len() > max_bytes {
        return Err(bad(format!(
            "{what} {} is {} bytes, more than the limit of {max_bytes} bytes",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {what} {}: {e}", path.display())))
}
