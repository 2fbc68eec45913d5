//! The propagation matrix of a GCN: `Â = D^-1/2 (A + I) D^-1/2` over the graph taken as
//! undirected (an edge either way links two nodes once; weights ignored), in CSR form,
//! symmetric, so it is its own transpose in the backward pass.

use crate::dense::Mat;

/// A symmetric normalised adjacency with self-loops.
#[derive(Debug, Clone, PartialEq)]
pub struct NormAdj {
    pub n: usize,
    off: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f64>,
}

impl NormAdj {
    /// From directed edges over `n` nodes.
    pub fn new(n: usize, src: &[u32], dst: &[u32]) -> NormAdj {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(2 * src.len() + n);
        for (&a, &b) in src.iter().zip(dst) {
            if a != b {
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
        for v in 0..n as u32 {
            pairs.push((v, v));
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut off = vec![0usize; n + 1];
        for &(a, _) in &pairs {
            off[a as usize + 1] += 1;
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        let deg: Vec<f64> = (0..n).map(|i| (off[i + 1] - off[i]) as f64).collect();
        let col: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        let val: Vec<f64> = pairs
            .iter()
            .map(|&(a, b)| 1.0 / (deg[a as usize] * deg[b as usize]).sqrt())
            .collect();
        NormAdj { n, off, col, val }
    }

    /// Stored entries (self-loops included).
    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    /// `Â · x`.
    pub fn mul(&self, x: &Mat) -> Mat {
        let mut out = Mat::zeros(self.n, x.cols);
        for i in 0..self.n {
            let o = &mut out.data[i * x.cols..(i + 1) * x.cols];
            for k in self.off[i]..self.off[i + 1] {
                let w = self.val[k];
                for (a, b) in o.iter_mut().zip(x.row(self.col[k] as usize)) {
                    *a += w * b;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_of_three_by_hand() {
        // 0 - 1 - 2 with self-loops: degrees 2, 3, 2
        let a = NormAdj::new(3, &[0, 2], &[1, 1]);
        assert_eq!(a.nnz(), 7);
        let x = Mat::from_vec(3, 1, vec![1.0, 0.0, 0.0]);
        let y = a.mul(&x);
        let want = [0.5, 1.0 / 6f64.sqrt(), 0.0];
        for (g, w) in y.data.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{g} {w}");
        }
    }
}
