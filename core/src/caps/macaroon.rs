//! The macaroon itself (Birgisson et al., NDSS 2014, §3): a location hint, an identifier, a
//! list of caveats and a chained HMAC signature. Adding a caveat replaces the signature by
//! an HMAC keyed with the old one, so a holder can attenuate a token but never widen it.

use alloc::string::String;
use alloc::vec::Vec;

use super::crypto::{self, NONCE_BYTES, Signature};
use crate::effect::DetRng;

/// Most caveats a macaroon may carry; decoders refuse more before allocating.
pub const MAX_CAVEATS: usize = 1024;
/// Largest identifier, predicate or location, in bytes (a V1 packet holds at most 65535).
pub const MAX_FIELD_BYTES: usize = 65_000;

/// Why a caveat could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MacaroonError {
    #[error("a macaroon may carry at most {MAX_CAVEATS} caveats; this one already has {0}")]
    TooManyCaveats(usize),
    #[error("the {what} is {len} bytes, more than the limit of {MAX_FIELD_BYTES} bytes")]
    FieldTooLong { what: &'static str, len: usize },
}

/// One caveat. A first-party caveat is a predicate (`identifier`) the target service checks
/// itself; a third-party caveat also carries a `verification_id` (the caveat root key sealed
/// under the signature at that point) and the `location` of the party that discharges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caveat {
    pub identifier: Vec<u8>,
    pub verification_id: Option<Vec<u8>>,
    /// Empty when absent.
    pub location: String,
}

impl Caveat {
    pub fn first_party(predicate: impl Into<Vec<u8>>) -> Self {
        Caveat { identifier: predicate.into(), verification_id: None, location: String::new() }
    }

    pub fn is_third_party(&self) -> bool {
        self.verification_id.is_some()
    }

    /// The predicate as text, when it is UTF-8.
    pub fn predicate(&self) -> Option<&str> {
        core::str::from_utf8(&self.identifier).ok()
    }
}

/// A macaroon: mint it with [`Macaroon::mint`], attenuate it with the `add_*` methods,
/// serialize it with [`Macaroon::serialize`](super::Format) and check it with a
/// [`Verifier`](super::Verifier).
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    location: String,
    identifier: Vec<u8>,
    caveats: Vec<Caveat>,
    signature: Signature,
}

impl core::fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The signature is a bearer secret for whoever holds the token: keep it out of logs.
        f.debug_struct("Macaroon")
            .field("location", &self.location)
            .field("identifier", &String::from_utf8_lossy(&self.identifier))
            .field("caveats", &self.caveats.len())
            .finish_non_exhaustive()
    }
}

fn check_field(what: &'static str, bytes: &[u8]) -> Result<(), MacaroonError> {
    if bytes.len() > MAX_FIELD_BYTES {
        return Err(MacaroonError::FieldTooLong { what, len: bytes.len() });
    }
    Ok(())
}

impl Macaroon {
    /// Mints a macaroon as libmacaroons' `macaroon_create`: the user's secret (any length) is
    /// first turned into a 32-byte root key by [`crypto::derive_key`].
    pub fn mint(
        secret: &[u8],
        identifier: impl Into<Vec<u8>>,
        location: impl Into<String>,
    ) -> Result<Self, MacaroonError> {
        Self::mint_raw(&crypto::derive_key(secret), identifier, location)
    }

    /// Mints with an already derived 32-byte root key (`macaroon_create_raw`).
    pub fn mint_raw(
        root_key: &Signature,
        identifier: impl Into<Vec<u8>>,
        location: impl Into<String>,
    ) -> Result<Self, MacaroonError> {
        let identifier = identifier.into();
        let location = location.into();
        check_field("identifier", &identifier)?;
        check_field("location", location.as_bytes())?;
        let signature = crypto::hmac(root_key, &identifier);
        Ok(Macaroon { location, identifier, caveats: Vec::new(), signature })
    }

    /// Rebuilds a macaroon from decoded parts; the signature is taken as given (a verifier
    /// checks it). Used by the decoders, which bound every part first.
    pub fn from_parts(
        location: String,
        identifier: Vec<u8>,
        caveats: Vec<Caveat>,
        signature: Signature,
    ) -> Self {
        Macaroon { location, identifier, caveats, signature }
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    pub fn caveats(&self) -> &[Caveat] {
        &self.caveats
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Whether one more caveat with this identifier and location could be added.
    pub fn check_new_caveat(&self, identifier: &[u8], location: &str) -> Result<(), MacaroonError> {
        if self.caveats.len() >= MAX_CAVEATS {
            return Err(MacaroonError::TooManyCaveats(self.caveats.len()));
        }
        check_field("caveat identifier", identifier)?;
        check_field("caveat location", location.as_bytes())
    }

    /// Adds a first-party caveat: `sig' = HMAC(sig, predicate)`.
    pub fn add_first_party_caveat(&mut self, predicate: impl AsRef<[u8]>) -> Result<(), MacaroonError> {
        let predicate = predicate.as_ref();
        self.check_new_caveat(predicate, "")?;
        self.signature = crypto::hmac(&self.signature, predicate);
        self.caveats.push(Caveat::first_party(predicate));
        Ok(())
    }

    /// Adds a third-party caveat (§3.2): the caveat root key (derived from `caveat_secret` as
    /// libmacaroons does) is sealed under the current signature with `nonce`, and
    /// `sig' = hash2(sig, verification_id, identifier)`. The third party at `location` must
    /// learn `caveat_secret` and the predicate from `identifier` to mint the discharge.
    pub fn add_third_party_caveat(
        &mut self,
        location: &str,
        caveat_secret: &[u8],
        identifier: impl AsRef<[u8]>,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<(), MacaroonError> {
        let identifier = identifier.as_ref();
        self.check_new_caveat(identifier, location)?;
        let caveat_key = crypto::derive_key(caveat_secret);
        let vid = crypto::seal_verification_id(&self.signature, &caveat_key, &nonce);
        self.signature = crypto::hash2(&self.signature, &vid, identifier);
        self.caveats.push(Caveat {
            identifier: identifier.to_vec(),
            verification_id: Some(vid.to_vec()),
            location: location.into(),
        });
        Ok(())
    }

    /// [`Macaroon::add_third_party_caveat`] with a nonce drawn from `rng`.
    pub fn add_third_party_caveat_with_rng(
        &mut self,
        location: &str,
        caveat_secret: &[u8],
        identifier: impl AsRef<[u8]>,
        rng: &mut DetRng,
    ) -> Result<(), MacaroonError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        self.add_third_party_caveat(location, caveat_secret, identifier, nonce)
    }

    /// A copy of `discharge` bound to this (root) macaroon, ready to send along with it
    /// (libmacaroons' `prepare_for_request`).
    pub fn bind_discharge(&self, discharge: &Macaroon) -> Macaroon {
        let mut bound = discharge.clone();
        bound.signature = crypto::bind(&self.signature, &discharge.signature);
        bound
    }

    /// The third-party caveats, each a discharge to obtain.
    pub fn third_party_caveats(&self) -> impl Iterator<Item = &Caveat> {
        self.caveats.iter().filter(|c| c.is_third_party())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caveat_limit_is_enforced() {
        let mut m = Macaroon::mint(b"k", "id", "").unwrap();
        for i in 0..MAX_CAVEATS {
            m.add_first_party_caveat(alloc::format!("c{i}")).unwrap();
        }
        assert_eq!(m.add_first_party_caveat("one more"), Err(MacaroonError::TooManyCaveats(MAX_CAVEATS)));
    }

    #[test]
    fn oversized_identifier_is_refused() {
        let big = alloc::vec![b'x'; MAX_FIELD_BYTES + 1];
        assert!(matches!(Macaroon::mint(b"k", big, ""), Err(MacaroonError::FieldTooLong { .. })));
    }
}
