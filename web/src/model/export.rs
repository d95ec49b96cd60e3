//! The trace as a ShiViz log: the file starts with ShiViz's default parsing expression and
//! an empty execution delimiter, then two lines per event, the event's description and
//! `host {vector clock}`. Vector clocks are rebuilt from the trace's causality: each event
//! ticks its node's own entry, a delivery first merges the clock of the event that sent it.

use void_core::sim::EventView;

/// ShiViz's default log expression (its upload format wants it on the first line).
pub const SHIVIZ_REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

fn host(node: u32) -> String {
    format!("N{node}")
}

/// The clock as ShiViz reads it: a JSON object of the nodes it has seen.
fn clock_json(clock: &[u64]) -> String {
    let parts: Vec<String> =
        clock.iter().enumerate().filter(|(_, c)| **c > 0).map(|(n, c)| format!("\"N{n}\":{c}")).collect();
    format!("{{{}}}", parts.join(","))
}

/// The ShiViz log of `events` (a whole trace, in order, `n` events of `nodes` nodes).
/// `events` is read twice: first to learn which events sent delivered messages, so only
/// their clocks are kept, and only until their last delivery.
pub fn shiviz<I>(n: u64, nodes: usize, events: impl Fn() -> I) -> String
where
    I: Iterator<Item = EventView>,
{
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    // Deliveries still to come of each event's messages.
    let mut pending = vec![0u32; n];
    for e in events() {
        if let Some(cause) = e.cause.filter(|_| e.category == "deliver")
            && let Some(p) = usize::try_from(cause).ok().and_then(|c| pending.get_mut(c))
        {
            *p += 1;
        }
    }
    let mut out = format!("{SHIVIZ_REGEX}\n\n");
    let mut clocks: Vec<Vec<u64>> = vec![vec![0; nodes]; nodes];
    let mut sent: Vec<Option<Vec<u64>>> = vec![None; n];
    for e in events() {
        let (node, index) = (e.node as usize, e.index as usize);
        if node >= nodes || index >= n {
            continue;
        }
        if e.category == "deliver"
            && let Some(cause) = e.cause.map(|c| c as usize).filter(|c| *c < n)
        {
            if let Some(theirs) = &sent[cause] {
                for (mine, t) in clocks[node].iter_mut().zip(theirs) {
                    *mine = (*mine).max(*t);
                }
            }
            pending[cause] = pending[cause].saturating_sub(1);
            if pending[cause] == 0 {
                sent[cause] = None;
            }
        }
        clocks[node][node] += 1;
        if pending[index] > 0 {
            sent[index] = Some(clocks[node].clone());
        }
        let stamp = e.hlc.as_deref().map(|h| format!(" [hlc {h}]")).unwrap_or_default();
        let text = format!("#{} t={}us {}{stamp}", e.index, e.time, e.text).replace(['\n', '\r'], " ");
        out.push_str(&text);
        out.push('\n');
        out.push_str(&host(e.node));
        out.push(' ');
        out.push_str(&clock_json(&clocks[node]));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Run;

    type Clock = BTreeMap<u32, u64>;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// (host, clock) of each entry, parsed back the way ShiViz's expression reads them.
    fn entries(log: &str) -> Vec<(u32, Clock)> {
        let mut lines = log.lines();
        assert_eq!(lines.next(), Some(SHIVIZ_REGEX));
        assert_eq!(lines.next(), Some(""));
        let rest: Vec<&str> = lines.collect();
        rest.chunks(2)
            .map(|pair| {
                let (host, clock) = pair[1].split_once(' ').expect("host, a space, a clock");
                let node: u32 = host.strip_prefix('N').expect("N<i>").parse().expect("a node");
                let clock: BTreeMap<String, u64> = serde_json::from_str(clock).expect("a JSON clock");
                let clock = clock.into_iter().map(|(h, c)| (h[1..].parse().expect("N<i>"), c)).collect();
                (node, clock)
            })
            .collect()
    }

    #[test]
    fn clocks_tick_by_one_per_host_and_carry_causality() {
        let mut run = Run::new("pbft-normal", 3, Vec::new()).unwrap();
        while run.event_count() < 400 && run.step() {}
        let n = run.event_count();
        let log = shiviz(n, run.nodes().len(), || (0..n).filter_map(|i| run.event(i)));
        let entries = entries(&log);
        assert_eq!(entries.len() as u64, n);
        let mut own: BTreeMap<u32, u64> = BTreeMap::new();
        for (i, (node, clock)) in entries.iter().enumerate() {
            let mine = own.entry(*node).or_default();
            *mine += 1;
            assert_eq!(clock.get(node), Some(&*mine), "event {i}: the host's entry counts its events");
            let e = run.event(i as u64).unwrap();
            if let (Some(cause), "deliver") = (e.cause, e.category.as_str()) {
                let (sender, theirs) = &entries[cause as usize];
                assert_eq!(Some(*sender), e.from);
                for (h, c) in theirs {
                    assert!(clock.get(h).copied().unwrap_or(0) >= *c, "event {i} knows what {cause} knew");
                }
            }
        }
    }
}
