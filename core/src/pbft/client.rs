//! A PBFT client (Castro & Liskov §4.1): it sends ⟨REQUEST, o, t, c⟩ to the primary it
//! believes in, accepts a result once f + 1 replicas sent matching replies, and on a
//! timeout retransmits the request to all replicas. One request is outstanding at a time.
//!
//! Digest replies (TOCS §5.1): the request designates one replica to send the full
//! result; the others send its digest. The client accepts once f + 1 replies match in
//! digest and it holds a full result with that digest. If the designated replica is
//! faulty the client times out and retransmits, and then every replica sends the result.

use crate::vecmap::VecMap;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::app::sha256_postcard;
use super::app::{Op, OpResult};
use super::auth::Keyring;
use super::config::{Config, View};
use super::events::PbftEvent;
use super::messages::{AuthRequest, Body, Digest, Mac, PbftMsg, Reply, ReplyMacInput, ReplyResult, Request};
use super::replica::{TAG_REPLY, request_digest};
use super::{ClientReply, Out, PbftTimer};
use crate::clock::{Hlc, Timestamp};
use crate::effect::{DetRng, Effect, Env, Micros, NodeId};

/// A client's generated workload (scenario params).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Operations each client issues.
    pub ops: u32,
    /// Mean think time between a result and the next request, milliseconds.
    pub think_ms: f64,
    /// Keys are drawn uniformly from `k0..k{keys}`.
    pub keys: u32,
    /// Relative weights of put, get, delete, cas and consume-nonce.
    pub mix: Mix,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub put: u32,
    pub get: u32,
    pub delete: u32,
    pub cas: u32,
    pub nonce: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix { put: 40, get: 35, delete: 5, cas: 15, nonce: 5 }
    }
}

impl Default for Workload {
    fn default() -> Self {
        Workload { ops: 40, think_ms: 10.0, keys: 8, mix: Mix::default() }
    }
}

impl Workload {
    /// Draw the next operation.
    pub fn draw(
        &self,
        rng: &mut DetRng,
        me: NodeId,
        ts: u64,
        last_seen: &BTreeMap<String, Option<String>>,
    ) -> Op {
        let m = &self.mix;
        let total =
            u64::from(m.put) + u64::from(m.get) + u64::from(m.delete) + u64::from(m.cas) + u64::from(m.nonce);
        let key = format!("k{}", rng.below(u64::from(self.keys.max(1))));
        let mut x = rng.below(total.max(1));
        let value = format!("c{me}-{ts}");
        let pick = |w: u32, x: &mut u64| {
            if *x < u64::from(w) {
                true
            } else {
                *x -= u64::from(w);
                false
            }
        };
        if pick(m.put, &mut x) {
            Op::Put { key, value }
        } else if pick(m.get, &mut x) {
            Op::Get { key, at: None }
        } else if pick(m.delete, &mut x) {
            Op::Delete { key }
        } else if pick(m.cas, &mut x) {
            let expected = last_seen.get(&key).cloned().flatten();
            Op::Cas { key, expected, new: value }
        } else {
            Op::ConsumeNonce { nonce: format!("n{}", rng.below(u64::from(self.keys.max(1)) * 4)) }
        }
    }
}

struct Outstanding {
    request: AuthRequest,
    /// Replies by replica: the result's digest and the view it was sent in.
    replies: VecMap<NodeId, (Digest, View)>,
    /// Full results by the replica that sent them (one each, so a faulty replica cannot
    /// make the client store more), with their digests.
    results: VecMap<NodeId, (Digest, OpResult)>,
    retry: Micros,
    /// Submitted by a command (answered with a `Reply` effect) rather than the workload.
    commanded: bool,
}

/// One client.
pub struct Client {
    cfg: Config,
    keys: Keyring,
    id: NodeId,
    hlc: Hlc,
    workload: Workload,
    remaining: u32,
    view: View,
    /// The replica designated to send full results: it stays while it answers and moves
    /// to one that did when it does not (a crashed replier would cost every request a
    /// retransmission).
    replier: NodeId,
    last_timestamp: u64,
    outstanding: Option<Outstanding>,
    queue: VecDeque<Op>,
    /// The value this client last saw per key (to make compare-and-swap succeed often).
    last_seen: BTreeMap<String, Option<String>>,
    completed: u64,
    retransmissions: u64,
}

impl Client {
    pub fn new(cfg: Config, keys: Keyring, workload: Workload) -> Client {
        let id = keys.me();
        // Clients start on different replicas to spread the work of full replies.
        let replier = NodeId(id.0 % cfg.n.max(1));
        Client {
            hlc: Hlc::new(id, cfg.max_clock_offset),
            remaining: workload.ops,
            cfg,
            keys,
            id,
            workload,
            view: 0,
            replier,
            last_timestamp: 0,
            outstanding: None,
            queue: VecDeque::new(),
            last_seen: BTreeMap::new(),
            completed: 0,
            retransmissions: 0,
        }
    }

    fn think(&self, env: &mut Env<'_>, out: &mut Out) {
        let mean = self.workload.think_ms * 1000.0;
        let gap = -libm::log(1.0 - env.rng.unit()) * mean;
        let after = (gap.min(mean * 20.0) as u64).max(1);
        out.push(Effect::SetTimer { timer: PbftTimer::Think, after });
    }

    pub(crate) fn start(&mut self, env: &mut Env<'_>, out: &mut Out) {
        if self.remaining > 0 {
            self.think(env, out);
        }
    }

    pub(crate) fn submit_command(&mut self, op: Op, env: &mut Env<'_>, out: &mut Out) {
        self.queue.push_back(op);
        if self.outstanding.is_none() {
            self.next(env, out);
        }
    }

    fn next(&mut self, env: &mut Env<'_>, out: &mut Out) {
        if self.outstanding.is_some() {
            return;
        }
        let timestamp = (self.last_timestamp + 1).max(env.now);
        let (op, commanded) = match self.queue.pop_front() {
            Some(op) => (op, true),
            None if self.remaining > 0 => {
                self.remaining -= 1;
                (self.workload.draw(env.rng, self.id, timestamp, &self.last_seen), false)
            }
            None => return,
        };
        self.last_timestamp = timestamp;
        let request = Request { op: op.into(), timestamp, client: self.id, replier: self.replier };
        let auth = self.keys.authenticator(self.cfg.n, &request_digest(&request));
        let request = AuthRequest { request, auth };
        let op = request.request.op.clone();
        let hlc = self.hlc.now(env);
        out.push(Effect::Observe(PbftEvent::Invoked { client: self.id, timestamp, op, hlc }));
        let primary = self.cfg.primary(self.view);
        self.send(env, out, primary, Body::Request(request.clone()));
        let retry = self.cfg.client_timeout;
        out.push(Effect::SetTimer { timer: PbftTimer::Retry, after: retry });
        self.outstanding =
            Some(Outstanding { request, replies: VecMap::new(), results: VecMap::new(), retry, commanded });
    }

    fn send(&mut self, env: &mut Env<'_>, out: &mut Out, to: NodeId, body: Body) {
        let hlc = self.hlc.now(env);
        out.push(Effect::Send { to, msg: PbftMsg { hlc, body } });
    }

    pub(crate) fn on_timer(&mut self, timer: PbftTimer, env: &mut Env<'_>, out: &mut Out) {
        match timer {
            PbftTimer::Think => self.next(env, out),
            PbftTimer::Retry => {
                let Some(o) = self.outstanding.as_mut() else {
                    return;
                };
                // Retransmit to every replica, backing off up to 8 timeouts.
                o.retry = (o.retry * 2).min(self.cfg.client_timeout * 8);
                let (retry, body) = (o.retry, Body::Request(o.request.clone()));
                self.retransmissions += 1;
                let hlc = self.hlc.now(env);
                for r in 0..self.cfg.n {
                    out.push(Effect::Send { to: NodeId(r), msg: PbftMsg { hlc, body: body.clone() } });
                }
                out.push(Effect::SetTimer { timer: PbftTimer::Retry, after: retry });
            }
            _ => {}
        }
    }

    /// Keys whose last value this client remembers (tests).
    #[cfg(test)]
    pub(crate) fn keys_seen(&self) -> usize {
        self.last_seen.len()
    }

    pub(crate) fn on_message(&mut self, from: NodeId, msg: PbftMsg, env: &mut Env<'_>, out: &mut Out) {
        let kind = msg.body.kind();
        let Body::Reply { r, mac } = msg.body else {
            return reject(out, from, kind, "clients take only replies");
        };
        if let Err(e) = self.hlc.update(&msg.hlc, env) {
            return reject(out, from, kind, &format!("{e}"));
        }
        self.on_reply(from, r, mac, env, out);
    }

    fn on_reply(&mut self, from: NodeId, r: Reply, mac: Mac, env: &mut Env<'_>, out: &mut Out) {
        let digest = match &r.result {
            ReplyResult::Full(result) => sha256_postcard(result),
            ReplyResult::Digest(d) => *d,
        };
        let input = ReplyMacInput {
            view: r.view,
            timestamp: r.timestamp,
            client: r.client,
            replica: r.replica,
            result: digest,
        };
        if r.client != self.id
            || !self.cfg.is_replica(r.replica)
            || !self.keys.check_mac_value(r.replica, TAG_REPLY, &input, &mac)
        {
            return reject(out, from, "Reply", "the MAC does not verify for the named replica");
        }
        let weak = self.cfg.weak();
        let Some(o) = self.outstanding.as_mut() else {
            return;
        };
        if r.timestamp != o.request.request.timestamp {
            return;
        }
        o.replies.insert(r.replica, (digest, r.view));
        if let ReplyResult::Full(result) = r.result {
            o.results.insert(r.replica, (digest, result));
        }
        let matching: Vec<View> = o.replies.values().filter(|(d, _)| *d == digest).map(|(_, v)| *v).collect();
        if matching.len() < weak {
            return;
        }
        let Some((sender, result)) =
            o.results.iter().find(|(_, (d, _))| *d == digest).map(|(r, (_, x))| (*r, x.clone()))
        else {
            // f + 1 digests agree but the designated replica's result has not arrived.
            return;
        };
        if !o.results.contains_key(&self.replier) {
            self.replier = sender;
        }
        let Some(o) = self.outstanding.take() else {
            return;
        };
        // Believe the view at least f + 1 replicas are in.
        let mut views = matching;
        crate::sort::sort(&mut views);
        self.view = views[views.len() - weak];
        out.push(Effect::CancelTimer(PbftTimer::Retry));
        let Request { op, timestamp, .. } = o.request.request;
        // Only the workload's later draws read what was last seen (compare-and-swap
        // expectations): a client with none left, such as a node's gateway client, would
        // only accumulate every key it ever wrote.
        let seen = if self.remaining > 0 { Some(&mut self.last_seen) } else { None };
        match (seen, &*op, &result) {
            (None, ..) => {}
            (Some(seen), Op::Put { key, value }, _)
            | (Some(seen), Op::Cas { key, new: value, .. }, OpResult::Swapped { ok: true, .. }) => {
                seen.insert(key.clone(), Some(value.clone()));
            }
            (Some(seen), Op::Get { key, at: None }, OpResult::Value(v)) => {
                seen.insert(key.clone(), v.as_ref().map(|(v, _)| v.clone()));
            }
            (Some(seen), Op::Cas { key, .. }, OpResult::Swapped { found, .. }) => {
                seen.insert(key.clone(), found.clone());
            }
            (Some(seen), Op::Delete { key }, _) => {
                seen.insert(key.clone(), None);
            }
            _ => {}
        }
        self.completed += 1;
        let hlc = self.hlc.now(env);
        out.push(Effect::Observe(PbftEvent::Completed {
            client: self.id,
            timestamp,
            op,
            result: result.clone(),
            hlc,
        }));
        if o.commanded {
            out.push(Effect::Reply(ClientReply { client: self.id, timestamp, result }));
        }
        if !self.queue.is_empty() {
            self.next(env, out);
        } else if self.remaining > 0 {
            self.think(env, out);
        }
    }

    pub fn hlc(&self) -> Timestamp {
        self.hlc.peek()
    }

    pub fn completed(&self) -> u64 {
        self.completed
    }

    pub fn inspect(&self) -> Vec<(String, String)> {
        vec![
            ("believed view".into(), format!("{}", self.view)),
            ("completed".into(), format!("{}", self.completed)),
            ("remaining".into(), format!("{}", self.remaining)),
            ("outstanding".into(), format!("{}", self.outstanding.as_ref().map_or(0, |_| 1))),
            ("retransmissions".into(), format!("{}", self.retransmissions)),
            ("HLC".into(), format!("{}", self.hlc.peek())),
        ]
    }
}

fn reject(out: &mut Out, from: NodeId, kind: &str, reason: &str) {
    out.push(Effect::Observe(PbftEvent::Rejected { from, kind: kind.into(), reason: reason.into() }));
}
