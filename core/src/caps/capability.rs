//! Capabilities as linear values: a [`CapabilityToken`] wraps a macaroon as a
//! [`Linear`](crate::types::Linear) value when it is use-once (it carries a `nonce = X`
//! caveat and must be either presented or explicitly discarded) and as an
//! [`Affine`](crate::types::Affine) value otherwise. The [`CapabilityManager`] mints,
//! attenuates and checks them; consumed nonces live behind [`NonceStore`] so a replicated
//! store can back them.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;

use core::fmt;
use core::str::FromStr;

use super::crypto::{self, Signature};
use super::macaroon::{Macaroon, MacaroonError};
use super::verify::{Context, Verifier, VerifyError};
use crate::effect::DetRng;
use crate::types::{Affine, Linear};

/// The set of nonces already used up, consulted by `nonce = X` caveats.
pub trait NonceStore {
    fn is_consumed(&self, nonce: &str) -> bool;
    /// Records `nonce` as used; fails if it already was.
    fn consume(&mut self, nonce: &str) -> Result<(), NonceError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    #[error("nonce {0:?} was already consumed")]
    AlreadyConsumed(String),
    #[error("the consumed-nonce store is unavailable: {0}")]
    Unavailable(String),
}

impl NonceStore for BTreeSet<String> {
    fn is_consumed(&self, nonce: &str) -> bool {
        self.contains(nonce)
    }
    fn consume(&mut self, nonce: &str) -> Result<(), NonceError> {
        if self.insert(nonce.into()) { Ok(()) } else { Err(NonceError::AlreadyConsumed(nonce.into())) }
    }
}

/// What a capability lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Right {
    Read,
    Write,
    Admin,
}

impl Right {
    /// The value of the `op = ...` caveat a grant of this right carries.
    pub fn ops(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Write => "write",
            Right::Admin => "read,write,admin",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Right::Read => "read",
            Right::Write => "write",
            Right::Admin => "admin",
        })
    }
}

impl FromStr for Right {
    type Err = CapabilityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Right::Read),
            "write" => Ok(Right::Write),
            "admin" => Ok(Right::Admin),
            other => Err(CapabilityError::UnknownRight(other.into())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    #[error("capability refused: {0}")]
    Invalid(#[from] VerifyError),
    #[error(transparent)]
    Macaroon(#[from] MacaroonError),
    #[error("use-once token: {0}")]
    Nonce(#[from] NonceError),
    #[error("unknown right {0:?}; expected read, write or admin")]
    UnknownRight(String),
}

/// The value of a `nonce = X` caveat, if `predicate` is one.
fn nonce_of(predicate: &[u8]) -> Option<&str> {
    core::str::from_utf8(predicate).ok()?.strip_prefix("nonce = ")
}

enum Holding {
    UseOnce(Linear<Macaroon>),
    Reusable(Affine<Macaroon>),
}

/// A macaroon held as a linear (use-once) or affine (reusable) value.
pub struct CapabilityToken(Holding);

impl fmt::Debug for CapabilityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapabilityToken")
            .field("use_once", &self.is_use_once())
            .field("macaroon", self.macaroon())
            .finish()
    }
}

/// An attenuation that could not be made; the token is handed back unchanged.
#[derive(Debug)]
pub struct Refused {
    pub token: CapabilityToken,
    pub error: CapabilityError,
}

impl CapabilityToken {
    /// Wraps a macaroon: use-once (linear) if any of its caveats is `nonce = X`.
    pub fn new(m: Macaroon) -> Self {
        if m.caveats().iter().any(|c| !c.is_third_party() && nonce_of(&c.identifier).is_some()) {
            let name = format!("capability {:?}", String::from_utf8_lossy(m.identifier()));
            CapabilityToken(Holding::UseOnce(Linear::new(name, m)))
        } else {
            CapabilityToken(Holding::Reusable(Affine::new(m)))
        }
    }

    pub fn macaroon(&self) -> &Macaroon {
        match &self.0 {
            Holding::UseOnce(l) => l.peek(),
            Holding::Reusable(a) => a.peek(),
        }
    }

    pub fn is_use_once(&self) -> bool {
        matches!(self.0, Holding::UseOnce(_))
    }

    /// Takes the macaroon out, using the token up.
    pub fn into_macaroon(self) -> Macaroon {
        match self.0 {
            Holding::UseOnce(l) => l.consume(),
            Holding::Reusable(a) => a.consume(),
        }
    }

    /// Gives the token up unused (a use-once token must be presented or discarded).
    pub fn discard(self) {
        drop(self.into_macaroon());
    }

    /// Adds a first-party caveat, narrowing what the token allows (it can never widen it).
    /// On failure the unchanged token comes back inside [`Refused`].
    pub fn attenuate(self, caveat: &str) -> Result<CapabilityToken, Box<Refused>> {
        if let Err(e) = self.macaroon().check_new_caveat(caveat.as_bytes(), "") {
            return Err(Box::new(Refused { token: self, error: e.into() }));
        }
        let mut m = self.into_macaroon();
        match m.add_first_party_caveat(caveat) {
            Ok(()) => Ok(CapabilityToken::new(m)),
            // Checked just above; kept so that no path loses the token.
            Err(e) => Err(Box::new(Refused { token: CapabilityToken::new(m), error: e.into() })),
        }
    }
}

/// Grants, attenuates and checks capabilities for one service (one root key).
pub struct CapabilityManager {
    location: String,
    root_key: Signature,
    verifier: Verifier,
}

impl CapabilityManager {
    /// `secret` is the service's root secret, used as libmacaroons uses a key (derived).
    pub fn new(location: impl Into<String>, secret: &[u8]) -> Self {
        CapabilityManager {
            location: location.into(),
            root_key: crypto::derive_key(secret),
            verifier: Verifier::new(),
        }
    }

    /// The verifier, to register host caveat verifiers on.
    pub fn verifier_mut(&mut self) -> &mut Verifier {
        &mut self.verifier
    }

    fn mint(&self, identifier: &str, right: Right, resource: &str) -> Result<Macaroon, CapabilityError> {
        let mut m = Macaroon::mint_raw(&self.root_key, identifier, self.location.as_str())?;
        m.add_first_party_caveat(format!("op = {}", right.ops()))?;
        m.add_first_party_caveat(format!("key-prefix = {resource}"))?;
        Ok(m)
    }

    /// A reusable capability for `right` on keys starting with `resource`.
    pub fn grant(
        &self,
        identifier: &str,
        right: Right,
        resource: &str,
    ) -> Result<CapabilityToken, CapabilityError> {
        Ok(CapabilityToken::new(self.mint(identifier, right, resource)?))
    }

    /// A use-once capability: as [`CapabilityManager::grant`] plus a fresh `nonce = X` caveat.
    pub fn grant_use_once(
        &self,
        identifier: &str,
        right: Right,
        resource: &str,
        rng: &mut DetRng,
    ) -> Result<CapabilityToken, CapabilityError> {
        let mut m = self.mint(identifier, right, resource)?;
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        m.add_first_party_caveat(format!("nonce = {hex}"))?;
        Ok(CapabilityToken::new(m))
    }

    /// Adds `caveat` to `token` (see [`CapabilityToken::attenuate`]).
    pub fn attenuate(&self, token: CapabilityToken, caveat: &str) -> Result<CapabilityToken, Box<Refused>> {
        token.attenuate(caveat)
    }

    /// Checks `token` without using it up.
    pub fn verify(
        &self,
        token: &CapabilityToken,
        discharges: &[Macaroon],
        ctx: &Context<'_>,
    ) -> Result<(), CapabilityError> {
        Ok(self.verifier.verify_raw(token.macaroon(), &self.root_key, discharges, ctx)?)
    }

    /// Checks `token` against `ctx` (its nonces against `store`) and, if valid, records its
    /// nonces as consumed, so that a second presentation fails. The token is used up either way.
    pub fn verify_and_consume(
        &self,
        token: CapabilityToken,
        discharges: &[Macaroon],
        ctx: &Context<'_>,
        store: &mut dyn NonceStore,
    ) -> Result<Macaroon, CapabilityError> {
        let m = token.into_macaroon();
        {
            let ctx = Context { nonces: Some(&*store), ..ctx.clone() };
            self.verifier.verify_raw(&m, &self.root_key, discharges, &ctx)?;
        }
        let nonces: BTreeSet<&str> = core::iter::once(&m)
            .chain(discharges)
            .flat_map(|d| d.caveats())
            .filter(|c| !c.is_third_party())
            .filter_map(|c| nonce_of(&c.identifier))
            .collect();
        for nonce in nonces {
            store.consume(nonce)?;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager() -> CapabilityManager {
        CapabilityManager::new("void://test", b"root secret")
    }

    #[test]
    fn use_once_token_is_refused_the_second_time() {
        let mgr = manager();
        let mut rng = DetRng::seed_from_u64(7);
        let token = mgr.grant_use_once("t1", Right::Write, "/res", &mut rng).unwrap();
        assert!(token.is_use_once());
        let copy = CapabilityToken::new(token.macaroon().clone());
        let ctx = Context::new().op("write").key("/res/a");
        let mut store = BTreeSet::new();
        mgr.verify_and_consume(token, &[], &ctx, &mut store).unwrap();
        let err = mgr.verify_and_consume(copy, &[], &ctx, &mut store).unwrap_err();
        let msg = alloc::string::ToString::to_string(&err);
        assert!(msg.contains("already consumed"), "{msg}");
        assert!(msg.contains("nonce = "), "{msg}");
    }

    #[test]
    fn grant_limits_op_and_resource() {
        let mgr = manager();
        let token = mgr.grant("t2", Right::Read, "/res").unwrap();
        assert!(!token.is_use_once());
        assert!(mgr.verify(&token, &[], &Context::new().op("read").key("/res/x")).is_ok());
        assert!(mgr.verify(&token, &[], &Context::new().op("write").key("/res/x")).is_err());
        assert!(mgr.verify(&token, &[], &Context::new().op("read").key("/other")).is_err());
        token.discard();
    }

    #[test]
    fn admin_attenuated_to_read_cannot_write() {
        let mgr = manager();
        let admin = mgr.grant("t3", Right::Admin, "/").unwrap();
        assert!(mgr.verify(&admin, &[], &Context::new().op("write").key("/a")).is_ok());
        let read = mgr.attenuate(admin, "op = read").unwrap();
        assert!(mgr.verify(&read, &[], &Context::new().op("read").key("/a")).is_ok());
        let err = mgr.verify(&read, &[], &Context::new().op("write").key("/a")).unwrap_err();
        assert!(alloc::string::ToString::to_string(&err).contains("caveat \"op = read\" not satisfied"));
        read.discard();
    }

    #[test]
    fn token_from_another_root_is_refused() {
        let other = CapabilityManager::new("void://test", b"another secret");
        let token = other.grant("t4", Right::Read, "/").unwrap();
        let mut store = BTreeSet::new();
        let err = manager().verify_and_consume(token, &[], &Context::new().op("read").key("/"), &mut store);
        assert!(matches!(err, Err(CapabilityError::Invalid(VerifyError::BadSignature { .. }))));
    }
}
