//! A binary decision tree in flat arrays, its prediction, its path contributions and its
//! byte encoding.
//!
//! Node `i` splits on `feature[i]`: a row goes left when its value is `<= threshold[i]`,
//! and a missing value (`NaN`) goes left when `missing_left[i]`. Leaves have
//! `feature == LEAF`. Every node, inner or leaf, keeps `n_out` values: class
//! probabilities in a forest, a margin in boosting; the contributions of a prediction
//! are the changes of these values along its path, credited to the split features
//! (Saabas' decomposition).

/// `feature` of a leaf.
pub const LEAF: u32 = u32::MAX;

/// A node packed for prediction (16 bytes): the threshold, the feature with the
/// missing-goes-left flag in its top bit (`LEAF` for a leaf), and the left child (the
/// right child is `left + 1`) or, in a leaf, the node's own index (for its values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packed {
    pub threshold: f64,
    pub feature: u32,
    pub left: u32,
}

const MISSING_LEFT_BIT: u32 = 1 << 31;

/// A decision tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    pub n_out: usize,
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub missing_left: Vec<bool>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub value: Vec<f64>,
}

impl Tree {
    /// An empty tree whose nodes carry `n_out` values.
    pub fn new(n_out: usize) -> Tree {
        Tree {
            n_out,
            ..Tree::default()
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// Whether the tree has no node.
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// Adds a leaf with `value`; returns its index.
    pub fn push(&mut self, value: &[f64]) -> u32 {
        debug_assert_eq!(value.len(), self.n_out);
        let i = self.feature.len() as u32;
        self.feature.push(LEAF);
        self.threshold.push(0.0);
        self.missing_left.push(false);
        self.left.push(0);
        self.right.push(0);
        self.value.extend_from_slice(value);
        i
    }

    /// Turns leaf `node` into a split.
    pub fn split(
        &mut self,
        node: u32,
        feature: u32,
        threshold: f64,
        missing_left: bool,
        left: u32,
        right: u32,
    ) {
        let i = node as usize;
        self.feature[i] = feature;
        self.threshold[i] = threshold;
        self.missing_left[i] = missing_left;
        self.left[i] = left;
        self.right[i] = right;
    }

    /// The values of `node`.
    #[inline]
    pub fn values(&self, node: usize) -> &[f64] {
        &self.value[node * self.n_out..(node + 1) * self.n_out]
    }

    /// The child a row takes at inner node `i`, given its value of the split feature.
    #[inline]
    fn next(&self, i: usize, v: f64) -> usize {
        let left = if v.is_nan() {
            self.missing_left[i]
        } else {
            v <= self.threshold[i]
        };
        if left {
            self.left[i] as usize
        } else {
            self.right[i] as usize
        }
    }

    /// The leaf a row ends in; `x(f)` gives the row's value of feature `f`.
    #[inline]
    pub fn leaf_by(&self, x: impl Fn(usize) -> f64) -> usize {
        let mut i = 0usize;
        loop {
            let f = self.feature[i];
            if f == LEAF {
                return i;
            }
            i = self.next(i, x(f as usize));
        }
    }

    /// The leaf of a row given as a slice of feature values.
    #[inline]
    pub fn leaf(&self, row: &[f64]) -> usize {
        self.leaf_by(|f| row[f])
    }

    /// Adds the path contributions of `row` to `out` (`n_features × n_out`, feature-major)
    /// and returns the root's values (the bias).
    pub fn contributions(&self, row: &[f64], out: &mut [f64]) -> &[f64] {
        let k = self.n_out;
        let mut i = 0usize;
        loop {
            let f = self.feature[i];
            if f == LEAF {
                break;
            }
            let j = self.next(i, row[f as usize]);
            for c in 0..k {
                out[f as usize * k + c] += self.value[j * k + c] - self.value[i * k + c];
            }
            i = j;
        }
        self.values(0)
    }

    /// The tree packed for prediction; `None` when a right child is not `left + 1`
    /// (trees grown here always are).
    pub fn packed(&self) -> Option<Vec<Packed>> {
        (0..self.len())
            .map(|i| {
                let f = self.feature[i];
                if f == LEAF {
                    Some(Packed {
                        threshold: 0.0,
                        feature: LEAF,
                        left: i as u32,
                    })
                } else if self.right[i] == self.left[i] + 1 && f < MISSING_LEFT_BIT {
                    Some(Packed {
                        threshold: self.threshold[i],
                        feature: f | if self.missing_left[i] {
                            MISSING_LEFT_BIT
                        } else {
                            0
                        },
                        left: self.left[i],
                    })
                } else {
                    None
                }
            })
            .collect()
    }

    /// The tree packed for branch-free prediction: as [`Tree::packed`], but every leaf
    /// points to itself whatever the value (feature 0, missing left, threshold +inf), so
    /// `depth()` steps from the root end in the row's leaf without testing for leaves.
    pub fn absorbing(&self) -> Option<Vec<Packed>> {
        let mut p = self.packed()?;
        for (i, n) in p.iter_mut().enumerate() {
            if n.feature == LEAF {
                *n = Packed {
                    threshold: f64::INFINITY,
                    feature: MISSING_LEFT_BIT,
                    left: i as u32,
                };
            }
        }
        Some(p)
    }

    /// The depth of the deepest leaf (a lone root is depth 0).
    pub fn depth(&self) -> usize {
        let mut best = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, d)) = stack.pop() {
            if self.feature.get(i).copied().unwrap_or(LEAF) == LEAF {
                best = best.max(d);
            } else {
                stack.push((self.left[i] as usize, d + 1));
                stack.push((self.right[i] as usize, d + 1));
            }
        }
        best
    }

    /// Appends the tree's bytes (little-endian) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.n_out as u32).to_le_bytes());
        for i in 0..self.len() {
            out.extend_from_slice(&self.feature[i].to_le_bytes());
            out.extend_from_slice(&self.threshold[i].to_bits().to_le_bytes());
            out.push(u8::from(self.missing_left[i]));
            out.extend_from_slice(&self.left[i].to_le_bytes());
            out.extend_from_slice(&self.right[i].to_le_bytes());
            for v in self.values(i) {
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
    }

    /// Reads a tree from the front of `buf`, checking that every child index is inside the
    /// tree and points forward (so prediction cannot loop) and every feature is below
    /// `n_features`.
    pub fn decode(buf: &mut &[u8], n_features: usize) -> Result<Tree, String> {
        let n = take_u32(buf)? as usize;
        let k = take_u32(buf)? as usize;
        if n == 0 || k == 0 || k > 1 << 16 {
            return Err(format!("a tree with {n} nodes of {k} values"));
        }
        let per_node = 4 + 8 + 1 + 4 + 4 + 8 * k;
        if buf.len() < n.saturating_mul(per_node) {
            return Err("the file ends inside a tree".into());
        }
        let mut t = Tree::new(k);
        for i in 0..n {
            let f = take_u32(buf)?;
            let th = f64::from_bits(take_u64(buf)?);
            let ml = take_u8(buf)?;
            let l = take_u32(buf)?;
            let r = take_u32(buf)?;
            let mut vals = Vec::with_capacity(k);
            for _ in 0..k {
                vals.push(f64::from_bits(take_u64(buf)?));
            }
            t.push(&vals);
            if f != LEAF {
                let ok = (f as usize) < n_features
                    && (l as usize) > i
                    && (r as usize) > i
                    && (l as usize) < n
                    && (r as usize) < n
                    && ml <= 1;
                if !ok {
                    return Err(format!("node {i} of a tree is malformed"));
                }
                t.split(i as u32, f, th, ml == 1, l, r);
            }
        }
        Ok(t)
    }
}

/// The leaf (node index) a row reaches in a packed tree.
#[inline]
pub fn packed_leaf(nodes: &[Packed], x: impl Fn(usize) -> f64) -> usize {
    let mut n = nodes[0];
    while n.feature != LEAF {
        let v = x((n.feature & !MISSING_LEFT_BIT) as usize);
        let left = if v.is_nan() {
            n.feature & MISSING_LEFT_BIT != 0
        } else {
            v <= n.threshold
        };
        n = nodes[(n.left + u32::from(!left)) as usize];
    }
    n.left as usize
}

/// One step of a branch-free traversal: the next node of `at` for a row whose value of
/// the node's feature is `v` (see [`Tree::absorbing`]).
#[inline(always)]
pub fn step(nodes: &[Packed], at: u32, x: &[f64]) -> u32 {
    let n = nodes[at as usize];
    let v = x[(n.feature & !MISSING_LEFT_BIT) as usize];
    let ml = n.feature & MISSING_LEFT_BIT != 0;
    let at_most = v <= n.threshold;
    let right = !at_most & !(v.is_nan() & ml);
    n.left + u32::from(right)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if buf.len() < n {
        return Err("the file ends early".into());
    }
    let (a, b) = buf.split_at(n);
    *buf = b;
    Ok(a)
}

pub(crate) fn take_u8(buf: &mut &[u8]) -> Result<u8, String> {
    Ok(take(buf, 1)?[0])
}

pub(crate) fn take_u32(buf: &mut &[u8]) -> Result<u32, String> {
    let b = take(buf, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn take_u64(buf: &mut &[u8]) -> Result<u64, String> {
    let b = take(buf, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

pub(crate) fn take_bytes<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    take(buf, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump() -> Tree {
        let mut t = Tree::new(2);
        let root = t.push(&[0.5, 0.5]);
        let l = t.push(&[0.9, 0.1]);
        let r = t.push(&[0.2, 0.8]);
        t.split(root, 1, 2.5, true, l, r);
        t
    }

    #[test]
    fn routing_missing_and_contributions() {
        let t = stump();
        assert_eq!(t.leaf(&[0.0, 2.5]), 1);
        assert_eq!(t.leaf(&[0.0, 2.6]), 2);
        assert_eq!(t.leaf(&[0.0, f64::NAN]), 1);
        let mut c = vec![0.0; 4];
        let bias = t.contributions(&[0.0, 3.0], &mut c).to_vec();
        assert_eq!(bias, vec![0.5, 0.5]);
        let want = [0.0, 0.0, -0.3, 0.3];
        assert!(
            c.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{c:?}"
        );
        assert_eq!(t.depth(), 1);
        let p = t.packed().unwrap();
        let a = t.absorbing().unwrap();
        for row in [
            [0.0, 2.5],
            [0.0, 2.6],
            [0.0, f64::NAN],
            [f64::NAN, f64::NAN],
        ] {
            assert_eq!(packed_leaf(&p, |f| row[f]), t.leaf(&row));
            let mut at = 0;
            for _ in 0..5 {
                at = step(&a, at, &row);
            }
            assert_eq!(at as usize, t.leaf(&row));
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_damage() {
        let t = stump();
        let mut b = Vec::new();
        t.encode(&mut b);
        let mut s = b.as_slice();
        assert_eq!(Tree::decode(&mut s, 2).unwrap(), t);
        assert!(s.is_empty());
        let mut s = b.as_slice();
        assert!(Tree::decode(&mut s, 1).is_err(), "feature out of range");
        let mut s = &b[..b.len() - 3];
        assert!(Tree::decode(&mut s, 2).is_err());
        // A child pointing back to the root.
        let mut bad = b.clone();
        let left_at = 8 + 4 + 8 + 1;
        bad[left_at..left_at + 4].copy_from_slice(&0u32.to_le_bytes());
        let mut s = bad.as_slice();
        assert!(Tree::decode(&mut s, 2).is_err());
    }
}
