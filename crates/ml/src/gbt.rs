//! Gradient-boosted trees on histograms (the XGBoost/LightGBM "hist" method): each round
//! fits a tree to the gradients and hessians of the loss (logistic for two classes; for
//! more, softmax with one tree per class and round), level by level to `max_depth`, with
//! the histogram of the larger child taken as parent minus smaller child. Splits maximise
//! `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)`, missing values go to the side that gains
//! more, leaves weigh `−G/(H+λ)` times the learning rate.
//!
//! Histograms are built per feature, each by one thread summing rows in a fixed order,
//! and rows and features are drawn from ChaCha8 streams of the seed: the model is the
//! same on any number of threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bins::{Binned, MISSING};
use crate::forest::{normalise, split_threshold, TrainData};
use crate::params::Params;
use crate::tree::Tree;

/// A trained booster: base margins (one per tree group), the trees (round-major: for
/// `m` models per round, tree `t` belongs to model `t % m`) and the total gain per
/// feature (normalised).
pub struct Booster {
    pub base: Vec<f64>,
    pub trees: Vec<Tree>,
    pub importance: Vec<f64>,
}

/// Margins per class → probabilities (`m == 1`: logistic over two classes).
pub fn probabilities(margins: &[f64], out: &mut [f64]) {
    if margins.len() == 1 {
        let p = sigmoid(margins[0]);
        out[0] = 1.0 - p;
        out[1] = p;
    } else {
        let mx = margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for (o, m) in out.iter_mut().zip(margins) {
            *o = (m - mx).exp();
            s += *o;
        }
        for o in out.iter_mut() {
            *o /= s;
        }
    }
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One histogram: per feature and bin, sums of gradients and hessians and a row count.
#[derive(Clone)]
struct Hist {
    g: Vec<f64>,
    h: Vec<f64>,
    c: Vec<u32>,
}

impl Hist {
    fn sub(&self, o: &Hist) -> Hist {
        Hist {
            g: self.g.iter().zip(&o.g).map(|(a, b)| a - b).collect(),
            h: self.h.iter().zip(&o.h).map(|(a, b)| a - b).collect(),
            c: self.c.iter().zip(&o.c).map(|(a, b)| a - b).collect(),
        }
    }
}

fn build_hist(
    b: &Binned,
    feats: &[usize],
    rows: &[u32],
    g: &[f64],
    h: &[f64],
    threads: usize,
) -> Hist {
    let p = b.cols.len();
    let work = rows.len() * feats.len();
    let threads = if work < 200_000 { 1 } else { threads };
    let per: Vec<(Vec<f64>, Vec<f64>, Vec<u32>)> = crate::pool::map(feats.len(), threads, |j| {
        let col = &b.cols[feats[j]];
        let mut hg = vec![0.0; 256];
        let mut hh = vec![0.0; 256];
        let mut hc = vec![0u32; 256];
        for &i in rows {
            let k = col[i as usize] as usize;
            hg[k] += g[i as usize];
            hh[k] += h[i as usize];
            hc[k] += 1;
        }
        (hg, hh, hc)
    });
    let mut out = Hist {
        g: vec![0.0; p * 256],
        h: vec![0.0; p * 256],
        c: vec![0; p * 256],
    };
    for (j, (hg, hh, hc)) in per.into_iter().enumerate() {
        let f = feats[j];
        out.g[f * 256..(f + 1) * 256].copy_from_slice(&hg);
        out.h[f * 256..(f + 1) * 256].copy_from_slice(&hh);
        out.c[f * 256..(f + 1) * 256].copy_from_slice(&hc);
    }
    out
}

struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    missing_left: bool,
}

struct NodeWork {
    node: u32,
    rows: Vec<u32>,
    g: f64,
    h: f64,
    hist: Hist,
}

fn best_split(b: &Binned, feats: &[usize], n: &NodeWork, p: &Params) -> Option<Split> {
    let lambda = p.lambda;
    let parent = n.g * n.g / (n.h + lambda);
    let rows = n.rows.len();
    let min_leaf = p.min_leaf as usize;
    let mut best: Option<Split> = None;
    for &f in feats {
        let nb = b.n_bins(f);
        let base = f * 256;
        let mg = n.hist.g[base + MISSING as usize];
        let mh = n.hist.h[base + MISSING as usize];
        let mc = n.hist.c[base + MISSING as usize] as usize;
        let (mut lg, mut lh, mut lc) = (0.0, 0.0, 0usize);
        for bin in 0..nb {
            if bin + 1 == nb && mc == 0 {
                break;
            }
            lg += n.hist.g[base + bin];
            lh += n.hist.h[base + bin];
            lc += n.hist.c[base + bin] as usize;
            if n.hist.c[base + bin] == 0 {
                continue;
            }
            for missing_left in [false, true] {
                if missing_left && (mc == 0 || bin + 1 == nb) {
                    continue;
                }
                let (gl, hl, cl) = if missing_left {
                    (lg + mg, lh + mh, lc + mc)
                } else {
                    (lg, lh, lc)
                };
                let (gr, hr, cr) = (n.g - gl, n.h - hl, rows - cl);
                if cl < min_leaf
                    || cr < min_leaf
                    || hl < p.min_child_weight
                    || hr < p.min_child_weight
                {
                    continue;
                }
                let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent;
                if gain > 1e-9 && best.as_ref().is_none_or(|s| gain > s.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin,
                        missing_left,
                    });
                }
            }
        }
    }
    best
}

fn leaf_weight(g: f64, h: f64, p: &Params) -> f64 {
    -g / (h + p.lambda) * p.learning_rate
}

/// Grows one tree on `rows` with gradients `g`, hessians `h`.
fn grow(
    d: &TrainData<'_>,
    feats: &[usize],
    rows: Vec<u32>,
    (g, h): (&[f64], &[f64]),
    p: &Params,
    threads: usize,
    importance: &mut [f64],
) -> Tree {
    let b = d.binned;
    let mut tree = Tree::new(1);
    let (sg, sh) = rows.iter().fold((0.0, 0.0), |(a, c), &i| {
        (a + g[i as usize], c + h[i as usize])
    });
    let root = tree.push(&[leaf_weight(sg, sh, p)]);
    let hist = build_hist(b, feats, &rows, g, h, threads);
    let mut level = vec![NodeWork {
        node: root,
        rows,
        g: sg,
        h: sh,
        hist,
    }];
    let max_depth = p.max_depth.unwrap_or(u32::MAX);
    let mut depth = 0u32;
    while !level.is_empty() && depth < max_depth {
        let mut next = Vec::new();
        for n in level {
            let Some(s) = best_split(b, feats, &n, p) else {
                continue;
            };
            importance[s.feature] += s.gain / 2.0;
            let col = &b.cols[s.feature];
            let (lr, rr): (Vec<u32>, Vec<u32>) = n.rows.iter().partition(|&&i| {
                let v = col[i as usize];
                if v == MISSING {
                    s.missing_left
                } else {
                    v as usize <= s.bin
                }
            });
            let sum = |r: &[u32]| {
                r.iter().fold((0.0, 0.0), |(a, c), &i| {
                    (a + g[i as usize], c + h[i as usize])
                })
            };
            let (lg, lh) = sum(&lr);
            let (rg, rh) = sum(&rr);
            let l = tree.push(&[leaf_weight(lg, lh, p)]);
            let r = tree.push(&[leaf_weight(rg, rh, p)]);
            tree.split(
                n.node,
                s.feature as u32,
                split_threshold(&b.cuts[s.feature], s.bin),
                s.missing_left,
                l,
                r,
            );
            if depth + 1 >= max_depth {
                continue;
            }
            let (lh_, rh_) = if lr.len() <= rr.len() {
                let small = build_hist(b, feats, &lr, g, h, threads);
                let large = n.hist.sub(&small);
                (small, large)
            } else {
                let small = build_hist(b, feats, &rr, g, h, threads);
                let large = n.hist.sub(&small);
                (large, small)
            };
            next.push(NodeWork {
                node: l,
                rows: lr,
                g: lg,
                h: lh,
                hist: lh_,
            });
            next.push(NodeWork {
                node: r,
                rows: rr,
                g: rg,
                h: rh,
                hist: rh_,
            });
        }
        level = next;
        depth += 1;
    }
    tree
}

/// Trains a booster.
pub fn train(d: &TrainData<'_>, p: &Params, threads: usize) -> Booster {
    let n = d.binned.rows;
    let k = d.k;
    let m = if k == 2 { 1 } else { k };
    let n_features = d.binned.cols.len();
    // Base margins from the weighted class shares.
    let mut share = vec![0.0; k];
    for i in 0..n {
        share[d.y[i] as usize] += d.weight[i];
    }
    let total: f64 = share.iter().sum();
    let base: Vec<f64> = if m == 1 {
        let q = (share[1] / total).clamp(1e-6, 1.0 - 1e-6);
        vec![(q / (1.0 - q)).ln()]
    } else {
        share
            .iter()
            .map(|s| (s / total).clamp(1e-6, 1.0).ln())
            .collect()
    };
    let mut margin: Vec<f64> = (0..n).flat_map(|_| base.iter().copied()).collect();
    let mut trees = Vec::with_capacity(p.trees as usize * m);
    let mut importance = vec![0.0; n_features];
    let mut g = vec![0.0; n];
    let mut h = vec![0.0; n];
    let mut prob = vec![0.0; k];
    let n_cols = ((p.colsample * n_features as f64).round() as usize).clamp(1, n_features);
    for round in 0..p.trees as u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        rng.set_stream(round);
        let rows: Vec<u32> = if p.subsample < 1.0 {
            (0..n as u32)
                .filter(|_| rng.gen::<f64>() < p.subsample)
                .collect()
        } else {
            (0..n as u32).collect()
        };
        for model in 0..m {
            let mut feats: Vec<usize> = (0..n_features).collect();
            if n_cols < n_features {
                for j in 0..n_cols {
                    let s = rng.gen_range(j..n_features);
                    feats.swap(j, s);
                }
                feats.truncate(n_cols);
                feats.sort_unstable();
            }
            for i in 0..n {
                let w = d.weight[i];
                let yi = d.y[i] as usize;
                if m == 1 {
                    let q = sigmoid(margin[i]);
                    g[i] = (q - f64::from(u8::from(yi == 1))) * w;
                    h[i] = (q * (1.0 - q)).max(1e-16) * w;
                } else {
                    probabilities(&margin[i * m..(i + 1) * m], &mut prob);
                    let q = prob[model];
                    g[i] = (q - f64::from(u8::from(yi == model))) * w;
                    h[i] = (q * (1.0 - q)).max(1e-16) * w;
                }
            }
            let tree = grow(
                d,
                &feats,
                rows.clone(),
                (&g, &h),
                p,
                threads,
                &mut importance,
            );
            // Softmax gradients of the later classes of this round use the margins from
            // before the round, as XGBoost does.
            trees.push(tree);
        }
        // Update every row's margins with this round's trees.
        let start = trees.len() - m;
        for i in 0..n {
            for (model, t) in trees[start..].iter().enumerate() {
                let leaf = t.leaf_by(|f| d.columns[f][i]);
                margin[i * m + model] += t.values(leaf)[0];
            }
        }
    }
    normalise(&mut importance);
    Booster {
        base,
        trees,
        importance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Algo;

    #[test]
    fn boosting_fits_a_three_class_rule_identically_on_any_thread_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 3000;
        let mut cols = vec![Vec::new(), Vec::new()];
        let mut y = Vec::new();
        for _ in 0..n {
            let a: f64 = rng.gen();
            let b: f64 = if rng.gen_bool(0.1) {
                f64::NAN
            } else {
                rng.gen()
            };
            cols[0].push(a);
            cols[1].push(b);
            y.push(if a < 0.3 {
                0
            } else if b.is_nan() || b < 0.5 {
                1
            } else {
                2
            });
        }
        let binned = Binned::new(&cols, 255, 1);
        let w = vec![1.0; n];
        let d = TrainData {
            binned: &binned,
            columns: &cols,
            y: &y,
            k: 3,
            weight: &w,
        };
        let mut p = Params::new(Algo::Gbt);
        p.trees = 30;
        p.max_depth = Some(3);
        p.subsample = 0.8;
        p.colsample = 1.0;
        let a = train(&d, &p, 1);
        let b = train(&d, &p, 4);
        assert_eq!(a.trees, b.trees);
        assert_eq!(a.trees.len(), 90);
        let mut right = 0;
        let mut prob = vec![0.0; 3];
        for i in 0..n {
            let mut mg = a.base.clone();
            for (t, tree) in a.trees.iter().enumerate() {
                mg[t % 3] += tree.values(tree.leaf(&[cols[0][i], cols[1][i]]))[0];
            }
            probabilities(&mg, &mut prob);
            let pred = (0..3).max_by(|&x, &z| prob[x].total_cmp(&prob[z])).unwrap();
            right += usize::from(pred == y[i] as usize);
        }
        assert!(right as f64 / n as f64 > 0.98, "{right}");
    }

    #[test]
    fn binary_boosting_improves_the_loss_each_round() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 1000;
        let x: Vec<f64> = (0..n).map(|_| rng.gen()).collect();
        let y: Vec<u32> = x.iter().map(|&v| u32::from(rng.gen::<f64>() < v)).collect();
        let cols = vec![x];
        let binned = Binned::new(&cols, 64, 1);
        let w = vec![1.0; n];
        let d = TrainData {
            binned: &binned,
            columns: &cols,
            y: &y,
            k: 2,
            weight: &w,
        };
        let mut p = Params::new(Algo::Gbt);
        p.max_depth = Some(2);
        let loss = |rounds: u32| {
            let mut q = p.clone();
            q.trees = rounds;
            let bst = train(&d, &q, 1);
            (0..n)
                .map(|i| {
                    let m: f64 = bst.base[0]
                        + bst
                            .trees
                            .iter()
                            .map(|t| t.values(t.leaf(&[cols[0][i]]))[0])
                            .sum::<f64>();
                    let q = sigmoid(m);
                    if y[i] == 1 {
                        -q.ln()
                    } else {
                        -(1.0 - q).ln()
                    }
                })
                .sum::<f64>()
        };
        let (l1, l5, l20) = (loss(1), loss(5), loss(20));
        assert!(l1 > l5 && l5 > l20, "{l1} {l5} {l20}");
    }
}
