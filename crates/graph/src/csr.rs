//! A directed, weighted graph in compressed sparse row form, both directions.
//!
//! Nodes are dense `u32` ids (the lake's address or entity ids); parallel edges are merged
//! (weights summed) and self-loops kept, so the graph is what networkx's `DiGraph` holds
//! after adding the same edges with summed weights.

/// One edge before it goes into a [`Csr`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// Source node.
    pub src: u32,
    /// Target node.
    pub dst: u32,
    /// Weight (transferred value).
    pub weight: f64,
}

/// A directed graph with out- and in-adjacency.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    n: usize,
    out_off: Vec<usize>,
    out_adj: Vec<u32>,
    out_w: Vec<f64>,
    in_off: Vec<usize>,
    in_adj: Vec<u32>,
    in_w: Vec<f64>,
}

fn build_side(n: usize, mut pairs: Vec<(u32, u32, f64)>) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
    pairs.sort_unstable_by_key(|p| (p.0, p.1));
    let mut off = vec![0usize; n + 1];
    let mut adj: Vec<u32> = Vec::with_capacity(pairs.len());
    let mut w: Vec<f64> = Vec::with_capacity(pairs.len());
    let mut last: Option<(u32, u32)> = None;
    for (a, b, x) in pairs {
        if last == Some((a, b)) {
            if let Some(l) = w.last_mut() {
                *l += x;
            }
            continue;
        }
        last = Some((a, b));
        off[a as usize + 1] += 1;
        adj.push(b);
        w.push(x);
    }
    for i in 0..n {
        off[i + 1] += off[i];
    }
    (off, adj, w)
}

impl Csr {
    /// A graph of `n` nodes (ids `0..n`) and these edges (ids beyond `n` grow it).
    pub fn from_edges(n: usize, edges: &[Edge]) -> Csr {
        let n = edges
            .iter()
            .map(|e| e.src.max(e.dst) as usize + 1)
            .max()
            .unwrap_or(0)
            .max(n);
        let fwd: Vec<(u32, u32, f64)> = edges.iter().map(|e| (e.src, e.dst, e.weight)).collect();
        let rev: Vec<(u32, u32, f64)> = edges.iter().map(|e| (e.dst, e.src, e.weight)).collect();
        let (out_off, out_adj, out_w) = build_side(n, fwd);
        let (in_off, in_adj, in_w) = build_side(n, rev);
        Csr {
            n,
            out_off,
            out_adj,
            out_w,
            in_off,
            in_adj,
            in_w,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.n
    }

    /// Number of (merged) edges.
    pub fn edge_count(&self) -> usize {
        self.out_adj.len()
    }

    /// Successors of `v` with the edge weights.
    pub fn out(&self, v: u32) -> (&[u32], &[f64]) {
        let (a, b) = (self.out_off[v as usize], self.out_off[v as usize + 1]);
        (&self.out_adj[a..b], &self.out_w[a..b])
    }

    /// Predecessors of `v` with the edge weights.
    pub fn inn(&self, v: u32) -> (&[u32], &[f64]) {
        let (a, b) = (self.in_off[v as usize], self.in_off[v as usize + 1]);
        (&self.in_adj[a..b], &self.in_w[a..b])
    }

    /// Out-degree of `v`.
    pub fn out_degree(&self, v: u32) -> usize {
        self.out_off[v as usize + 1] - self.out_off[v as usize]
    }

    /// In-degree of `v`.
    pub fn in_degree(&self, v: u32) -> usize {
        self.in_off[v as usize + 1] - self.in_off[v as usize]
    }

    /// Bytes held by the adjacency arrays.
    pub fn heap_bytes(&self) -> usize {
        (self.out_off.len() + self.in_off.len()) * std::mem::size_of::<usize>()
            + (self.out_adj.len() + self.in_adj.len()) * 4
            + (self.out_w.len() + self.in_w.len()) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_parallel_edges() {
        let e = |s, d, w| Edge {
            src: s,
            dst: d,
            weight: w,
        };
        let g = Csr::from_edges(0, &[e(0, 1, 1.0), e(0, 1, 2.0), e(2, 0, 1.0), e(1, 1, 5.0)]);
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 3);
        assert_eq!(g.out(0), (&[1u32][..], &[3.0][..]));
        assert_eq!(g.inn(0).0, &[2]);
        assert_eq!(g.inn(1).0, &[0, 1]);
        assert_eq!(g.in_degree(1), 2);
    }
}
