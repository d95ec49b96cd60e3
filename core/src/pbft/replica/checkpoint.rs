//! Checkpoints and garbage collection (Castro & Liskov §4.3): every K sequence numbers a
//! replica digests its state and multicasts a signed ⟨CHECKPOINT, n, d, i⟩; 2f + 1
//! matching ones make the checkpoint stable, move the low watermark h to n and let the
//! replica discard every log entry at or below it.

use crate::vecmap::VecMap;
use alloc::vec::Vec;

use super::Replica;
use crate::effect::{Env, NodeId};
use crate::pbft::Out;
use crate::pbft::app::sha256;
use crate::pbft::byzantine::{Behaviour, Bug};
use crate::pbft::config::SeqNo;
use crate::pbft::events::PbftEvent;
use crate::pbft::messages::{Body, Checkpoint, Digest, Signed};

use super::normal::corrupt;

impl Replica {
    pub(crate) fn take_checkpoint(&mut self, seq: SeqNo, env: &mut Env<'_>, out: &mut Out) {
        self.app.at_checkpoint();
        let snapshot = self.snapshot_bytes();
        let mut digest = sha256(&snapshot);
        if self.bug == Bug::CorruptCheckpoint && self.id.0 == self.cfg.n - 1 {
            digest[1] ^= 0x5a;
        }
        let sent = if self.behaviour == Behaviour::WrongDigest { corrupt(digest) } else { digest };
        let signed = self.keys.sign(Checkpoint { seq, digest: sent, replica: self.id });
        let rec = self.checkpoints.get_or_default(seq);
        rec.mine = Some((digest, snapshot));
        rec.votes.insert(self.id, signed.clone());
        self.observe(env, out, |hlc| PbftEvent::CheckpointTaken { seq, digest, hlc });
        self.multicast(env, out, Body::Checkpoint(signed.into()));
        self.check_stable(seq, env, out);
    }

    pub(crate) fn on_checkpoint(
        &mut self,
        from: NodeId,
        c: Signed<Checkpoint>,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        const K: &str = "Checkpoint";
        let v = c.value;
        let known =
            self.checkpoints.get(&v.seq).and_then(|r| r.votes.get(&v.replica)).is_some_and(|k| *k == c);
        if v.seq <= self.h || known {
            return;
        }
        if !self.cfg.is_replica(v.replica) || !self.keys.verify(v.replica, &c) {
            return self.reject(out, from, K, "the signature does not verify for the named replica");
        }
        if !v.seq.is_multiple_of(self.cfg.checkpoint_interval) {
            return self.reject(out, from, K, "not a checkpoint sequence number (a multiple of K)");
        }
        if v.seq > self.h + 4 * self.cfg.log_window {
            return self.reject(out, from, K, "checkpoint far above the high watermark");
        }
        self.note_seen(v.seq, out);
        self.checkpoints.get_or_default(v.seq).votes.insert(v.replica, c);
        self.check_stable(v.seq, env, out);
    }

    /// A certificate: 2f + 1 checkpoints from distinct replicas with the same digest.
    pub(crate) fn certificate(&self, seq: SeqNo) -> Option<(Digest, Vec<Signed<Checkpoint>>)> {
        let rec = self.checkpoints.get(&seq)?;
        let mut by_digest: VecMap<Digest, Vec<Signed<Checkpoint>>> = VecMap::new();
        for s in rec.votes.values() {
            by_digest.get_or_default(s.value.digest).push(s.clone());
        }
        by_digest.into_iter().find(|(_, v)| v.len() >= self.cfg.quorum())
    }

    /// Whether `proof` is a valid certificate for checkpoint (`seq`, `digest`).
    pub(crate) fn valid_proof(&self, seq: SeqNo, digest: &Digest, proof: &[Signed<Checkpoint>]) -> bool {
        let mut signers = Vec::new();
        for s in proof {
            let v = &s.value;
            if v.seq == seq
                && v.digest == *digest
                && self.cfg.is_replica(v.replica)
                && !signers.contains(&v.replica)
                && self.keys.verify(v.replica, s)
            {
                signers.push(v.replica);
            }
        }
        signers.len() >= self.cfg.quorum()
    }

    fn check_stable(&mut self, seq: SeqNo, env: &mut Env<'_>, out: &mut Out) {
        if seq <= self.h {
            return;
        }
        let Some((digest, proof)) = self.certificate(seq) else {
            return;
        };
        self.make_stable(seq, proof, env, out);
        // The snapshot is persisted from where it lies: a copy of the state costs as much
        // as writing it.
        match self.checkpoints.get(&seq).and_then(|r| r.mine.as_ref()) {
            Some((d, snapshot)) if *d == digest => self.persist_checkpoint(out, seq, snapshot),
            _ => {
                if let Some(r) = self.checkpoints.get_mut(&seq) {
                    r.mine = None;
                }
                if self.last_executed < seq {
                    // Behind: fetch the state of the stable checkpoint (§4.3, state transfer).
                    self.multicast(env, out, Body::FetchState { seq });
                    self.arm_fetch(out);
                }
            }
        }
    }

    /// Move the low watermark to `seq` with certificate `proof`, discarding the log below.
    pub(crate) fn make_stable(
        &mut self,
        seq: SeqNo,
        proof: Vec<Signed<Checkpoint>>,
        env: &mut Env<'_>,
        out: &mut Out,
    ) {
        if seq <= self.h {
            return;
        }
        self.h = seq;
        self.stable_proof = proof;
        let gone: Vec<SeqNo> = self.log.entries.range(..=seq).map(|(s, _)| *s).collect();
        for s in gone {
            self.unpersist_entry(out, s);
        }
        self.log.discard_through(seq);
        self.checkpoints = self.checkpoints.split_off(&seq);
        self.next_seq = self.next_seq.max(seq + 1);
        self.observe(env, out, |hlc| PbftEvent::CheckpointStable { seq, hlc });
        self.send_batches(true, env, out);
    }
}
