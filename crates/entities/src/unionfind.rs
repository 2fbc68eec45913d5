//! A disjoint-set forest over dense `u32` ids: 8 bytes per element (parent and size),
//! union by size, path halving. Sizes let the super-cluster guard refuse a merge before it
//! happens.

/// Disjoint sets over `0..len`.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
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
            self.size.resize(n, 1);
        }
    }

    /// Bytes held per element (the benchmark's memory figure).
    pub const BYTES_PER_ELEMENT: usize = 8;

    /// The representative of `x`'s set.
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

    /// The size of the set whose representative is `root`.
    #[inline]
    pub fn size_of_root(&self, root: u32) -> u32 {
        self.size[root as usize]
    }

    /// Joins the sets of two representatives (which must differ); returns the new one.
    #[inline]
    pub fn link(&mut self, ra: u32, rb: u32) -> u32 {
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        big
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
        let mut min_of_root = vec![u32::MAX; n];
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u32 {
            let r = self.find(i) as usize;
            if min_of_root[r] == u32::MAX {
                min_of_root[r] = i;
            }
            out.push(min_of_root[r]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_and_smallest_members() {
        let mut u = UnionFind::new(6);
        assert!(u.union(4, 2));
        assert!(u.union(5, 4));
        assert!(!u.union(2, 5));
        assert!(u.union(0, 1));
        assert_eq!(u.smallest_members(), vec![0, 0, 2, 3, 2, 2]);
        let r = u.find(5);
        assert_eq!(u.size_of_root(r), 3);
        u.grow(8);
        assert_eq!(u.find(7), 7);
        assert_eq!(u.union_all(&[6, 7, 0, 6]), 2);
        assert_eq!(u.smallest_members()[7], 0);
    }
}
