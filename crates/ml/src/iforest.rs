//! Isolation forest (Liu, Ting & Zhou 2008): unsupervised outlier scores.
//!
//! Each tree is grown on a seeded subsample of `sample` rows (without replacement) by
//! random axis-parallel cuts (a random column with a spread, a cut uniform between its
//! smallest and largest value in the node) down to a depth of `⌈log2 sample⌉`; a row's
//! path length is the depth at which it lands in a leaf plus `c(size)`, the average
//! path length of an unsuccessful search in a binary search tree of the leaf's size.
//! The score is `2^(−E[h(x)] / c(sample))`: near 1 for rows isolated in few cuts, about
//! 0.5 and below for rows inside dense regions.
//!
//! Deterministic: tree `t` draws from its own ChaCha8 stream seeded by `(seed, t)`, and
//! scores are summed in tree order.

use rand::seq::index::sample as sample_index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Settings of a forest.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IForestOptions {
    /// Trees.
    pub trees: usize,
    /// Rows per tree (at most the row count).
    pub sample: usize,
    pub seed: u64,
}

impl Default for IForestOptions {
    fn default() -> Self {
        IForestOptions {
            trees: 200,
            sample: 256,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Split {
        col: usize,
        cut: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        size: usize,
    },
}

/// `c(n)`: the average path length of an unsuccessful search among `n` keys.
pub fn average_path(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            // H(n − 1) ≈ ln(n − 1) + Euler's constant
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

fn grow(
    x: &[f64],
    cols: usize,
    rows: &mut [usize],
    depth: usize,
    limit: usize,
    rng: &mut ChaCha8Rng,
    nodes: &mut Vec<Node>,
) -> usize {
    let me = nodes.len();
    nodes.push(Node::Leaf { size: rows.len() });
    if depth >= limit || rows.len() <= 1 {
        return me;
    }
    // the columns with a spread in this node
    let mut spread: Vec<(usize, f64, f64)> = Vec::new();
    for c in 0..cols {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &r in rows.iter() {
            let v = x[r * cols + c];
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi > lo {
            spread.push((c, lo, hi));
        }
    }
    if spread.is_empty() {
        return me;
    }
    let (col, lo, hi) = spread[rng.gen_range(0..spread.len())];
    let cut = rng.gen_range(lo..hi);
    // partition in place: values below the cut first
    let mut k = 0;
    for i in 0..rows.len() {
        if x[rows[i] * cols + col] < cut {
            rows.swap(i, k);
            k += 1;
        }
    }
    let (l, r) = rows.split_at_mut(k);
    let left = grow(x, cols, l, depth + 1, limit, rng, nodes);
    let right = grow(x, cols, r, depth + 1, limit, rng, nodes);
    nodes[me] = Node::Split {
        col,
        cut,
        left,
        right,
    };
    me
}

fn path(nodes: &[Node], row: &[f64]) -> f64 {
    let mut at = 0;
    let mut depth = 0.0;
    loop {
        match nodes[at] {
            Node::Leaf { size } => return depth + average_path(size),
            Node::Split {
                col,
                cut,
                left,
                right,
            } => {
                at = if row[col] < cut { left } else { right };
                depth += 1.0;
            }
        }
    }
}

/// Outlier scores of the `rows × cols` row-major matrix `x` (higher: more isolated), by
/// a forest grown on `x` itself. Non-finite values must be removed first.
pub fn scores(x: &[f64], rows: usize, cols: usize, o: &IForestOptions) -> Vec<f64> {
    if rows == 0 {
        return Vec::new();
    }
    let psi = o.sample.clamp(1, rows);
    let limit = (psi as f64).log2().ceil() as usize;
    let trees = o.trees.max(1);
    let mut total = vec![0.0; rows];
    for t in 0..trees {
        let mut rng = ChaCha8Rng::seed_from_u64(
            o.seed ^ 0x1f0e_57a1_0000_0000 ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let mut pick: Vec<usize> = sample_index(&mut rng, rows, psi).into_vec();
        pick.sort_unstable();
        let mut nodes = Vec::new();
        grow(x, cols, &mut pick, 0, limit, &mut rng, &mut nodes);
        for (i, s) in total.iter_mut().enumerate() {
            *s += path(&nodes, &x[i * cols..(i + 1) * cols]);
        }
    }
    let c = average_path(psi).max(1e-12);
    total
        .into_iter()
        .map(|h| 2f64.powf(-(h / trees as f64) / c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_path_matches_the_paper() {
        assert_eq!(average_path(1), 0.0);
        assert_eq!(average_path(2), 1.0);
        // c(256) ≈ 10.24 (Liu et al.: 2H(255) − 2·255/256)
        let h: f64 = (1..=255).map(|i| 1.0 / i as f64).sum();
        let exact = 2.0 * h - 2.0 * 255.0 / 256.0;
        assert!(
            (average_path(256) - exact).abs() < 0.01,
            "{}",
            average_path(256)
        );
    }

    #[test]
    fn isolated_points_score_highest_and_runs_repeat() {
        // a 20×20 grid of points in [0, 1]² and three far outliers
        let mut x = Vec::new();
        for i in 0..20 {
            for j in 0..20 {
                x.extend([i as f64 / 20.0, j as f64 / 20.0]);
            }
        }
        x.extend([5.0, 5.0, -4.0, 0.5, 0.5, 9.0]);
        let n = x.len() / 2;
        let o = IForestOptions {
            trees: 100,
            sample: 128,
            seed: 7,
        };
        let s = scores(&x, n, 2, &o);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        let mut top: Vec<usize> = order[..3].to_vec();
        top.sort_unstable();
        assert_eq!(top, vec![400, 401, 402]);
        assert!(s[400] > 0.6 && s[0] < s[400], "{} {}", s[400], s[0]);
        assert_eq!(s, scores(&x, n, 2, &o), "same seed, same scores");
        assert_ne!(s, scores(&x, n, 2, &IForestOptions { seed: 8, ..o }));
    }

    #[test]
    fn constant_columns_and_tiny_inputs() {
        let x = vec![1.0; 10];
        let s = scores(&x, 5, 2, &IForestOptions::default());
        assert_eq!(s.len(), 5);
        assert!(s.windows(2).all(|w| w[0] == w[1]));
        assert!(scores(&[], 0, 3, &IForestOptions::default()).is_empty());
    }
}
