//! Byzantine behaviours a replica can be switched to (scenario `params.byzantine` or a
//! `misbehave` fault), and deliberately broken replica code paths (`params.bug`) that
//! exist only so each invariant can be shown to fire on a replica the checker trusts.

use alloc::format;
use alloc::string::String;

use serde::{Deserialize, Serialize};

/// How a Byzantine replica departs from the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    Honest,
    /// Sends nothing at all.
    Silent,
    /// As primary, sends different pre-prepares for the same sequence number to
    /// different backups (the second variant drops the batch's requests).
    Equivocate,
    /// Sends pre-prepares, prepares, commits and checkpoints with corrupted digests.
    WrongDigest,
    /// Sends prepares and commits in another replica's name (its MACs cannot verify)
    /// and signed messages with bad signatures.
    Forge,
    /// Re-sends old messages it received or sent.
    Replay,
    /// Votes for a different digest towards half of the replicas.
    ConflictingVotes,
    /// Drops its prepared and pre-prepared claims from view-change messages.
    LyingViewChange,
    /// Handles every message late.
    Slow,
    /// Colludes with other colluders: as primary it equivocates to everyone and commits
    /// both variants; as backup it prepares and commits every pre-prepare it sees. With
    /// f + 1 colluders safety is lost.
    Collude,
}

impl Behaviour {
    pub const NAMES: &'static [&'static str] = &[
        "honest",
        "silent",
        "equivocate",
        "wrong-digest",
        "forge",
        "replay",
        "conflicting-votes",
        "lying-view-change",
        "slow",
        "collude",
    ];

    /// What each of [`Behaviour::NAMES`] does, in the same order.
    pub const SUMMARIES: &'static [&'static str] = &[
        "follows the protocol",
        "sends nothing at all",
        "as primary, sends different pre-prepares for one sequence number to different backups",
        "corrupts the digests in its pre-prepares, prepares, commits and checkpoints",
        "sends messages in other replicas' names (MACs and signatures that cannot verify)",
        "sends old messages again",
        "votes for a different digest towards half of the replicas",
        "leaves its prepared certificates out of its view-change messages",
        "handles every message late",
        "colludes: equivocates as primary, prepares and commits everything as backup",
    ];

    pub fn parse(name: &str) -> Result<Behaviour, String> {
        Ok(match name {
            "honest" => Behaviour::Honest,
            "silent" => Behaviour::Silent,
            "equivocate" => Behaviour::Equivocate,
            "wrong-digest" => Behaviour::WrongDigest,
            "forge" => Behaviour::Forge,
            "replay" => Behaviour::Replay,
            "conflicting-votes" => Behaviour::ConflictingVotes,
            "lying-view-change" => Behaviour::LyingViewChange,
            "slow" => Behaviour::Slow,
            "collude" => Behaviour::Collude,
            other => {
                return Err(format!("unknown behaviour {other:?}; known: {}", Behaviour::NAMES.join(", ")));
            }
        })
    }

    pub fn name(self) -> &'static str {
        Behaviour::NAMES[self as usize]
    }
}

/// A deliberately broken code path in every replica (the checker still counts them as
/// correct). Each one makes one invariant fire; tests use them to show the checker works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    #[default]
    None,
    /// Skips the "already executed" check of the last-reply table (breaks at-most-once).
    ExecuteTwice,
    /// Accepts requests without checking the client's MAC (breaks validity under a
    /// primary that invents requests: behaviour `forge` on the primary does).
    SkipClientAuth,
    /// The highest replica mixes its id into its checkpoint digests.
    CorruptCheckpoint,
    /// Reads answer from before the previous batch (breaks linearizability).
    StaleReads,
    /// Replicas never send replies (breaks liveness).
    NoReplies,
    /// Commits after the pre-prepare alone (breaks agreement under an equivocating primary).
    CommitWithoutQuorum,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for n in Behaviour::NAMES {
            assert_eq!(Behaviour::parse(n).map(Behaviour::name), Ok(*n));
        }
        let e = Behaviour::parse("evil").unwrap_err();
        assert!(e.contains("equivocate"), "{e}");
    }
}
