//! The network model: latency distributions, loss, duplication, reordering, bandwidth.

use serde::{Deserialize, Serialize};

use super::scenario::de_probability;
use crate::effect::{DetRng, Micros};

/// One-way latency of a message, drawn per message from the run's seeded RNG.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Latency {
    Fixed {
        us: u64,
    },
    Uniform {
        min_us: u64,
        max_us: u64,
    },
    /// `min_us` plus an exponential tail with mean `mean_us` (a long-tailed LAN/WAN).
    Exponential {
        min_us: u64,
        mean_us: u64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform { min_us: 1_000, max_us: 5_000 }
    }
}

impl Latency {
    pub fn sample(&self, rng: &mut DetRng) -> Micros {
        match *self {
            Latency::Fixed { us } => us,
            Latency::Uniform { min_us, max_us } => rng.between(min_us, max_us),
            Latency::Exponential { min_us, mean_us } => {
                // Inverse CDF with libm's ln, which is identical on every target.
                let u = 1.0 - rng.unit();
                let tail = -libm::log(u) * mean_us as f64;
                // Cap the tail at 50 means so one draw cannot stall a run.
                min_us + (tail.min(50.0 * mean_us as f64) as u64)
            }
        }
    }

    /// The smallest latency this model can produce.
    pub fn min(&self) -> Micros {
        match *self {
            Latency::Fixed { us } => us,
            Latency::Uniform { min_us, .. } | Latency::Exponential { min_us, .. } => min_us,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), alloc::string::String> {
        use alloc::format;
        match *self {
            Latency::Uniform { min_us, max_us } if max_us < min_us => {
                Err(format!("network.latency.uniform: max_us {max_us} is below min_us {min_us}"))
            }
            Latency::Exponential { mean_us: 0, .. } => {
                Err("network.latency.exponential: mean_us must be positive".into())
            }
            _ => Ok(()),
        }
    }
}

/// How the simulated network treats messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    pub latency: Latency,
    /// Probability that a message is lost.
    #[serde(deserialize_with = "de_probability")]
    pub loss: f64,
    /// Probability that a message is delivered twice.
    #[serde(deserialize_with = "de_probability")]
    pub duplicate: f64,
    /// Probability that a message is held back by up to `reorder_delay_us` extra.
    #[serde(deserialize_with = "de_probability")]
    pub reorder: f64,
    pub reorder_delay_us: u64,
    /// Link bandwidth in bytes per second; messages on one link queue behind each other.
    pub bandwidth_bytes_per_s: Option<u64>,
    /// After this long, a sender learns that its message hit a crashed node
    /// (a refused connection); `None` = never.
    pub unreachable_after_us: Option<u64>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: Latency::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_us: 20_000,
            bandwidth_bytes_per_s: None,
            unreachable_after_us: Some(2_000),
        }
    }
}

impl NetworkSpec {
    pub(crate) fn validate(&self) -> Result<(), alloc::string::String> {
        if self.bandwidth_bytes_per_s == Some(0) {
            return Err("network.bandwidth_bytes_per_s: must be positive (omit it for unlimited)".into());
        }
        self.latency.validate()
    }
}
