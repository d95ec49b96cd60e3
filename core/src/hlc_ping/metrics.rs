//! Numbers from an `hlc-ping` run.

use alloc::collections::BTreeMap;
use alloc::string::String;

use super::{HlcPing, PingEvent};
use crate::check::{CheckCtx, Metric};
use crate::sim::{TraceEvent, TraceKind};

/// Counts stamps, refusals and how far HLCs ran ahead of true time.
#[derive(Default)]
pub struct PingMetrics {
    sent: u64,
    received: u64,
    refused: u64,
    max_logical: u32,
    max_lead_us: u64,
}

impl Metric<HlcPing> for PingMetrics {
    fn observe(&mut self, ev: &TraceEvent<HlcPing>, ctx: &CheckCtx<'_>) {
        if let TraceKind::Observe(e) = &ev.kind {
            match e {
                PingEvent::Sent { ts, .. } | PingEvent::Received { ts, .. } => {
                    if matches!(e, PingEvent::Sent { .. }) {
                        self.sent += 1;
                    } else {
                        self.received += 1;
                    }
                    self.max_logical = self.max_logical.max(ts.logical);
                    self.max_lead_us = self.max_lead_us.max(ts.wall.saturating_sub(ctx.epoch_us + ctx.now));
                }
                PingEvent::Refused { .. } => self.refused += 1,
                PingEvent::Mode { .. } => {}
            }
        }
    }

    fn report(&self, _ctx: &CheckCtx<'_>, out: &mut BTreeMap<String, f64>) {
        out.insert("stamps_sent".into(), self.sent as f64);
        out.insert("stamps_received".into(), self.received as f64);
        out.insert("stamps_refused".into(), self.refused as f64);
        out.insert("max_logical".into(), f64::from(self.max_logical));
        out.insert("max_hlc_lead_ms".into(), self.max_lead_us as f64 / 1000.0);
    }
}
