//! Weisfeiler-Lehman subtree features (Shervashidze et al. 2011): node labels refined
//! `h` times, each new label standing for (old label, sorted multiset of the neighbours'
//! old labels); a graph (or a node's k-hop neighbourhood) is described by how often each
//! label of every round occurs, and the WL subtree kernel of two graphs is the dot product
//! of those counts.
//!
//! Labels are compressed through one [`Dictionary`] shared by every graph compared, so
//! the same subtree gets the same id everywhere; ids are handed out in the order the
//! subtrees are first met, graphs and nodes taken in order, so the same inputs give the
//! same ids. Graphs are taken as undirected.
//!
//! A node without neighbours is refined too (its multiset is empty), as the definition
//! has it; GraKeL 0.1.10 leaves such nodes out of its refined rounds, so on graphs with
//! isolated nodes its kernel values are lower than these (equal otherwise: tested).

use std::collections::BTreeMap;

/// The compression of (label, neighbour labels) pairs into ids, shared across graphs.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    ids: BTreeMap<(u32, Vec<u32>), u32>,
    initial: BTreeMap<String, u32>,
    next: u32,
}

impl Dictionary {
    fn fresh(&mut self) -> u32 {
        let id = self.next;
        self.next += 1;
        id
    }

    /// The id of an initial label (its text).
    pub fn initial(&mut self, label: &str) -> u32 {
        if let Some(&i) = self.initial.get(label) {
            return i;
        }
        let i = self.fresh();
        self.initial.insert(label.to_string(), i);
        i
    }

    fn refined(&mut self, own: u32, mut nbrs: Vec<u32>) -> u32 {
        nbrs.sort_unstable();
        let key = (own, nbrs);
        if let Some(&i) = self.ids.get(&key) {
            return i;
        }
        let i = self.fresh();
        self.ids.insert(key, i);
        i
    }

    /// Labels handed out so far.
    pub fn len(&self) -> usize {
        self.next as usize
    }

    /// None handed out yet.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }
}

/// An undirected graph as adjacency lists with a text label per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledGraph {
    pub adj: Vec<Vec<u32>>,
    pub labels: Vec<String>,
}

impl LabelledGraph {
    /// From directed edges (each taken both ways, duplicates and self-loops dropped).
    pub fn new(labels: Vec<String>, src: &[u32], dst: &[u32]) -> LabelledGraph {
        let n = labels.len();
        let mut adj = vec![Vec::new(); n];
        for (&a, &b) in src.iter().zip(dst) {
            if a != b && (a as usize) < n && (b as usize) < n {
                adj[a as usize].push(b);
                adj[b as usize].push(a);
            }
        }
        for l in &mut adj {
            l.sort_unstable();
            l.dedup();
        }
        LabelledGraph { adj, labels }
    }
}

/// The labels of every node in rounds `0..=h` (`[round][node]`).
pub fn refine(g: &LabelledGraph, h: usize, dict: &mut Dictionary) -> Vec<Vec<u32>> {
    let mut rounds = vec![g
        .labels
        .iter()
        .map(|l| dict.initial(l))
        .collect::<Vec<u32>>()];
    for _ in 0..h {
        let prev = &rounds[rounds.len() - 1];
        let next: Vec<u32> = (0..g.adj.len())
            .map(|v| {
                let nb: Vec<u32> = g.adj[v].iter().map(|&u| prev[u as usize]).collect();
                (prev[v], nb)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|(own, nb)| dict.refined(own, nb))
            .collect();
        rounds.push(next);
    }
    rounds
}

/// Label counts over the given nodes in every round (sorted by label id).
pub fn histogram(
    rounds: &[Vec<u32>],
    nodes: impl Iterator<Item = u32> + Clone,
) -> BTreeMap<u32, u64> {
    let mut h = BTreeMap::new();
    for r in rounds {
        for v in nodes.clone() {
            *h.entry(r[v as usize]).or_insert(0) += 1;
        }
    }
    h
}

/// The WL subtree kernel value of two histograms.
pub fn dot(a: &BTreeMap<u32, u64>, b: &BTreeMap<u32, u64>) -> u64 {
    a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum()
}

/// The WL subtree kernel matrix of `graphs` after `h` rounds.
pub fn kernel_matrix(graphs: &[LabelledGraph], h: usize) -> Vec<Vec<u64>> {
    let mut dict = Dictionary::default();
    let hists: Vec<BTreeMap<u32, u64>> = graphs
        .iter()
        .map(|g| {
            let r = refine(g, h, &mut dict);
            histogram(&r, 0..g.adj.len() as u32)
        })
        .collect();
    hists
        .iter()
        .map(|a| hists.iter().map(|b| dot(a, b)).collect())
        .collect()
}

/// The nodes within `k` hops of `v` (itself included), in increasing order.
pub fn k_hop(g: &LabelledGraph, v: u32, k: usize) -> Vec<u32> {
    let mut seen = vec![false; g.adj.len()];
    seen[v as usize] = true;
    let mut frontier = vec![v];
    let mut all = vec![v];
    for _ in 0..k {
        let mut next = Vec::new();
        for &u in &frontier {
            for &w in &g.adj[u as usize] {
                if !seen[w as usize] {
                    seen[w as usize] = true;
                    next.push(w);
                }
            }
        }
        all.extend(&next);
        frontier = next;
    }
    all.sort_unstable();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32)]) -> LabelledGraph {
        let (s, d): (Vec<u32>, Vec<u32>) = edges.iter().copied().unzip();
        LabelledGraph::new(vec!["x".into(); n], &s, &d)
    }

    #[test]
    fn a_path_and_a_triangle_by_hand() {
        // round 0: every node "x" (3 each); round 1: the path's ends are (x,{x}) and its
        // middle (x,{x,x}), every triangle node is (x,{x,x}):
        // K(path, path) = 3·3 + (2·2 + 1·1) = 14, K(tri, tri) = 9 + 9 = 18,
        // K(path, tri) = 9 + 1·3 = 12
        let path = graph(3, &[(0, 1), (1, 2)]);
        let tri = graph(3, &[(0, 1), (1, 2), (2, 0)]);
        assert_eq!(
            kernel_matrix(&[path.clone(), tri.clone()], 1),
            vec![vec![14, 12], vec![12, 18]]
        );
        // no refinement: only the initial labels count
        assert_eq!(
            kernel_matrix(&[path.clone(), tri.clone()], 0),
            vec![vec![9, 9], vec![9, 9]]
        );
        // a second round separates nothing new in the triangle, but the path's ends and
        // middle differ again: K(path, path) = 14 + (2·2 + 1·1) = 19
        assert_eq!(kernel_matrix(&[path.clone(), tri], 2)[0][0], 19);
        // the middle node's 1-hop neighbourhood is the whole path; an end's is two nodes
        assert_eq!(k_hop(&path, 1, 1), vec![0, 1, 2]);
        assert_eq!(k_hop(&path, 0, 1), vec![0, 1]);
        // ids come in the order subtrees are met: the same graphs, the same ids
        let mut d1 = Dictionary::default();
        let mut d2 = Dictionary::default();
        assert_eq!(refine(&path, 2, &mut d1), refine(&path, 2, &mut d2));
        assert_eq!(d1.len(), 1 + 2 + 2);
    }
}
