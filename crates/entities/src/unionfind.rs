//! A disjoint-set forest over dense `u32` ids, linked by minimum (the smaller root
//! becomes the root, so every set's root is its smallest element: the stable entity id,
//! with no relabelling pass), with path halving. 4 bytes per element; 8 with set sizes
//! (what the super-cluster guard and the merge evidence need), kept at the roots.

/// Disjoint sets over `0..len`.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    /// Set sizes at the roots (empty when not tracked).
    size: Vec<u32>,
    sized: bool,
}

impl UnionFind {
    /// `n` singletons, with set sizes.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
            sized: true,
        }
    }

    /// `n` singletons without set sizes (4 bytes per element: multi-input clustering
    /// with neither guard nor evidence).
    pub fn without_sizes(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: Vec::new(),
            sized: false,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds singletons up to `n` elements.
    pub fn grow(&mut self, n: usize) {
        let old = self.parent.len();
        if n > old {
            self.parent.extend(old as u32..n as u32);
            if self.sized {
                self.size.resize(n, 1);
            }
        }
    }

    /// Bytes held per element.
    pub fn bytes_per_element(&self) -> usize {
        if self.sized {
            8
        } else {
            4
        }
    }

    /// The representative (the smallest element) of `x`'s set.
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
    }

    /// The size of the set whose representative is `root` (1 when sizes are not kept).
    #[inline]
    pub fn size_of_root(&self, root: u32) -> u32 {
        if self.sized {
            self.size[root as usize]
        } else {
            1
        }
    }

    /// Joins the sets of two representatives (which must differ); returns the new one,
    /// the smaller of the two.
    #[inline]
    pub fn link(&mut self, ra: u32, rb: u32) -> u32 {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi as usize] = lo;
        if self.sized {
            self.size[lo as usize] += self.size[hi as usize];
        }
        lo
    }

    /// Joins the sets of `a` and `b`; whether they were apart.
    #[inline]
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.link(ra, rb);
        true
    }

    /// Joins the sets of all of `ids` (one transaction's inputs: the multi-input
    /// heuristic without evidence); returns how many links it made. The running root is
    /// kept, so each further id costs one find.
    #[inline]
    pub fn union_all(&mut self, ids: &[u32]) -> u32 {
        let Some((&first, rest)) = ids.split_first() else {
            return 0;
        };
        let mut root = self.find(first);
        let mut links = 0;
        for &x in rest {
            let r = self.find(x);
            if r != root {
                root = self.link(root, r);
                links += 1;
            }
        }
        links
    }

    /// For every element, the smallest element of its set (the stable entity id).
    pub fn smallest_members(&mut self) -> Vec<u32> {
        let n = self.parent.len();
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u32 {
            // in ascending order every parent is already final: one step suffices
            let p = self.parent[i as usize];
            let r = if p == i { i } else { out[p as usize] };
            self.parent[i as usize] = r;
            out.push(r);
        }
        out
    }
}

/// Bytes per address that [`multi_input`] holds (one atomic parent).
pub const MULTI_INPUT_BYTES_PER_ADDRESS: usize = 4;

/// Multi-input clustering of many transactions' input lists (Arrow-style `offsets` into
/// `values`) over `n` address ids on `threads` threads sharing one forest of atomic
/// parents (4 bytes per address). Each transaction joins its consecutive inputs with
/// Rem's algorithm with splicing (the fastest sequential union-find in Patwary, Blair and
/// Manne's 2010 comparison): the two finds climb together, always moving the side whose
/// parent is larger and pointing it at the other side's parent, and stop as soon as both
/// reach one node; no separate find or compression pass. Every write is a
/// compare-and-swap that lowers a parent (a parent is never larger than its child),
/// so racing threads only ever shorten paths or merge sets that the writing
/// thread merges anyway; a failed swap re-reads. Every set's root is its smallest
/// element whatever the interleaving, so the partition and every entity id are the same
/// for every thread count. Returns the entity id (the smallest member) of every address.
/// Every value must be below `n`.
pub fn multi_input(offsets: &[u32], values: &[u32], n: usize, threads: usize) -> Vec<u32> {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    let parent: Vec<AtomicU32> = (0..n as u32).map(AtomicU32::new).collect();
    let union = |x: u32, y: u32| {
        let (mut rx, mut ry) = (x, y);
        loop {
            let px = parent[rx as usize].load(Relaxed);
            let py = parent[ry as usize].load(Relaxed);
            if px == py {
                return;
            }
            // the side with the larger parent moves: hang it under the other's parent
            let (r, pr, q) = if px > py { (rx, px, py) } else { (ry, py, px) };
            if parent[r as usize]
                .compare_exchange(pr, q, Relaxed, Relaxed)
                .is_ok()
            {
                if r == pr {
                    // `r` was a root: the sets are joined
                    return;
                }
                // spliced: go on from `r`'s old parent
                if px > py {
                    rx = pr;
                } else {
                    ry = pr;
                }
            }
        }
    };
    let txs = offsets.len().saturating_sub(1);
    let threads = threads.clamp(1, 64).min(txs.max(1));
    let share = txs.div_ceil(threads);
    let work = |k: usize| {
        for t in k * share..((k + 1) * share).min(txs) {
            let ids = &values[offsets[t] as usize..offsets[t + 1] as usize];
            for w in ids.windows(2) {
                union(w[0], w[1]);
            }
        }
    };
    std::thread::scope(|s| {
        for k in 1..threads {
            let work = &work;
            s.spawn(move || work(k));
        }
        work(0);
    });
    // every parent is smaller than its child: one ascending pass labels everything
    let mut out: Vec<u32> = Vec::with_capacity(n);
    for (i, p) in parent.iter().enumerate() {
        let p = p.load(Relaxed);
        out.push(if p == i as u32 { p } else { out[p as usize] });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_and_smallest_members() {
        for mut u in [UnionFind::new(6), UnionFind::without_sizes(6)] {
            assert!(u.union(4, 2));
            assert!(u.union(5, 4));
            assert!(!u.union(2, 5));
            assert!(u.union(0, 1));
            assert_eq!(u.smallest_members(), vec![0, 0, 2, 3, 2, 2]);
            let r = u.find(5);
            assert_eq!(r, 2);
            assert_eq!(
                u.size_of_root(r),
                if u.bytes_per_element() == 8 { 3 } else { 1 }
            );
            u.grow(8);
            assert_eq!(u.find(7), 7);
            assert_eq!(u.union_all(&[6, 7, 0, 6]), 2);
            assert_eq!(u.smallest_members()[7], 0);
        }
    }

    #[test]
    fn parallel_equals_sequential() {
        let (offsets, values) = crate::synthetic::input_lists(5, 20_000, 15_000);
        let mut u = UnionFind::without_sizes(15_000);
        for w in offsets.windows(2) {
            u.union_all(&values[w[0] as usize..w[1] as usize]);
        }
        let want = u.smallest_members();
        for threads in [1, 2, 3, 8] {
            assert_eq!(
                multi_input(&offsets, &values, 15_000, threads),
                want,
                "{threads} threads"
            );
        }
        // contention: few addresses, many threads, again and again
        let (offsets, values) = crate::synthetic::input_lists(6, 100_000, 2_000);
        let mut u = UnionFind::without_sizes(2_000);
        for w in offsets.windows(2) {
            u.union_all(&values[w[0] as usize..w[1] as usize]);
        }
        let want = u.smallest_members();
        for round in 0..10 {
            assert_eq!(
                multi_input(&offsets, &values, 2_000, 8),
                want,
                "round {round}"
            );
        }
    }
}
