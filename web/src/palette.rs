//! One colour and one dash pattern per message kind, the same in every view. Colours are
//! the Okabe–Ito palette (safe for colour-blind viewers); the dash pattern and the label
//! make sure colour is never the only cue.

/// Okabe–Ito, without black (used for text) and yellow (too light on white), then a mid
/// grey and a dark gold, so that PBFT's eight main kinds each have a colour of their own.
pub const OKABE_ITO: [&str; 8] =
    ["#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C8C8C", "#A6761D"];

/// Dash patterns, cycled independently of the colours.
pub const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

/// Kinds the papers name, pinned (colour, dash) so the same kind always looks the same
/// and the kinds that meet in one protocol differ in colour where the palette allows.
const KNOWN: &[(&str, usize, usize)] = &[
    ("Ping", 0, 0),
    ("Pong", 1, 1),
    ("Request", 7, 0),
    ("PrePrepare", 0, 0),
    ("Prepare", 1, 1),
    ("Commit", 2, 0),
    ("ViewChange", 3, 0),
    ("NewView", 4, 3),
    ("Reply", 5, 2),
    ("Checkpoint", 6, 2),
    // State transfer: the requests and answers share a colour, told apart by the dash.
    ("FetchState", 6, 1),
    ("State", 6, 3),
    ("FetchCommitted", 7, 1),
    ("Committed", 7, 3),
    ("FetchNewView", 4, 1),
    ("Gossip", 0, 0),
    ("IHave", 5, 2),
    ("Graft", 2, 3),
    ("Prune", 3, 1),
    // HyParView's membership traffic keeps to the two colours Plumtree leaves free.
    ("Join", 1, 0),
    ("ForwardJoin", 1, 1),
    ("Shuffle", 1, 2),
    ("ShuffleReply", 1, 3),
    ("Neighbor", 4, 0),
    ("NeighborReply", 4, 1),
    ("KeepAlive", 4, 2),
    ("Disconnect", 4, 3),
];

/// (colour index, dash index) of a kind: pinned, else from an FNV-1a hash of its name.
fn style(kind: &str) -> (usize, usize) {
    if let Some((_, c, d)) = KNOWN.iter().find(|(k, _, _)| *k == kind) {
        return (*c, *d);
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in kind.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let h = h as usize;
    (h % OKABE_ITO.len(), (h / OKABE_ITO.len()) % DASHES.len())
}

/// The colour of messages of `kind`.
pub fn colour(kind: &str) -> &'static str {
    OKABE_ITO[colour_index(kind)]
}

/// The index into [`OKABE_ITO`] (for arrow-head markers defined once per colour).
pub fn colour_index(kind: &str) -> usize {
    style(kind).0
}

/// The dash pattern of messages of `kind` (`""` = solid).
pub fn dash(kind: &str) -> &'static str {
    DASHES[style(kind).1]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn paper_kinds_that_meet_in_one_run_look_different() {
        for group in [
            &["Ping", "Pong"][..],
            &["Request", "PrePrepare", "Prepare", "Commit", "Reply", "Checkpoint", "ViewChange", "NewView"],
            &["Gossip", "IHave", "Graft", "Prune"],
        ] {
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    assert!((colour(a), dash(a)) != (colour(b), dash(b)), "{a} and {b}");
                    assert_ne!(colour(a), colour(b), "{a} and {b} share a colour");
                }
            }
        }
    }

    #[test]
    fn membership_and_broadcast_messages_differ_in_colour() {
        let membership = [
            "Join",
            "ForwardJoin",
            "Shuffle",
            "ShuffleReply",
            "Neighbor",
            "NeighborReply",
            "KeepAlive",
            "Disconnect",
        ];
        for (i, a) in membership.iter().enumerate() {
            for b in ["Gossip", "IHave", "Graft", "Prune"] {
                assert_ne!(colour(a), colour(b), "{a} and {b}");
            }
            for b in &membership[i + 1..] {
                assert!((colour(a), dash(a)) != (colour(b), dash(b)), "{a} and {b}");
            }
        }
    }

    #[test]
    fn every_pbft_kind_has_its_own_look() {
        let kinds = [
            "Request",
            "PrePrepare",
            "Prepare",
            "Commit",
            "Reply",
            "Checkpoint",
            "ViewChange",
            "NewView",
            "FetchState",
            "State",
            "FetchCommitted",
            "Committed",
            "FetchNewView",
        ];
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                assert!((colour(a), dash(a)) != (colour(b), dash(b)), "{a} and {b}");
            }
        }
    }

    #[test]
    fn unknown_kinds_are_stable() {
        assert_eq!(colour("Whatever"), colour("Whatever"));
        assert_eq!(dash("Whatever"), dash("Whatever"));
        assert!(OKABE_ITO.contains(&colour("Whatever")));
    }
}
