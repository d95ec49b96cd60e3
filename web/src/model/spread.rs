//! A broadcast spreading through a gossip cluster: the latest one started, its origin and
//! the nodes it has reached so far, which the cluster views mark.

use void_core::sim::EventView;

/// The latest broadcast and where it has got to.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// The broadcast's id as the protocol prints it (`origin:seq`).
    pub id: String,
    pub origin: u32,
    /// Per node: it has delivered this broadcast.
    pub reached: Vec<bool>,
    /// How many nodes have.
    pub count: u32,
}

/// Follows the trace, each event read once; going back in time starts it again.
#[derive(Clone, Debug, Default)]
pub struct SpreadTracker {
    /// Events read: `0..upto`.
    pub upto: u64,
    current: Option<Spread>,
}

/// `(id, origin, hops)` of a gossip delivery's event text, "delivers 39:0 after 3 hop(s)".
fn delivery(e: &EventView) -> Option<(&str, u32, u32)> {
    if e.category != "observe" || e.kind != "Delivered" {
        return None;
    }
    let (id, rest) = e.text.strip_prefix("delivers ")?.split_once(" after ")?;
    let hops = rest.split_once(' ')?.0.parse().ok()?;
    let origin = id.split_once(':')?.0.parse().ok()?;
    Some((id, origin, hops))
}

impl SpreadTracker {
    /// A tracker that reads on from event `upto`.
    pub fn from(upto: u64) -> SpreadTracker {
        SpreadTracker { upto, current: None }
    }

    /// True for an origin's delivery of its own broadcast: where a broadcast starts.
    pub fn starts(e: &EventView) -> bool {
        delivery(e).is_some_and(|(_, _, hops)| hops == 0)
    }

    /// Reads event `e` of a cluster of `nodes`.
    pub fn add(&mut self, e: &EventView, nodes: usize) {
        self.upto = e.index + 1;
        let Some((id, origin, hops)) = delivery(e) else { return };
        let node = e.node as usize;
        match &mut self.current {
            // A later delivery of the broadcast followed (deliveries of older ones are not).
            Some(s) if s.id == id => {
                if let Some(seen) = s.reached.get_mut(node).filter(|seen| !**seen) {
                    *seen = true;
                    s.count += 1;
                }
            }
            // A new broadcast starts where its origin delivers it to itself.
            _ if hops == 0 && node < nodes => {
                let mut reached = vec![false; nodes];
                reached[node] = true;
                self.current = Some(Spread { id: id.to_owned(), origin, reached, count: 1 });
            }
            _ => {}
        }
    }

    pub fn current(&self) -> Option<&Spread> {
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn delivered(index: u64, node: u32, id: &str, hops: u32) -> EventView {
        EventView {
            index,
            node,
            category: "observe".into(),
            kind: "Delivered".into(),
            text: format!("delivers {id} after {hops} hop(s)"),
            ..EventView::default()
        }
    }

    #[test]
    fn follows_the_latest_broadcast_from_its_origin() {
        let mut t = SpreadTracker::default();
        t.add(&delivered(0, 2, "2:0", 0), 4);
        t.add(&delivered(1, 0, "2:0", 1), 4);
        t.add(&delivered(2, 0, "2:0", 1), 4);
        let s = t.current().expect("a broadcast");
        assert_eq!((s.id.as_str(), s.origin, s.count), ("2:0", 2, 2));
        assert_eq!(s.reached, [true, false, true, false]);
        // A new one replaces it; a late delivery of the old one does not count.
        t.add(&delivered(3, 1, "1:0", 0), 4);
        t.add(&delivered(4, 3, "2:0", 2), 4);
        let s = t.current().expect("a broadcast");
        assert_eq!((s.id.as_str(), s.origin, s.count), ("1:0", 1, 1));
        assert_eq!(t.upto, 5);
    }

    #[test]
    fn reading_from_the_latest_start_gives_the_same_spread() {
        let events = [
            delivered(0, 2, "2:0", 0),
            delivered(1, 0, "2:0", 1),
            delivered(2, 1, "1:0", 0),
            delivered(3, 3, "1:0", 1),
            delivered(4, 0, "2:0", 2),
        ];
        let mut whole = SpreadTracker::default();
        events.iter().for_each(|e| whole.add(e, 4));
        let start = events.iter().rposition(SpreadTracker::starts).expect("a start") as u64;
        let mut tail = SpreadTracker::from(start);
        events[start as usize..].iter().for_each(|e| tail.add(e, 4));
        assert_eq!(whole.current(), tail.current());
    }

    #[test]
    fn reads_the_protocols_own_event_text() {
        let json = void_core::sim::load_builtin("plumtree").unwrap();
        let mut scenario = void_core::sim::Scenario::from_json(json).unwrap();
        scenario.nodes = 12;
        let mut sim = void_core::sim::build(&scenario, 1, true).unwrap();
        sim.run_to_end();
        let mut t = SpreadTracker::default();
        let n = sim.nodes().len();
        for i in 0..sim.event_count() {
            t.add(&sim.event(i).unwrap(), n);
        }
        let s = t.current().expect("the run broadcasts");
        assert!(s.count as usize == n, "the last broadcast reached every node: {s:?}");
        assert!(s.reached[s.origin as usize]);
    }
}
