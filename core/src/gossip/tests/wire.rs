//! Frames: round trips, and hostile bytes refused without panics.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::{config, feed};
use crate::effect::{DetRng, Effect, NodeId};
use crate::gossip::wire::{FrameError, MAX_FRAME, MAX_SHUFFLE_NODES, decode_frame, encode_frame};
use crate::gossip::{GossipEvent, GossipMsg, GossipNode, MsgId, Priority};

fn samples() -> Vec<GossipMsg> {
    let id = MsgId { origin: NodeId(3), seq: 9 };
    vec![
        GossipMsg::Join,
        GossipMsg::ForwardJoin { new_node: NodeId(4), ttl: 6 },
        GossipMsg::Neighbor { priority: Priority::High },
        GossipMsg::NeighborReply { accepted: false },
        GossipMsg::Disconnect,
        GossipMsg::Shuffle { origin: NodeId(1), ttl: 3, nodes: vec![NodeId(2), NodeId(5)] },
        GossipMsg::ShuffleReply { nodes: vec![NodeId(7)] },
        GossipMsg::KeepAlive,
        GossipMsg::Gossip { id, round: 2, payload: vec![1, 2, 3] },
        GossipMsg::IHave { announcements: vec![(id, 1)] },
        GossipMsg::Graft { id: Some(id), round: 1 },
        GossipMsg::Prune,
    ]
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        let f = encode_frame(&m).unwrap();
        assert_eq!(decode_frame(&f).unwrap(), m);
    }
}

#[test]
fn bad_frames_name_what_is_wrong() {
    assert_eq!(decode_frame(&[]), Err(FrameError::Empty));
    assert_eq!(decode_frame(&[9, 0]), Err(FrameError::Version(9)));
    assert!(matches!(decode_frame(&vec![1; MAX_FRAME + 1]), Err(FrameError::TooLarge { .. })));
    let mut f = encode_frame(&GossipMsg::Prune).unwrap();
    f.push(0);
    assert_eq!(decode_frame(&f), Err(FrameError::Trailing(1)));
    let many = GossipMsg::ShuffleReply { nodes: vec![NodeId(1); MAX_SHUFFLE_NODES + 1] };
    let mut raw = vec![1u8];
    raw.extend(postcard::to_allocvec(&many).unwrap());
    assert!(matches!(decode_frame(&raw), Err(FrameError::Bounds { .. })));
    // A length prefix that promises far more than the frame holds.
    assert!(matches!(decode_frame(&[1, 5, 0xff, 0xff, 0xff, 0x0f]), Err(FrameError::Malformed(_))));
}

#[test]
fn a_node_refuses_a_malformed_frame_with_an_event() {
    let mut rng = DetRng::seed_from_u64(1);
    let mut n = GossipNode::new(NodeId(0), config(4, |_| {}));
    let mut out = Vec::new();
    let mut env = crate::effect::Env { now: 0, rng: &mut rng, me: NodeId(0) };
    n.on_frame(NodeId(1), &[1, 200], &mut env, &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(GossipEvent::Refused { .. }))));
    let _ = feed;
}

fn cases() -> u32 {
    std::env::var("VOID_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(&bytes);
        let mut with_version = vec![1u8];
        with_version.extend_from_slice(&bytes);
        if let Ok(m) = decode_frame(&with_version) {
            // Whatever decodes re-encodes to the same message.
            prop_assert_eq!(decode_frame(&encode_frame(&m).unwrap()).unwrap(), m);
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic(i in 0usize..12, pos in 0usize..64, byte in any::<u8>()) {
        let mut f = encode_frame(&samples()[i]).unwrap();
        if !f.is_empty() {
            let p = pos % f.len();
            f[p] = byte;
        }
        let mut rng = DetRng::seed_from_u64(2);
        let mut n = GossipNode::new(NodeId(0), config(8, |_| {}));
        let mut out = Vec::new();
        let mut env = crate::effect::Env { now: 0, rng: &mut rng, me: NodeId(0) };
        n.on_frame(NodeId(1), &f, &mut env, &mut out);
    }
}
