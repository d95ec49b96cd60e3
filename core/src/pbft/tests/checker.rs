//! Each invariant fires on a deliberately broken replica that the checker trusts.

use super::scenarios::{run, scenario};
use crate::sim::AnySim;

fn fires(name: &str, params: &[(&str, &str)], invariant: &str, seeds: u64) {
    let s = scenario(name, params);
    for seed in 1..=seeds {
        if let Some(v) = run(&s, seed).violation() {
            assert_eq!(v.invariant, invariant, "seed {seed}: {v:?}");
            return;
        }
    }
    panic!("{invariant} never fired over {seeds} seeds");
}

#[test]
fn agreement_fires_when_replicas_commit_without_a_quorum() {
    fires(
        "pbft-normal",
        &[("bug", "\"commit-without-quorum\""), ("byzantine", r#"{"0":"equivocate"}"#)],
        "agreement",
        5,
    );
}

#[test]
fn agreement_fires_with_f_plus_1_colluders() {
    fires("pbft-too-many-faults", &[], "agreement", 5);
}

#[test]
fn checkpoint_digests_fire_on_a_replica_with_a_corrupt_state_digest() {
    fires("pbft-normal", &[("bug", "\"corrupt-checkpoint\"")], "checkpoint-digests", 2);
}

#[test]
fn validity_fires_when_backups_skip_the_client_mac() {
    fires(
        "pbft-normal",
        &[("bug", "\"skip-client-auth\""), ("byzantine", r#"{"0":"forge"}"#)],
        "validity",
        3,
    );
}

#[test]
fn at_most_once_fires_when_the_last_reply_table_is_ignored() {
    fires("pbft-normal", &[("bug", "\"execute-twice\""), ("network.duplicate", "0.3")], "at-most-once", 5);
}

#[test]
fn linearizability_fires_on_stale_reads() {
    fires("pbft-normal", &[("bug", "\"stale-reads\"")], "linearizability", 5);
}

#[test]
fn liveness_fires_when_replicas_never_reply() {
    fires("pbft-normal", &[("bug", "\"no-replies\"")], "liveness", 2);
}

#[test]
fn liveness_fires_on_an_answer_later_than_the_bound() {
    // The view change after the primary's crash answers requests hundreds of ms late.
    let s = scenario("pbft-primary-crash", &[("liveness_bound_ms", "50")]);
    let sim = run(&s, 1);
    let v = sim.violation().expect("a late answer breaks the bound");
    assert_eq!(v.invariant, "liveness", "{v:?}");
    assert!(v.message.contains("was answered only at"), "{}", v.message);
}
