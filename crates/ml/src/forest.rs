//! Random forest training: each tree a CART tree (Gini impurity) grown depth-first on a
//! bootstrap sample, trying a random subset of the features at every split (constant
//! features do not count towards it, as in scikit-learn), missing values sent to whichever
//! side is better. Nodes of more than [`EXACT_ROWS`] rows search split points over
//! histograms (the feature's global quantile bins); smaller nodes search every midpoint
//! between their own sorted values, as scikit-learn does everywhere.
//!
//! Tree `t` draws from its own ChaCha8 stream (`seed`, stream `t`), so the forest is the
//! same on any number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bins::{midpoint, Binned, MISSING};

/// Nodes with at most this many (distinct, in-bag) rows split exactly on their own values.
pub const EXACT_ROWS: usize = 8192;
use crate::params::Params;
use crate::tree::Tree;

/// What training reads.
pub struct TrainData<'a> {
    pub binned: &'a Binned,
    /// Raw feature values (column-major), for routing rows through grown trees.
    pub columns: &'a [Vec<f64>],
    /// Class index of each row.
    pub y: &'a [u32],
    /// Number of classes.
    pub k: usize,
    /// Weight of each row (its class weight).
    pub weight: &'a [f64],
}

/// A trained forest: its trees and the mean decrease in impurity per feature
/// (normalised to sum 1).
pub struct Forest {
    pub trees: Vec<Tree>,
    pub importance: Vec<f64>,
}

/// Trains a forest.
pub fn train(d: &TrainData<'_>, p: &Params, threads: usize) -> Forest {
    let n_features = d.binned.cols.len();
    let mtry = p.features_per_split(n_features).unwrap_or(1);
    let grown = crate::pool::map(p.trees as usize, threads, |t| grow(d, p, mtry, t as u64));
    let mut importance = vec![0.0; n_features];
    let mut trees = Vec::with_capacity(grown.len());
    for (tree, imp) in grown {
        let s: f64 = imp.iter().sum();
        if s > 0.0 {
            for (a, b) in importance.iter_mut().zip(&imp) {
                *a += b / s;
            }
        }
        trees.push(tree);
    }
    normalise(&mut importance);
    Forest { trees, importance }
}

pub(crate) fn normalise(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    if s > 0.0 {
        for x in v.iter_mut() {
            *x /= s;
        }
    }
}

/// The raw threshold of "bins `0..=bin` go left": the bin's upper edge, or infinity for
/// the last bin (every value left, the missing ones right).
pub(crate) fn split_threshold(cuts: &[f64], bin: usize) -> f64 {
    cuts.get(bin).copied().unwrap_or(f64::INFINITY)
}

struct Job {
    node: u32,
    start: usize,
    end: usize,
    depth: u32,
    totals: Vec<f64>,
}

/// Sum of squares over weight: `Σ c² / w`, the part of the Gini criterion that a split
/// changes.
#[inline]
fn purity(counts: &[f64], w: f64) -> f64 {
    if w <= 0.0 {
        return 0.0;
    }
    counts.iter().map(|c| c * c).sum::<f64>() / w
}

fn dist(totals: &[f64]) -> Vec<f64> {
    let w: f64 = totals.iter().sum();
    if w > 0.0 {
        totals.iter().map(|c| c / w).collect()
    } else {
        vec![0.0; totals.len()]
    }
}

/// One side of a candidate split: weighted class sums, rows, weight.
struct Side<'a> {
    tot: &'a [f64],
    n: usize,
    w: f64,
}

/// The node a split is searched in.
struct NodeStats<'a> {
    totals: &'a [f64],
    rows: usize,
    wsum: f64,
    min_leaf: usize,
}

impl NodeStats<'_> {
    /// The Gini score (`Σ l²/w_l + Σ r²/w_r`, higher is better) of the split whose left side
    /// is `left`, with the missing rows `miss` sent right, or left when that scores higher
    /// and `missing_left_ok`; `None` when neither respects the leaf size or leaves a side
    /// without weight. Returns the score and whether the missing rows go left.
    fn score(
        &self,
        left: &Side<'_>,
        miss: &Side<'_>,
        missing_left_ok: bool,
    ) -> Option<(f64, bool)> {
        let mut best: Option<(f64, bool)> = None;
        for missing_left in [false, true] {
            if missing_left && (miss.n == 0 || !missing_left_ok) {
                continue;
            }
            let (ln, lw) = if missing_left {
                (left.n + miss.n, left.w + miss.w)
            } else {
                (left.n, left.w)
            };
            let rn = self.rows - ln;
            let rw = self.wsum - lw;
            if ln < self.min_leaf || rn < self.min_leaf || lw <= 0.0 || rw <= 0.0 {
                continue;
            }
            let mut ls = 0.0;
            let mut rs = 0.0;
            for (c, &t) in self.totals.iter().enumerate() {
                let l = left.tot[c] + if missing_left { miss.tot[c] } else { 0.0 };
                let r = t - l;
                ls += l * l;
                rs += r * r;
            }
            let score = ls / lw + rs / rw;
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, missing_left));
            }
        }
        best
    }
}

struct Best {
    score: f64,
    feature: usize,
    bin: usize,
    missing_left: bool,
    /// An exact split: rows go left when their raw value is `<= threshold`.
    exact: Option<f64>,
}

fn grow(d: &TrainData<'_>, p: &Params, mtry: usize, t: u64) -> (Tree, Vec<f64>) {
    let n = d.binned.rows;
    let k = d.k;
    let n_features = d.binned.cols.len();
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    rng.set_stream(t);
    let mut counts = vec![0u32; n];
    if p.bootstrap {
        for _ in 0..n {
            counts[rng.gen_range(0..n)] += 1;
        }
    } else {
        counts.iter_mut().for_each(|c| *c = 1);
    }
    let mut idx: Vec<u32> = (0..n as u32).filter(|&i| counts[i as usize] > 0).collect();
    let w: Vec<f64> = (0..n).map(|i| f64::from(counts[i]) * d.weight[i]).collect();
    let mut totals = vec![0.0; k];
    for &i in &idx {
        totals[d.y[i as usize] as usize] += w[i as usize];
    }
    let mut tree = Tree::new(k);
    let root = tree.push(&dist(&totals));
    let mut importance = vec![0.0; n_features];
    let mut stack = vec![Job {
        node: root,
        start: 0,
        end: idx.len(),
        depth: 0,
        totals,
    }];
    let min_leaf = p.min_leaf as usize;
    let mut hist = vec![0.0f64; 256 * k];
    let mut cnt = vec![0u32; 256];
    let mut feats: Vec<usize> = (0..n_features).collect();
    let mut left_tot = vec![0.0; k];
    let mut scratch: Vec<u32> = Vec::with_capacity(idx.len());
    let mut sorted: Vec<(f64, u32)> = Vec::new();
    let mut miss_tot = vec![0.0; k];
    while let Some(job) = stack.pop() {
        let rows = job.end - job.start;
        let wsum: f64 = job.totals.iter().sum();
        let classes_present = job.totals.iter().filter(|&&c| c > 0.0).count();
        if classes_present <= 1
            || rows < 2 * min_leaf
            || rows < 2
            || p.max_depth.is_some_and(|m| job.depth >= m)
        {
            continue;
        }
        let parent = purity(&job.totals, wsum);
        let node = NodeStats {
            totals: &job.totals,
            rows,
            wsum,
            min_leaf,
        };
        let node_rows = &idx[job.start..job.end];
        let mut best: Option<Best> = None;
        let mut visited = 0usize;
        for j in 0..n_features {
            if visited >= mtry {
                break;
            }
            let s = rng.gen_range(j..n_features);
            feats.swap(j, s);
            let f = feats[j];
            if rows <= EXACT_ROWS {
                let raw = &d.columns[f];
                sorted.clear();
                miss_tot.iter_mut().for_each(|x| *x = 0.0);
                let mut miss_n = 0usize;
                for &i in node_rows {
                    let v = raw[i as usize];
                    if v.is_nan() {
                        miss_tot[d.y[i as usize] as usize] += w[i as usize];
                        miss_n += 1;
                    } else {
                        sorted.push((v, i));
                    }
                }
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let distinct_values = match (sorted.first(), sorted.last()) {
                    (Some(a), Some(b)) => 1 + usize::from(a.0 != b.0),
                    _ => 0,
                };
                if distinct_values + usize::from(miss_n > 0) <= 1 {
                    continue; // constant in this node
                }
                visited += 1;
                let miss_w: f64 = miss_tot.iter().sum();
                left_tot.iter_mut().for_each(|x| *x = 0.0);
                let mut left_w = 0.0;
                for q in 0..sorted.len() {
                    let (v, i) = sorted[q];
                    left_tot[d.y[i as usize] as usize] += w[i as usize];
                    left_w += w[i as usize];
                    let last = q + 1 == sorted.len();
                    if last && miss_n == 0 {
                        break;
                    }
                    if !last && sorted[q + 1].0 == v {
                        continue; // not a boundary between values
                    }
                    let threshold = if last {
                        f64::INFINITY
                    } else {
                        midpoint(v, sorted[q + 1].0)
                    };
                    let left = Side {
                        tot: &left_tot,
                        n: q + 1,
                        w: left_w,
                    };
                    let miss = Side {
                        tot: &miss_tot,
                        n: miss_n,
                        w: miss_w,
                    };
                    if let Some((score, missing_left)) = node.score(&left, &miss, !last) {
                        if best.as_ref().is_none_or(|b| score > b.score) {
                            best = Some(Best {
                                score,
                                feature: f,
                                bin: 0,
                                missing_left,
                                exact: Some(threshold),
                            });
                        }
                    }
                }
                continue;
            }
            let col = &d.binned.cols[f];
            let nb = d.binned.n_bins(f);
            hist[..nb * k].iter_mut().for_each(|x| *x = 0.0);
            hist[MISSING as usize * k..(MISSING as usize + 1) * k]
                .iter_mut()
                .for_each(|x| *x = 0.0);
            cnt[..nb].iter_mut().for_each(|x| *x = 0);
            cnt[MISSING as usize] = 0;
            for &i in node_rows {
                let b = col[i as usize] as usize;
                hist[b * k + d.y[i as usize] as usize] += w[i as usize];
                cnt[b] += 1;
            }
            let used = cnt[..nb].iter().filter(|&&c| c > 0).count() + usize::from(cnt[255] > 0);
            if used <= 1 {
                continue; // constant in this node
            }
            visited += 1;
            let miss = &hist[255 * k..256 * k];
            let miss_w: f64 = miss.iter().sum();
            let miss_n = cnt[255] as usize;
            left_tot.iter_mut().for_each(|x| *x = 0.0);
            let mut left_w = 0.0;
            let mut left_n = 0usize;
            // The last bin as a split point sends every value left and only the missing
            // values right.
            for b in 0..nb {
                if b + 1 == nb && miss_n == 0 {
                    break;
                }
                for c in 0..k {
                    left_tot[c] += hist[b * k + c];
                }
                left_w += hist[b * k..(b + 1) * k].iter().sum::<f64>();
                left_n += cnt[b] as usize;
                if cnt[b] == 0 {
                    continue; // same partition as the previous bin
                }
                let left = Side {
                    tot: &left_tot,
                    n: left_n,
                    w: left_w,
                };
                let miss = Side {
                    tot: miss,
                    n: miss_n,
                    w: miss_w,
                };
                if let Some((score, missing_left)) = node.score(&left, &miss, b + 1 != nb) {
                    if best.as_ref().is_none_or(|x| score > x.score) {
                        best = Some(Best {
                            score,
                            feature: f,
                            bin: b,
                            missing_left,
                            exact: None,
                        });
                    }
                }
            }
        }
        let Some(best) = best else { continue };
        // Partition the node's rows, stably: left first.
        let col = &d.binned.cols[best.feature];
        let raw = &d.columns[best.feature];
        let goes_left = |i: u32| match best.exact {
            Some(t) => {
                let v = raw[i as usize];
                if v.is_nan() {
                    best.missing_left
                } else {
                    v <= t
                }
            }
            None => {
                let b = col[i as usize];
                if b == MISSING {
                    best.missing_left
                } else {
                    b as usize <= best.bin
                }
            }
        };
        scratch.clear();
        let mut lt = vec![0.0; k];
        let mut write = job.start;
        for r in job.start..job.end {
            let i = idx[r];
            if goes_left(i) {
                idx[write] = i;
                write += 1;
                lt[d.y[i as usize] as usize] += w[i as usize];
            } else {
                scratch.push(i);
            }
        }
        idx[write..job.end].copy_from_slice(&scratch);
        let mid = write;
        let rt: Vec<f64> = job.totals.iter().zip(&lt).map(|(a, b)| a - b).collect();
        let lw: f64 = lt.iter().sum();
        let rw: f64 = rt.iter().sum();
        let decrease = (purity(&lt, lw) + purity(&rt, rw) - parent).max(0.0);
        importance[best.feature] += decrease;
        let threshold = best
            .exact
            .unwrap_or_else(|| split_threshold(&d.binned.cuts[best.feature], best.bin));
        let l = tree.push(&dist(&lt));
        let r = tree.push(&dist(&rt));
        tree.split(
            job.node,
            best.feature as u32,
            threshold,
            best.missing_left,
            l,
            r,
        );
        stack.push(Job {
            node: r,
            start: mid,
            end: job.end,
            depth: job.depth + 1,
            totals: rt,
        });
        stack.push(Job {
            node: l,
            start: job.start,
            end: mid,
            depth: job.depth + 1,
            totals: lt,
        });
    }
    (tree, importance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Algo;

    fn data(n: usize) -> (Vec<Vec<f64>>, Vec<u32>) {
        // Class 1 when x0 > 0.5 and x1 is missing or above 0.3; x2 is noise.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut cols = vec![Vec::new(), Vec::new(), Vec::new()];
        let mut y = Vec::new();
        for _ in 0..n {
            let a: f64 = rng.gen();
            let b: f64 = if rng.gen_bool(0.2) {
                f64::NAN
            } else {
                rng.gen()
            };
            let c: f64 = rng.gen();
            cols[0].push(a);
            cols[1].push(b);
            cols[2].push(c);
            y.push(u32::from(a > 0.5 && (b.is_nan() || b > 0.3)));
        }
        (cols, y)
    }

    #[test]
    fn learns_a_rule_with_missing_values_on_any_thread_count() {
        // 2000 rows: exact splits everywhere; 9000: histograms at the root.
        for n in [2000, 9000] {
            learns_a_rule(n);
        }
    }

    fn learns_a_rule(n: usize) {
        let (cols, y) = data(n);
        let binned = Binned::new(&cols, 255, 1);
        let w = vec![1.0; y.len()];
        let d = TrainData {
            binned: &binned,
            columns: &cols,
            y: &y,
            k: 2,
            weight: &w,
        };
        let mut p = Params::new(Algo::Forest);
        p.trees = 20;
        p.seed = 3;
        let f1 = train(&d, &p, 1);
        let f3 = train(&d, &p, 3);
        assert_eq!(f1.trees, f3.trees);
        assert_eq!(f1.importance, f3.importance);
        assert!(f1.importance[2] < f1.importance[0]);
        // Training accuracy of the averaged probabilities.
        let mut right = 0;
        for i in 0..y.len() {
            let row = [cols[0][i], cols[1][i], cols[2][i]];
            let p1: f64 = f1
                .trees
                .iter()
                .map(|t| t.values(t.leaf(&row))[1])
                .sum::<f64>()
                / 20.0;
            right += usize::from((p1 > 0.5) == (y[i] == 1));
        }
        assert!(right as f64 / y.len() as f64 > 0.98, "{right}");
        // A different seed gives a different forest.
        p.seed = 4;
        assert_ne!(train(&d, &p, 2).trees, f1.trees);
    }

    #[test]
    fn depth_and_leaf_size_limits_hold() {
        let (cols, y) = data(500);
        let binned = Binned::new(&cols, 255, 1);
        let w = vec![1.0; y.len()];
        let d = TrainData {
            binned: &binned,
            columns: &cols,
            y: &y,
            k: 2,
            weight: &w,
        };
        let mut p = Params::new(Algo::Forest);
        p.trees = 5;
        p.max_depth = Some(3);
        p.min_leaf = 20;
        p.bootstrap = false;
        let f = train(&d, &p, 2);
        for t in &f.trees {
            assert!(t.depth() <= 3);
            let mut per_leaf = vec![0usize; t.len()];
            for i in 0..y.len() {
                per_leaf[t.leaf(&[cols[0][i], cols[1][i], cols[2][i]])] += 1;
            }
            for (node, &c) in per_leaf.iter().enumerate() {
                if t.feature[node] == crate::tree::LEAF {
                    assert!(c >= 20, "leaf {node} has {c} rows");
                }
            }
        }
    }
}
