//! Void's protocol core.
//!
//! Every protocol here is a sans-IO state machine: it receives [`effect::Input`]s together
//! with an [`effect::Env`] (a physical clock reading and a seeded RNG) and answers with
//! [`effect::Effect`]s. The simulator ([`sim`]), the native tokio node and the browser
//! playground are the three drivers that carry those effects out.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod caps;
pub mod causal;
pub mod check;
pub mod clock;
pub mod effect;
pub mod gossip;
pub mod hlc_ping;
mod idmap;
pub mod json_path;
pub mod pbft;
pub mod sched;
pub mod sim;
pub mod sort;
pub mod types;
pub mod vecmap;
