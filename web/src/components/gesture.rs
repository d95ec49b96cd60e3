//! Pointer gestures on the cluster, the same in SVG and on the canvas: shift-drag a lasso
//! around nodes to partition them off, drag from one node to another for their link's
//! menu. Points are in drawing coordinates; nodes are wherever the layout put them.

use crate::model::Action;

/// A point of the drawing.
pub type Point = (f64, f64);

/// A pointer gesture in progress.
#[derive(Clone, Debug, PartialEq)]
pub enum Drag {
    /// Shift-drag: the outline drawn so far; the nodes inside are split off on release.
    Lasso(Vec<Point>),
    /// Drag from a node: the link to the node under the pointer on release.
    Link { from: u32, to: Point },
}

impl Drag {
    /// The gesture a press at `p` starts: a lasso with shift held, else a link drag when
    /// the press is on node `on`.
    pub fn start(p: Point, shift: bool, on: Option<u32>) -> Option<Drag> {
        if shift { Some(Drag::Lasso(vec![p])) } else { on.map(|from| Drag::Link { from, to: p }) }
    }

    /// The pointer moved to `p`.
    pub fn moved(&mut self, p: Point) {
        match self {
            // Keep the outline short: a point every few units is smooth enough.
            Drag::Lasso(outline) => {
                if outline.last().is_none_or(|q| (q.0 - p.0).abs() + (q.1 - p.1).abs() > 4.0) {
                    outline.push(p);
                }
            }
            Drag::Link { to, .. } => *to = p,
        }
    }

    /// What releasing the pointer over node `on`, at page coordinates `client`, asks for:
    /// the lassoed nodes' partition, or the menu of the link between two nodes.
    pub fn finish(self, positions: &[Point], on: Option<u32>, client: (i32, i32)) -> Option<Action> {
        match self {
            Drag::Lasso(outline) => {
                let group = lassoed(&outline, positions);
                (!group.is_empty()).then_some(Action::Partition(group))
            }
            Drag::Link { from, .. } => {
                on.filter(|to| *to != from).map(|to| Action::LinkMenu(Some((from, to, client.0, client.1))))
            }
        }
    }
}

/// True if `p` lies inside the polygon `outline` (even-odd rule).
pub fn inside(outline: &[Point], p: Point) -> bool {
    let mut inside = false;
    let n = outline.len();
    for i in 0..n {
        let (a, b) = (outline[i], outline[(i + n - 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    inside
}

/// The nodes (by index in `positions`) whose centres lie inside `outline`.
pub fn lassoed(outline: &[Point], positions: &[Point]) -> Vec<u32> {
    if outline.len() < 3 {
        return Vec::new();
    }
    (0..positions.len() as u32).filter(|i| inside(outline, positions[*i as usize])).collect()
}

/// The node nearest to `p`, if it is within `reach` of it.
pub fn nearest_node(p: Point, positions: &[Point], reach: f64) -> Option<u32> {
    let distance = |q: &Point| (q.0 - p.0).powi(2) + (q.1 - p.1).powi(2);
    positions
        .iter()
        .enumerate()
        .map(|(i, q)| (i as u32, distance(q)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, d)| *d <= reach * reach)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const SQUARE: [Point; 4] = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)];

    #[test]
    fn a_lasso_takes_the_nodes_whose_centres_it_encloses() {
        let nodes = [(50.0, 50.0), (150.0, 50.0), (99.0, 1.0), (-1.0, 50.0)];
        assert_eq!(lassoed(&SQUARE, &nodes), vec![0, 2]);
        assert!(lassoed(&SQUARE[..2], &nodes).is_empty(), "a line encloses nothing");
        assert!(!inside(&SQUARE, (50.0, 101.0)));
    }

    #[test]
    fn a_click_picks_the_nearest_node_not_the_first_in_reach() {
        let nodes = [(0.0, 0.0), (3.0, 0.0), (6.0, 0.0)];
        assert_eq!(nearest_node((2.0, 0.5), &nodes, 8.0), Some(1));
        assert_eq!(nearest_node((5.0, 0.0), &nodes, 8.0), Some(2));
        assert_eq!(nearest_node((50.0, 50.0), &nodes, 8.0), None, "nothing in reach");
        assert_eq!(nearest_node((0.0, 0.0), &[], 8.0), None, "no nodes, nothing to pick");
    }

    #[test]
    fn a_lasso_partitions_and_a_drag_between_nodes_opens_the_link_menu() {
        let nodes = [(50.0, 50.0), (150.0, 50.0), (250.0, 50.0)];
        let mut lasso = Drag::start((0.0, 0.0), true, Some(0)).expect("shift starts a lasso");
        for p in [(1.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)] {
            lasso.moved(p);
        }
        assert_eq!(lasso, Drag::Lasso(SQUARE.to_vec()), "points closer than 4 units are skipped");
        assert_eq!(lasso.finish(&nodes, None, (0, 0)), Some(Action::Partition(vec![0])));
        let empty = Drag::Lasso(vec![(300.0, 300.0), (310.0, 300.0), (310.0, 310.0)]);
        assert_eq!(empty.finish(&nodes, None, (0, 0)), None, "an empty lasso does nothing");

        assert_eq!(Drag::start((5.0, 5.0), false, None), None, "a press off the nodes starts nothing");
        let mut link = Drag::start((50.0, 50.0), false, Some(0)).expect("a press on a node");
        link.moved((150.0, 52.0));
        assert_eq!(link, Drag::Link { from: 0, to: (150.0, 52.0) });
        assert_eq!(link.clone().finish(&nodes, Some(1), (7, 9)), Some(Action::LinkMenu(Some((0, 1, 7, 9)))));
        assert_eq!(link.clone().finish(&nodes, Some(0), (7, 9)), None, "back on itself: no link");
        assert_eq!(link.finish(&nodes, None, (7, 9)), None, "released off the nodes");
    }
}
