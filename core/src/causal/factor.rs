//! Factors over binary variables for variable elimination.

use alloc::vec;
use alloc::vec::Vec;

/// Largest factor built during elimination: 2^20 entries (8 MiB of `f64`).
pub const MAX_FACTOR_VARS: usize = 20;

/// `table[i]` is the value at the assignment whose bit `k` is the value of `vars[k]`.
/// `vars` is sorted ascending and duplicate-free.
#[derive(Clone, Debug, PartialEq)]
pub struct Factor {
    pub vars: Vec<u32>,
    pub table: Vec<f64>,
}

impl Factor {
    pub fn constant(value: f64) -> Factor {
        Factor { vars: Vec::new(), table: vec![value] }
    }

    /// For each of `self.vars`, its bit position within `vars` (which must contain it).
    fn positions(&self, vars: &[u32]) -> Vec<u32> {
        self.vars.iter().map(|v| vars.binary_search(v).unwrap_or(0) as u32).collect()
    }

    /// The index into `self.table` of the assignment `index` over `vars`.
    #[inline]
    fn project(positions: &[u32], index: usize) -> usize {
        let mut sub = 0;
        for (k, &p) in positions.iter().enumerate() {
            sub |= ((index >> p) & 1) << k;
        }
        sub
    }

    /// The product of `factors` with `var` summed out (one pass, no intermediate table).
    /// `None` if the result would exceed [`MAX_FACTOR_VARS`] variables.
    pub fn product_sum_out(factors: &[Factor], var: u32) -> Option<Factor> {
        let mut all: Vec<u32> = factors.iter().flat_map(|f| f.vars.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        if all.len() > MAX_FACTOR_VARS + 1 {
            return None;
        }
        let bit = all.binary_search(&var).ok()?;
        let positions: Vec<Vec<u32>> = factors.iter().map(|f| f.positions(&all)).collect();
        let kept: Vec<u32> = all.iter().copied().filter(|&v| v != var).collect();
        let mut table = vec![0.0; 1 << kept.len()];
        for (out, slot) in table.iter_mut().enumerate() {
            // Insert a 0 or 1 at `bit` to get the index over `all`.
            let low = out & ((1 << bit) - 1);
            let base = ((out >> bit) << (bit + 1)) | low;
            for value in 0..2 {
                let index = base | (value << bit);
                let mut product = 1.0;
                for (f, pos) in factors.iter().zip(&positions) {
                    product *= f.table[Self::project(pos, index)];
                    if product == 0.0 {
                        break;
                    }
                }
                *slot += product;
            }
        }
        Some(Factor { vars: kept, table })
    }

    /// The product of `factors` (used for the last few, over the query variable at most).
    pub fn product(factors: &[Factor]) -> Option<Factor> {
        let mut all: Vec<u32> = factors.iter().flat_map(|f| f.vars.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        if all.len() > MAX_FACTOR_VARS {
            return None;
        }
        let positions: Vec<Vec<u32>> = factors.iter().map(|f| f.positions(&all)).collect();
        let table = (0..1usize << all.len())
            .map(|index| {
                factors.iter().zip(&positions).map(|(f, pos)| f.table[Self::project(pos, index)]).product()
            })
            .collect();
        Some(Factor { vars: all, table })
    }
}
