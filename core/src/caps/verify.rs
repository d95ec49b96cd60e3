//! Verification (Birgisson et al. §3.3, as libmacaroons' `macaroon_verify`): recompute the
//! signature chain from the root key, check every first-party caveat against the context,
//! open each third-party caveat's verification id to get the key of its discharge, verify
//! that discharge recursively (each discharge used exactly once, depth bounded) and require
//! it to be bound to the root. Signatures are compared in constant time.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::capability::NonceStore;
use super::crypto::{self, Signature};
use super::language;
use super::macaroon::{Caveat, Macaroon};

/// Default bound on how deeply discharges may nest (a discharge's own third-party caveats).
pub const MAX_DEPTH: usize = 16;

/// What one verifier says of one caveat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Satisfied,
    /// The verifier understands the caveat and it does not hold; the text says why.
    Unsatisfied(String),
    /// The verifier does not speak this caveat's condition.
    NotMine,
}

/// The facts a request is checked against. Build it with the chained setters.
#[derive(Clone, Default)]
pub struct Context<'a> {
    pub user: Option<String>,
    pub op: Option<String>,
    pub ip: Option<IpAddr>,
    /// Current UNIX time in seconds (the host's clock; core never reads one).
    pub now: Option<u64>,
    /// The key (resource) the request acts on, for `key-prefix`.
    pub key: Option<String>,
    /// Further facts for host verifiers.
    pub facts: BTreeMap<String, String>,
    /// The consumed-nonce set `nonce = X` caveats are checked against.
    pub nonces: Option<&'a dyn NonceStore>,
}

impl<'a> Context<'a> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
    pub fn op(mut self, op: impl Into<String>) -> Self {
        self.op = Some(op.into());
        self
    }
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }
    pub fn now(mut self, unix_seconds: u64) -> Self {
        self.now = Some(unix_seconds);
        self
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    pub fn fact(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.facts.insert(name.into(), value.into());
        self
    }
    pub fn nonces(mut self, store: &'a dyn NonceStore) -> Self {
        self.nonces = Some(store);
        self
    }
}

/// A caveat checker a host program registers with a [`Verifier`]. Closures
/// `Fn(&str, &Context) -> Check` implement it.
pub trait CaveatVerifier {
    fn check(&self, caveat: &str, ctx: &Context<'_>) -> Check;
}

impl<F: Fn(&str, &Context<'_>) -> Check> CaveatVerifier for F {
    fn check(&self, caveat: &str, ctx: &Context<'_>) -> Check {
        self(caveat, ctx)
    }
}

/// Why a token is not valid. Each message names the caveat or macaroon at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("caveat {caveat:?} not satisfied: {reason}")]
    NotSatisfied { caveat: String, reason: String },
    #[error("caveat {caveat:?} is not understood: no verifier is registered for it")]
    NotUnderstood { caveat: String },
    #[error("caveat of {len} bytes is not UTF-8 text, so no verifier understands it")]
    NotText { len: usize },
    #[error("signature of macaroon {identifier:?} does not match: wrong root key, or the token was altered")]
    BadSignature { identifier: String },
    #[error(
        "signature of discharge {identifier:?} does not match: wrong caveat key, or it was altered or bound to another token"
    )]
    BadDischargeSignature { identifier: String },
    #[error("discharge {identifier:?} is not bound to this token: bind it first (prepare for request)")]
    DischargeNotBound { identifier: String },
    #[error("third-party caveat {caveat:?} at {location:?} has no discharge")]
    MissingDischarge { caveat: String, location: String },
    #[error(
        "discharge {identifier:?} was already used for another caveat; a discharge satisfies exactly one"
    )]
    DischargeReused { identifier: String },
    #[error("discharge {identifier:?} was not used by any third-party caveat")]
    UnusedDischarge { identifier: String },
    #[error("cannot open the verification id of third-party caveat {caveat:?}: the token was altered")]
    BadVerificationId { caveat: String },
    #[error("discharges nest deeper than {max} levels")]
    TooDeep { max: usize },
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks macaroons: the built-in caveat language (see [`language`]), exact predicates and
/// host verifiers. A caveat holds when any of them says [`Check::Satisfied`].
pub struct Verifier {
    builtin: bool,
    exact: Vec<Vec<u8>>,
    custom: Vec<Box<dyn CaveatVerifier + Send + Sync>>,
    max_depth: usize,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier that speaks Void's caveat language.
    pub fn new() -> Self {
        Verifier { builtin: true, exact: Vec::new(), custom: Vec::new(), max_depth: MAX_DEPTH }
    }

    /// A verifier that satisfies nothing until told (libmacaroons' empty verifier).
    pub fn bare() -> Self {
        Verifier { builtin: false, ..Self::new() }
    }

    /// Accepts exactly this predicate (libmacaroons' `satisfy_exact`).
    pub fn satisfy_exact(&mut self, predicate: impl Into<Vec<u8>>) -> &mut Self {
        self.exact.push(predicate.into());
        self
    }

    /// Registers a host verifier (a [`CaveatVerifier`] or a closure).
    pub fn register(&mut self, verifier: impl CaveatVerifier + Send + Sync + 'static) -> &mut Self {
        self.custom.push(Box::new(verifier));
        self
    }

    pub fn set_max_depth(&mut self, max_depth: usize) -> &mut Self {
        self.max_depth = max_depth;
        self
    }

    /// Checks one first-party caveat.
    pub fn check_caveat(&self, predicate: &[u8], ctx: &Context<'_>) -> Result<(), VerifyError> {
        if self.exact.iter().any(|e| e.as_slice() == predicate) {
            return Ok(());
        }
        let Ok(text) = core::str::from_utf8(predicate) else {
            return Err(VerifyError::NotText { len: predicate.len() });
        };
        let mut first_reason = None;
        let builtin = self.builtin.then(|| language::check(text, ctx));
        for check in builtin.into_iter().chain(self.custom.iter().map(|v| v.check(text, ctx))) {
            match check {
                Check::Satisfied => return Ok(()),
                Check::Unsatisfied(reason) => {
                    first_reason.get_or_insert(reason);
                }
                Check::NotMine => {}
            }
        }
        Err(match first_reason {
            Some(reason) => VerifyError::NotSatisfied { caveat: text.to_string(), reason },
            None => VerifyError::NotUnderstood { caveat: text.to_string() },
        })
    }

    /// Verifies `m` minted with the user secret `secret` (derived as libmacaroons does),
    /// together with its bound `discharges`.
    pub fn verify(
        &self,
        m: &Macaroon,
        secret: &[u8],
        discharges: &[Macaroon],
        ctx: &Context<'_>,
    ) -> Result<(), VerifyError> {
        self.verify_raw(m, &crypto::derive_key(secret), discharges, ctx)
    }

    /// [`Verifier::verify`] with an already derived 32-byte root key.
    pub fn verify_raw(
        &self,
        m: &Macaroon,
        root_key: &Signature,
        discharges: &[Macaroon],
        ctx: &Context<'_>,
    ) -> Result<(), VerifyError> {
        let mut walk = Walk {
            verifier: self,
            ctx,
            discharges,
            used: vec![false; discharges.len()],
            root: m.signature(),
        };
        walk.macaroon(m, root_key, 0)?;
        match walk.used.iter().position(|used| !used) {
            Some(i) => Err(VerifyError::UnusedDischarge { identifier: lossy(discharges[i].identifier()) }),
            None => Ok(()),
        }
    }
}

struct Walk<'v, 'c, 'd> {
    verifier: &'v Verifier,
    ctx: &'v Context<'c>,
    discharges: &'d [Macaroon],
    used: Vec<bool>,
    root: &'d Signature,
}

impl Walk<'_, '_, '_> {
    fn macaroon(&mut self, m: &Macaroon, key: &Signature, depth: usize) -> Result<(), VerifyError> {
        if depth > self.verifier.max_depth {
            return Err(VerifyError::TooDeep { max: self.verifier.max_depth });
        }
        let mut sig = crypto::hmac(key, m.identifier());
        // The chain is computed to the end even after a failed caveat, so that a forged
        // token is reported as a bad signature rather than by one of its caveats.
        let mut first_error = None;
        for c in m.caveats() {
            match &c.verification_id {
                None => {
                    if first_error.is_none() {
                        first_error = self.verifier.check_caveat(&c.identifier, self.ctx).err();
                    }
                    sig = crypto::hmac(&sig, &c.identifier);
                }
                Some(vid) => {
                    if first_error.is_none() {
                        first_error = self.third_party(c, vid, &sig, depth).err();
                    }
                    sig = crypto::hash2(&sig, vid, &c.identifier);
                }
            }
        }
        let expected = if depth == 0 { sig } else { crypto::bind(self.root, &sig) };
        if !crypto::signatures_equal(&expected, m.signature()) {
            let identifier = lossy(m.identifier());
            return Err(if depth == 0 {
                VerifyError::BadSignature { identifier }
            } else if crypto::signatures_equal(&sig, m.signature()) {
                VerifyError::DischargeNotBound { identifier }
            } else {
                VerifyError::BadDischargeSignature { identifier }
            });
        }
        first_error.map_or(Ok(()), Err)
    }

    fn third_party(
        &mut self,
        c: &Caveat,
        vid: &[u8],
        sig: &Signature,
        depth: usize,
    ) -> Result<(), VerifyError> {
        let key = crypto::open_verification_id(sig, vid)
            .ok_or_else(|| VerifyError::BadVerificationId { caveat: lossy(&c.identifier) })?;
        let matching = |d: &Macaroon| d.identifier() == c.identifier.as_slice();
        let discharges = self.discharges;
        let Some(i) = (0..discharges.len()).find(|&i| !self.used[i] && matching(&discharges[i])) else {
            return Err(if discharges.iter().any(matching) {
                VerifyError::DischargeReused { identifier: lossy(&c.identifier) }
            } else {
                VerifyError::MissingDischarge { caveat: lossy(&c.identifier), location: c.location.clone() }
            });
        };
        self.used[i] = true;
        self.macaroon(&discharges[i], &key, depth + 1)
    }
}
