//! The seed's linear and dependent types, in Rust form.
//!
//! Linear types ([`Linear`], [`Affine`], [`Scope`]): a resource that must be consumed exactly
//! once, or at most once. Move semantics already forbid a second use at compile time; what
//! Rust does not forbid is forgetting one, so a [`Linear`] dropped unconsumed is reported to
//! its [`Scope`] and, in debug builds, panics.
//!
//! Dependent types ([`Vector`], [`Range`], [`NonEmpty`], [`Refined`]): values whose type
//! carries a checked property ("exactly N elements", "in 1..=10000", "not empty", "in
//! [0, 1]"). They are built only through `new`/`TryFrom` or a validating serde
//! `Deserialize`, so holding one is proof the check passed ("parse, don't validate").

use alloc::string::String;
use alloc::vec::Vec;

mod linear;
mod non_empty;
mod range;
mod refined;
mod vector;

pub use linear::{Affine, LeakError, Linear, Scope};
pub use non_empty::{Collection, NonEmpty};
pub use range::Range;
pub use refined::{NonNegative, Positive, Predicate, Probability, Refined, UnitInterval};
pub use vector::Vector;

/// Why a value was refused by one of the types of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// A [`Vector`] got the wrong number of elements.
    #[error("expected exactly {expected} elements, got {got}")]
    Length { expected: usize, got: usize },
    /// A [`Range`] got a value outside `min..=max`.
    #[error("{value} is outside the allowed range, {min} to {max}")]
    OutOfRange { value: i64, min: i64, max: i64 },
    /// A [`NonEmpty`] got an empty collection; `what` names its kind ("list", "string", ...).
    #[error("expected a non-empty {what}, got an empty one")]
    Empty { what: &'static str },
    /// A [`Refined`] value failed its [`Predicate`]: `reason` names the value.
    #[error("{reason}; expected {description}")]
    Predicate { description: &'static str, reason: String },
    /// Linear resources that were dropped or left unconsumed.
    #[error("linear resources not consumed: {}", .names.join(", "))]
    Leaked { names: Vec<String> },
}

impl From<LeakError> for TypeError {
    fn from(e: LeakError) -> Self {
        TypeError::Leaked { names: e.names }
    }
}

/// Turns a [`TypeError`] into a serde error, keeping its message.
fn de_error<E: serde::de::Error>(e: TypeError) -> E {
    E::custom(e)
}
