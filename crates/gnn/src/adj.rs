//! The propagation matrix of a GCN: `Â = D^-1/2 (A + I) D^-1/2` over the graph taken as
//! undirected (an edge either way links two nodes once; weights ignored), in CSR form,
//! symmetric, so it is its own transpose in the backward pass.

use crate::dense::Mat;

/// Undirected adjacency in CSR form: every edge taken both ways, duplicates merged,
/// self-loops dropped (and one added per node when `self_loops`); rows in node order,
/// columns sorted.
fn undirected(n: usize, src: &[u32], dst: &[u32], self_loops: bool) -> (Vec<usize>, Vec<u32>) {
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(2 * src.len() + n);
    for (&a, &b) in src.iter().zip(dst) {
        if a != b {
            pairs.push((a, b));
            pairs.push((b, a));
        }
    }
    if self_loops {
        pairs.extend((0..n as u32).map(|v| (v, v)));
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
    (off, pairs.into_iter().map(|p| p.1).collect())
}

/// An undirected pair as one number (smaller end in the high half).
pub(crate) fn key(a: u32, b: u32) -> u64 {
    let (a, b) = if a < b { (a, b) } else { (b, a) };
    (u64::from(a) << 32) | u64::from(b)
}

/// A graph's undirected adjacency (what attention layers walk): row `i` lists the
/// neighbours of `i` in sorted order, with `i` itself when built with self-loops.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub n: usize,
    pub off: Vec<usize>,
    pub col: Vec<u32>,
}

impl Csr {
    /// From directed edges over `n` nodes, each taken both ways, duplicates merged.
    pub fn undirected(n: usize, src: &[u32], dst: &[u32], self_loops: bool) -> Csr {
        let (off, col) = undirected(n, src, dst, self_loops);
        Csr { n, off, col }
    }

    /// The neighbours of `i`.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.col[self.off[i]..self.off[i + 1]]
    }
}

/// Calls `f` with each value two sorted lists share (common neighbours), in order.
pub(crate) fn for_common(x: &[u32], y: &[u32], mut f: impl FnMut(u32)) {
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(x[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// A sparse `n × n` matrix in CSR form.
#[derive(Debug, Clone, PartialEq)]
struct Sparse {
    n: usize,
    off: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f64>,
}

impl Sparse {
    /// `self · x`, each row's sum in column order.
    fn mul(&self, x: &Mat) -> Mat {
        let mut out = Mat::zeros(self.n, x.cols);
        crate::dense::for_rows(&mut out.data, x.cols, |i, o| {
            for k in self.off[i]..self.off[i + 1] {
                let w = self.val[k];
                for (a, b) in o.iter_mut().zip(x.row(self.col[k] as usize)) {
                    *a += w * b;
                }
            }
        });
        out
    }

    /// The transpose (rows become columns; each new row's entries in increasing
    /// column order, so products sum in the order the scatter form would).
    fn transpose(&self) -> Sparse {
        let mut off = vec![0usize; self.n + 1];
        for &c in &self.col {
            off[c as usize + 1] += 1;
        }
        for i in 0..self.n {
            off[i + 1] += off[i];
        }
        let mut next = off.clone();
        let mut col = vec![0u32; self.col.len()];
        let mut val = vec![0.0; self.val.len()];
        for i in 0..self.n {
            for k in self.off[i]..self.off[i + 1] {
                let j = self.col[k] as usize;
                col[next[j]] = i as u32;
                val[next[j]] = self.val[k];
                next[j] += 1;
            }
        }
        Sparse {
            n: self.n,
            off,
            col,
            val,
        }
    }

    fn degree(&self, i: usize) -> f64 {
        (self.off[i + 1] - self.off[i]) as f64
    }
}

/// A symmetric normalised adjacency with self-loops.
#[derive(Debug, Clone, PartialEq)]
pub struct NormAdj {
    pub n: usize,
    m: Sparse,
}

impl NormAdj {
    /// From directed edges over `n` nodes.
    pub fn new(n: usize, src: &[u32], dst: &[u32]) -> NormAdj {
        let (off, col) = undirected(n, src, dst, true);
        let mut m = Sparse {
            n,
            off,
            col,
            val: Vec::new(),
        };
        let deg: Vec<f64> = (0..n).map(|i| m.degree(i)).collect();
        m.val = (0..n)
            .flat_map(|i| (m.off[i]..m.off[i + 1]).map(move |k| (i, k)))
            .map(|(i, k)| 1.0 / (deg[i] * deg[m.col[k] as usize]).sqrt())
            .collect();
        NormAdj { n, m }
    }

    /// Stored entries (self-loops included).
    pub fn nnz(&self) -> usize {
        self.m.col.len()
    }

    /// `Â · x`.
    pub fn mul(&self, x: &Mat) -> Mat {
        self.m.mul(x)
    }
}

/// The mean over a node's neighbours (GraphSAGE's aggregator): row `i` of `M` holds
/// `1/deg(i)` for each neighbour of `i` in the graph taken as undirected (no self-loop;
/// an isolated node's row is zero). Not symmetric, so it has a transposed product too.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanAdj {
    pub n: usize,
    m: Sparse,
    t: Sparse,
}

impl MeanAdj {
    /// From directed edges over `n` nodes.
    pub fn new(n: usize, src: &[u32], dst: &[u32]) -> MeanAdj {
        let (off, col) = undirected(n, src, dst, false);
        let mut m = Sparse {
            n,
            off,
            col,
            val: Vec::new(),
        };
        m.val = (0..n)
            .flat_map(|i| {
                let d = m.degree(i);
                (m.off[i]..m.off[i + 1]).map(move |_| 1.0 / d)
            })
            .collect();
        let t = m.transpose();
        MeanAdj { n, m, t }
    }

    /// From neighbour lists: row `i` averages over `lists[i]` (a sampled neighbourhood;
    /// an empty list gives a zero row). Directed: `j` in `i`'s list says nothing of `j`'s.
    pub fn from_lists(lists: &[Vec<u32>]) -> MeanAdj {
        let n = lists.len();
        let mut off = Vec::with_capacity(n + 1);
        off.push(0);
        let mut col = Vec::new();
        let mut val = Vec::new();
        for l in lists {
            let w = 1.0 / l.len().max(1) as f64;
            for &j in l {
                col.push(j);
                val.push(w);
            }
            off.push(col.len());
        }
        let m = Sparse { n, off, col, val };
        let t = m.transpose();
        MeanAdj { n, m, t }
    }

    /// `M · x`.
    pub fn mul(&self, x: &Mat) -> Mat {
        self.m.mul(x)
    }

    /// `Mᵀ · x` (the backward pass), through the stored transpose.
    pub fn mul_t(&self, x: &Mat) -> Mat {
        self.t.mul(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbour_means_and_their_transpose() {
        // 0 - 1 - 2, and 3 isolated
        let m = MeanAdj::new(4, &[0, 1], &[1, 2]);
        let x = Mat::from_vec(4, 1, vec![1.0, 2.0, 4.0, 8.0]);
        assert_eq!(m.mul(&x).data, vec![2.0, 2.5, 2.0, 0.0]);
        // <M x, y> = <x, Mᵀ y>
        let y = Mat::from_vec(4, 1, vec![3.0, -1.0, 2.0, 5.0]);
        let lhs: f64 = m.mul(&x).data.iter().zip(&y.data).map(|(a, b)| a * b).sum();
        let rhs: f64 = x
            .data
            .iter()
            .zip(&m.mul_t(&y).data)
            .map(|(a, b)| a * b)
            .sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} {rhs}");
    }

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
