//! The HLC properties of Kulkarni et al. 2014, checked on any protocol whose observed
//! events carry HLC stamps ([`crate::effect::ProtocolEvent::hlc`]).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{CheckCtx, Invariant};
use crate::clock::Timestamp;
use crate::effect::{Protocol, ProtocolEvent};
use crate::sim::{TraceEvent, TraceKind};

/// Each node's HLC stamps strictly increase (within one incarnation: a restarted node
/// that persisted nothing starts a new clock).
pub struct HlcMonotonic {
    last: Vec<Option<Timestamp>>,
}

impl HlcMonotonic {
    pub fn new(nodes: u32) -> Self {
        HlcMonotonic { last: vec![None; nodes as usize] }
    }
}

impl<P: Protocol> Invariant<P> for HlcMonotonic {
    fn name(&self) -> &'static str {
        "hlc-monotonic"
    }
    fn about(&self) -> &'static str {
        "each node's hybrid logical clock stamps strictly increase"
    }

    fn observe(&mut self, ev: &TraceEvent<P>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        let Some(slot) = self.last.get_mut(ev.node.index()) else {
            return Ok(());
        };
        match &ev.kind {
            TraceKind::Start | TraceKind::Restart => *slot = None,
            TraceKind::Observe(e) => {
                if let Some(ts) = e.hlc() {
                    if let Some(prev) = *slot
                        && ts <= prev
                    {
                        return Err(format!(
                            "node {} issued {ts} after {prev}: its HLC went backwards",
                            ev.node
                        ));
                    }
                    *slot = Some(ts);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Happened-before implies timestamp order: the first stamp a node issues while handling
/// a message is greater than the sender's stamp when it sent it. With per-node
/// monotonicity this gives `a → b ⇒ ts(a) < ts(b)` for every causal chain.
pub struct HlcCausality {
    /// Per node: the sender's stamp of the message being handled, until a stamp is seen.
    pending: Vec<Option<(Timestamp, u32)>>,
}

impl HlcCausality {
    pub fn new(nodes: u32) -> Self {
        HlcCausality { pending: vec![None; nodes as usize] }
    }
}

impl<P: Protocol> Invariant<P> for HlcCausality {
    fn name(&self) -> &'static str {
        "hlc-causality"
    }
    fn about(&self) -> &'static str {
        "a message's receipt is stamped later than its send (a → b implies ts(a) < ts(b))"
    }

    fn observe(&mut self, ev: &TraceEvent<P>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        let Some(slot) = self.pending.get_mut(ev.node.index()) else {
            return Ok(());
        };
        match &ev.kind {
            TraceKind::Deliver { sender_hlc, from, .. } => *slot = sender_hlc.map(|t| (t, from.0)),
            TraceKind::Observe(e) => {
                if let (Some(ts), Some((sent, from))) = (e.hlc(), *slot) {
                    *slot = None;
                    if ts <= sent {
                        return Err(format!(
                            "node {} stamped {ts} on receiving a message that node {from} sent at {sent}: \
                             the receive is not after the send",
                            ev.node
                        ));
                    }
                }
            }
            // Any other input starts a new step: the delivery produced no stamp.
            _ => *slot = None,
        }
        Ok(())
    }
}

/// `|l - pt| ≤ ε`: no node's HLC runs further from true time than the worst physical clock.
pub struct HlcBounded;

impl<P: Protocol> Invariant<P> for HlcBounded {
    fn name(&self) -> &'static str {
        "hlc-bounded"
    }
    fn about(&self) -> &'static str {
        "no node's HLC runs further from true time than the worst physical clock (ε)"
    }

    fn observe(&mut self, ev: &TraceEvent<P>, ctx: &CheckCtx<'_>) -> Result<(), String> {
        if let TraceKind::Observe(e) = &ev.kind
            && let Some(ts) = e.hlc()
        {
            let truth = ctx.epoch_us + ctx.now;
            let gap = ts.wall.abs_diff(truth);
            if gap > ctx.clock_uncertainty_us {
                return Err(format!(
                    "node {}'s HLC wall {} is {gap} us from true time {truth}, beyond ε = {} us",
                    ev.node, ts.wall, ctx.clock_uncertainty_us
                ));
            }
        }
        Ok(())
    }
}
