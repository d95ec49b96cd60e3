//! Recordings of native runs: the trace files `void node --trace` writes (one per node,
//! each line an event as `/events` streams it) merged into one sequence and replayed
//! through the live feed, so the cluster view and the space-time diagram draw a recorded
//! run exactly as they draw the live cluster.

use std::rc::Rc;

use serde_json::{Value, json};

use crate::live::{LIVE_EVENTS, LiveFeed};
use crate::model::Snapshot;

/// The snapshot's scenario name while a recording is drawn (the views word their hints so).
pub const SCENARIO: &str = "recording";

/// Nodes whose clocks are aligned at most (their pairs are counted in a table).
const MAX_ALIGNED_NODES: usize = 64;

/// Events looked back through for each node's latest HLC stamp.
const HLC_LOOKBACK: usize = 4 * LIVE_EVENTS;

/// What a trace file holds, told by its first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// `void sim --dump-trace`: nested simulator events (no `category`).
    Simulator,
    /// `void node --trace`: flat event views, as `/events` streams them.
    Events,
}

/// The format of `text` (a file named `name`), from its first non-blank line.
pub fn detect(name: &str, text: &str) -> Result<TraceFormat, String> {
    let Some((n, line)) = text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(format!("{name}: no events (the file is empty)"));
    };
    // A scenario (one JSON document over many lines) belongs in the scenario editor.
    if let Ok(doc) = serde_json::from_str::<Value>(text)
        && doc.get("protocol").is_some()
        && doc.get("nodes").is_some()
    {
        return Err(format!(
            "{name} is a scenario, not a trace: open it with \"open file…\" under \"Scenario JSON\" (in the side panel), \
             then run it"
        ));
    }
    let v: Value = serde_json::from_str(line).map_err(|e| {
        format!(
            "{name}, line {}: not JSON: {e} (import reads a trace: JSON lines as `void sim --dump-trace` \
             or `void node --trace` write)",
            n + 1
        )
    })?;
    if v["category"].is_string() && v["kind"].is_string() {
        Ok(TraceFormat::Events)
    } else if v["index"].is_u64() && v.get("kind").is_some() && v.get("category").is_none() {
        Ok(TraceFormat::Simulator)
    } else {
        Err(format!(
            "{name}, line {}: unknown format: neither a node's event (as `void node --trace` writes) nor a \
             simulator event (as `void sim --dump-trace` writes)",
            n + 1
        ))
    }
}

/// One recorded event, where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Recorded {
    time: u64,
    node: u32,
    index: u64,
    /// Which file (an index into the recording's names) and line.
    file: usize,
    line: usize,
    /// A replica's boot (`start`).
    start: bool,
    /// A send's receiver or a delivery's sender, and the message id (what pairs them).
    send_to: Option<u32>,
    deliver_from: Option<u32>,
    id: Option<u64>,
    json: Rc<str>,
}

/// The events of one or more node trace files, merged by time (ties by node, then the
/// node's own index). `Eq`, so that an `Rc` of one compares by identity first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub files: Vec<String>,
    /// The nodes that recorded events, ascending.
    pub nodes: Vec<u32>,
    /// Of those, the replicas: the nodes that booted in the recording (a node's process
    /// also records the clients it hosts, such as its gateway's), or all when none did.
    pub replicas: Vec<u32>,
    /// Each node's clock ahead of the lowest node's (µs), as the messages between them
    /// show; nodes not listed are taken to agree with it.
    pub offsets: Vec<(u32, i64)>,
    events: Vec<Recorded>,
}

impl Recording {
    /// Reads every line of every file as a node's event; the first bad line is the error,
    /// naming its file and line.
    pub fn read(files: &[(String, Rc<str>)]) -> Result<Recording, String> {
        let mut events = Vec::new();
        for (file, (name, text)) in files.iter().enumerate() {
            let before = events.len();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let at = || format!("{name}, line {}", n + 1);
                let v: Value = serde_json::from_str(line).map_err(|e| format!("{}: not JSON: {e}", at()))?;
                let missing: Vec<&str> = [("index", v["index"].is_u64()), ("time", v["time"].is_u64())]
                    .into_iter()
                    .chain([("node", v["node"].as_u64().is_some_and(|n| n <= u32::MAX as u64))])
                    .chain([("category", v["category"].is_string()), ("kind", v["kind"].is_string())])
                    .filter(|(_, ok)| !ok)
                    .map(|(k, _)| k)
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "{}: not a node's event (as `void node --trace` writes): no {}",
                        at(),
                        missing.join(", ")
                    ));
                }
                events.push(Recorded {
                    time: v["time"].as_u64().unwrap_or(0),
                    node: v["node"].as_u64().unwrap_or(0) as u32,
                    index: v["index"].as_u64().unwrap_or(0),
                    file,
                    line: n + 1,
                    start: v["category"] == "start",
                    send_to: (v["category"] == "send").then(|| v["to"].as_u64()).flatten().map(|n| n as u32),
                    deliver_from: (v["category"] == "deliver")
                        .then(|| v["from"].as_u64())
                        .flatten()
                        .map(|n| n as u32),
                    id: v["id"].as_u64(),
                    json: line.into(),
                });
            }
            if events.len() == before {
                return Err(format!("{name}: no events (the file is empty)"));
            }
        }
        let mut nodes: Vec<u32> = events.iter().map(|e| e.node).collect();
        void_core::sort::sort(&mut nodes);
        nodes.dedup();
        // Each process counts time from its own start: put every node on one clock first.
        let offsets = clock_offsets(&events, &nodes);
        let ahead = offsets.iter().map(|(_, c)| *c).max().unwrap_or(0).max(0);
        for e in &mut events {
            let c = offsets.iter().find(|(n, _)| *n == e.node).map_or(0, |(_, c)| *c);
            e.time = (e.time as i64 + ahead - c).max(0) as u64;
        }
        void_core::sort::sort_by_key(&mut events, |e| (e.time, e.node, e.index, e.file));
        // The same event twice: a file chosen twice, or two files of one node's run.
        if let Some(w) = events.windows(2).find(|w| (w[0].node, w[0].index) == (w[1].node, w[1].index)) {
            return Err(format!(
                "{}, line {}: node {}'s event {} is already in {}, line {}",
                files[w[1].file].0, w[1].line, w[1].node, w[1].index, files[w[0].file].0, w[0].line
            ));
        }
        let mut replicas: Vec<u32> = events.iter().filter(|e| e.start).map(|e| e.node).collect();
        void_core::sort::sort(&mut replicas);
        replicas.dedup();
        if replicas.is_empty() {
            replicas = nodes.clone();
        }
        let offsets = offsets.into_iter().filter(|(_, c)| *c != 0).collect();
        Ok(Recording {
            files: files.iter().map(|(n, _)| n.clone()).collect(),
            nodes,
            replicas,
            offsets,
            events,
        })
    }

    /// Events recorded, across all nodes.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The first and last event's time (each node's clock: time since its process started).
    pub fn span_us(&self) -> (u64, u64) {
        (self.events.first().map_or(0, |e| e.time), self.events.last().map_or(0, |e| e.time))
    }

    /// The (time, node, node's index) of the events in replay order.
    pub fn order(&self) -> impl Iterator<Item = (u64, u32, u64)> + '_ {
        self.events.iter().map(|e| (e.time, e.node, e.index))
    }

    /// The files, a name chosen several times (every node writes `trace.jsonl`) given once
    /// with its count.
    pub fn file_names(&self) -> String {
        let mut names: Vec<(&str, usize)> = Vec::new();
        for f in &self.files {
            match names.iter_mut().find(|(n, _)| n == f) {
                Some((_, c)) => *c += 1,
                None => names.push((f, 1)),
            }
        }
        let names: Vec<String> =
            names.iter().map(|(n, c)| if *c == 1 { (*n).to_owned() } else { format!("{n} ×{c}") }).collect();
        names.join(", ")
    }

    /// What the recording is, in one line: its files, nodes, events and time span.
    pub fn summary(&self) -> String {
        let name =
            |ns: &mut dyn Iterator<Item = &u32>| ns.map(|n| format!("N{n}")).collect::<Vec<_>>().join(" ");
        let clients = name(&mut self.nodes.iter().filter(|n| !self.replicas.contains(n)));
        let clients = if clients.is_empty() { clients } else { format!(" + clients {clients}") };
        let (first, last) = self.span_us();
        let aligned = if self.offsets.is_empty() { "" } else { " · clocks aligned" };
        format!(
            "{} · nodes {}{clients} · {} events · {}{aligned}",
            self.file_names(),
            name(&mut self.replicas.iter()),
            self.len(),
            span_text(last - first)
        )
    }

    /// How each node's clock was moved to agree with the lowest node's, for a tooltip.
    pub fn clock_note(&self) -> String {
        let moved: Vec<String> =
            self.offsets.iter().map(|(n, c)| format!("N{n} {:+.1} ms", -(*c as f64) / 1000.0)).collect();
        match moved.is_empty() {
            true => "each node's own clock, as recorded".into(),
            false => format!("clocks aligned by the messages between nodes: {}", moved.join(", ")),
        }
    }

    /// The nodes to draw, as the live status would list them: every node up to the highest
    /// replica (a node without a file still has a lane), then the clients that recorded,
    /// when their ids follow closely (live mode's rule for clients seen in events).
    fn status(&self) -> Vec<Value> {
        let replicas = self.replicas.last().copied().unwrap_or(0);
        let last = self.nodes.iter().copied().filter(|n| *n <= replicas + 4).max().unwrap_or(replicas);
        (0..=last)
            .map(|id| {
                let role = if id > replicas || !self.replicas.contains(&id) && self.nodes.contains(&id) {
                    "client"
                } else {
                    "replica"
                };
                json!({"id": id, "alive": true, "status": {"role": role}})
            })
            .collect()
    }
}

/// How far each node's clock runs ahead of the lowest node's, from messages sent both ways
/// between two nodes: a message's delivery time minus its send time is the delay plus the
/// receiver's offset from the sender, so, taking delays both ways as equal, the offset is
/// half the difference of the two directions' smallest (Cristian's estimate). Only ids sent
/// once on their link count (identical messages share an id).
fn clock_offsets(events: &[Recorded], nodes: &[u32]) -> Vec<(u32, i64)> {
    let n = nodes.len();
    // Pairs of nodes are counted in a table: beyond a few dozen nodes, no alignment.
    if n > MAX_ALIGNED_NODES {
        return Vec::new();
    }
    // Sends by (from, to, id), sorted; a second send of the same id makes it ambiguous.
    let mut all: Vec<((u32, u32, u64), u64)> =
        events.iter().filter_map(|e| Some(((e.node, e.send_to?, e.id?), e.time))).collect();
    void_core::sort::sort_by_key(&mut all, |s| s.0);
    let mut sends: Vec<((u32, u32, u64), Option<u64>)> = Vec::with_capacity(all.len());
    for (key, time) in all {
        match sends.last_mut() {
            Some((last, t)) if *last == key => *t = None,
            _ => sends.push((key, Some(time))),
        }
    }
    let sent_at = |key| sends.binary_search_by_key(&key, |s| s.0).ok().and_then(|i| sends[i].1);
    let at = |node: u32| nodes.binary_search(&node).ok();
    // least[a * n + b]: the smallest delivery-minus-send time from a to b.
    let mut least: Vec<Option<i64>> = vec![None; n * n];
    for e in events {
        if let (Some(from), Some(id)) = (e.deliver_from, e.id)
            && let Some(sent) = sent_at((from, e.node, id))
            && let (Some(a), Some(b)) = (at(from), at(e.node))
        {
            let d = e.time as i64 - sent as i64;
            let m = &mut least[a * n + b];
            *m = Some(m.map_or(d, |m| m.min(d)));
        }
    }
    let mut offsets: Vec<Option<i64>> = vec![None; n];
    let mut queue = Vec::new();
    if n > 0 {
        offsets[0] = Some(0);
        queue.push(0);
    }
    while let Some(a) = queue.pop() {
        let ca = offsets[a].unwrap_or(0);
        for b in 0..n {
            if let (None, Some(d_ab), Some(d_ba)) = (offsets[b], least[a * n + b], least[b * n + a]) {
                offsets[b] = Some(ca + (d_ab - d_ba) / 2);
                queue.push(b);
            }
        }
    }
    nodes.iter().zip(offsets).filter_map(|(node, c)| c.map(|c| (*node, c))).collect()
}

/// The HLC stamp an event line carries, if any.
fn hlc_of(json: &str) -> Option<String> {
    // Cheap test first: most lines (deliveries, sends) carry none.
    if json.contains("\"hlc\":null") {
        return None;
    }
    serde_json::from_str::<Value>(json).ok()?["hlc"].as_str().map(String::from)
}

/// A time span as people read it: milliseconds below a second, else seconds.
fn span_text(us: u64) -> String {
    if us < 1_000_000 { crate::format::ms(us) } else { format!("{:.2} s", us as f64 / 1e6) }
}

/// Replays a recording: the first `position` events are fed, in order, to a live feed
/// stamped with their recorded times.
#[derive(Clone, Debug, PartialEq)]
pub struct Player {
    recording: Rc<Recording>,
    feed: LiveFeed,
    position: usize,
    /// Recorded time shown: the last event fed, or later while messages fly.
    pub clock_us: u64,
}

impl Player {
    pub fn new(recording: Rc<Recording>) -> Player {
        let clock_us = recording.span_us().0;
        Player { recording, feed: LiveFeed::default(), position: 0, clock_us }
    }

    pub fn recording(&self) -> &Rc<Recording> {
        &self.recording
    }

    /// Events played.
    pub fn position(&self) -> usize {
        self.position
    }

    pub fn at_end(&self) -> bool {
        self.position == self.recording.len()
    }

    fn feed_to(&mut self, position: usize) {
        let position = position.min(self.recording.len());
        if position < self.position {
            // Back: feed again, from far enough behind that every event kept finds its pair.
            let from = position.saturating_sub(2 * LIVE_EVENTS);
            self.feed = LiveFeed::starting_at(from as u64);
            self.position = from;
        }
        for e in &self.recording.events[self.position..position] {
            // Lines were checked when read.
            let _ = self.feed.push(&e.json, e.time);
        }
        self.position = position;
    }

    /// Goes to `position` events played; the clock shows the last one.
    pub fn seek(&mut self, position: usize) {
        self.feed_to(position);
        let (first, _) = self.recording.span_us();
        self.clock_us = match self.position {
            0 => first,
            p => self.recording.events[p - 1].time,
        };
    }

    pub fn step(&mut self) {
        self.seek(self.position + 1);
    }

    pub fn step_back(&mut self) {
        self.seek(self.position.saturating_sub(1));
    }

    /// Plays `elapsed_us` of recorded time: the events up to the new clock. A quiet
    /// stretch (nothing flying, the next event further than a flight away) is skipped.
    pub fn advance(&mut self, elapsed_us: u64) {
        let Some(next) = self.recording.events.get(self.position).map(|e| e.time) else {
            // Past the last event only the last messages' flights go on.
            if self.animating() {
                self.clock_us += elapsed_us;
            }
            return;
        };
        self.clock_us += elapsed_us;
        if !self.feed.animating(self.clock_us) && next > self.clock_us + crate::live::FLIGHT_US {
            self.clock_us = next;
        }
        let upto = self.position
            + self.recording.events[self.position..].partition_point(|e| e.time <= self.clock_us);
        self.feed_to(upto);
    }

    /// True while a message is drawn flying at the clock.
    pub fn animating(&self) -> bool {
        self.feed.animating(self.clock_us)
    }

    /// The recorded cluster at the clock, drawn as the live one is.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.feed.snapshot(&self.recording.status(), self.clock_us);
        s.scenario = SCENARIO.into();
        // Each node's latest HLC stamp so far, as the live status gives it.
        let mut missing: Vec<u32> = s.nodes.iter().map(|n| n.id).collect();
        // Bounded: a node that never stamps must not cost a scan of the whole run per frame.
        for e in self.recording.events[..self.position].iter().rev().take(HLC_LOOKBACK) {
            if missing.is_empty() {
                break;
            }
            if let Some(i) = missing.iter().position(|n| *n == e.node)
                && let Some(hlc) = hlc_of(&e.json)
            {
                missing.swap_remove(i);
                if let Some(n) = s.nodes.iter_mut().find(|n| n.id == e.node) {
                    n.hlc = Some(hlc);
                }
            }
        }
        s.finished = self.at_end();
        s.at_origin = self.position == 0;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: u32, index: u64, time: u64) -> String {
        json!({"index": index, "time": time, "node": node, "category": "observe", "kind": "Prepared",
            "from": null, "sent_at": null, "cause": null, "to": null, "hlc": "1.0", "text": "prepared",
            "rejected": null})
        .to_string()
    }

    fn message(category: &str, node: u32, other: u32, index: u64, time: u64, id: u64) -> String {
        let (from, to) = if category == "send" { (None, Some(other)) } else { (Some(other), None) };
        json!({"index": index, "time": time, "node": node, "category": category, "kind": "Prepare",
            "from": from, "sent_at": null, "cause": null, "id": id, "to": to, "hlc": null, "text": "",
            "rejected": null})
        .to_string()
    }

    fn file(name: &str, lines: &[String]) -> (String, Rc<str>) {
        (name.to_owned(), lines.join("\n").into())
    }

    #[test]
    fn formats_are_told_apart_by_their_first_line() {
        assert_eq!(detect("a", &format!("\n{}\n", event(0, 0, 5))), Ok(TraceFormat::Events));
        let sim = r#"{"index":0,"time":0,"node":0,"kind":"Start"}"#;
        assert_eq!(detect("b", sim), Ok(TraceFormat::Simulator));
        let nested = r#"{"index":3,"time":9,"node":1,"kind":{"Timer":{"timer":"View"}}}"#;
        assert_eq!(detect("b", nested), Ok(TraceFormat::Simulator));
        let e = detect("c.jsonl", "\n{\"hello\": 1}").unwrap_err();
        assert!(e.starts_with("c.jsonl, line 2: unknown format"), "{e}");
        let e = detect("d.jsonl", "not json").unwrap_err();
        assert!(e.starts_with("d.jsonl, line 1: not JSON") && e.contains("import reads a trace"), "{e}");
        let scenario = "{\n  \"name\": \"x\",\n  \"protocol\": \"pbft\",\n  \"nodes\": 4\n}\n";
        let e = detect("x.json", scenario).unwrap_err();
        assert!(e.starts_with("x.json is a scenario, not a trace") && e.contains("Scenario JSON"), "{e}");
        assert_eq!(detect("e.jsonl", " \n"), Err("e.jsonl: no events (the file is empty)".into()));
    }

    #[test]
    fn files_merge_by_time_then_node_then_index() {
        let a = file("node-0", &[event(0, 0, 10), event(0, 1, 30), event(0, 2, 30)]);
        let b = file("node-1", &[event(1, 0, 5), event(1, 1, 30)]);
        let both = file("mixed", &[event(3, 0, 30), event(2, 0, 20)]);
        let r = Recording::read(&[a, b, both]).expect("a recording");
        let order: Vec<(u64, u32, u64)> = r.order().collect();
        assert_eq!(
            order,
            [(5, 1, 0), (10, 0, 0), (20, 2, 0), (30, 0, 1), (30, 0, 2), (30, 1, 1), (30, 3, 0)]
        );
        assert_eq!(r.nodes, [0, 1, 2, 3]);
        assert_eq!(r.span_us(), (5, 30));
        assert_eq!(r.summary(), "node-0, node-1, mixed · nodes N0 N1 N2 N3 · 7 events · 0.025 ms");
    }

    #[test]
    fn bad_lines_are_named_by_file_and_line() {
        let good = file("t0", &[event(0, 0, 1)]);
        let e = Recording::read(&[good.clone(), file("t1", &[event(1, 0, 1), "{oops".into()])]).unwrap_err();
        assert!(e.starts_with("t1, line 2: not JSON"), "{e}");
        let no_time = r#"{"index":0,"node":1,"category":"observe","kind":"X"}"#.to_owned();
        let e = Recording::read(&[file("t1", &[no_time])]).unwrap_err();
        assert_eq!(e, "t1, line 1: not a node's event (as `void node --trace` writes): no time");
        let e = Recording::read(&[file("t1", &[r#"{"index":0}"#.into()])]).unwrap_err();
        assert!(e.ends_with("no time, node, category, kind"), "{e}");
        let e = Recording::read(&[good.clone(), good]).unwrap_err();
        assert_eq!(e, "t0, line 1: node 0's event 0 is already in t0, line 1");
        let e = Recording::read(&[file("t2", &[])]).unwrap_err();
        assert_eq!(e, "t2: no events (the file is empty)");
    }

    #[test]
    fn names_given_several_times_are_counted() {
        let files: Vec<(String, Rc<str>)> =
            (0..4).map(|i| file("trace.jsonl", &[event(i, 0, i as u64)])).collect();
        assert_eq!(Recording::read(&files).expect("read").file_names(), "trace.jsonl ×4");
    }

    #[test]
    fn clocks_are_aligned_by_messages_both_ways() {
        // N1's clock runs 50 ms ahead of N0's; each message takes 100 µs.
        let n0 = file("n0", &[message("send", 0, 1, 0, 100, 1), message("deliver", 0, 1, 1, 400, 2)]);
        let n1 = file("n1", &[message("deliver", 1, 0, 0, 50_200, 1), message("send", 1, 0, 1, 50_300, 2)]);
        let r = Recording::read(&[n0, n1]).expect("read");
        assert_eq!(r.offsets, [(1, 50_000)]);
        let order: Vec<(u64, u32, u64)> = r.order().collect();
        assert_eq!(order, [(50_100, 0, 0), (50_200, 1, 0), (50_300, 1, 1), (50_400, 0, 1)], "on N1's clock");
        assert!(r.summary().ends_with(" · clocks aligned"), "{}", r.summary());
        assert_eq!(r.clock_note(), "clocks aligned by the messages between nodes: N1 -50.0 ms");
        // Messages one way only tell nothing: each node keeps its clock.
        let r = exchange();
        assert!(r.offsets.is_empty());
        assert_eq!(r.clock_note(), "each node's own clock, as recorded");
    }

    fn exchange() -> Rc<Recording> {
        // N0 sends to N1 (id 7); N1's file brings the delivery, recorded a little later.
        let n0 = file("n0", &[event(0, 0, 100), message("send", 0, 1, 1, 200, 7), event(0, 2, 5_000_000)]);
        let n1 = file("n1", &[message("deliver", 1, 0, 0, 250, 7), event(1, 1, 300)]);
        Rc::new(Recording::read(&[n0, n1]).expect("read"))
    }

    #[test]
    fn sends_and_deliveries_pair_by_message_id() {
        let mut p = Player::new(exchange());
        p.seek(3);
        let s = p.snapshot();
        assert_eq!(s.events, 3);
        let deliver = s.recent.iter().find(|e| e.category == "deliver").expect("the delivery");
        assert_eq!(deliver.sent_at, Some(200), "drawn from its send");
        assert_eq!(s.in_flight.len(), 1, "the message flies: {:?}", s.in_flight);
        assert_eq!((s.in_flight[0].from, s.in_flight[0].to), (0, 1));
        assert_eq!(s.nodes.len(), 2);
        let hlcs: Vec<Option<&str>> = s.nodes.iter().map(|n| n.hlc.as_deref()).collect();
        assert_eq!(hlcs, [Some("1.0"), None], "each node's latest stamp so far");
        assert!(!s.finished && !s.at_origin);
    }

    #[test]
    fn stepping_and_seeking_move_the_position_and_the_clock() {
        let mut p = Player::new(exchange());
        assert_eq!((p.position(), p.clock_us, p.snapshot().at_origin), (0, 100, true));
        p.step();
        p.step();
        assert_eq!((p.position(), p.clock_us), (2, 200));
        p.seek(5);
        assert!(p.at_end() && p.snapshot().finished);
        assert_eq!(p.clock_us, 5_000_000);
        p.step();
        assert_eq!(p.position(), 5, "no further than the end");
        p.step_back();
        let back = p.snapshot();
        let mut fresh = Player::new(exchange());
        fresh.seek(4);
        assert_eq!(back, fresh.snapshot(), "going back feeds again to the same picture");
        p.seek(0);
        assert_eq!((p.snapshot().events, p.clock_us), (0, 100));
    }

    #[test]
    fn playing_follows_the_clock_and_skips_quiet_stretches() {
        let mut p = Player::new(exchange());
        p.advance(150);
        assert_eq!(p.position(), 3, "events up to t=250");
        assert!(p.animating());
        p.advance(100);
        assert_eq!(p.position(), 4);
        // The message lands 450 ms after its send; until then time passes as played.
        p.advance(100_000);
        assert_eq!(p.position(), 4);
        p.advance(400_000);
        assert!(!p.animating());
        p.advance(1);
        assert_eq!((p.position(), p.clock_us), (5, 5_000_000), "the quiet seconds are skipped");
        assert!(p.at_end());
    }

    fn fixture() -> Vec<(String, Rc<str>)> {
        [
            include_str!("../tests/fixtures/node-0.jsonl"),
            include_str!("../tests/fixtures/node-1.jsonl"),
            include_str!("../tests/fixtures/node-2.jsonl"),
            include_str!("../tests/fixtures/node-3.jsonl"),
        ]
        .iter()
        .map(|t| ("trace.jsonl".to_owned(), Rc::from(*t)))
        .collect()
    }

    #[test]
    fn a_real_cluster_run_replays_with_its_messages_paired() {
        let files = fixture();
        let r = Rc::new(Recording::read(&files).expect("the nodes' traces"));
        assert_eq!((r.nodes.clone(), r.replicas.clone()), (vec![0, 1, 2, 3, 4], vec![0, 1, 2, 3]));
        assert!(r.summary().starts_with("trace.jsonl ×4 · nodes N0 N1 N2 N3 + clients N4 · 452 events · "));
        assert_eq!(detect("trace.jsonl", &files[0].1), Ok(TraceFormat::Events));
        let order: Vec<(u64, u32, u64)> = r.order().collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "merged by time, node, index");
        // One file holding every node's lines replays the same.
        let all: String = files.iter().map(|(_, t)| t.to_string()).collect();
        let one = Recording::read(&[("all.jsonl".to_owned(), Rc::from(all))]).expect("one file");
        assert_eq!(one.order().collect::<Vec<_>>(), order);

        // Node 1's process started about 47 ms before node 0's (so its clock is ahead).
        let n1 = r.offsets.iter().find(|(n, _)| *n == 1).map_or(0, |(_, c)| *c);
        assert!((40_000..55_000).contains(&n1), "{:?}", r.offsets);
        let mut p = Player::new(r.clone());
        let roles: Vec<String> = p.snapshot().nodes.iter().map(|n| n.role.clone()).collect();
        assert_eq!(roles, ["replica", "replica", "replica", "replica", "client"]);
        let mut paired = 0;
        for k in 1..=r.len() {
            p.seek(k);
            let s = p.snapshot();
            let last = s.recent.last().expect("an event");
            if last.category == "deliver" && last.sent_at.is_some() {
                paired += 1;
            }
        }
        let deliveries =
            files.iter().flat_map(|(_, t)| t.lines()).filter(|l| l.contains(r#""category":"deliver""#));
        // Deliveries recorded after their send get their arrow at once; the others (the
        // receiver's clock ahead) complete when their send comes.
        assert!(paired > 0 && paired <= deliveries.count(), "{paired}");
        let s = p.snapshot();
        let unpaired = s.recent.iter().filter(|e| e.category == "deliver" && e.sent_at.is_none()).count();
        assert_eq!(unpaired, 0, "every delivery shown has its send: {:?}", s.recent);
    }
}
