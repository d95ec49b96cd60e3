//! Live mode's model: the events the native nodes stream over `/events` and the status
//! `void play` gathers, turned into a [`Snapshot`] so that the cluster view and the
//! space-time diagram draw the live cluster exactly as they draw a simulated run.
//!
//! Each node stamps its events with time since its own process started, which means
//! nothing to the other nodes; the page stamps every event when it arrives instead, so all
//! lanes share one clock.

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::Value;
use void_core::sim::{DropReason, EventView, InFlight, NodeView};

use crate::model::{RECENT_EVENTS, Snapshot};

/// Events kept in memory, across all nodes.
pub const LIVE_EVENTS: usize = 2_000;

/// How long a message takes to cross its link on screen (page time). Nodes on one host
/// deliver in well under a millisecond, far too fast to see; every send is drawn flying
/// this long, and longer if its delivery takes longer to show.
pub const FLIGHT_US: u64 = 450_000;

/// A send whose delivery has not shown this long after it is taken as lost (a dropped
/// frame, a killed receiver): from the end of its flight until then it fades at the
/// receiver.
pub const OVERDUE_US: u64 = 2_500_000;

/// Messages the live view draws in flight at most (the newest sends); the rest are counted.
pub const MAX_LIVE_FLIGHTS: usize = 40;

/// Distinct message kinds named for drawing; kinds past this many (not a protocol's own)
/// are drawn as "message".
const MAX_KINDS: usize = 64;

/// Window over which the event rate is measured.
const RATE_WINDOW_US: u64 = 2_000_000;

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
    /// For a paired send: when its delivery arrived (page time; earlier than the send
    /// when the receiver's stream was ahead).
    delivered_at: Option<u64>,
}

/// Where a message sent (its send seen) at `sent_at` is drawn at `now_us`, given when its
/// delivery showed, if it has: `Some((lands_at, opacity))` while drawn, `None` once landed
/// or given up. It flies for [`FLIGHT_US`] at least and lands when its delivery shows if
/// that is later; undelivered, it waits at the receiver, fading, until [`OVERDUE_US`].
pub fn flight(sent_at: u64, delivered_at: Option<u64>, now_us: u64) -> Option<(u64, f64)> {
    let arrives = sent_at + FLIGHT_US;
    let lands = match delivered_at {
        Some(d) => arrives.max(d),
        None if now_us < arrives => arrives,
        None => {
            let gone = sent_at + OVERDUE_US;
            let left = gone.saturating_sub(now_us) as f64 / (OVERDUE_US - FLIGHT_US) as f64;
            return (now_us < gone).then_some((arrives, left.clamp(0.0, 1.0)));
        }
    };
    (now_us < lands).then_some((lands, 1.0))
}

/// Events per second among events that arrived at `times` (oldest first), seen at
/// `now_us`: those of the last two seconds, or, when every one given is that recent (a
/// bounded list at a high rate), all of them over their span.
pub fn events_per_second(times: &[u64], now_us: u64) -> f64 {
    let since = now_us.saturating_sub(RATE_WINDOW_US);
    let recent = times.iter().filter(|t| **t > since).count();
    match times.first() {
        Some(first) if recent == times.len() && recent > 1 && *first > since => {
            recent as f64 * 1e6 / now_us.saturating_sub(*first).max(1) as f64
        }
        _ => recent as f64 * 1e6 / RATE_WINDOW_US as f64,
    }
}

/// A message kind as the cluster view names it (a `&'static str`, as the simulator's
/// are): the protocols' few kinds are kept once each; a stream of made-up names cannot
/// grow memory past [`MAX_KINDS`].
fn kind_name(kind: &str) -> &'static str {
    thread_local! {
        static KINDS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }
    KINDS.with_borrow_mut(|kinds| {
        if let Some(k) = kinds.iter().find(|k| **k == kind) {
            return *k;
        }
        if kinds.len() >= MAX_KINDS || kind.len() > 32 {
            return "message";
        }
        let k: &'static str = Box::leak(kind.to_owned().into_boxed_str());
        kinds.push(k);
        k
    })
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
    /// An empty feed whose next event is numbered `received` (a replay resumed part way).
    pub fn starting_at(received: u64) -> LiveFeed {
        LiveFeed { received, ..LiveFeed::default() }
    }

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
        let mut delivered_at = None;
        match (view.category.as_str(), view.from, view.to, view.id) {
            ("deliver", Some(from), _, id) => {
                view.sent_at = id.and_then(|id| self.pair_send(from, view.node, id, view.time));
                if view.sent_at.is_some() {
                    paired = true;
                } else {
                    view.sent_at = view.cause.and_then(|cause| self.arrival_of(from, cause));
                }
            }
            ("send", _, Some(to), Some(id)) => {
                delivered_at = self.pair_delivery(view.node, to, id);
                paired = delivered_at.is_some();
            }
            _ => view.sent_at = None,
        }
        self.received += 1;
        if self.events.len() == LIVE_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(Received { view, origin_index, paired, delivered_at });
        Ok(())
    }

    /// The arrival time of `from`'s newest unpaired send of message `id` to `to`, now paired
    /// with the delivery that arrived at `at`.
    fn pair_send(&mut self, from: u32, to: u32, id: u64, at: u64) -> Option<u64> {
        let send = self.events.iter_mut().rev().find(|r| {
            !r.paired
                && r.view.node == from
                && r.view.to == Some(to)
                && r.view.id == Some(id)
                && r.view.category == "send"
        })?;
        send.paired = true;
        send.delivered_at = Some(at);
        Some(send.view.time)
    }

    /// Gives the newest delivery of message `id` from `from` to `to` still waiting for its
    /// send an arrow (an older one may be an orphan whose send was evicted); it arrived
    /// first, so the arrow starts at its own arrival, which it returns.
    fn pair_delivery(&mut self, from: u32, to: u32, id: u64) -> Option<u64> {
        let d = self.events.iter_mut().rev().find(|r| {
            !r.paired
                && r.view.node == to
                && r.view.from == Some(from)
                && r.view.id == Some(id)
                && r.view.category == "deliver"
        })?;
        d.paired = true;
        d.view.sent_at = Some(d.view.time);
        Some(d.view.time)
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

    /// The sends seen whose messages are drawn at `now_us` between nodes below `nodes`,
    /// newest first: (send, when it lands, opacity).
    fn flying(&self, nodes: u32, now_us: u64) -> impl Iterator<Item = (&EventView, u64, f64)> {
        self.events
            .iter()
            .rev()
            // Arrival order is page-time order: older sends have all landed or gone.
            .take_while(move |r| r.view.time + OVERDUE_US.max(FLIGHT_US) > now_us)
            .filter(move |r| {
                r.view.category == "send" && r.view.node < nodes && r.view.to.is_some_and(|to| to < nodes)
            })
            .filter_map(move |r| {
                flight(r.view.time, r.delivered_at, now_us).map(|(lands, o)| (&r.view, lands, o))
            })
    }

    /// True while some message is drawn in flight at `now_us` (the view needs frames).
    pub fn animating(&self, now_us: u64) -> bool {
        self.flying(u32::MAX, now_us).next().is_some()
    }

    /// The messages in flight the view draws (at most [`MAX_LIVE_FLIGHTS`], the newest
    /// sends, soonest to land first), how many are in flight in all, and the overdue ones'
    /// opacity by message id (a send's place in the feed).
    fn in_flight(&self, nodes: u32, now_us: u64) -> (Vec<InFlight>, usize, Vec<(u64, f64)>) {
        let (mut drawn, mut total, mut fading) = (Vec::new(), 0, Vec::new());
        for (send, lands, opacity) in self.flying(nodes, now_us) {
            total += 1;
            if drawn.len() == MAX_LIVE_FLIGHTS {
                continue;
            }
            if opacity < 1.0 {
                fading.push((send.index, opacity));
            }
            drawn.push(InFlight {
                id: send.index,
                from: send.node,
                to: send.to.unwrap_or(send.node),
                sent_at: send.time,
                deliver_at: lands,
                kind: kind_name(&send.kind),
            });
        }
        void_core::sort::sort_by_key(&mut drawn, |m| (m.deliver_at, m.id));
        (drawn, total, fading)
    }

    /// The live cluster as the views draw it: `status` is `/live/status`'s `nodes` (one
    /// entry per replica: `id`, `alive`, `status`), `now_us` the page's time.
    pub fn snapshot(&self, status: &[Value], now_us: u64) -> Snapshot {
        let nodes = live_nodes(status, self.events.iter().map(|r| r.view.node));
        let skip = self.events.len().saturating_sub(RECENT_EVENTS as usize);
        let recent: Vec<EventView> = self.events.iter().skip(skip).map(|r| r.view.clone()).collect();
        let now_us = now_us.max(recent.last().map_or(0, |e| e.time));
        let (in_flight, in_flight_total, overdue) = self.in_flight(nodes.len() as u32, now_us);
        Snapshot {
            scenario: "live".into(),
            summary: String::new(),
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
            in_flight,
            in_flight_total,
            overdue,
            faults: Vec::new(),
            custom: None,
            network_faults: 0,
            sides: Vec::new(),
            broken_links: Vec::new(),
            metrics: None,
            behaviours: &[],
            behaviour_summaries: &[],
            invariants: Vec::new(),
            faulty: Vec::new(),
            spread: None,
            waiting: None,
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

    fn message(category: &str, node: u32, other: u32, id: u64, kind: &str) -> String {
        let (from, to) = if category == "send" { (None, Some(other)) } else { (Some(other), None) };
        json!({"index": 1, "time": 1, "node": node, "category": category, "kind": kind, "from": from,
            "sent_at": null, "cause": null, "id": id, "to": to, "hlc": null, "text": "", "rejected": null})
        .to_string()
    }

    #[test]
    fn a_message_flies_for_the_visual_flight_time_and_lands_when_delivered() {
        // Delivered before its flight ends: it still crosses the whole link.
        assert_eq!(flight(1_000, Some(1_200), 1_000), Some((1_000 + FLIGHT_US, 1.0)));
        assert_eq!(flight(1_000, Some(1_200), 1_000 + FLIGHT_US - 1), Some((1_000 + FLIGHT_US, 1.0)));
        assert_eq!(flight(1_000, Some(1_200), 1_000 + FLIGHT_US), None, "landed");
        // The receiver's stream showed the delivery first: the same flight.
        assert_eq!(flight(1_000, Some(900), 1_100), Some((1_000 + FLIGHT_US, 1.0)));
        // Not delivered yet: flying, then waiting at the receiver and fading until given up.
        assert_eq!(flight(0, None, FLIGHT_US / 2), Some((FLIGHT_US, 1.0)));
        let half = FLIGHT_US + (OVERDUE_US - FLIGHT_US) / 2;
        let (lands, opacity) = flight(0, None, half).unwrap();
        assert_eq!(lands, FLIGHT_US);
        assert!((opacity - 0.5).abs() < 1e-6, "{opacity}");
        assert_eq!(flight(0, None, OVERDUE_US), None, "given up: the frame was lost");
        // A delivery that shows while the message waits lands it at once.
        assert_eq!(flight(0, Some(half), half), None);
    }

    #[test]
    fn sends_without_their_delivery_are_drawn_in_flight_until_it_shows() {
        let mut feed = LiveFeed::default();
        feed.push(&message("send", 1, 2, 7, "Prepare"), 1_000).unwrap();
        feed.push(&message("send", 0, 3, 8, "Commit"), 2_000).unwrap();
        let snap = feed.snapshot(&status([true; 4], 0), 100_000);
        let drawn: Vec<(u32, u32, &str, u64, u64)> =
            snap.in_flight.iter().map(|m| (m.from, m.to, m.kind, m.sent_at, m.deliver_at)).collect();
        assert_eq!(
            drawn,
            [(1, 2, "Prepare", 1_000, 1_000 + FLIGHT_US), (0, 3, "Commit", 2_000, 2_000 + FLIGHT_US)]
        );
        assert_eq!((snap.in_flight_total, snap.overdue.len()), (2, 0));
        assert!(feed.animating(100_000));
        // Node 2 delivers the Prepare: it finishes its flight, then lands.
        feed.push(&message("deliver", 2, 1, 7, "Prepare"), 150_000).unwrap();
        let snap = feed.snapshot(&status([true; 4], 0), 200_000);
        assert_eq!(snap.in_flight.len(), 2);
        let snap = feed.snapshot(&status([true; 4], 0), 1_000 + FLIGHT_US);
        assert_eq!(snap.in_flight.iter().map(|m| m.kind).collect::<Vec<_>>(), ["Commit"]);
        // The Commit's delivery never shows: it fades, then it is gone.
        let snap = feed.snapshot(&status([true; 4], 0), 2_000 + OVERDUE_US - 1);
        assert_eq!(snap.overdue.len(), 1);
        assert_eq!(snap.overdue[0].0, snap.in_flight[0].id);
        assert!(snap.overdue[0].1 < 0.01);
        let snap = feed.snapshot(&status([true; 4], 0), 2_000 + OVERDUE_US);
        assert!(snap.in_flight.is_empty() && snap.overdue.is_empty() && snap.in_flight_total == 0);
        assert!(!feed.animating(2_000 + OVERDUE_US));
    }

    #[test]
    fn in_flight_drawing_is_capped_and_skips_nodes_not_drawn() {
        let mut feed = LiveFeed::default();
        for i in 0..(MAX_LIVE_FLIGHTS as u64 + 10) {
            feed.push(&message("send", (i % 4) as u32, ((i + 1) % 4) as u32, i, "KeepAlive"), 1_000 + i)
                .unwrap();
        }
        feed.push(&message("send", 1, 900, 5, "Request"), 5_000).unwrap();
        let snap = feed.snapshot(&status([true; 4], 0), 10_000);
        assert_eq!(snap.in_flight.len(), MAX_LIVE_FLIGHTS);
        assert_eq!(snap.in_flight_total, MAX_LIVE_FLIGHTS + 10, "node 900 is not drawn: its message neither");
        // The newest sends are drawn, soonest to land first.
        assert_eq!(snap.in_flight.first().map(|m| m.sent_at), Some(1_010));
        assert!(snap.in_flight.windows(2).all(|w| w[0].deliver_at <= w[1].deliver_at));
    }

    #[test]
    fn made_up_kinds_cannot_grow_the_kind_names_without_bound() {
        assert_eq!(kind_name("Prepare"), "Prepare");
        assert!(std::ptr::eq(kind_name("Prepare"), kind_name(&String::from("Prepare"))), "named once");
        for i in 0..(2 * MAX_KINDS) {
            kind_name(&format!("Kind{i}"));
        }
        assert_eq!(kind_name("YetAnotherKind"), "message");
        assert_eq!(kind_name(&"x".repeat(100)), "message");
    }

    #[test]
    fn the_event_rate_counts_the_last_two_seconds() {
        assert_eq!(events_per_second(&[], 5_000_000), 0.0);
        // Four events in the last two seconds, one older.
        let times = [1_000_000, 3_500_000, 4_000_000, 4_500_000, 4_900_000];
        assert_eq!(events_per_second(&times, 5_000_000), 2.0);
        // A short list, all recent: its own span (100 events in 0.5 s).
        let burst: Vec<u64> = (0..100).map(|i| 4_500_000 + i * 5_000).collect();
        assert!((events_per_second(&burst, 5_000_000) - 200.0).abs() < 1e-9);
        assert_eq!(events_per_second(&times, 60_000_000), 0.0, "quiet now");
    }
}
