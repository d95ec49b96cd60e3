//! A force-directed layout (Fruchterman and Reingold, "Graph drawing by force-directed
//! placement", 1991) of a gossip overlay: linked nodes attract, all nodes repel, and a
//! falling temperature bounds each move. Repulsion is the paper's grid variant: only nodes
//! in neighbouring cells of side 2k push each other, so an iteration costs O(n + edges).
//!
//! Deterministic: start positions come from node ids and the moves from the edges only, so
//! the same ids and overlay give the same picture on every load. Iterations run in slices
//! ([`Force::step`]) so a thousand nodes settle over a few frames without stalling any.

/// The box the layout keeps nodes in: left, top, right, bottom.
pub type Bounds = (f64, f64, f64, f64);

/// Iterations from the start positions to a settled layout.
pub const ITERATIONS: u32 = 300;
/// Iterations to settle again from the previous positions when the overlay changes: a
/// cooler restart, so a changed link moves its ends and leaves the picture recognisable.
pub const WARM_ITERATIONS: u32 = 40;

/// Iterations to settle again when a partition starts or heals: hotter than a changed
/// link, since whole halves move across the picture.
pub const SIDES_ITERATIONS: u32 = 120;
/// How much harder a node is drawn to its side's anchor than along a link: enough for the
/// halves to part while the links that still cross the partition pull them together.
const SIDE_PULL: f64 = 2.0;

#[derive(Clone, Debug)]
pub struct Force {
    bounds: Bounds,
    pos: Vec<(f64, f64)>,
    /// Each link once, lower node first, sorted.
    edges: Vec<(u32, u32)>,
    /// Per node: it has a link. Nodes outside the overlay (crashed, not yet joined) neither
    /// push nor are pushed while others are linked, and are drawn in a row of their own.
    linked: Vec<bool>,
    /// Per node, the side of a partition in force (empty when none): each side is drawn
    /// towards its own anchor so the halves of a split network stand apart.
    sides: Vec<u32>,
    /// The distinct values of `sides`, sorted: side `side_ids[i]` is drawn i-th from the left.
    side_ids: Vec<u32>,
    iteration: u32,
    // Scratch kept between iterations (no allocation per iteration).
    disp: Vec<(f64, f64)>,
    cell_of: Vec<u32>,
    cell_start: Vec<u32>,
    by_cell: Vec<u32>,
}

/// SplitMix64: spreads a node id over 64 bits for its start position.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where node `id` starts: a point scattered over `bounds` by its id alone (a lone node
/// starts in the middle).
pub fn start_position(id: u32, n: u32, bounds: Bounds) -> (f64, f64) {
    let (l, t, r, b) = bounds;
    if n <= 1 {
        return ((l + r) / 2.0, (t + b) / 2.0);
    }
    let h = mix(u64::from(id));
    let unit = |bits: u64| (bits & 0xffff) as f64 / 65_535.0;
    (l + unit(h) * (r - l), t + unit(h >> 16) * (b - t))
}

/// The links of `edges` among `n` nodes, each once with its lower node first, sorted;
/// self-links and links to unknown nodes are left out.
pub fn normalise(n: u32, edges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = edges
        .iter()
        .filter(|(a, b)| a != b && *a < n && *b < n)
        .map(|(a, b)| (*a.min(b), *a.max(b)))
        .collect();
    void_core::sort::sort(&mut out);
    out.dedup();
    out
}

/// The nodes of `edges` that have a link.
fn linked_of(n: u32, edges: &[(u32, u32)]) -> Vec<bool> {
    let mut linked = vec![false; n as usize];
    for &(a, b) in edges {
        linked[a as usize] = true;
        linked[b as usize] = true;
    }
    linked
}

/// `count` places in rows along the bottom of `bounds`, left to right, and the height the
/// rows take.
fn bottom_rows(count: usize, bounds: Bounds) -> (Vec<(f64, f64)>, f64) {
    let (l, _, r, b) = bounds;
    let width = (r - l).max(0.0);
    let step = (width / count.max(1) as f64).clamp(14.0, 30.0);
    let per_row = ((width / step) as usize + 1).max(1);
    let rows = count.div_ceil(per_row);
    let places = (0..count)
        .map(|i| {
            let (row, col) = (i / per_row, i % per_row);
            let in_row = per_row.min(count - row * per_row);
            // Each row centred under the picture.
            let x = (l + r) / 2.0 + (col as f64 - (in_row as f64 - 1.0) / 2.0) * step;
            (x, b - (rows - 1 - row) as f64 * step)
        })
        .collect();
    (places, rows as f64 * step)
}

/// How much more a fitted picture may be stretched along one axis than the other: a
/// settled overlay is round, the stage wide, and a round blob in a wide box leaves most of
/// it empty.
pub const MAX_STRETCH: f64 = 2.5;

/// `points` scaled about their box's centre to fill `bounds`, centred there: by one factor
/// where that fills the box, else stretched along the roomier axis by up to [`MAX_STRETCH`]
/// times that factor (never shrunk; a single point goes to the middle).
pub fn fit(points: &[(f64, f64)], bounds: Bounds) -> Vec<(f64, f64)> {
    let (l, t, r, b) = bounds;
    let Some(first) = points.first() else { return Vec::new() };
    let (mut lo, mut hi) = (*first, *first);
    for p in points {
        lo = (lo.0.min(p.0), lo.1.min(p.1));
        hi = (hi.0.max(p.0), hi.1.max(p.1));
    }
    let (w, h) = (hi.0 - lo.0, hi.1 - lo.1);
    let scale = |room: f64, span: f64| if span > 1e-9 { room / span } else { f64::INFINITY };
    let (fill_x, fill_y) = (scale(r - l, w), scale(b - t, h));
    let s = fill_x.min(fill_y);
    let s = if s.is_finite() { s.max(1.0) } else { 1.0 };
    let (sx, sy) = (fill_x.min(s * MAX_STRETCH).max(s), fill_y.min(s * MAX_STRETCH).max(s));
    let (mid, centre) = (((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0), ((l + r) / 2.0, (t + b) / 2.0));
    points.iter().map(|p| (centre.0 + (p.0 - mid.0) * sx, centre.1 + (p.1 - mid.1) * sy)).collect()
}

impl Force {
    /// A layout of `n` nodes over `edges`, at its start positions.
    pub fn new(n: u32, edges: &[(u32, u32)], bounds: Bounds) -> Force {
        let edges = normalise(n, edges);
        Force {
            bounds,
            pos: (0..n).map(|i| start_position(i, n, bounds)).collect(),
            linked: linked_of(n, &edges),
            edges,
            sides: Vec::new(),
            side_ids: Vec::new(),
            iteration: 0,
            disp: Vec::new(),
            cell_of: Vec::new(),
            cell_start: Vec::new(),
            by_cell: Vec::new(),
        }
    }

    pub fn positions(&self) -> &[(f64, f64)] {
        &self.pos
    }

    /// The positions scaled up evenly (and centred) to fill the box: a tightly linked
    /// overlay settles as a blob smaller than the box, and drawn bigger its nodes are
    /// easier to tell apart and to hit. Nodes outside the overlay, while others are in it,
    /// sit in rows along the bottom, by id, and the overlay fills the box above them.
    pub fn fitted(&self) -> Vec<(f64, f64)> {
        let outside = self.linked.iter().filter(|l| !**l).count();
        if outside == 0 || outside == self.pos.len() {
            return fit(&self.pos, self.bounds);
        }
        let (rows, height) = bottom_rows(outside, self.bounds);
        let (l, t, r, b) = self.bounds;
        let above = (l, t, r, (b - height - 8.0).max(t));
        let inside: Vec<(f64, f64)> =
            self.pos.iter().zip(&self.linked).filter(|(_, l)| **l).map(|(p, _)| *p).collect();
        let (mut inside, mut rows) = (fit(&inside, above).into_iter(), rows.into_iter());
        self.linked.iter().map(|l| if *l { inside.next() } else { rows.next() }.unwrap_or_default()).collect()
    }

    /// Takes the sides of a partition in force (one per node; empty when none): each side
    /// is then pulled towards its own place, and a change settles again from where nodes are.
    pub fn set_sides(&mut self, sides: &[u32]) {
        let sides = if sides.len() == self.pos.len() { sides } else { &[] };
        if sides != self.sides.as_slice() {
            self.sides = sides.to_vec();
            self.side_ids = self.sides.clone();
            void_core::sort::sort(&mut self.side_ids);
            self.side_ids.dedup();
            self.iteration = self.iteration.min(ITERATIONS - SIDES_ITERATIONS);
        }
    }

    pub fn edges(&self) -> &[(u32, u32)] {
        &self.edges
    }

    /// True once the temperature has fallen to zero: nodes no longer move.
    pub fn settled(&self) -> bool {
        self.iteration >= ITERATIONS
    }

    /// Takes a new overlay (and node count), keeping every known node where it is: the
    /// layout cools down again from there in [`WARM_ITERATIONS`]. Nothing changes when the
    /// links are the same.
    pub fn reshape(&mut self, n: u32, edges: &[(u32, u32)]) {
        let edges = normalise(n, edges);
        if n as usize == self.pos.len() && edges == self.edges {
            return;
        }
        let bounds = self.bounds;
        self.pos.truncate(n as usize);
        let known = self.pos.len() as u32;
        self.pos.extend((known..n).map(|i| start_position(i, n, bounds)));
        self.linked = linked_of(n, &edges);
        self.edges = edges;
        if self.sides.len() != n as usize {
            self.sides.clear();
            self.side_ids.clear();
        }
        self.iteration = self.iteration.min(ITERATIONS - WARM_ITERATIONS);
    }

    /// Runs up to `budget` iterations; returns how many ran.
    pub fn step(&mut self, budget: u32) -> u32 {
        let todo = budget.min(ITERATIONS.saturating_sub(self.iteration));
        for _ in 0..todo {
            self.iterate();
        }
        todo
    }

    /// Runs to the settled layout.
    pub fn settle(&mut self) {
        self.step(ITERATIONS);
    }

    /// The ideal distance between nodes: the side of each node's share of the box.
    fn k(&self) -> f64 {
        let (l, t, r, b) = self.bounds;
        let linked = self.linked.iter().filter(|l| **l).count();
        let placed = if linked > 0 { linked } else { self.pos.len() };
        ((r - l) * (b - t) / placed.max(1) as f64).sqrt().max(1e-3)
    }

    fn iterate(&mut self) {
        let n = self.pos.len();
        let (l, t, r, b) = self.bounds;
        let k = self.k();
        // Linear cooling from a tenth of the box's width, as in the paper.
        let temperature = (r - l) / 10.0 * (1.0 - f64::from(self.iteration) / f64::from(ITERATIONS));
        self.iteration += 1;
        if n < 2 {
            return;
        }
        self.disp.clear();
        self.disp.resize(n, (0.0, 0.0));

        // Buckets of side 2k: a counting sort of the nodes by cell.
        let cell = 2.0 * k;
        let cols = (((r - l) / cell).ceil() as usize).max(1);
        let rows = (((b - t) / cell).ceil() as usize).max(1);
        let cell_at = |(x, y): (f64, f64)| {
            let cx = (((x - l) / cell) as usize).min(cols - 1);
            let cy = (((y - t) / cell) as usize).min(rows - 1);
            cy * cols + cx
        };
        self.cell_of.clear();
        self.cell_of.extend(self.pos.iter().map(|p| cell_at(*p) as u32));
        self.cell_start.clear();
        self.cell_start.resize(cols * rows + 1, 0);
        for c in &self.cell_of {
            self.cell_start[*c as usize + 1] += 1;
        }
        for i in 1..self.cell_start.len() {
            self.cell_start[i] += self.cell_start[i - 1];
        }
        self.by_cell.clear();
        self.by_cell.resize(n, 0);
        let mut fill = self.cell_start.clone();
        for (i, c) in self.cell_of.iter().enumerate() {
            self.by_cell[fill[*c as usize] as usize] = i as u32;
            fill[*c as usize] += 1;
        }

        // Repulsion k²/d between nodes closer than 2k, each pair once; nodes outside the
        // overlay stay out of it while any node is linked (they are drawn apart).
        let reach2 = cell * cell;
        let any_linked = self.linked.iter().any(|l| *l);
        let free = |i: usize| !any_linked || self.linked[i];
        for i in 0..n {
            if !free(i) {
                continue;
            }
            let c = self.cell_of[i] as usize;
            let (cx, cy) = (c % cols, c / cols);
            for ny in cy.saturating_sub(1)..=(cy + 1).min(rows - 1) {
                for nx in cx.saturating_sub(1)..=(cx + 1).min(cols - 1) {
                    let cell = ny * cols + nx;
                    let range = self.cell_start[cell] as usize..self.cell_start[cell + 1] as usize;
                    for &j in &self.by_cell[range] {
                        let j = j as usize;
                        if j <= i || !free(j) {
                            continue;
                        }
                        let (mut dx, mut dy) = (self.pos[i].0 - self.pos[j].0, self.pos[i].1 - self.pos[j].1);
                        let mut d2 = dx * dx + dy * dy;
                        if d2 >= reach2 {
                            continue;
                        }
                        if d2 < 1e-12 {
                            // Coincident: part them along a direction drawn from their ids.
                            let h = mix(u64::from(i as u32) << 32 | u64::from(j as u32));
                            dx = (h & 0xff) as f64 - 127.5;
                            dy = ((h >> 8) & 0xff) as f64 - 127.5;
                            let len = (dx * dx + dy * dy).sqrt();
                            dx *= 1e-3 / len;
                            dy *= 1e-3 / len;
                            d2 = 1e-6;
                        }
                        // (dx, dy) / d · k² / d
                        let f = k * k / d2;
                        self.disp[i].0 += dx * f;
                        self.disp[i].1 += dy * f;
                        self.disp[j].0 -= dx * f;
                        self.disp[j].1 -= dy * f;
                    }
                }
            }
        }

        // Attraction d²/k along each link.
        for &(a, b) in &self.edges {
            let (a, b) = (a as usize, b as usize);
            let (dx, dy) = (self.pos[a].0 - self.pos[b].0, self.pos[a].1 - self.pos[b].1);
            // (dx, dy) / d · d² / k
            let f = (dx * dx + dy * dy).sqrt() / k;
            self.disp[a].0 -= dx * f;
            self.disp[a].1 -= dy * f;
            self.disp[b].0 += dx * f;
            self.disp[b].1 += dy * f;
        }

        // The sides of a partition: each node drawn towards its side's anchor, the anchors
        // spread across the box, as if linked to it.
        let distinct = &self.side_ids;
        if distinct.len() > 1 {
            let (width, middle) = ((r - l) / distinct.len() as f64, (t + b) / 2.0);
            for (i, side) in self.sides.iter().enumerate() {
                let rank = distinct.binary_search(side).unwrap_or(0) as f64;
                let anchor = (l + (rank + 0.5) * width, middle);
                let (dx, dy) = (self.pos[i].0 - anchor.0, self.pos[i].1 - anchor.1);
                let f = SIDE_PULL * (dx * dx + dy * dy).sqrt() / k;
                self.disp[i].0 -= dx * f;
                self.disp[i].1 -= dy * f;
            }
        }

        // Each node moves along its force, at most the temperature, and stays in the box.
        for (p, (dx, dy)) in self.pos.iter_mut().zip(&self.disp) {
            let len = (dx * dx + dy * dy).sqrt();
            if len > 0.0 && len.is_finite() {
                let s = len.min(temperature) / len;
                p.0 = (p.0 + dx * s).clamp(l, r);
                p.1 = (p.1 + dy * s).clamp(t, b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const BOX: Bounds = (0.0, 0.0, 800.0, 430.0);

    fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }

    /// Mean length of the links and mean distance between unlinked pairs.
    fn linked_and_unlinked(f: &Force) -> (f64, f64) {
        let p = f.positions();
        let n = p.len() as u32;
        let (mut linked, mut nl, mut other, mut no) = (0.0, 0.0, 0.0, 0.0);
        for a in 0..n {
            for b in a + 1..n {
                let d = dist(p[a as usize], p[b as usize]);
                if f.edges().binary_search(&(a, b)).is_ok() {
                    linked += d;
                    nl += 1.0;
                } else {
                    other += d;
                    no += 1.0;
                }
            }
        }
        (linked / nl, other / no)
    }

    /// An overlay like HyParView's: a ring plus a chord from each node to a far one.
    fn overlay(n: u32) -> Vec<(u32, u32)> {
        (0..n).flat_map(|i| [(i, (i + 1) % n), (i, (i * 7 + 3) % n)]).collect()
    }

    #[test]
    fn linked_nodes_end_closer_than_unlinked_ones() {
        for n in [10u32, 60, 300] {
            let edges = overlay(n);
            let mut f = Force::new(n, &edges, BOX);
            let (before, _) = linked_and_unlinked(&f);
            f.settle();
            assert!(f.settled());
            let (linked, unlinked) = linked_and_unlinked(&f);
            assert!(linked < unlinked * 0.75, "{n} nodes: links {linked:.1}, other pairs {unlinked:.1}");
            assert!(linked < before * 0.8, "{n} nodes: links shortened from {before:.1} to {linked:.1}");
        }
    }

    #[test]
    fn two_groups_linked_inside_end_apart() {
        // Two cliques of 8 and one link between them.
        let mut edges = Vec::new();
        for g in [0u32, 8] {
            for a in g..g + 8 {
                edges.extend((a + 1..g + 8).map(|b| (a, b)));
            }
        }
        edges.push((0, 8));
        let mut f = Force::new(16, &edges, BOX);
        f.settle();
        let p = f.positions();
        let centre = |g: u32| {
            let s = (g..g + 8).fold((0.0, 0.0), |s, i| (s.0 + p[i as usize].0, s.1 + p[i as usize].1));
            (s.0 / 8.0, s.1 / 8.0)
        };
        let spread = (0..8).map(|i| dist(p[i], centre(0))).fold(0.0, f64::max);
        assert!(dist(centre(0), centre(8)) > 2.0 * spread, "the groups are told apart");
    }

    #[test]
    fn the_same_overlay_gives_the_same_picture_in_any_slicing() {
        let edges = overlay(200);
        let mut whole = Force::new(200, &edges, BOX);
        whole.settle();
        let mut sliced = Force::new(200, &edges, BOX);
        let mut ran = 0;
        while !sliced.settled() {
            ran += sliced.step(7);
        }
        assert_eq!(ran, ITERATIONS);
        assert_eq!(whole.positions(), sliced.positions());
        // The order edges are given in does not matter either.
        let mut reversed: Vec<(u32, u32)> = edges.iter().rev().map(|(a, b)| (*b, *a)).collect();
        reversed.push((5, 5));
        let mut other = Force::new(200, &reversed, BOX);
        other.settle();
        assert_eq!(whole.positions(), other.positions());
        assert!(whole.positions().iter().all(|p| p.0 >= 0.0 && p.0 <= 800.0 && p.1 >= 0.0 && p.1 <= 430.0));
    }

    #[test]
    fn tiny_clusters_and_coincident_nodes_give_numbers() {
        for n in 0..3u32 {
            let mut f = Force::new(n, &[(0, 1)], BOX);
            f.settle();
            assert_eq!(f.positions().len(), n as usize);
            assert!(f.positions().iter().all(|p| p.0.is_finite() && p.1.is_finite()), "{n} nodes");
        }
        let mut one = Force::new(1, &[], BOX);
        one.settle();
        assert_eq!(one.positions(), &[(400.0, 215.0)], "a lone node sits in the middle");

        // Every node on the same point, linked in a ring: they part and stay finite.
        let edges = overlay(20);
        let mut f = Force::new(20, &edges, BOX);
        f.pos.iter_mut().for_each(|p| *p = (100.0, 100.0));
        f.settle();
        let p = f.positions();
        assert!(p.iter().all(|q| q.0.is_finite() && q.1.is_finite()));
        let closest = (0..20).flat_map(|a| (a + 1..20).map(move |b| (a, b))).map(|(a, b)| dist(p[a], p[b]));
        assert!(closest.fold(f64::MAX, f64::min) > 1.0, "no two nodes stay on one point");
        // A box of no area does not divide by zero either.
        let mut flat = Force::new(5, &edges, (10.0, 10.0, 10.0, 10.0));
        flat.settle();
        assert!(flat.positions().iter().all(|q| *q == (10.0, 10.0)));
    }

    #[test]
    fn a_settled_blob_is_scaled_up_to_fill_the_box_stretched_at_most_so_much() {
        let blob = [(300.0, 200.0), (340.0, 200.0), (320.0, 230.0)];
        let fitted = fit(&blob, BOX);
        // 40 × 30 fills 430 in height first: a factor of 430/30 down, and across as much
        // as the width allows up to MAX_STRETCH times that (800/40 = 20 < 2.5 × 14.3).
        assert!((dist(fitted[0], fitted[1]) - 800.0).abs() < 1e-9);
        assert!((fitted[2].1 - 430.0).abs() < 1e-9 && fitted[0].1.abs() < 1e-9);
        assert!(((fitted[0].0 + fitted[1].0) / 2.0 - 400.0).abs() < 1e-9);
        // A tall blob in the wide box: stretched across by MAX_STRETCH, not to the width.
        let tall = fit(&[(0.0, 0.0), (10.0, 0.0), (5.0, 43.0)], BOX);
        assert!((dist(tall[0], tall[1]) - 10.0 * 10.0 * MAX_STRETCH).abs() < 1e-9, "{tall:?}");
        // Already filling the box: unchanged; one point, or none: no division by zero.
        let spread = [(0.0, 0.0), (800.0, 430.0)];
        assert_eq!(fit(&spread, BOX), spread.to_vec());
        assert_eq!(fit(&[(5.0, 5.0)], BOX), vec![(400.0, 215.0)]);
        assert!(fit(&[], BOX).is_empty());
        let line = fit(&[(10.0, 5.0), (20.0, 5.0)], BOX);
        assert!(line.iter().all(|p| p.0.is_finite() && p.1 == 215.0), "{line:?}");
    }

    #[test]
    fn a_changed_overlay_settles_again_from_where_nodes_were() {
        let edges = overlay(100);
        let mut f = Force::new(100, &edges, BOX);
        f.settle();
        let before = f.positions().to_vec();
        f.reshape(100, &edges);
        assert!(f.settled(), "the same links: nothing to do");
        let mut changed = edges.clone();
        changed.push((0, 50));
        f.reshape(100, &changed);
        assert!(!f.settled());
        assert_eq!(f.step(u32::MAX), WARM_ITERATIONS);
        let moved = |i: usize| dist(before[i], f.positions()[i]);
        let typical = (0..100).map(moved).sum::<f64>() / 100.0;
        assert!(typical < 100.0, "most nodes stay near where they were: {typical:.1}");
        assert!(
            dist(f.positions()[0], f.positions()[50]) < dist(before[0], before[50]),
            "the new link shortens"
        );
        // Nodes that join start at their own spot; those that leave are dropped.
        f.reshape(102, &changed);
        assert_eq!(f.positions().len(), 102);
        assert_eq!(f.positions()[101], start_position(101, 102, BOX));
        f.reshape(3, &changed);
        assert_eq!(f.edges(), &[(0, 1), (1, 2)], "links to nodes gone are dropped");
    }

    #[test]
    fn nodes_outside_the_overlay_sit_in_a_row_below_and_the_rest_fills_the_box() {
        // 60 linked nodes and 20 without a link (crashed, say).
        let edges = overlay(60);
        let mut f = Force::new(80, &edges, BOX);
        f.settle();
        let p = f.fitted();
        let (inside, outside) = (&p[..60], &p[60..]);
        let lowest_inside = inside.iter().map(|q| q.1).fold(f64::MIN, f64::max);
        assert!(outside.iter().all(|q| q.1 > lowest_inside), "the outsiders sit below the overlay");
        assert!(outside.windows(2).all(|w| w[0].0 < w[1].0), "in a row, by id: {outside:?}");
        let width = inside.iter().map(|q| q.0).fold(f64::MIN, f64::max)
            - inside.iter().map(|q| q.0).fold(f64::MAX, f64::min);
        let height = lowest_inside - inside.iter().map(|q| q.1).fold(f64::MAX, f64::min);
        assert!(
            width > 760.0 || height > 430.0 - 30.0 - 8.0 - 1.0,
            "the overlay fills the box: {width} × {height}"
        );
        // The overlay's picture does not depend on where the outsiders were.
        let mut alone = Force::new(60, &edges, BOX);
        alone.settle();
        let d = |a: &[(f64, f64)]| dist(a[0], a[30]) / dist(a[0], a[1]);
        assert!((d(f.positions()) - d(alone.positions())).abs() < 1e-9);
        // Nobody linked yet: the scatter is kept as it is.
        let mut none = Force::new(10, &[], BOX);
        none.settle();
        assert_eq!(none.fitted(), fit(none.positions(), BOX));
    }

    #[test]
    fn the_sides_of_a_partition_are_drawn_apart() {
        // One overlay across both halves: without sides they mix, with sides they part.
        let n = 100;
        let edges = overlay(n);
        let sides: Vec<u32> = (0..n).map(|i| u32::from(i >= n / 2)).collect();
        let spread = |f: &Force| {
            let p = f.positions();
            let mean = |side: u32| {
                let xs: Vec<f64> = (0..n as usize).filter(|i| sides[*i] == side).map(|i| p[i].0).collect();
                xs.iter().sum::<f64>() / xs.len() as f64
            };
            mean(1) - mean(0)
        };
        let mut mixed = Force::new(n, &edges, BOX);
        mixed.settle();
        let mut split = mixed.clone();
        split.set_sides(&sides);
        assert!(!split.settled(), "new sides settle again");
        assert_eq!(split.step(u32::MAX), SIDES_ITERATIONS);
        split.settle();
        assert!(spread(&mixed).abs() < 100.0, "{}", spread(&mixed));
        assert!(spread(&split) > 250.0, "side 0 left, side 1 right: {}", spread(&split));
        // Sides that do not match the node count are ignored; healing lets them mix again.
        split.set_sides(&[0, 1]);
        assert!(!split.settled());
        split.settle();
        assert!(spread(&split) < spread(&mixed).abs() + 250.0);
    }
}
