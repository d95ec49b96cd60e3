//! Liveness: once the last scheduled fault is over, every outstanding request completes
//! within a bound (PBFT is live under eventual synchrony with at most f faults).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

use super::observed;
use crate::check::{CheckCtx, Invariant};
use crate::effect::{Micros, NodeId};
use crate::pbft::PbftNode;
use crate::pbft::events::PbftEvent;
use crate::sim::TraceEvent;

pub struct Liveness {
    bound: Micros,
    outstanding: BTreeMap<(NodeId, u64), Micros>,
}

impl Liveness {
    pub fn new(bound: Micros) -> Self {
        Liveness { bound, outstanding: BTreeMap::new() }
    }
}

impl Invariant<PbftNode> for Liveness {
    fn at_end(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "liveness"
    }
    fn about(&self) -> &'static str {
        "after the last fault, every request a client submitted completes within a bound"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, ctx: &CheckCtx<'_>) -> Result<(), String> {
        match observed(ev) {
            Some(PbftEvent::Invoked { client, timestamp, .. }) => {
                self.outstanding.insert((*client, *timestamp), ev.time);
            }
            Some(PbftEvent::Completed { client, timestamp, .. }) => {
                // An answer that comes, but too late, breaks the bound as much as none.
                if let Some(at) = self.outstanding.remove(&(*client, *timestamp)) {
                    let from = at.max(ctx.last_fault_us);
                    if ev.time > from.saturating_add(self.bound) {
                        return Err(format!(
                            "request {timestamp} of client {client}, sent at {:.1} ms, was answered only at \
                             {:.1} ms, {:.1} ms after the later of its sending and the last fault (bound {} ms)",
                            at as f64 / 1000.0,
                            ev.time as f64 / 1000.0,
                            (ev.time - from) as f64 / 1000.0,
                            self.bound / 1000
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, ctx: &CheckCtx<'_>) -> Result<(), String> {
        for ((client, ts), at) in &self.outstanding {
            let deadline = (*at).max(ctx.last_fault_us).saturating_add(self.bound);
            if ctx.now >= deadline {
                return Err(format!(
                    "request {ts} of client {client}, sent at {:.1} ms, was not answered by {:.1} ms \
                     ({} ms after the later of its sending and the last fault)",
                    *at as f64 / 1000.0,
                    ctx.now as f64 / 1000.0,
                    self.bound / 1000
                ));
            }
        }
        Ok(())
    }
}
