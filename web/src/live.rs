//! Live mode's model: the events the native nodes stream over `/events` and the status
//! `void play` gathers, turned into a [`Snapshot`] so that the cluster view and the
//! space-time diagram draw the live cluster exactly as they draw a simulated run.
//!
//! Each node stamps its events with time since its own process started, which means
//! nothing to the other nodes; the page stamps every event when it arrives instead, so all
//! lanes share one clock.

use std::collections::VecDeque;

use serde_json::Value;
use void_core::sim::{DropReason, EventView, NodeView};

use crate::model::{RECENT_EVENTS, Snapshot};

/// Events kept in memory, across all nodes.
pub const LIVE_EVENTS: usize = 2_000;

/// Nodes seen only in events (clients, the gateway) get a place on the ring if their ids
/// follow the replicas' closely; others are listed, not drawn.
const MAX_EXTRA_NODES: u32 = 4;

/// One streamed event: as the page numbers and times it, and as its node numbered it.
#[derive(Clone, Debug, PartialEq)]
struct Received {
    view: EventView,
    /// The event's index in its own node's trace (what a delivery's `cause` names).
    origin_index: u64,
    /// A send matched with its delivery, or a delivery with its send: identical messages
    /// on one link share an id, so each send pairs with one delivery only.
    paired: bool,
}

/// The bounded buffer of events received from every node, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveFeed {
    events: VecDeque<Received>,
    /// Events received since the feed began (the next event's index).
    received: u64,
    /// Events the nodes reported as missed by a slow reader.
    pub missed: u64,
}

impl LiveFeed {
    /// Adds one `/events` message that arrived at `arrival_us` (page time). A node's note
    /// that this reader lagged counts the missed events; anything else unreadable is an error.
    pub fn push(&mut self, line: &str, arrival_us: u64) -> Result<(), String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("event is not JSON: {e}"))?;
        if value["category"] == "lagged" {
            self.missed += value["missed"].as_u64().unwrap_or(0);
            return Ok(());
        }
        let mut view = event_view(&value)?;
        let origin_index = view.index;
        view.index = self.received;
        view.time = arrival_us;
        // The sender's time is in its own clock; it is placed once its sending event is found:
        // the send with the same message id (what nodes record), else the event the
        // delivery names as its cause. The sender's stream may bring the send after the
        // receiver's brought the delivery: the send then completes the delivery.
        let mut paired = false;
        match (view.category.as_str(), view.from, view.to, view.id) {
            ("deliver", Some(from), _, id) => {
                view.sent_at = id.and_then(|id| self.pair_send(from, view.node, id));
                if view.sent_at.is_some() {
                    paired = true;
                } else {
                    view.sent_at = view.cause.and_then(|cause| self.arrival_of(from, cause));
                }
            }
            ("send", _, Some(to), Some(id)) => paired = self.pair_delivery(view.node, to, id),
            _ => view.sent_at = None,
        }
        self.received += 1;
        if self.events.len() == LIVE_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(Received { view, origin_index, paired });
        Ok(())
    }

    /// The arrival time of `from`'s newest unpaired send of message `id` to `to`, now paired.
    fn pair_send(&mut self, from: u32, to: u32, id: u64) -> Option<u64> {
        let send = self.events.iter_mut().rev().find(|r| {
            !r.paired
                && r.view.node == from
                && r.view.to == Some(to)
                && r.view.id == Some(id)
                && r.view.category == "send"
        })?;
        send.paired = true;
        Some(send.view.time)
    }

    /// Gives the newest delivery of message `id` from `from` to `to` still waiting for its
    /// send an arrow (an older one may be an orphan whose send was evicted); it arrived
    /// first, so the arrow starts at its own arrival.
    fn pair_delivery(&mut self, from: u32, to: u32, id: u64) -> bool {
        let Some(d) = self.events.iter_mut().rev().find(|r| {
            !r.paired
                && r.view.node == to
                && r.view.from == Some(from)
                && r.view.id == Some(id)
                && r.view.category == "deliver"
        }) else {
            return false;
        };
        d.paired = true;
        d.view.sent_at = Some(d.view.time);
        true
    }

    /// When the event `index` of `node`'s own trace arrived, if it is still kept.
    fn arrival_of(&self, node: u32, index: u64) -> Option<u64> {
        self.events.iter().rev().find(|r| r.view.node == node && r.origin_index == index).map(|r| r.view.time)
    }

    /// Events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events received in all, kept or not.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The newest `n` events, newest first.
    pub fn newest(&self, n: usize) -> impl Iterator<Item = &EventView> {
        self.events.iter().rev().take(n).map(|r| &r.view)
    }

    /// The live cluster as the views draw it: `status` is `/live/status`'s `nodes` (one
    /// entry per replica: `id`, `alive`, `status`), `now_us` the page's time.
    pub fn snapshot(&self, status: &[Value], now_us: u64) -> Snapshot {
        let nodes = live_nodes(status, self.events.iter().map(|r| r.view.node));
        let skip = self.events.len().saturating_sub(RECENT_EVENTS as usize);
        let recent: Vec<EventView> = self.events.iter().skip(skip).map(|r| r.view.clone()).collect();
        let now_us = now_us.max(recent.last().map_or(0, |e| e.time));
        Snapshot {
            scenario: "live".into(),
            protocol: "pbft".into(),
            seed: 0,
            now_us,
            duration_us: now_us,
            events: self.received,
            trace_hash: String::new(),
            finished: false,
            at_origin: self.received == 0,
            violation: None,
            nodes,
            recent,
            // A send's arrival time is unknown until its delivery shows: nothing to fly.
            in_flight: Vec::new(),
            in_flight_total: 0,
            faults: Vec::new(),
            custom: None,
            network_faults: 0,
            sides: Vec::new(),
            broken_links: Vec::new(),
            metrics: None,
            behaviours: &[],
        }
    }
}

/// An event as the nodes write it (`EventView`'s JSON), read field by field from the
/// already parsed value (a derived decoder would grow the bundle for nothing).
fn event_view(v: &Value) -> Result<EventView, String> {
    let text = |k: &str| v[k].as_str().map(String::from);
    let number = |k: &str| v[k].as_u64();
    let (Some(index), Some(node), Some(category), Some(kind)) =
        (number("index"), number("node"), text("category"), text("kind"))
    else {
        return Err("not an event of a node: index, node, category or kind is missing".into());
    };
    let dropped = match v["dropped"].as_str() {
        Some("Loss") => Some(DropReason::Loss),
        Some("Partition") => Some(DropReason::Partition),
        Some("Crashed") => Some(DropReason::Crashed),
        Some("LinkFault") => Some(DropReason::LinkFault),
        _ => None,
    };
    Ok(EventView {
        index,
        time: number("time").unwrap_or(0),
        node: node as u32,
        category,
        kind,
        from: number("from").map(|n| n as u32),
        sent_at: number("sent_at"),
        cause: number("cause"),
        id: number("id"),
        to: number("to").map(|n| n as u32),
        dropped,
        hlc: text("hlc"),
        text: text("text").unwrap_or_default(),
        rejected: text("rejected"),
    })
}

/// One node per replica in `status`, in its order (node order; up or crashed, its role, view and HLC), then the
/// nodes that only appear in events (`seen`) as clients, when their ids are close enough.
pub fn live_nodes(status: &[Value], seen: impl Iterator<Item = u32>) -> Vec<NodeView> {
    let mut nodes: Vec<NodeView> = status.iter().enumerate().map(|(i, n)| replica(i as u32, n)).collect();
    let known = nodes.iter().map(|n| n.id + 1).max().unwrap_or(0);
    let last = seen.filter(|id| *id >= known && *id < known + MAX_EXTRA_NODES).max();
    if let Some(last) = last {
        for id in known..=last {
            let role = if status.is_empty() { "replica" } else { "client" };
            nodes.push(NodeView {
                id,
                state: "up".into(),
                role: role.into(),
                behaviour: None,
                hlc: None,
                clock_offset_us: 0,
                facts: Vec::new(),
            });
        }
    }
    nodes
}

/// A replica from its `/live/status` entry; a node that is down, or whose status did not
/// answer, is drawn crashed.
fn replica(position: u32, entry: &Value) -> NodeView {
    let id = entry["id"].as_u64().map_or(position, |i| i as u32);
    let st = &entry["status"];
    let up = entry["alive"].as_bool().unwrap_or(false) && st.is_object();
    let mut facts = Vec::new();
    for key in ["view", "last_executed", "stable_checkpoint", "keys"] {
        if let Some(v) = st[key].as_u64() {
            facts.push((key.to_owned(), v.to_string()));
        }
    }
    NodeView {
        id,
        state: if up { "up" } else { "crashed" }.into(),
        role: if up { st["role"].as_str().unwrap_or("replica").to_owned() } else { "replica".into() },
        behaviour: None,
        hlc: if up { st["hlc"].as_str().map(String::from) } else { None },
        clock_offset_us: 0,
        facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observe(node: u32, index: u64, kind: &str) -> String {
        json!({"index": index, "time": 123_456 + index, "node": node, "category": "observe", "kind": kind,
            "from": null, "sent_at": null, "cause": null, "to": null, "hlc": "1.0", "text": format!("{kind} at {node}"),
            "rejected": null})
        .to_string()
    }

    fn status(alive: [bool; 4], primary: u32) -> Vec<Value> {
        (0..4u32)
            .map(|i| {
                let st = if alive[i as usize] {
                    json!({"role": if i == primary { "primary" } else { "backup" }, "view": 2, "last_executed": 7,
                        "hlc": "5.1", "keys": 1})
                } else {
                    Value::Null
                };
                json!({"id": i, "alive": alive[i as usize], "status": st})
            })
            .collect()
    }

    #[test]
    fn replicas_take_state_and_role_from_the_status() {
        let snap = LiveFeed::default().snapshot(&status([true, false, true, true], 2), 0);
        let states: Vec<&str> = snap.nodes.iter().map(|n| n.state.as_str()).collect();
        assert_eq!(states, ["up", "crashed", "up", "up"]);
        let roles: Vec<&str> = snap.nodes.iter().map(|n| n.role.as_str()).collect();
        assert_eq!(roles, ["backup", "replica", "primary", "backup"]);
        assert!(snap.nodes[0].facts.contains(&("view".into(), "2".into())), "{:?}", snap.nodes[0].facts);
        assert_eq!(snap.nodes[0].hlc.as_deref(), Some("5.1"));
        assert_eq!(snap.nodes[1].hlc, None);
        assert!(snap.in_flight.is_empty() && snap.faults.is_empty());
    }

    #[test]
    fn events_are_numbered_and_timed_as_they_arrive() {
        let mut feed = LiveFeed::default();
        feed.push(&observe(2, 40, "Prepared"), 1_000).unwrap();
        feed.push(&observe(0, 9, "Committed"), 2_500).unwrap();
        let snap = feed.snapshot(&status([true; 4], 0), 3_000);
        let seen: Vec<(u64, u64, u32, &str)> =
            snap.recent.iter().map(|e| (e.index, e.time, e.node, e.kind.as_str())).collect();
        assert_eq!(seen, [(0, 1_000, 2, "Prepared"), (1, 2_500, 0, "Committed")]);
        assert_eq!((snap.events, snap.now_us), (2, 3_000));
        assert_eq!(feed.newest(1).next().map(|e| e.kind.as_str()), Some("Committed"));
    }

    #[test]
    fn the_buffer_keeps_the_latest_events_and_the_views_the_latest_few() {
        let mut feed = LiveFeed::default();
        for i in 0..(LIVE_EVENTS as u64 + 500) {
            feed.push(&observe((i % 4) as u32, i, "Executed"), i).unwrap();
        }
        assert_eq!((feed.len(), feed.received()), (LIVE_EVENTS, LIVE_EVENTS as u64 + 500));
        let snap = feed.snapshot(&status([true; 4], 0), 0);
        assert_eq!(snap.recent.len(), RECENT_EVENTS as usize);
        assert_eq!(snap.recent.last().map(|e| e.index), Some(LIVE_EVENTS as u64 + 499));
        assert_eq!(snap.now_us, LIVE_EVENTS as u64 + 499, "never behind the latest event");
    }

    #[test]
    fn a_delivery_gets_an_arrow_only_when_its_sending_event_was_seen() {
        let mut feed = LiveFeed::default();
        feed.push(&observe(1, 77, "PrePrepared"), 500).unwrap();
        let deliver = |cause: u64| {
            json!({"index": 3, "time": 9, "node": 2, "category": "deliver", "kind": "Prepare", "from": 1,
                "sent_at": 8_000_000, "cause": cause, "to": null, "hlc": null, "text": "", "rejected": null})
            .to_string()
        };
        feed.push(&deliver(77), 900).unwrap();
        feed.push(&deliver(78), 950).unwrap();
        let snap = feed.snapshot(&[], 1_000);
        assert_eq!(snap.recent[1].sent_at, Some(500), "sent when the sender's event arrived");
        assert_eq!(snap.recent[2].sent_at, None, "unknown sending event: no arrow");
    }

    #[test]
    fn a_delivery_is_paired_with_the_send_of_the_same_message_id() {
        let mut feed = LiveFeed::default();
        let send = |node: u32, id: u64, to: u32| {
            json!({"index": 50 + id, "time": 1, "node": node, "category": "send", "kind": "Prepare", "from": null,
                "sent_at": null, "cause": null, "id": id, "to": to, "hlc": null, "text": "", "rejected": null})
            .to_string()
        };
        // A node's delivery names no sending event of the sender's trace, only the id.
        let deliver = |node: u32, id: u64, from: u32| {
            json!({"index": 3, "time": 9, "node": node, "category": "deliver", "kind": "Prepare", "from": from,
                "sent_at": 0, "cause": u64::MAX, "id": id, "to": null, "hlc": null, "text": "", "rejected": null})
            .to_string()
        };
        feed.push(&send(1, 7, 2), 100).unwrap();
        feed.push(&send(1, 8, 3), 200).unwrap();
        feed.push(&send(3, 7, 2), 300).unwrap();
        feed.push(&observe(1, 7, "Prepared"), 350).unwrap();
        feed.push(&deliver(2, 7, 1), 400).unwrap();
        feed.push(&deliver(3, 8, 1), 450).unwrap();
        feed.push(&deliver(2, 9, 1), 500).unwrap();
        feed.push(&deliver(0, 7, 2), 550).unwrap();
        let snap = feed.snapshot(&[], 1_000);
        let sent: Vec<Option<u64>> = snap.recent[4..].iter().map(|e| e.sent_at).collect();
        // Not node 3's send with the same id, nor node 1's event whose index is 7; nothing
        // sent by node 2 yet.
        assert_eq!(sent, [Some(100), Some(200), None, None]);
        assert_eq!(snap.recent[0].id, Some(7));
        // Node 2's send shows after the delivery (another stream): the arrow starts there.
        feed.push(&send(2, 7, 0), 600).unwrap();
        assert_eq!(feed.snapshot(&[], 1_000).recent[7].sent_at, Some(550));
    }

    #[test]
    fn identical_messages_on_one_link_pair_one_to_one() {
        let mut feed = LiveFeed::default();
        let ev = |category: &str, node: u32, other: u32| {
            let (from, to) = if category == "send" { (None, Some(other)) } else { (Some(other), None) };
            json!({"index": 1, "time": 1, "node": node, "category": category, "kind": "KeepAlive", "from": from,
                "sent_at": null, "cause": null, "id": 42, "to": to, "hlc": null, "text": "", "rejected": null})
            .to_string()
        };
        feed.push(&ev("send", 1, 3), 100).unwrap();
        feed.push(&ev("deliver", 3, 1), 150).unwrap();
        // The next delivery outruns its send: it must not take the send already paired.
        feed.push(&ev("deliver", 3, 1), 1_100).unwrap();
        let snap = feed.snapshot(&[], 2_000);
        assert_eq!((snap.recent[1].sent_at, snap.recent[2].sent_at), (Some(100), None));
        feed.push(&ev("send", 1, 3), 1_120).unwrap();
        feed.push(&ev("deliver", 3, 1), 2_100).unwrap();
        let sent: Vec<Option<u64>> = feed.snapshot(&[], 3_000).recent.iter().map(|e| e.sent_at).collect();
        assert_eq!(sent, [None, Some(100), Some(1_100), None, None], "a send pairs with one delivery");
    }

    #[test]
    fn every_field_of_an_event_is_read() {
        let mut feed = LiveFeed::default();
        let line = json!({"index": 4, "time": 1, "node": 1, "category": "drop", "kind": "Commit", "from": null,
            "sent_at": null, "cause": null, "to": 3, "dropped": "Crashed", "hlc": "2.1", "text": "gone",
            "rejected": "bad MAC"});
        feed.push(&line.to_string(), 10).unwrap();
        let e = feed.newest(1).next().unwrap();
        assert_eq!((e.node, e.to, e.dropped), (1, Some(3), Some(DropReason::Crashed)));
        assert_eq!((e.category.as_str(), e.kind.as_str(), e.text.as_str()), ("drop", "Commit", "gone"));
        assert_eq!((e.hlc.as_deref(), e.rejected.as_deref()), (Some("2.1"), Some("bad MAC")));
    }

    #[test]
    fn lag_notes_count_missed_events_and_garbage_is_refused() {
        let mut feed = LiveFeed::default();
        feed.push(r#"{"category":"lagged","missed":12}"#, 0).unwrap();
        assert_eq!((feed.missed, feed.received()), (12, 0));
        assert!(feed.push("not json", 0).unwrap_err().contains("not JSON"));
        assert!(feed.push(r#"{"kind": 3}"#, 0).unwrap_err().contains("not an event"));
        assert!(feed.is_empty());
    }

    #[test]
    fn nodes_seen_only_in_events_join_as_clients_when_their_ids_are_close() {
        let mut feed = LiveFeed::default();
        feed.push(&observe(5, 0, "Invoked"), 1).unwrap();
        feed.push(&observe(900, 0, "Invoked"), 2).unwrap();
        let snap = feed.snapshot(&status([true; 4], 0), 3);
        let ids: Vec<(u32, &str)> = snap.nodes.iter().map(|n| (n.id, n.role.as_str())).collect();
        assert_eq!(
            ids,
            [(0, "primary"), (1, "backup"), (2, "backup"), (3, "backup"), (4, "client"), (5, "client")]
        );
        // Before the first status answer, the nodes in events with small ids are drawn.
        feed.push(&observe(3, 0, "Prepared"), 4).unwrap();
        let snap = feed.snapshot(&[], 5);
        let ids: Vec<(u32, &str)> = snap.nodes.iter().map(|n| (n.id, n.role.as_str())).collect();
        assert_eq!(ids, [(0, "replica"), (1, "replica"), (2, "replica"), (3, "replica")]);
    }
}
