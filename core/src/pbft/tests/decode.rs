//! Every message decoder against hostile bytes: random and mutated encodings never panic,
//! and what decodes is within the configured bounds.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use crate::clock::Timestamp;
use crate::effect::NodeId;
use crate::pbft::app::Op;
use crate::pbft::auth::ClusterKeys;
use crate::pbft::config::Config;
use crate::pbft::messages::{
    AuthRequest, Batch, Body, Checkpoint, PbftMsg, PrePrepare, PreparedClaim, Request, SharedBatch,
    ViewChange, check_bounds, decode, encode,
};
use crate::pbft::replica::{StateSnapshot, batch_digest, request_digest};

fn cfg() -> Config {
    Config::new(4, 2).unwrap()
}

fn samples() -> Vec<PbftMsg> {
    let cfg = cfg();
    let keys = ClusterKeys::simulated(1, &cfg);
    let client = keys.keyring(NodeId(4));
    let r0 = keys.keyring(NodeId(0));
    let request = Request {
        op: Op::Put { key: "k".into(), value: "v".into() }.into(),
        timestamp: 7,
        client: NodeId(4),
        replier: NodeId(0),
    };
    let auth = client.authenticator(cfg.n, &request_digest(&request));
    let ar = AuthRequest { request, auth };
    let batch = SharedBatch::new(Batch { hlc: Timestamp::new(5, 1, NodeId(0)), requests: vec![ar.clone()] });
    let digest = batch_digest(&batch);
    let pp = PrePrepare { view: 0, seq: 1, digest };
    let cp = r0.sign(Checkpoint { seq: 16, digest, replica: NodeId(0) });
    let vc = r0.sign(ViewChange {
        new_view: 1,
        stable_seq: 0,
        checkpoint_proof: vec![],
        prepared: vec![PreparedClaim { seq: 1, digest, view: 0, batch: batch.clone() }],
        pre_prepared: vec![],
        replica: NodeId(0),
    });
    let hlc = Timestamp::new(9, 0, NodeId(0));
    [
        Body::Request(ar),
        Body::PrePrepare { pp, batch: batch.clone(), auth: r0.authenticator(cfg.n, &digest) },
        Body::Checkpoint(cp.clone().into()),
        Body::ViewChange(vc.into()),
        Body::State { proof: vec![cp], snapshot: vec![1, 2, 3] },
        Body::FetchCommitted { from: 1, to: 9 },
        Body::Committed { seq: 3, batch, replica: NodeId(1), mac: [0; 16] },
    ]
    .into_iter()
    .map(|body| PbftMsg { hlc, body })
    .collect()
}

#[test]
fn valid_messages_round_trip() {
    for m in samples() {
        assert_eq!(decode(&encode(&m), &cfg()), Ok(m));
    }
}

#[test]
fn oversized_batches_are_refused_after_decoding() {
    let mut c = cfg();
    c.max_batch = 0;
    let m = &samples()[1];
    assert!(decode(&encode(m), &c).is_err());
    assert!(check_bounds(&m.body, &cfg()).is_ok());
}

fn cases() -> u32 {
    std::env::var("VOID_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&bytes, &cfg());
        let _ = postcard::from_bytes::<StateSnapshot>(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(which in 0usize..7, flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8), cut in any::<u16>()) {
        let mut bytes = encode(&samples()[which]);
        for (at, x) in flips {
            let i = at as usize % bytes.len();
            bytes[i] ^= x;
        }
        if cut % 4 == 0 {
            bytes.truncate(cut as usize % (bytes.len() + 1));
        }
        if let Ok(m) = decode(&bytes, &cfg()) {
            prop_assert!(check_bounds(&m.body, &cfg()).is_ok());
        }
    }
}
