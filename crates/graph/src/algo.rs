//! Graph algorithms over a [`Csr`], in a fixed order, so results are the same on every
//! machine and for every thread count (PageRank's threads each compute whole nodes, in
//! the same order; its sums stay sequential). They follow networkx's
//! definitions (PageRank with uniform teleport and dangling mass spread uniformly,
//! Brandes betweenness normalised by (n−1)(n−2), weakly and strongly connected
//! components), which the tests check against networkx itself.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::csr::Csr;

/// PageRank settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRankOptions {
    /// Damping factor.
    pub alpha: f64,
    /// Stop when the L1 change of an iteration is below `n × tol` (networkx's rule).
    pub tol: f64,
    /// Give up after this many iterations.
    pub max_iter: usize,
    /// Use edge weights (transferred value) or count every edge once.
    pub weighted: bool,
    /// Threads for the per-node update (1: none spawned). The scores are bit-identical
    /// for every count.
    pub threads: usize,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        PageRankOptions {
            alpha: 0.85,
            tol: 1e-10,
            max_iter: 200,
            weighted: true,
            threads: 1,
        }
    }
}

/// A PageRank result.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRank {
    /// Score per node (sums to 1).
    pub scores: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
}

/// PageRank by power iteration (networkx's `pagerank`): out-weights normalised per node,
/// the mass of nodes without out-edges spread uniformly, uniform teleport.
pub fn pagerank(g: &Csr, o: &PageRankOptions) -> PageRank {
    let n = g.node_count();
    if n == 0 {
        return PageRank {
            scores: Vec::new(),
            iterations: 0,
            converged: true,
        };
    }
    let w = |x: f64| if o.weighted { x } else { 1.0 };
    let out_sum: Vec<f64> = (0..n as u32)
        .map(|v| g.out(v).1.iter().map(|&x| w(x)).sum())
        .collect();
    let inv: Vec<f64> = out_sum
        .iter()
        .map(|&s| if s != 0.0 { 1.0 / s } else { 0.0 })
        .collect();
    let nf = n as f64;
    let mut x = vec![1.0 / nf; n];
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    for it in 1..=o.max_iter {
        let dangling: f64 = (0..n).filter(|&v| out_sum[v] == 0.0).map(|v| x[v]).sum();
        for v in 0..n {
            share[v] = x[v] * inv[v];
        }
        let base = o.alpha * dangling / nf + (1.0 - o.alpha) / nf;
        // each node's new score depends only on `share`: nodes are split into contiguous
        // blocks, one per thread, and every sum runs over the node's in-edges in CSR order
        let update = |first: usize, block: &mut [f64]| {
            for (k, slot) in block.iter_mut().enumerate() {
                let (pred, pw) = g.inn((first + k) as u32);
                let mut s = 0.0;
                for (u, &ew) in pred.iter().zip(pw) {
                    s += share[*u as usize] * w(ew);
                }
                *slot = o.alpha * s + base;
            }
        };
        let threads = o.threads.clamp(1, 256);
        if threads == 1 || n < 4096 {
            update(0, &mut next);
        } else {
            let size = n.div_ceil(threads);
            std::thread::scope(|sc| {
                let mut blocks = next.chunks_mut(size).enumerate();
                let own = blocks.next();
                for (i, block) in blocks {
                    let update = &update;
                    sc.spawn(move || update(i * size, block));
                }
                if let Some((_, block)) = own {
                    update(0, block);
                }
            });
        }
        let err: f64 = x.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut x, &mut next);
        if err < nf * o.tol {
            return PageRank {
                scores: x,
                iterations: it,
                converged: true,
            };
        }
    }
    PageRank {
        scores: x,
        iterations: o.max_iter,
        converged: false,
    }
}

/// Degrees of a node.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Degree {
    /// Edges in.
    pub in_degree: u64,
    /// Edges out.
    pub out_degree: u64,
    /// Value in.
    pub in_weight: f64,
    /// Value out.
    pub out_weight: f64,
}

/// In/out degree and weighted degree of every node.
pub fn degrees(g: &Csr) -> Vec<Degree> {
    (0..g.node_count() as u32)
        .map(|v| Degree {
            in_degree: g.in_degree(v) as u64,
            out_degree: g.out_degree(v) as u64,
            in_weight: g.inn(v).1.iter().sum(),
            out_weight: g.out(v).1.iter().sum(),
        })
        .collect()
}

/// Weakly connected components: for each node, the smallest node id of its component.
pub fn weak_components(g: &Csr) -> Vec<u32> {
    let n = g.node_count();
    let mut comp = vec![u32::MAX; n];
    let mut queue = VecDeque::new();
    for s in 0..n as u32 {
        if comp[s as usize] != u32::MAX {
            continue;
        }
        comp[s as usize] = s;
        queue.push_back(s);
        while let Some(v) = queue.pop_front() {
            for &u in g.out(v).0.iter().chain(g.inn(v).0) {
                if comp[u as usize] == u32::MAX {
                    comp[u as usize] = s;
                    queue.push_back(u);
                }
            }
        }
    }
    comp
}

/// Strongly connected components (Tarjan's algorithm, iterative): for each node, the
/// smallest node id of its component.
pub fn strong_components(g: &Csr) -> Vec<u32> {
    let n = g.node_count();
    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut comp = vec![UNSEEN; n];
    let mut next_index = 0u32;
    // (node, position in its successor list)
    let mut call: Vec<(u32, usize)> = Vec::new();
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        call.push((root, 0));
        index[root as usize] = next_index;
        low[root as usize] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            let succ = g.out(v).0;
            if *pos < succ.len() {
                let u = succ[*pos];
                *pos += 1;
                if index[u as usize] == UNSEEN {
                    index[u as usize] = next_index;
                    low[u as usize] = next_index;
                    next_index += 1;
                    stack.push(u);
                    on_stack[u as usize] = true;
                    call.push((u, 0));
                } else if on_stack[u as usize] {
                    low[v as usize] = low[v as usize].min(index[u as usize]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent as usize] = low[parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                let id = members.iter().copied().min().unwrap_or(v);
                for m in members {
                    comp[m as usize] = id;
                }
            }
        }
    }
    comp
}

/// Betweenness centrality (Brandes, unweighted shortest paths, directed), normalised as
/// networkx 3.6 does: by (n−1)(n−2) when exact; with k sampled sources, by (k−1)(n−2)
/// for the sources and k(n−2) for the other nodes. `sample`:
/// `None` for the exact value (every node a source), `Some((k, seed))` for k sources
/// drawn with a seeded ChaCha generator.
pub fn betweenness(g: &Csr, sample_sources: Option<(usize, u64)>) -> Vec<f64> {
    let n = g.node_count();
    let mut bc = vec![0.0f64; n];
    let sources: Vec<u32> = match sample_sources {
        Some((k, seed)) if k < n => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut s: Vec<u32> = sample(&mut rng, n, k)
                .into_iter()
                .map(|i| i as u32)
                .collect();
            s.sort_unstable();
            s
        }
        _ => (0..n as u32).collect(),
    };
    let mut sigma = vec![0.0f64; n];
    let mut dist = vec![-1i64; n];
    let mut delta = vec![0.0f64; n];
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    let mut queue = VecDeque::new();
    for &s in &sources {
        for v in order.drain(..) {
            sigma[v as usize] = 0.0;
            dist[v as usize] = -1;
            delta[v as usize] = 0.0;
            preds[v as usize].clear();
        }
        sigma[s as usize] = 1.0;
        dist[s as usize] = 0;
        queue.push_back(s);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            let dv = dist[v as usize];
            for &w in g.out(v).0 {
                if dist[w as usize] < 0 {
                    dist[w as usize] = dv + 1;
                    queue.push_back(w);
                }
                if dist[w as usize] == dv + 1 {
                    sigma[w as usize] += sigma[v as usize];
                    preds[w as usize].push(v);
                }
            }
        }
        for &w in order.iter().rev() {
            let coeff = (1.0 + delta[w as usize]) / sigma[w as usize];
            for &v in &preds[w as usize] {
                delta[v as usize] += sigma[v as usize] * coeff;
            }
            if w != s {
                bc[w as usize] += delta[w as usize];
            }
        }
    }
    if n > 2 {
        let pairs = (n - 1) as f64; // targets other than v (endpoints excluded)
        if sources.len() == n {
            let scale = 1.0 / ((n - 1) as f64 * (n - 2) as f64);
            for x in &mut bc {
                *x *= scale;
            }
        } else {
            // networkx 3.6's unbiased estimate: a sampled source cannot lie on its own
            // paths, so it is scaled by k − 1 sources, the others by k
            let k = sources.len() as f64;
            let s_source = if k > 1.0 {
                1.0 / ((k - 1.0) * (pairs - 1.0))
            } else {
                0.0
            };
            let s_other = 1.0 / (k * (pairs - 1.0));
            let mut is_source = vec![false; n];
            for &s in &sources {
                is_source[s as usize] = true;
            }
            for (v, x) in bc.iter_mut().enumerate() {
                *x *= if is_source[v] { s_source } else { s_other };
            }
        }
    }
    bc
}

/// Which edges a walk follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Along edges (where the value went).
    #[default]
    Out,
    /// Against edges (where it came from).
    In,
    /// Both.
    Both,
}

/// Nodes within `k` hops of the seeds, with their hop count (seeds at 0), in BFS order.
pub fn khop(g: &Csr, seeds: &[u32], k: u32, dir: Direction) -> Vec<(u32, u32)> {
    let n = g.node_count();
    let mut hops = vec![u32::MAX; n];
    let mut out = Vec::new();
    let mut queue = VecDeque::new();
    for &s in seeds {
        if (s as usize) < n && hops[s as usize] == u32::MAX {
            hops[s as usize] = 0;
            queue.push_back(s);
        }
    }
    while let Some(v) = queue.pop_front() {
        let h = hops[v as usize];
        out.push((v, h));
        if h == k {
            continue;
        }
        let fwd: &[u32] = if dir != Direction::In {
            g.out(v).0
        } else {
            &[]
        };
        let back: &[u32] = if dir != Direction::Out {
            g.inn(v).0
        } else {
            &[]
        };
        for &u in fwd.iter().chain(back) {
            if hops[u as usize] == u32::MAX {
                hops[u as usize] = h + 1;
                queue.push_back(u);
            }
        }
    }
    out
}

/// A path between two nodes: the nodes and the weights of the edges between them.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The nodes, from the source to the target.
    pub nodes: Vec<u32>,
    /// The weight of each edge (one fewer than nodes).
    pub weights: Vec<f64>,
}

fn weight_of(g: &Csr, a: u32, b: u32) -> f64 {
    let (adj, w) = g.out(a);
    adj.binary_search(&b).map(|i| w[i]).unwrap_or(0.0)
}

fn walk_back(g: &Csr, prev: &[u32], a: u32, b: u32) -> Path {
    let mut nodes = vec![b];
    let mut x = b;
    while x != a {
        x = prev[x as usize];
        nodes.push(x);
    }
    nodes.reverse();
    let weights = nodes.windows(2).map(|p| weight_of(g, p[0], p[1])).collect();
    Path { nodes, weights }
}

/// The path with the fewest edges from `a` to `b` along edge direction (the first found in
/// node order among equals), if any.
pub fn shortest_path(g: &Csr, a: u32, b: u32) -> Option<Path> {
    let n = g.node_count();
    if a as usize >= n || b as usize >= n {
        return None;
    }
    let mut prev = vec![u32::MAX; n];
    prev[a as usize] = a;
    let mut queue = VecDeque::from([a]);
    while let Some(v) = queue.pop_front() {
        if v == b {
            return Some(walk_back(g, &prev, a, b));
        }
        for &u in g.out(v).0 {
            if prev[u as usize] == u32::MAX {
                prev[u as usize] = v;
                queue.push_back(u);
            }
        }
    }
    None
}

#[derive(PartialEq)]
struct Wide(f64, u32, u32); // bottleneck, hops, node

impl Eq for Wide {}
impl PartialOrd for Wide {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Wide {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0
            .total_cmp(&o.0)
            .then(o.1.cmp(&self.1))
            .then(o.2.cmp(&self.2))
    }
}

/// The largest-value path from `a` to `b`: the path whose smallest edge value (its
/// bottleneck, the most that can have moved along it) is largest; among those, the one
/// with the fewest edges.
pub fn widest_path(g: &Csr, a: u32, b: u32) -> Option<Path> {
    let n = g.node_count();
    if a as usize >= n || b as usize >= n {
        return None;
    }
    let mut best = vec![f64::NEG_INFINITY; n];
    let mut hops = vec![u32::MAX; n];
    let mut prev = vec![u32::MAX; n];
    let mut done = vec![false; n];
    best[a as usize] = f64::INFINITY;
    hops[a as usize] = 0;
    prev[a as usize] = a;
    let mut heap = BinaryHeap::from([Wide(f64::INFINITY, 0, a)]);
    while let Some(Wide(bw, h, v)) = heap.pop() {
        if done[v as usize] {
            continue;
        }
        done[v as usize] = true;
        if v == b {
            return Some(walk_back(g, &prev, a, b));
        }
        let (adj, w) = g.out(v);
        for (&u, &ew) in adj.iter().zip(w) {
            let cand = bw.min(ew);
            let better =
                cand > best[u as usize] || (cand == best[u as usize] && h + 1 < hops[u as usize]);
            if !done[u as usize] && better {
                best[u as usize] = cand;
                hops[u as usize] = h + 1;
                prev[u as usize] = v;
                heap.push(Wide(cand, h + 1, u));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::Edge;

    fn g(edges: &[(u32, u32, f64)]) -> Csr {
        let e: Vec<Edge> = edges
            .iter()
            .map(|&(s, d, w)| Edge {
                src: s,
                dst: d,
                weight: w,
            })
            .collect();
        Csr::from_edges(0, &e)
    }

    #[test]
    fn pagerank_sums_to_one_and_favours_the_sink() {
        let x = g(&[(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (3, 2, 1.0)]);
        let p = pagerank(&x, &PageRankOptions::default());
        assert!(p.converged);
        assert!((p.scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.scores[2] > p.scores[3]);
    }

    #[test]
    fn pagerank_is_bit_identical_for_every_thread_count() {
        // above the size where threads are used; uneven blocks for 3 threads
        let n = 20_011u32;
        let mut edges = Vec::new();
        let mut x = 12345u64;
        for i in 0..n * 4 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // a tenth of the nodes never send
            let src = (i % n) / 10 * 10 + (i % 9);
            edges.push((src, (x >> 33) as u32 % n, ((x >> 20) % 1000) as f64 + 1.0));
        }
        let gr = g(&edges);
        let one = pagerank(&gr, &PageRankOptions::default());
        assert!(one.converged);
        for threads in [2, 3, 8] {
            let many = pagerank(
                &gr,
                &PageRankOptions {
                    threads,
                    ..PageRankOptions::default()
                },
            );
            assert_eq!(many.iterations, one.iterations, "{threads} threads");
            assert!(
                many.scores
                    .iter()
                    .zip(&one.scores)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn components() {
        let x = g(&[(0, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0), (4, 3, 1.0)]);
        assert_eq!(weak_components(&x), vec![0, 0, 0, 3, 3]);
        assert_eq!(strong_components(&x), vec![0, 0, 2, 3, 4]);
    }

    #[test]
    fn betweenness_of_a_line() {
        // 0 -> 1 -> 2: node 1 lies on the one path 0..2; normalised by (n-1)(n-2) = 2
        let x = g(&[(0, 1, 1.0), (1, 2, 1.0)]);
        assert_eq!(betweenness(&x, None), vec![0.0, 0.5, 0.0]);
    }

    #[test]
    fn paths() {
        // 0 -> 3 directly with value 1, or 0 -> 1 -> 2 -> 3 with values 5, 4, 6
        let x = g(&[(0, 3, 1.0), (0, 1, 5.0), (1, 2, 4.0), (2, 3, 6.0)]);
        assert_eq!(shortest_path(&x, 0, 3).unwrap().nodes, vec![0, 3]);
        let w = widest_path(&x, 0, 3).unwrap();
        assert_eq!(w.nodes, vec![0, 1, 2, 3]);
        assert_eq!(w.weights, vec![5.0, 4.0, 6.0]);
        assert!(shortest_path(&x, 3, 0).is_none());
        assert_eq!(
            khop(&x, &[0], 1, Direction::Out),
            vec![(0, 0), (1, 1), (3, 1)]
        );
        assert_eq!(
            khop(&x, &[3], 1, Direction::In),
            vec![(3, 0), (0, 1), (2, 1)]
        );
    }
}
