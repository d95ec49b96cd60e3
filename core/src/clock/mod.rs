//! Hybrid logical clocks (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014),
//! a last-writer-wins register and a multi-version store keyed by HLC timestamps.

mod hlc;
mod lww;
mod mvcc;

pub use hlc::{ClockError, Hlc, Timestamp, TimestampParseError};
pub use lww::LwwRegister;
pub use mvcc::{BelowWatermark, VersionStore};
