//! The new-view decision (O from V) on hand-made view changes.

use alloc::vec;
use alloc::vec::Vec;

use crate::clock::Timestamp;
use crate::effect::NodeId;
use crate::pbft::config::Config;
use crate::pbft::messages::{Batch, PrePreparedClaim, PreparedClaim, ViewChange};
use crate::pbft::replica::{batch_digest, decide_new_view};

fn batch(w: u64) -> Batch {
    Batch { hlc: Timestamp::new(w, 0, NodeId(0)), requests: vec![] }
}

fn vc(r: u32, prepared: &[(u64, &Batch, u64)], pre: &[(u64, &Batch, u64)]) -> ViewChange {
    ViewChange {
        new_view: 5,
        stable_seq: 0,
        checkpoint_proof: vec![],
        prepared: prepared
            .iter()
            .map(|(s, b, v)| PreparedClaim {
                seq: *s,
                digest: batch_digest(b),
                view: *v,
                batch: crate::pbft::messages::SharedBatch::new((*b).clone()),
            })
            .collect(),
        pre_prepared: pre
            .iter()
            .map(|(s, b, v)| PrePreparedClaim { seq: *s, digest: batch_digest(b), view: *v })
            .collect(),
        replica: NodeId(r),
    }
}

#[test]
fn prepared_certificate_survives_view_change_and_gaps_get_null_requests() {
    let cfg = Config::new(4, 0).unwrap();
    let a = batch(1);
    let v =
        [vc(0, &[(2, &a, 3)], &[(2, &a, 3)]), vc(1, &[(2, &a, 3)], &[(2, &a, 3)]), vc(2, &[], &[(2, &a, 3)])];
    let refs: Vec<&ViewChange> = v.iter().collect();
    let (h, o) = decide_new_view(&cfg, &refs).unwrap();
    assert_eq!(h, 0);
    assert_eq!(o.len(), 2);
    assert_eq!(*o[0].batch, Batch::null(), "n=1 was a gap");
    assert_eq!(o[1].digest, batch_digest(&a), "the prepared batch is re-proposed");
}

#[test]
fn a_higher_view_certificate_wins_and_a_lone_claim_without_support_waits() {
    let cfg = Config::new(4, 0).unwrap();
    let (a, b) = (batch(1), batch(2));
    // b prepared in view 4 at two replicas; a in view 2 at one.
    let v = [
        vc(0, &[(1, &a, 2)], &[(1, &a, 2)]),
        vc(1, &[(1, &b, 4)], &[(1, &b, 4)]),
        vc(2, &[(1, &b, 4)], &[(1, &b, 4)]),
    ];
    let refs: Vec<&ViewChange> = v.iter().collect();
    let (_, o) = decide_new_view(&cfg, &refs).unwrap();
    assert_eq!(o[0].digest, batch_digest(&b));
    // A claim only its (possibly lying) sender backs, with two others silent: neither A
    // (no f + 1 pre-prepared support) nor B (only 2 silent): wait for more.
    let v = vec![vc(0, &[(1, &a, 2)], &[(1, &a, 2)]), vc(1, &[], &[]), vc(2, &[], &[])];
    let refs: Vec<&ViewChange> = v.iter().collect();
    assert!(decide_new_view(&cfg, &refs).is_none());
    let mut v = v;
    v.push(vc(3, &[], &[]));
    let refs: Vec<&ViewChange> = v.iter().collect();
    let (_, o) = decide_new_view(&cfg, &refs).unwrap();
    assert!(o.is_empty() || *o[0].batch == Batch::null());
}

#[test]
fn fewer_than_2f_plus_1_view_changes_decide_nothing() {
    let cfg = Config::new(4, 0).unwrap();
    let v = [vc(0, &[], &[]), vc(1, &[], &[])];
    let refs: Vec<&ViewChange> = v.iter().collect();
    assert!(decide_new_view(&cfg, &refs).is_none());
}
