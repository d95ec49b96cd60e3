//! `void macaroon`: mint, attenuate, add third-party caveats, discharge, bind, verify and
//! inspect macaroons (libmacaroons-compatible; see `void_core::caps`).
//!
//! Tokens (`--token`, `--discharge`, `inspect T`) are token text or `@path`. Keys are UTF-8
//! strings used as libmacaroons uses them; prefer `--root-key-file` / `--caveat-key-file` or
//! `VOID_ROOT_KEY` so that secrets stay out of shell history.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use void_core::caps::{Caveat, Context, Format, MAX_TOKEN_BYTES, Macaroon, Verifier};

use super::{CliResult, Failure, bad, print_json, read_user_file};

const KEY_FILE_MAX: u64 = 64 * 1024;
const CONSUMED_FILE_MAX: u64 = 64 * 1024 * 1024;
const ROOT_KEY_ENV: &str = "VOID_ROOT_KEY";

#[derive(Subcommand, Debug)]
pub enum MacaroonCommand {
    /// Mint a new macaroon with a root key.
    Mint(MintArgs),
    /// Add first-party caveats to a token (narrowing it).
    Attenuate(AttenuateArgs),
    /// Add a third-party caveat, to be discharged by the party at --location.
    AddThirdParty(AddThirdPartyArgs),
    /// Mint a discharge macaroon for a third-party caveat (as the third party).
    Discharge(DischargeArgs),
    /// Bind a discharge to its root token (prepare for request); prints the bound discharge.
    Bind(BindArgs),
    /// Verify a token and its discharges: prints "valid" (exit 0) or "invalid: <reason>" (exit 1).
    Verify(VerifyArgs),
    /// Show a token's format, location, identifier and caveats.
    Inspect(InspectArgs),
}

#[derive(Args, Debug)]
pub struct RootKey {
    /// The root key, as a UTF-8 string (or set VOID_ROOT_KEY).
    #[arg(long, value_name = "K", conflicts_with = "root_key_file")]
    root_key: Option<String>,
    /// A file holding the root key (a trailing newline is ignored).
    #[arg(long, value_name = "F")]
    root_key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CaveatKey {
    /// The caveat key shared with the third party, as a UTF-8 string.
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "caveat_key_file",
        required_unless_present = "caveat_key_file"
    )]
    caveat_key: Option<String>,
    /// A file holding the caveat key (a trailing newline is ignored).
    #[arg(long, value_name = "F")]
    caveat_key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MintArgs {
    #[command(flatten)]
    key: RootKey,
    /// The macaroon identifier.
    #[arg(long)]
    id: String,
    /// A location hint (not signed).
    #[arg(long, default_value = "")]
    location: String,
    /// A first-party caveat, e.g. "op = read" (repeatable).
    #[arg(long = "caveat", value_name = "C")]
    caveats: Vec<String>,
    /// Output format.
    #[arg(long, default_value = "v2", value_parser = ["v1", "v2", "v2json"])]
    format: String,
}

#[derive(Args, Debug)]
pub struct AttenuateArgs {
    /// The token (text or @path).
    #[arg(long, value_name = "T")]
    token: String,
    /// A first-party caveat to add (repeatable).
    #[arg(long = "caveat", value_name = "C", required = true)]
    caveats: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AddThirdPartyArgs {
    /// The token (text or @path).
    #[arg(long, value_name = "T")]
    token: String,
    /// Where the discharge is obtained.
    #[arg(long, value_name = "L")]
    location: String,
    #[command(flatten)]
    key: CaveatKey,
    /// The caveat identifier the third party recognises.
    #[arg(long)]
    id: String,
}

#[derive(Args, Debug)]
pub struct DischargeArgs {
    #[command(flatten)]
    key: CaveatKey,
    /// The identifier of the third-party caveat being discharged.
    #[arg(long)]
    id: String,
    /// A location hint.
    #[arg(long, default_value = "")]
    location: String,
    /// A first-party caveat on the discharge (repeatable).
    #[arg(long = "caveat", value_name = "C")]
    caveats: Vec<String>,
}

#[derive(Args, Debug)]
pub struct BindArgs {
    /// The root token (text or @path).
    #[arg(long, value_name = "ROOT")]
    token: String,
    /// The discharge to bind (text or @path).
    #[arg(long, value_name = "D")]
    discharge: String,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    key: RootKey,
    /// The token (text or @path).
    #[arg(long, value_name = "T")]
    token: String,
    /// A bound discharge (text or @path, repeatable).
    #[arg(long = "discharge", value_name = "D")]
    discharges: Vec<String>,
    /// A fact of the request: user=, op=, ip=, key= (repeatable).
    #[arg(long = "context", value_name = "K=V")]
    context: Vec<String>,
    /// The current UNIX time in seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// A file of consumed nonces, one per line.
    #[arg(long, value_name = "FILE")]
    consumed: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The token (text or @path).
    #[arg(value_name = "T", required_unless_present = "token_flag")]
    token: Option<String>,
    /// The token, as the other subcommands take it (text or @path).
    #[arg(long = "token", value_name = "T", conflicts_with = "token")]
    token_flag: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: MacaroonCommand) -> CliResult {
    match cmd {
        MacaroonCommand::Mint(a) => mint(a),
        MacaroonCommand::Attenuate(a) => attenuate(a),
        MacaroonCommand::AddThirdParty(a) => add_third_party(a),
        MacaroonCommand::Discharge(a) => discharge(a),
        MacaroonCommand::Bind(a) => bind(a),
        MacaroonCommand::Verify(a) => verify(a),
        MacaroonCommand::Inspect(a) => inspect(a),
    }
}

/// Reads a key file, dropping one trailing line ending.
fn key_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    let text = read_user_file(path, what, KEY_FILE_MAX)?;
    let key = text.strip_suffix('\n').map(|k| k.strip_suffix('\r').unwrap_or(k)).unwrap_or(&text);
    non_empty_key(key.as_bytes().to_vec(), &format!("{what} {}", path.display()))
}

fn non_empty_key(key: Vec<u8>, what: &str) -> Result<Vec<u8>, Failure> {
    if key.is_empty() {
        return Err(bad(format!("{what} is empty")));
    }
    Ok(key)
}

fn root_key(k: &RootKey) -> Result<Vec<u8>, Failure> {
    if let Some(key) = &k.root_key {
        return non_empty_key(key.clone().into_bytes(), "--root-key");
    }
    if let Some(path) = &k.root_key_file {
        return key_file(path, "root key file");
    }
    match std::env::var(ROOT_KEY_ENV) {
        Ok(key) => non_empty_key(key.into_bytes(), ROOT_KEY_ENV),
        Err(std::env::VarError::NotUnicode(_)) => Err(bad(format!("{ROOT_KEY_ENV} is not UTF-8"))),
        Err(std::env::VarError::NotPresent) => {
            Err(bad(format!("no root key: pass --root-key K or --root-key-file F, or set {ROOT_KEY_ENV}")))
        }
    }
}

fn caveat_key(k: &CaveatKey) -> Result<Vec<u8>, Failure> {
    match (&k.caveat_key, &k.caveat_key_file) {
        (Some(key), _) => non_empty_key(key.clone().into_bytes(), "--caveat-key"),
        (None, Some(path)) => key_file(path, "caveat key file"),
        (None, None) => Err(bad("no caveat key: pass --caveat-key K or --caveat-key-file F")),
    }
}

/// Parses a token given as text or `@path`; `flag` names it in errors.
fn token(arg: &str, flag: &str) -> Result<(Macaroon, Format), Failure> {
    let text = match arg.strip_prefix('@') {
        Some(path) => {
            read_user_file(Path::new(path), &format!("{flag} file"), MAX_TOKEN_BYTES as u64 + 1024)?
        }
        None => arg.to_string(),
    };
    Macaroon::deserialize(&text).map_err(|e| {
        // A file name given without its `@`: say how to read it.
        let hint = if !arg.starts_with('@') && Path::new(arg).is_file() {
            format!(" ({arg:?} is a file: write @{arg} to read the token from it)")
        } else {
            String::new()
        };
        bad(format!("{flag}: {e}{hint}"))
    })
}

fn emit(m: &Macaroon, format: Format) -> CliResult {
    let text = m.serialize(format).map_err(|e| bad(e.to_string()))?;
    outln!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn add_caveats(m: &mut Macaroon, caveats: &[String]) -> Result<(), Failure> {
    for c in caveats {
        if c.trim().is_empty() {
            // No verifier can satisfy an empty predicate: the token would be dead on arrival.
            return Err(bad(format!("--caveat {c:?}: empty; a caveat is a predicate such as \"op = read\"")));
        }
        if let Some(why) = void_core::caps::language::malformed_reason(c) {
            return Err(bad(format!("--caveat {c:?}: {why}; no verifier could ever accept the token")));
        }
        if void_core::caps::language::check(c, &void_core::caps::Context::new())
            == void_core::caps::Check::NotMine
        {
            eprintln!(
                "note: --caveat {c:?} is outside Void's caveat language ({}); only a verifier that knows it can accept the token",
                void_core::caps::language::CONDITIONS.join(", ")
            );
        }
        m.add_first_party_caveat(c).map_err(|e| bad(format!("--caveat {c:?}: {e}")))?;
    }
    Ok(())
}

fn mint(a: MintArgs) -> CliResult {
    let key = root_key(&a.key)?;
    let format: Format = a.format.parse().map_err(|e| bad(format!("--format: {e}")))?;
    let mut m = Macaroon::mint(&key, a.id.as_bytes(), a.location.as_str()).map_err(|e| bad(e.to_string()))?;
    add_caveats(&mut m, &a.caveats)?;
    emit(&m, format)
}

fn attenuate(a: AttenuateArgs) -> CliResult {
    let (mut m, format) = token(&a.token, "--token")?;
    add_caveats(&mut m, &a.caveats)?;
    emit(&m, format)
}

fn add_third_party(a: AddThirdPartyArgs) -> CliResult {
    let (mut m, format) = token(&a.token, "--token")?;
    let key = caveat_key(&a.key)?;
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| Failure::Other(anyhow::anyhow!("no OS randomness: {e}")))?;
    m.add_third_party_caveat(&a.location, &key, a.id.as_bytes(), nonce).map_err(|e| bad(e.to_string()))?;
    emit(&m, format)
}

fn discharge(a: DischargeArgs) -> CliResult {
    let key = caveat_key(&a.key)?;
    let mut d = Macaroon::mint(&key, a.id.as_bytes(), a.location.as_str()).map_err(|e| bad(e.to_string()))?;
    add_caveats(&mut d, &a.caveats)?;
    emit(&d, Format::V2)
}

fn bind(a: BindArgs) -> CliResult {
    let (root, _) = token(&a.token, "--token")?;
    let (d, format) = token(&a.discharge, "--discharge")?;
    // Discharges exist only for third-party caveats; a token without any has nothing to
    // bind to (nested discharges too are bound to a root that has one).
    if !root.caveats().iter().any(|c| c.is_third_party()) {
        let hint = if d.caveats().iter().any(|c| c.is_third_party()) {
            " (--token and --discharge look swapped)"
        } else {
            ""
        };
        return Err(bad(format!("--token has no third-party caveat, so no discharge belongs to it{hint}")));
    }
    emit(&root.bind_discharge(&d), format)
}

fn parse_context(pairs: &[String], mut ctx: Context<'static>) -> Result<Context<'static>, Failure> {
    let mut seen = BTreeSet::new();
    for pair in pairs {
        let (k, v) =
            pair.split_once('=').ok_or_else(|| bad(format!("--context {pair:?}: expected KEY=VALUE")))?;
        if !seen.insert(k.to_string()) {
            return Err(bad(format!("--context {k} is given twice")));
        }
        ctx = match k {
            "user" => ctx.user(v),
            "op" => ctx.op(v),
            "key" => ctx.key(v),
            "ip" => {
                let ip: IpAddr =
                    v.parse().map_err(|_| bad(format!("--context ip={v:?}: not an IPv4 or IPv6 address")))?;
                ctx.ip(ip)
            }
            other => {
                return Err(bad(format!(
                    "--context {other:?}: unknown fact; the verifier knows user, op, ip and key (time is --now, nonce is --consumed), and a caveat outside that language cannot be met by a fact"
                )));
            }
        };
    }
    Ok(ctx)
}

fn verify(a: VerifyArgs) -> CliResult {
    let (m, _) = token(&a.token, "--token")?;
    let discharges = a
        .discharges
        .iter()
        .map(|d| token(d, "--discharge").map(|(m, _)| m))
        .collect::<Result<Vec<_>, _>>()?;
    let key = root_key(&a.key)?;
    let consumed: BTreeSet<String> = match &a.consumed {
        Some(path) => read_user_file(path, "consumed-nonce file", CONSUMED_FILE_MAX)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        None => BTreeSet::new(),
    };
    let now = match a.now {
        Some(now) => now,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| Failure::Other(anyhow::anyhow!("system clock is before 1970: {e}")))?
            .as_secs(),
    };
    let ctx = parse_context(&a.context, Context::new().now(now))?;
    let ctx = Context { nonces: Some(&consumed), ..ctx };
    match Verifier::new().verify(&m, &key, &discharges, &ctx) {
        Ok(()) => {
            outln!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            outln!("invalid: {reason}");
            Ok(ExitCode::from(1))
        }
    }
}

/// A byte field as JSON: text when UTF-8, else base64 under `<name>_base64`.
fn bytes_field(obj: &mut serde_json::Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => obj.insert(name.into(), json!(s)),
        Err(_) => obj.insert(format!("{name}_base64"), json!(b64(bytes))),
    };
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    // URL-safe and unpadded, as the tokens themselves.
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn caveat_json(c: &Caveat) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("party".into(), json!(if c.is_third_party() { "third" } else { "first" }));
    bytes_field(&mut obj, "identifier", &c.identifier);
    if c.is_third_party() || !c.location.is_empty() {
        obj.insert("location".into(), json!(c.location));
    }
    Value::Object(obj)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| format!("(binary, base64) {}", b64(bytes)))
}

fn inspect(a: InspectArgs) -> CliResult {
    let (given, flag) = match (&a.token, &a.token_flag) {
        (Some(t), _) => (t, "token"),
        (None, Some(t)) => (t, "--token"),
        (None, None) => return Err(bad("a token is required (as T or --token T)")),
    };
    let (m, format) = token(given, flag)?;
    let signature = hex::encode(m.signature());
    if a.json {
        let mut obj = serde_json::Map::new();
        obj.insert("format".into(), json!(format.name()));
        obj.insert("location".into(), json!(m.location()));
        bytes_field(&mut obj, "identifier", m.identifier());
        obj.insert("caveats".into(), Value::Array(m.caveats().iter().map(caveat_json).collect()));
        obj.insert("signature".into(), json!(signature));
        print_json(&Value::Object(obj));
        return Ok(ExitCode::SUCCESS);
    }
    outln!("format: {format}");
    outln!("location: {}", m.location());
    outln!("identifier: {}", text(m.identifier()));
    outln!("caveats: {}", m.caveats().len());
    for c in m.caveats() {
        if c.is_third_party() {
            outln!("  third-party: {} (location {})", text(&c.identifier), c.location);
        } else {
            outln!("  first-party: {}", text(&c.identifier));
        }
    }
    outln!("signature: {signature}");
    Ok(ExitCode::SUCCESS)
}
