//! Capabilities: macaroons (Birgisson, Politz, Erlingsson, Taly, Vrable, Lentczner,
//! "Macaroons: Cookies with Contextual Caveats for Decentralized Authorization in the
//! Cloud", NDSS 2014), byte-compatible with libmacaroons and pymacaroons, and capability
//! tokens held as linear values.
//!
//! - [`Macaroon`]: mint, first- and third-party caveats, discharges and binding.
//! - [`Format`]: V1, V2 binary and V2 JSON (reading also pymacaroons' V1 JSON), detected on read.
//! - [`Verifier`] and [`Context`]: the caveat language of [`language`] plus host verifiers.
//! - [`CapabilityToken`], [`CapabilityManager`], [`NonceStore`]: rights, attenuation and
//!   use-once tokens.
//!
//! Nothing here reads a clock or the OS RNG: the current time comes in the [`Context`],
//! nonces from a [`DetRng`](crate::effect::DetRng) or the caller.

pub mod capability;
pub mod crypto;
mod format;
mod format_json;
mod format_v1;
mod format_v2;
pub mod language;
mod macaroon;
pub mod verify;

pub use capability::{
    CapabilityError, CapabilityManager, CapabilityToken, NonceError, NonceStore, Refused, Right,
};
pub use format::{DecodeError, EncodeError, Format, MAX_TOKEN_BYTES};
pub use macaroon::{Caveat, MAX_CAVEATS, MAX_FIELD_BYTES, Macaroon, MacaroonError};
pub use verify::{CaveatVerifier, Check, Context, MAX_DEPTH, Verifier, VerifyError};
