//! Local search on one level's items: greedy k-way refinement with moves and swaps, driven
//! by a queue of items whose gains may have changed (the boundary refinement of METIS,
//! Karypis & Kumar 1998, with the energy's load terms in the gain), and iterated local
//! search around it (Lourenço, Martin & Stützle 2003): kick a few items, refine, keep the
//! result unless it is worse, else undo the kick from a move log. An exact two-way
//! repartition of small node pairs adds the exchanges of several items (two small for one
//! large) that single moves and swaps cannot make without passing through worse states.
//!
//! Steps are delta evaluations (one per move or swap priced), so a step budget bounds the
//! work deterministically, like the annealer's.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use super::anneal::{BLOCK, Search, Walker, Wyrand};

/// How the iterated local search kicks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KickConfig {
    /// Items kicked per iteration (each with its linked items on the same node, sometimes).
    pub items: u32,
    /// Share of kicks that also carry the kicked item's linked items along, in 1/16ths.
    pub carry_share: u8,
    /// Share of kicks aimed at the node of a linked item, in 1/16ths (else a random node).
    pub linked_share: u8,
}

impl Search {
    /// Count `n` steps done at energy `current`: record trace points, ask `stop` every
    /// [`BLOCK`] steps. Returns whether the run must end.
    pub(super) fn advance(&mut self, n: u64, current: f64, stop: &mut dyn FnMut(u64) -> bool) -> bool {
        let before = self.done;
        self.done += n;
        while self.trace_points > 0 && self.done >= self.next_trace && self.trace.len() < self.trace_points {
            self.trace.push((self.done, current));
            self.next_trace += self.trace_every;
        }
        if self.done / BLOCK != before / BLOCK && stop(self.done) {
            self.stopped = true;
        }
        self.stopped
    }
}

/// A change of one item's node: a move, or a swap with another item.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Change {
    Move(u32),
    Swap(u32),
}

/// A walker with per-node member lists, a work queue and an undo log.
pub(super) struct Refiner<'a> {
    pub(super) w: Walker<'a>,
    members: Vec<Vec<u32>>,
    /// Index of each item in its node's member list.
    pos: Vec<u32>,
    queue: VecDeque<u32>,
    queued: Vec<bool>,
    /// `(item, node it left)` since the last accepted state, for undoing a kick.
    log: Vec<(u32, u32)>,
    /// Scratch: nodes already tried for swaps of the current item.
    seen: Vec<u32>,
    /// Changes smaller than this are noise (rounding), not improvements.
    eps: f64,
}

impl<'a> Refiner<'a> {
    pub(super) fn new(w: Walker<'a>, scale: f64) -> Refiner<'a> {
        let n = w.level.len();
        let mut members = vec![Vec::new(); w.nodes];
        let mut pos = vec![0u32; n];
        for (i, &q) in w.assignment.iter().enumerate() {
            pos[i] = members[q as usize].len() as u32;
            members[q as usize].push(i as u32);
        }
        Refiner {
            w,
            members,
            pos,
            queue: VecDeque::with_capacity(n),
            queued: vec![false; n],
            log: Vec::new(),
            seen: Vec::new(),
            eps: 1e-9 * scale.max(1e-300),
        }
    }

    fn push(&mut self, i: u32) {
        if !self.queued[i as usize] {
            self.queued[i as usize] = true;
            self.queue.push_back(i);
        }
    }

    pub(super) fn push_all(&mut self, rng: &mut Wyrand) {
        let n = self.w.level.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        for k in (1..n).rev() {
            order.swap(k, rng.below(k as u64 + 1) as usize);
        }
        for i in order {
            self.push(i);
        }
    }

    /// Move item `i` to `q` with energy change `d`; queue the items whose gains it changes
    /// (its linked items, and the items of both nodes, whose loads changed).
    fn relocate(&mut self, i: u32, q: u32, d: f64, log: bool) {
        let p = self.w.assignment[i as usize];
        let k = self.pos[i as usize] as usize;
        let from = &mut self.members[p as usize];
        from.swap_remove(k);
        if let Some(&moved) = from.get(k) {
            self.pos[moved as usize] = k as u32;
        }
        self.pos[i as usize] = self.members[q as usize].len() as u32;
        self.members[q as usize].push(i);
        self.w.apply_move(i as usize, q as usize);
        self.w.current += d;
        if log {
            self.log.push((i, p));
        }
        let level = self.w.level;
        for &(u, _) in level.neighbours(i as usize) {
            self.push(u);
        }
        for node in [p, q] {
            for k in 0..self.members[node as usize].len() {
                let u = self.members[node as usize][k];
                self.push(u);
            }
        }
    }

    /// The best change of item `i` that lowers the energy, if any, with its energy change,
    /// pricing at most `left` changes; returns how many were priced.
    fn best_change(&mut self, i: u32, left: u64) -> (f64, Option<Change>, u64) {
        let w = &self.w;
        let p = w.assignment[i as usize];
        let mut best = (-self.eps, None);
        let mut evals = 0;
        // Without overload on `p`, a move to a node that is not lighter by more than the
        // item's cpu and holds no more of its link weight cannot lower the energy: such
        // nodes (most, on a balanced assignment) are skipped unpriced, but still count as a
        // step so that a budget buys the same search as before, only faster.
        let pi = p as usize;
        let [c, _] = w.level.demand[i as usize];
        let prune = !w.conn.is_empty() && w.cpu[pi] <= w.capacity[pi][0] && w.mem[pi] <= w.capacity[pi][1];
        let row = if prune { &w.conn[i as usize * w.nodes..(i as usize + 1) * w.nodes] } else { &[][..] };
        for q in 0..w.nodes as u32 {
            if q == p {
                continue;
            }
            if evals == left {
                return (best.0, best.1, evals);
            }
            evals += 1;
            let qi = q as usize;
            if prune && w.cpu[qi] + c >= w.cpu[pi] && row[qi] <= row[pi] {
                continue;
            }
            let d = w.delta_move(i as usize, qi);
            if d < best.0 {
                best = (d, Some(Change::Move(q)));
            }
        }
        // Swaps with the items of nodes that hold a linked item: the load terms make most
        // single moves uphill, and an exchange with a similar item on the linked side is
        // how a cut link is joined without unbalancing.
        self.seen.clear();
        for &(u, _) in w.level.neighbours(i as usize) {
            let q = w.assignment[u as usize];
            if q == p || self.seen.contains(&q) {
                continue;
            }
            self.seen.push(q);
            for &j in &self.members[q as usize] {
                if evals == left {
                    return (best.0, best.1, evals);
                }
                evals += 1;
                if w.delta_swap_bound(i as usize, j as usize) >= best.0 {
                    continue;
                }
                let d = w.delta_swap(i as usize, j as usize);
                if d < best.0 {
                    best = (d, Some(Change::Swap(j)));
                }
            }
        }
        (best.0, best.1, evals)
    }

    fn apply(&mut self, i: u32, change: Change, d: f64) {
        match change {
            Change::Move(q) => self.relocate(i, q, d, true),
            Change::Swap(j) => {
                let (p, q) = (self.w.assignment[i as usize], self.w.assignment[j as usize]);
                // Price the two halves so the running energy stays a sum of exact deltas.
                let d1 = self.w.delta_move(i as usize, q as usize);
                self.relocate(i, q, d1, true);
                self.relocate(j, p, d - d1, true);
            }
        }
    }

    /// Improve queued items until the queue empties or the run must end (`end` steps).
    /// The queue misses that a node's lighter load can draw items from any node, so with
    /// `exhaustive` an empty queue is refilled with every item until a whole pass finds
    /// nothing: then no single move (and no linked swap) lowers the energy.
    pub(super) fn descend(
        &mut self,
        search: &mut Search,
        end: u64,
        exhaustive: bool,
        stop: &mut dyn FnMut(u64) -> bool,
    ) {
        // Items priced since the last change; a full pass of them means a local minimum.
        let mut quiet = 0;
        while search.done < end && !search.stopped {
            let Some(i) = self.queue.pop_front() else {
                if !exhaustive || quiet >= self.w.level.len() {
                    break;
                }
                self.push_all(&mut search.rng);
                continue;
            };
            self.queued[i as usize] = false;
            let (d, change, evals) = self.best_change(i, end - search.done);
            if let Some(change) = change {
                self.apply(i, change, d);
                quiet = 0;
            } else {
                quiet += 1;
            }
            search.advance(evals, self.w.current, stop);
        }
    }

    /// Exact two-way repartition of nodes `p` and `q`: every split of their items between
    /// the two is priced (a Gray-code walk, one move per split, so 2^k moves for k items)
    /// and the best applied if it lowers the energy. Single moves and swaps miss exchanges
    /// such as two small items for one large one, which a tight packing needs. Returns the
    /// moves priced; does nothing when the pair holds more than `max_items` items or the
    /// walk would pass `left` moves.
    fn repartition(&mut self, p: u32, q: u32, max_items: u32, left: u64) -> u64 {
        let k = self.members[p as usize].len() + self.members[q as usize].len();
        if k == 0 || k > max_items.min(20) as usize || (1u64 << k) > left {
            return 0;
        }
        self.seen.clear();
        self.seen.extend_from_slice(&self.members[p as usize]);
        self.seen.extend_from_slice(&self.members[q as usize]);
        let other = |at: u32| if at == p { q } else { p };
        let (mut sum, mut best, mut best_code) = (0.0, -self.eps, 0u64);
        let mut code = 0u64;
        for step in 1..(1u64 << k) {
            let bit = step.trailing_zeros() as usize;
            let i = self.seen[bit] as usize;
            let to = other(self.w.assignment[i]) as usize;
            sum += self.w.delta_move(i, to);
            self.w.apply_move(i, to);
            code ^= 1 << bit;
            if sum < best {
                best = sum;
                best_code = code;
            }
        }
        // Back to the start (the walk ends with only the last item flipped), then to the best.
        let last = self.seen[k - 1] as usize;
        let back = other(self.w.assignment[last]) as usize;
        self.w.apply_move(last, back);
        for b in 0..k {
            if best_code >> b & 1 == 1 {
                let i = self.seen[b];
                let to = other(self.w.assignment[i as usize]);
                let d = self.w.delta_move(i as usize, to as usize);
                self.relocate(i, to, d, true);
            }
        }
        1u64 << k
    }

    /// Repartition every pair of nodes joined by a link (see [`Refiner::repartition`]) until
    /// a round changes nothing or `end` steps are done.
    pub(super) fn repartition_pairs(
        &mut self,
        search: &mut Search,
        end: u64,
        max_items: u32,
        stop: &mut dyn FnMut(u64) -> bool,
    ) -> bool {
        let nodes = self.w.nodes;
        let mut improved = false;
        loop {
            if search.done >= end || search.stopped {
                return improved;
            }
            let mut changed = false;
            let level = self.w.level;
            let mut pairs = Vec::new();
            for i in 0..level.len() {
                let a = self.w.assignment[i];
                for &(u, _) in level.neighbours(i) {
                    let b = self.w.assignment[u as usize];
                    if a < b {
                        pairs.push(a as usize * nodes + b as usize);
                    }
                }
            }
            pairs.sort_unstable();
            pairs.dedup();
            // Listing the pairs costs about a step per link.
            let listing = (level.adjacency.len() as u64 / 2).min(end - search.done);
            if search.advance(listing, self.w.current, stop) {
                return improved;
            }
            for pair in pairs {
                if search.done >= end || search.stopped {
                    return improved;
                }
                let (p, q) = ((pair / nodes) as u32, (pair % nodes) as u32);
                let before = self.w.current;
                let priced = self.repartition(p, q, max_items, end - search.done);
                if self.w.current < before - self.eps {
                    changed = true;
                }
                search.advance(priced, self.w.current, stop);
            }
            if !changed {
                return improved;
            }
            improved = true;
        }
    }

    fn clear_queue(&mut self) {
        for i in self.queue.drain(..) {
            self.queued[i as usize] = false;
        }
    }

    /// Undo the logged moves, back to the last accepted state of energy `energy`.
    fn undo(&mut self, energy: f64) {
        while let Some((i, p)) = self.log.pop() {
            let d = self.w.delta_move(i as usize, p as usize);
            self.relocate(i, p, d, false);
        }
        self.w.current = energy;
        self.clear_queue();
    }

    /// Move a few random items (and sometimes their linked items on the same node along),
    /// pricing at most `left ≥ 1` moves; returns how many were priced.
    fn kick(&mut self, rng: &mut Wyrand, kick: KickConfig, left: u64) -> u64 {
        let (items, nodes) = (self.w.level.len() as u64, self.w.nodes as u64);
        let mut priced = 0;
        for _ in 0..kick.items.max(1) {
            if priced >= left {
                break;
            }
            let i = rng.below(items) as u32;
            let p = self.w.assignment[i as usize];
            let mut q = rng.below(nodes - 1) as u32;
            if q >= p {
                q += 1;
            }
            let level = self.w.level;
            let links = level.neighbours(i as usize);
            let r = rng.next_u64();
            if !links.is_empty() && (r & 0xf) < kick.linked_share as u64 {
                let at = self.w.assignment[links[rng.below(links.len() as u64) as usize].0 as usize];
                if at != p {
                    q = at;
                }
            }
            let d = self.w.delta_move(i as usize, q as usize);
            self.relocate(i, q, d, true);
            priced += 1;
            if ((r >> 4) & 0xf) < kick.carry_share as u64 {
                for &(u, _) in links {
                    if self.w.assignment[u as usize] == p && priced < left {
                        let d = self.w.delta_move(u as usize, q as usize);
                        self.relocate(u, q, d, true);
                        priced += 1;
                    }
                }
            }
        }
        priced
    }

    /// Iterated local search for `steps` steps: refine to a local minimum, then kick and
    /// refine again, keeping the result when it is no worse and undoing it otherwise. Ends
    /// on the best assignment found (the last one kept).
    pub(super) fn iterate(
        &mut self,
        search: &mut Search,
        steps: u64,
        kick: KickConfig,
        stop: &mut dyn FnMut(u64) -> bool,
    ) {
        let end = search.done.saturating_add(steps);
        self.push_all(&mut search.rng);
        self.descend(search, end, true, stop);
        self.log.clear();
        self.clear_queue();
        let mut kept = self.w.current;
        while search.done < end && !search.stopped {
            let priced = self.kick(&mut search.rng, kick, end - search.done);
            search.advance(priced, self.w.current, stop);
            self.descend(search, end, false, stop);
            // Equal energies are kept too, to drift along plateaus.
            if self.w.current <= kept + self.eps {
                kept = kept.min(self.w.current);
                self.log.clear();
                self.clear_queue();
            } else {
                self.undo(kept);
            }
        }
    }

    pub(super) fn into_assignment(self) -> Vec<u32> {
        self.w.assignment
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::effect::DetRng;
    use crate::sched::anneal::{Level, hierarchy, projected};
    use crate::sched::problem::Problem;
    use crate::sched::random_problem;

    /// Running energy, member lists and positions agree with the assignment.
    fn check(r: &Refiner, problem: &Problem, maps: &[Vec<u32>]) -> Result<(), TestCaseError> {
        let e = projected(problem, maps, &r.w.assignment);
        prop_assert!((r.w.current - e).abs() < 1e-6 * (1.0 + e.abs()), "{} vs {e}", r.w.current);
        for (q, m) in r.members.iter().enumerate() {
            for (k, &i) in m.iter().enumerate() {
                prop_assert_eq!(r.w.assignment[i as usize] as usize, q);
                prop_assert_eq!(r.pos[i as usize] as usize, k);
            }
        }
        prop_assert_eq!(r.members.iter().map(Vec::len).sum::<usize>(), r.w.assignment.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Descents, kicks and undos keep the running energy equal to a fresh evaluation
        /// on every level; a finished descent is a local minimum of single moves; an undo
        /// restores the kept assignment.
        #[test]
        fn refinement_deltas_match_recomputed_energy(
            tasks in 2u32..70, nodes in 2u32..7, seed in any::<u64>(), scan in any::<bool>()
        ) {
            let p = random_problem(tasks, nodes, seed);
            let fine = Level::from_problem(&p);
            let (levels, maps, _) = hierarchy(&p, &fine, None, 1.0, &mut Wyrand(seed));
            let mut rng = DetRng::seed_from_u64(seed);
            for (d, level) in levels.iter().enumerate() {
                let a: Vec<u32> = (0..level.len()).map(|_| rng.below(nodes as u64) as u32).collect();
                let mut w = Walker::new(&p, level, a);
                if scan {
                    // The path without a link table that very large instances take.
                    w.conn = Vec::new();
                }
                let mut r = Refiner::new(w, 1.0);
                let mut s = Search::untraced(seed);
                check(&r, &p, &maps[..d])?;
                r.push_all(&mut s.rng);
                r.descend(&mut s, u64::MAX, true, &mut |_| false);
                check(&r, &p, &maps[..d])?;
                for i in 0..level.len() {
                    for q in 0..nodes as usize {
                        if q as u32 != r.w.assignment[i] {
                            prop_assert!(r.w.delta_move(i, q) >= -r.eps, "item {} to {} improves", i, q);
                        }
                    }
                }
                // Repartitioned linked pairs of up to 5 items have no better split left.
                r.repartition_pairs(&mut s, u64::MAX, 5, &mut |_| false);
                check(&r, &p, &maps[..d])?;
                let e = r.w.current;
                for (i, &(u, _)) in (0..level.len()).flat_map(|i| level.neighbours(i).iter().map(move |l| (i, l))) {
                    let (a, b) = (r.w.assignment[i], r.w.assignment[u as usize]);
                    let items: Vec<usize> = (0..level.len()).filter(|&k| [a, b].contains(&r.w.assignment[k])).collect();
                    if a == b || items.len() > 5 {
                        continue;
                    }
                    for split in 0..1u32 << items.len() {
                        let mut x = r.w.assignment.clone();
                        for (bit, &k) in items.iter().enumerate() {
                            x[k] = if split >> bit & 1 == 1 { b } else { a };
                        }
                        let split_e = projected(&p, &maps[..d], &x);
                        prop_assert!(split_e >= e - 1e-6, "pair {}-{}: split {} at {} below {}", a, b, split, split_e, e);
                    }
                }
                r.log.clear();
                let kept = r.w.assignment.clone();
                let kick = KickConfig { items: 2, carry_share: 8, linked_share: 8 };
                r.kick(&mut s.rng, kick, u64::MAX);
                check(&r, &p, &maps[..d])?;
                let limit = s.done + rng.below(60);
                r.descend(&mut s, limit, false, &mut |_| false);
                prop_assert!(s.done <= limit);
                check(&r, &p, &maps[..d])?;
                r.undo(e);
                prop_assert_eq!(&r.w.assignment, &kept);
                check(&r, &p, &maps[..d])?;
                // Iterated search spends its budget exactly and never ends above its start.
                let before = s.done;
                r.iterate(&mut s, 500, kick, &mut |_| false);
                prop_assert_eq!(s.done, before + 500);
                check(&r, &p, &maps[..d])?;
                prop_assert!(r.w.current <= e + 1e-9);
            }
        }
    }
}
