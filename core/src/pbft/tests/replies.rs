//! Digest replies (TOCS §5.1) at the client and at the replicas, and persistence that
//! stores each batch once per sequence number.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::clock::Timestamp;
use crate::effect::{DetRng, Effect, Env, Input, NodeId, Persisted, Protocol};
use crate::pbft::app::{Op, OpResult, sha256_postcard};
use crate::pbft::messages::{
    AuthRequest, Body, Commit, PbftMsg, Prepare, Reply, ReplyMacInput, ReplyResult, Request,
};
use crate::pbft::replica::{TAG_REPLY, body_digest, request_digest};
use crate::pbft::{Bug, Client, ClusterKeys, Config, PbftCommand, PbftNode, Replica, Workload};

const CLIENT: NodeId = NodeId(4);

fn setup() -> (Config, ClusterKeys) {
    let cfg = Config::new(4, 1).unwrap();
    let keys = ClusterKeys::simulated(3, &cfg);
    (cfg, keys)
}

fn feed(node: &mut PbftNode, input: Input<PbftNode>, now: u64) -> Vec<Effect<PbftNode>> {
    let mut rng = DetRng::seed_from_u64(now);
    let mut env = Env { now, rng: &mut rng, me: NodeId(0) };
    let mut out = Vec::new();
    node.on_input(input, &mut env, &mut out);
    out
}

fn msg(body: Body) -> PbftMsg {
    PbftMsg { hlc: Timestamp::ZERO, body }
}

fn reply_from(keys: &ClusterKeys, replica: u32, timestamp: u64, result: &OpResult, full: bool) -> PbftMsg {
    let digest = sha256_postcard(result);
    let input =
        ReplyMacInput { view: 0, timestamp, client: CLIENT, replica: NodeId(replica), result: digest };
    let mac = keys.keyring(NodeId(replica)).mac_value(CLIENT, TAG_REPLY, &input);
    let result = if full { ReplyResult::Full(result.clone()) } else { ReplyResult::Digest(digest) };
    let r = Reply { view: 0, timestamp, client: CLIENT, replica: NodeId(replica), result };
    msg(Body::Reply { r, mac })
}

fn answered(out: &[Effect<PbftNode>]) -> Option<OpResult> {
    out.iter().find_map(|e| match e {
        Effect::Reply(r) => Some(r.result.clone()),
        _ => None,
    })
}

/// The client's request as sent to the primary.
fn submit(client: &mut PbftNode) -> Request {
    let op = Op::Put { key: "k".into(), value: "v".into() };
    let out = feed(client, Input::Command(PbftCommand::Submit(op)), 1_000);
    out.iter()
        .find_map(|e| match e {
            Effect::Send { msg: PbftMsg { body: Body::Request(r), .. }, .. } => Some(r.request.clone()),
            _ => None,
        })
        .expect("the client sends its request")
}

#[test]
fn the_client_needs_f_plus_1_matching_digests_and_one_full_result() {
    let (cfg, keys) = setup();
    let mut client = PbftNode::Client(Box::new(Client::new(cfg, keys.keyring(CLIENT), Workload::default())));
    let request = submit(&mut client);
    let ts = request.timestamp;
    let designated = request.replier.0;
    let others: Vec<u32> = (0..4).filter(|r| *r != designated).collect();
    let ok = OpResult::Fresh(true);
    let forged = OpResult::Fresh(false);

    // f + 1 = 2 matching digests, but no full result yet: not accepted.
    for r in &others[..2] {
        let out = feed(
            &mut client,
            Input::Message { from: NodeId(*r), msg: reply_from(&keys, *r, ts, &ok, false) },
            2_000,
        );
        assert_eq!(answered(&out), None, "digests alone do not give the result");
    }
    // A full result that does not match the digests is not accepted either.
    let out = feed(
        &mut client,
        Input::Message { from: NodeId(designated), msg: reply_from(&keys, designated, ts, &forged, true) },
        3_000,
    );
    assert_eq!(answered(&out), None, "one full result without f + 1 matching replies");
    // The matching full result (here on retransmission, from another replica) completes it.
    let r = others[2];
    let out = feed(
        &mut client,
        Input::Message { from: NodeId(r), msg: reply_from(&keys, r, ts, &ok, true) },
        4_000,
    );
    assert_eq!(answered(&out), Some(ok));
}

/// A put answered by f + 1 matching replies, one of them full.
fn complete_put(client: &mut PbftNode, keys: &ClusterKeys) {
    let request = submit(client);
    let (ts, designated) = (request.timestamp, request.replier.0);
    let other = (0..4).find(|r| *r != designated).unwrap();
    let written = OpResult::Written(Timestamp::ZERO);
    for (r, full) in [(designated, true), (other, false)] {
        let m = reply_from(keys, r, ts, &written, full);
        let out = feed(client, Input::Message { from: NodeId(r), msg: m }, 2_000 + u64::from(r));
        if !full {
            assert_eq!(answered(&out), Some(written.clone()));
        }
    }
}

#[test]
fn only_a_client_with_workload_left_remembers_the_keys_it_wrote() {
    let (cfg, keys) = setup();
    let seen = |workload: Workload| {
        let mut node = PbftNode::Client(Box::new(Client::new(cfg.clone(), keys.keyring(CLIENT), workload)));
        complete_put(&mut node, &keys);
        match node {
            PbftNode::Client(c) => c.keys_seen(),
            PbftNode::Replica(_) => unreachable!(),
        }
    };
    // A node's gateway client runs commands only: remembering would grow without bound.
    assert_eq!(seen(Workload { ops: 0, ..Workload::default() }), 0);
    // A simulated client draws compare-and-swaps from what it saw.
    assert_eq!(seen(Workload::default()), 1);
}

#[test]
fn a_digest_reply_with_a_bad_mac_is_rejected() {
    let (cfg, keys) = setup();
    let mut client = PbftNode::Client(Box::new(Client::new(cfg, keys.keyring(CLIENT), Workload::default())));
    let ts = submit(&mut client).timestamp;
    let mut m = reply_from(&keys, 1, ts, &OpResult::Fresh(true), false);
    if let Body::Reply { r, .. } = &mut m.body {
        r.result = ReplyResult::Digest([9; 32]);
    }
    let out = feed(&mut client, Input::Message { from: NodeId(1), msg: m }, 2_000);
    assert!(out.iter().any(|e| matches!(e, Effect::Observe(crate::pbft::PbftEvent::Rejected { .. }))));
}

/// Drives replica 0 (the primary) through one request: pre-prepare, prepares and commits
/// from replicas 1 and 2. Returns every effect.
fn one_request(keys: &ClusterKeys, cfg: &Config, replier: NodeId) -> (PbftNode, Vec<Effect<PbftNode>>) {
    let mut primary =
        PbftNode::Replica(Box::new(Replica::new(cfg.clone(), keys.keyring(NodeId(0)), Bug::None)));
    let request = Request {
        op: Op::Put { key: "k".into(), value: "v".into() }.into(),
        timestamp: 5,
        client: CLIENT,
        replier,
    };
    let auth = keys.keyring(CLIENT).authenticator(cfg.n, &request_digest(&request));
    let mut all = feed(
        &mut primary,
        Input::Message { from: CLIENT, msg: msg(Body::Request(AuthRequest { request, auth })) },
        10,
    );
    let digest = all
        .iter()
        .find_map(|e| match e {
            Effect::Send { msg: PbftMsg { body: Body::PrePrepare { pp, .. }, .. }, .. } => Some(pp.digest),
            _ => None,
        })
        .expect("the primary pre-prepares at once");
    for r in [1u32, 2] {
        let ring = keys.keyring(NodeId(r));
        let p = Prepare { view: 0, seq: 1, digest, replica: NodeId(r) };
        let auth = ring.authenticator(cfg.n, &body_digest(2, &p));
        all.extend(feed(
            &mut primary,
            Input::Message { from: NodeId(r), msg: msg(Body::Prepare { p, auth }) },
            20,
        ));
    }
    for r in [1u32, 2] {
        let ring = keys.keyring(NodeId(r));
        let c = Commit { view: 0, seq: 1, digest, replica: NodeId(r) };
        let auth = ring.authenticator(cfg.n, &body_digest(3, &c));
        all.extend(feed(
            &mut primary,
            Input::Message { from: NodeId(r), msg: msg(Body::Commit { c, auth }) },
            30,
        ));
    }
    (primary, all)
}

fn reply_of(out: &[Effect<PbftNode>]) -> ReplyResult {
    out.iter()
        .find_map(|e| match e {
            Effect::Send { to, msg: PbftMsg { body: Body::Reply { r, .. }, .. } } if *to == CLIENT => {
                Some(r.result.clone())
            }
            _ => None,
        })
        .expect("the request executed and was answered")
}

#[test]
fn only_the_designated_replica_sends_the_full_result() {
    let (cfg, keys) = setup();
    let (_, out) = one_request(&keys, &cfg, NodeId(0));
    let ReplyResult::Full(result) = reply_of(&out) else {
        panic!("the designated replica sends the result");
    };
    let (mut primary, out) = one_request(&keys, &cfg, NodeId(2));
    assert_eq!(reply_of(&out), ReplyResult::Digest(sha256_postcard(&result)));
    // A retransmitted request gets the full result from every replica.
    let request = Request {
        op: Op::Put { key: "k".into(), value: "v".into() }.into(),
        timestamp: 5,
        client: CLIENT,
        replier: NodeId(2),
    };
    let auth = keys.keyring(CLIENT).authenticator(cfg.n, &request_digest(&request));
    let out = feed(
        &mut primary,
        Input::Message { from: CLIENT, msg: msg(Body::Request(AuthRequest { request, auth })) },
        40,
    );
    assert_eq!(reply_of(&out), ReplyResult::Full(result));
}

#[test]
fn a_batch_is_persisted_once_and_a_restart_executes_it_again() {
    let (cfg, keys) = setup();
    let (_, out) = one_request(&keys, &cfg, NodeId(1));
    let writes: Vec<(&Vec<u8>, &Vec<u8>)> = out
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { key, value: Some(v) } => Some((key, v)),
            _ => None,
        })
        .collect();
    let batches: Vec<_> = writes.iter().filter(|(k, _)| k[0] == b'b').collect();
    let statuses: Vec<_> = writes.iter().filter(|(k, _)| k[0] == b'e').collect();
    assert_eq!(batches.len(), 1, "one batch record for sequence number 1");
    assert_eq!(statuses.len(), 3, "pre-prepared, prepared and committed status records");
    let batch = batches[0].1;
    assert!(
        statuses.iter().all(|(_, v)| !v.windows(batch.len()).any(|w| w == batch.as_slice())),
        "status records hold no copy of the batch"
    );

    let mut persisted = Persisted::new();
    for e in &out {
        if let Effect::Persist { key, value } = e {
            match value {
                Some(v) => persisted.insert(key.clone(), v.clone()),
                None => persisted.remove(key),
            };
        }
    }
    let mut again =
        PbftNode::Replica(Box::new(Replica::new(cfg.clone(), keys.keyring(NodeId(0)), Bug::None)));
    feed(&mut again, Input::Restart(persisted), 50);
    let r = again.replica().unwrap();
    assert_eq!(r.last_executed(), 1, "the committed batch executes again after the restart");
    assert_eq!(crate::pbft::app::latest_values(r.app()).get("k").map(|v| v.as_str()), Some("v"));
}

#[test]
fn the_borrowed_snapshot_encodes_like_the_owned_one() {
    let (cfg, keys) = setup();
    let (primary, _) = one_request(&keys, &cfg, NodeId(1));
    let r = primary.replica().unwrap();
    let replies = r.replies.iter().map(|(c, l)| (*c, (l.timestamp, l.result.clone()))).collect();
    let owned = crate::pbft::replica::StateSnapshot { app: r.app.snapshot(), replies };
    assert_eq!(r.snapshot_bytes(), postcard::to_allocvec(&owned).unwrap());
    assert!(!r.replies.is_empty() && !r.app.snapshot().eq(&crate::pbft::app::KvApp::new().snapshot()));
}

#[test]
fn event_lines_name_operations_and_results_in_words() {
    use crate::effect::ProtocolEvent;
    use crate::pbft::PbftEvent;
    use alloc::string::ToString;
    let op = Op::Put { key: "k1".into(), value: "x".repeat(40) };
    let line =
        PbftEvent::Invoked { client: CLIENT, timestamp: 7, op: op.into(), hlc: Timestamp::ZERO }.describe();
    assert_eq!(line, "sends request with timestamp 7: put k1 = xxxxxxxxxxxxxxxxxxxxxxxx…");
    assert_eq!(Op::Get { key: "k".into(), at: None }.to_string(), "get k");
    assert_eq!(OpResult::Value(None).to_string(), "no value");
    let r = OpResult::Swapped { ok: false, found: Some("é".repeat(20)) };
    assert_eq!(r.to_string(), alloc::format!("not swapped (found {}…)", "é".repeat(16)));
}
