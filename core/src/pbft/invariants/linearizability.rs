//! Linearizability of the history clients observed (Herlihy & Wing), checked per key
//! (a key-value store is linearizable iff each key's sub-history is: locality) with the
//! Wing & Gong search as Porcupine runs it: repeatedly pick an operation that may take
//! effect next (invoked before the earliest pending response), apply it to the model if
//! its result agrees, backtrack otherwise; visited (set of linearized operations, model
//! state) pairs are memoized and the search is bounded. Operations without a response
//! may take effect at any point after their invocation, or never. Snapshot reads
//! (`get --at`) read the past and are left out.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use super::{ByRequest, observed};
use crate::check::{CheckCtx, Invariant, Metric};
use crate::pbft::PbftNode;
use crate::pbft::app::{Op, OpResult};
use crate::pbft::events::PbftEvent;
use crate::sim::TraceEvent;
use crate::vecmap::VecMap;

/// One operation of a key's history; times are trace positions (a total order that
/// respects real time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryOp {
    pub op: Op,
    pub invoke: u64,
    /// `None`: no response was seen (it may or may not have taken effect).
    pub response: Option<(u64, OpResult)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order explains the results.
    Violation,
    /// The search budget ran out first.
    Unknown,
}

/// The register (or nonce flag) of one key: `None` = absent / fresh.
type State = Option<String>;

/// Apply `op` to `state`: the new state if `result` (when known) is what the model says.
fn step(state: &State, op: &Op, result: Option<&OpResult>) -> Option<State> {
    let ok = |expected: OpResult| result.is_none_or(|r| *r == expected);
    let written = |r: Option<&OpResult>| r.is_none_or(|r| matches!(r, OpResult::Written(_)));
    match op {
        Op::Put { value, .. } => written(result).then(|| Some(value.clone())),
        Op::Delete { .. } => written(result).then_some(None),
        Op::Get { .. } => match result {
            None => Some(state.clone()),
            Some(OpResult::Value(v)) => (v.as_ref().map(|(x, _)| x) == state.as_ref()).then(|| state.clone()),
            Some(_) => None,
        },
        Op::Cas { expected, new, .. } => {
            let swap = state == expected;
            ok(OpResult::Swapped { ok: swap, found: state.clone() })
                .then(|| if swap { Some(new.clone()) } else { state.clone() })
        }
        Op::ConsumeNonce { .. } => ok(OpResult::Fresh(state.is_none())).then(|| Some(String::new())),
    }
}

/// Check one key's history within `budget` search states.
pub fn check_key(ops: &[HistoryOp], budget: u64) -> Verdict {
    let n = ops.len();
    let words = n.div_ceil(64).max(1);
    let completed: Vec<usize> = (0..n).filter(|i| ops[*i].response.is_some()).collect();
    let mut seen: BTreeSet<(Vec<u64>, State)> = BTreeSet::new();
    // Depth-first search with an explicit stack of (linearized set, state).
    let mut stack: Vec<(Vec<u64>, State)> = vec![(vec![0u64; words], None)];
    let mut explored = 0u64;
    while let Some((done, state)) = stack.pop() {
        let is_done = |i: usize| done[i / 64] & (1 << (i % 64)) != 0;
        if completed.iter().all(|i| is_done(*i)) {
            return Verdict::Linearizable;
        }
        explored += 1;
        if explored > budget {
            return Verdict::Unknown;
        }
        // The earliest response among operations not yet linearized bounds the candidates.
        let horizon = completed
            .iter()
            .filter(|i| !is_done(**i))
            .filter_map(|i| ops[*i].response.as_ref().map(|(t, _)| *t))
            .min()
            .unwrap_or(u64::MAX);
        for i in (0..n).rev() {
            if is_done(i) || ops[i].invoke > horizon {
                continue;
            }
            let result = ops[i].response.as_ref().map(|(_, r)| r);
            if let Some(next) = step(&state, &ops[i].op, result) {
                let mut d = done.clone();
                d[i / 64] |= 1 << (i % 64);
                if seen.insert((d.clone(), next.clone())) {
                    stack.push((d, next));
                }
            }
        }
    }
    Verdict::Violation
}

/// The invariant: collects invocations and responses, checks every key at the end.
pub struct Linearizable {
    budget: u64,
    invoked: ByRequest<(Op, u64)>,
    responses: ByRequest<(u64, OpResult)>,
    /// Keys whose search ran out of budget: neither passed nor failed. Shared with
    /// [`Coverage`], which reports the count, so an unchecked history is never silent.
    unchecked: Rc<Cell<u64>>,
}

impl Linearizable {
    pub fn new(budget: u64) -> Self {
        Linearizable {
            budget,
            invoked: ByRequest::new(),
            responses: ByRequest::new(),
            unchecked: Rc::new(Cell::new(0)),
        }
    }

    /// The metric that reports how many keys this checker could not decide.
    pub fn coverage(&self) -> Coverage {
        Coverage(Rc::clone(&self.unchecked))
    }
}

/// Metric `linearizability_unchecked_keys`: histories the checker gave up on.
pub struct Coverage(Rc<Cell<u64>>);

impl Metric<PbftNode> for Coverage {
    fn observe(&mut self, _ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) {}

    fn report(&self, _ctx: &CheckCtx<'_>, out: &mut BTreeMap<String, f64>) {
        out.insert("linearizability_unchecked_keys".into(), self.0.get() as f64);
    }
}

impl Invariant<PbftNode> for Linearizable {
    fn at_end(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "linearizability"
    }
    fn about(&self) -> &'static str {
        "what clients saw of each key is a history a single copy could give, in real-time order"
    }

    fn observe(&mut self, ev: &TraceEvent<PbftNode>, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        match observed(ev) {
            Some(PbftEvent::Invoked { client, timestamp, op, .. }) if !op.is_snapshot_read() => {
                self.invoked.insert((*client, *timestamp), ((**op).clone(), ev.index));
            }
            Some(PbftEvent::Completed { client, timestamp, result, .. }) => {
                self.responses.insert((*client, *timestamp), (ev.index, result.clone()));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _ctx: &CheckCtx<'_>) -> Result<(), String> {
        let mut by_key: VecMap<(bool, String), Vec<HistoryOp>> = VecMap::new();
        for (id, (op, invoke)) in self.invoked.iter() {
            let (nonce, key) = op.key();
            by_key.get_or_default((nonce, key.into())).push(HistoryOp {
                op: op.clone(),
                invoke: *invoke,
                response: self.responses.get(id).cloned(),
            });
        }
        for ((nonce, key), mut ops) in by_key {
            crate::sort::sort_by_key(&mut ops, |o| o.invoke);
            let verdict = check_key(&ops, self.budget);
            if verdict == Verdict::Unknown {
                self.unchecked.set(self.unchecked.get() + 1);
            }
            if verdict == Verdict::Violation {
                return Err(format!(
                    "the history of {} {key:?} ({} operations) has no linearization",
                    if nonce { "nonce" } else { "key" },
                    ops.len()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn put(v: &str, i: u64, r: u64) -> HistoryOp {
        HistoryOp {
            op: Op::Put { key: "k".into(), value: v.into() },
            invoke: i,
            response: Some((r, OpResult::Written(Timestamp::ZERO))),
        }
    }

    fn get(v: Option<&str>, i: u64, r: u64) -> HistoryOp {
        HistoryOp {
            op: Op::Get { key: "k".into(), at: None },
            invoke: i,
            response: Some((r, OpResult::Value(v.map(|v| (v.into(), Timestamp::ZERO))))),
        }
    }

    #[test]
    fn sequential_and_concurrent_histories() {
        assert_eq!(check_key(&[put("1", 0, 1), get(Some("1"), 2, 3)], 1000), Verdict::Linearizable);
        // A stale read after the write completed is not linearizable.
        assert_eq!(check_key(&[put("1", 0, 1), get(None, 2, 3)], 1000), Verdict::Violation);
        // Concurrent with the write, either value may be read.
        assert_eq!(check_key(&[put("1", 0, 5), get(None, 1, 2)], 1000), Verdict::Linearizable);
        assert_eq!(check_key(&[put("1", 0, 5), get(Some("1"), 1, 2)], 1000), Verdict::Linearizable);
        // Two reads that see the two writes in opposite orders.
        let h = [put("1", 0, 10), put("2", 0, 10), get(Some("1"), 11, 12), get(Some("2"), 13, 14)];
        assert_eq!(check_key(&h, 1000), Verdict::Violation);
    }

    #[test]
    fn pending_operations_may_or_may_not_take_effect() {
        let pending =
            HistoryOp { op: Op::Put { key: "k".into(), value: "9".into() }, invoke: 0, response: None };
        assert_eq!(check_key(&[pending.clone(), get(Some("9"), 5, 6)], 1000), Verdict::Linearizable);
        assert_eq!(check_key(&[pending.clone(), get(None, 5, 6)], 1000), Verdict::Linearizable);
        assert_eq!(check_key(&[pending, get(Some("8"), 5, 6)], 1000), Verdict::Violation);
    }

    #[test]
    fn cas_and_nonces_follow_the_model() {
        let cas = |exp: Option<&str>, new: &str, ok: bool, found: Option<&str>, i, r| HistoryOp {
            op: Op::Cas { key: "k".into(), expected: exp.map(Into::into), new: new.into() },
            invoke: i,
            response: Some((r, OpResult::Swapped { ok, found: found.map(Into::into) })),
        };
        let h = [put("a", 0, 1), cas(Some("a"), "b", true, Some("a"), 2, 3), get(Some("b"), 4, 5)];
        assert_eq!(check_key(&h, 1000), Verdict::Linearizable);
        let h = [put("a", 0, 1), cas(Some("a"), "b", false, Some("a"), 2, 3)];
        assert_eq!(check_key(&h, 1000), Verdict::Violation);
        let nonce = |fresh, i, r| HistoryOp {
            op: Op::ConsumeNonce { nonce: "n".into() },
            invoke: i,
            response: Some((r, OpResult::Fresh(fresh))),
        };
        assert_eq!(check_key(&[nonce(true, 0, 1), nonce(false, 2, 3)], 100), Verdict::Linearizable);
        assert_eq!(check_key(&[nonce(true, 0, 1), nonce(true, 2, 3)], 100), Verdict::Violation);
        assert_eq!(check_key(&[nonce(false, 0, 3), nonce(true, 1, 2)], 100), Verdict::Linearizable);
    }

    #[test]
    fn the_search_is_bounded() {
        // Many concurrent writes and a read of a value nobody wrote: exhaustive search is
        // large, the budget stops it.
        let mut h: Vec<HistoryOp> = (0..40).map(|i| put(&format!("{i}"), 0, 100)).collect();
        h.push(get(Some("x"), 101, 102));
        assert_eq!(check_key(&h, 500), Verdict::Unknown);
    }
}
