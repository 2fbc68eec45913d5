//! Edge-sign prediction on signed trust networks (Bitcoin-OTC, Bitcoin-Alpha) with the
//! protocol of the signed-GNN literature: a seeded 80/20 split of the edges, the signs of
//! the held-out fifth predicted from the rest, AUC and macro-F1 reported.
//!
//! This is the **degree-feature baseline** (Leskovec, Huttenlocher & Kleinberg, "Predicting
//! positive and negative links", 2010) with ledgerflow's gradient-boosted trees: each edge
//! `u → v` is described by what the training edges say about its two ends — `u`'s
//! positive and negative out-degrees and the mean rating it gives, `v`'s positive and
//! negative in-degrees and the mean rating it receives, the same for the reverse roles,
//! and how many neighbours the two share. A training edge's own sign and rating are taken
//! out of its features (leave-one-out), so the trees never see the answer; the held-out
//! edges contribute nothing.
//!
//! [`SignModel::Balance`] adds one **signed convolution** in the manner of SGCN (Derr,
//! Ma & Tang 2018), without learned aggregation weights (as SGC simplifies GCN): every
//! node's input vector `h` (its log signed in/out degrees and positive shares over the
//! training edges) is averaged over each of its four neighbourhoods — those it trusts,
//! distrusts, is trusted by, is distrusted by — and the edge is described by both ends'
//! four means (balance theory reads a friend's friends and an enemy's enemies apart from
//! the rest; the trees learn how). Leave-one-out holds here too: a training edge
//! `u → v` is taken out of `u`'s and `v`'s neighbourhoods when its own features are
//! computed (no other node's `h` involves it), so what the trees see for a training edge
//! is what they would see for an unseen one.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashSet;
use serde::Serialize;

use ledgerflow_ml::table::{FeatureTable, TableSource};

use crate::edges::EdgeList;

/// The per-edge feature names, in column order.
pub const FEATURES: [&str; 13] = [
    "src_out_pos",
    "src_out_neg",
    "src_out_mean_rating",
    "src_in_pos",
    "src_in_neg",
    "dst_in_pos",
    "dst_in_neg",
    "dst_in_mean_rating",
    "dst_out_pos",
    "dst_out_neg",
    "common_neighbours",
    "src_out_pos_share",
    "dst_in_pos_share",
];

/// The per-node input of the signed convolution.
const NODE_INPUT: [&str; 6] = [
    "ln_out_pos",
    "ln_out_neg",
    "ln_in_pos",
    "ln_in_neg",
    "out_pos_share",
    "in_pos_share",
];

/// The four neighbourhoods of the signed convolution.
const HOODS: [&str; 4] = ["trusts", "distrusts", "trusted_by", "distrusted_by"];

/// Which edge description the trees learn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignModel {
    /// Signed degrees, mean ratings, common neighbours.
    Degrees,
    /// The degrees plus one signed convolution (both ends' four neighbourhood means).
    Balance,
}

impl SignModel {
    /// The feature names of an edge, in column order.
    pub fn features(self) -> Vec<String> {
        let mut v: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
        if self == SignModel::Balance {
            for end in ["src", "dst"] {
                for h in HOODS {
                    for f in NODE_INPUT {
                        v.push(format!("{end}_{h}_{f}"));
                    }
                }
            }
        }
        v
    }

    /// The name the metrics carry.
    pub fn name(self) -> &'static str {
        match self {
            SignModel::Degrees => "degree-features+gbt",
            SignModel::Balance => "signed-conv+degree-features+gbt",
        }
    }
}

/// The signed convolution's input vector of a node with these counts.
fn node_input(c: &Counts) -> [f64; 6] {
    let share = |p: f64, n: f64| (p + 1.0) / (p + n + 2.0);
    [
        c.out_pos.ln_1p(),
        c.out_neg.ln_1p(),
        c.in_pos.ln_1p(),
        c.in_neg.ln_1p(),
        share(c.out_pos, c.out_neg),
        share(c.in_pos, c.in_neg),
    ]
}

/// Each node's four neighbourhood sums of `h` and their sizes, over the training edges.
struct Hoods<'a> {
    counts: &'a [Counts],
    h: Vec<[f64; 6]>,
    /// node → hood → (sum of h, count)
    sum: Vec<[([f64; 6], f64); 4]>,
    /// The training edges' signs by (source, target).
    pairs: rustc_hash::FxHashMap<(u32, u32), i8>,
}

impl<'a> Hoods<'a> {
    fn new(el: &EdgeList, sign: &[i8], counts: &'a [Counts], train: &[usize]) -> Hoods<'a> {
        let h: Vec<[f64; 6]> = counts.iter().map(node_input).collect();
        let mut sum = vec![[([0.0; 6], 0.0); 4]; counts.len()];
        let mut pairs = rustc_hash::FxHashMap::default();
        for &e in train {
            let (u, v) = (el.src[e] as usize, el.dst[e] as usize);
            let (hu, hv) = if sign[e] > 0 { (0, 2) } else { (1, 3) };
            add(&mut sum[u][hu], &h[v], 1.0);
            add(&mut sum[v][hv], &h[u], 1.0);
            pairs.insert((el.src[e], el.dst[e]), sign[e]);
        }
        Hoods {
            counts,
            h,
            sum,
            pairs,
        }
    }

    /// Both ends' four means (zeros for an empty neighbourhood); `own`: the edge is a
    /// training edge, taken out: out of the two neighbourhoods it is in, and out of the
    /// two ends' inputs where a reverse edge `v → u` puts them in each other's
    /// neighbourhoods.
    fn features(&self, el: &EdgeList, sign: &[i8], e: usize, own: bool, out: &mut Vec<f64>) {
        let (u, v) = (el.src[e] as usize, el.dst[e] as usize);
        let mut sums = [self.sum[u], self.sum[v]];
        if own {
            let pos = sign[e] > 0;
            add(&mut sums[0][if pos { 0 } else { 1 }], &self.h[v], -1.0);
            add(&mut sums[1][if pos { 2 } else { 3 }], &self.h[u], -1.0);
            if let Some(&rs) = self.pairs.get(&(el.dst[e], el.src[e])) {
                // v → u: u sits in v's out-hood and v in u's in-hood with inputs that
                // count e; swap in the inputs without it
                let (mut cu, mut cv) = (self.counts[u], self.counts[v]);
                if pos {
                    cu.out_pos -= 1.0;
                    cv.in_pos -= 1.0;
                } else {
                    cu.out_neg -= 1.0;
                    cv.in_neg -= 1.0;
                }
                let (hv_out, hu_in) = if rs > 0 { (0, 2) } else { (1, 3) };
                let t = &mut sums[1][hv_out];
                add(t, &self.h[u], -1.0);
                add(t, &node_input(&cu), 1.0);
                let t = &mut sums[0][hu_in];
                add(t, &self.h[v], -1.0);
                add(t, &node_input(&cv), 1.0);
            }
        }
        for hoods in &sums {
            for t in hoods {
                for f in 0..6 {
                    out.push(if t.1 > 0.5 { t.0[f] / t.1 } else { 0.0 });
                }
            }
        }
    }
}

fn add(t: &mut ([f64; 6], f64), h: &[f64; 6], w: f64) {
    for (a, b) in t.0.iter_mut().zip(h) {
        *a += w * b;
    }
    t.1 += w;
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignMetrics {
    pub seed: u64,
    pub train_edges: usize,
    pub test_edges: usize,
    pub auc: f64,
    pub f1_macro: f64,
    /// Share of positive edges among the test edges (what always guessing `+` scores).
    pub positive_share: f64,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    out_pos: f64,
    out_neg: f64,
    out_rating: f64,
    in_pos: f64,
    in_neg: f64,
    in_rating: f64,
}

/// Per-edge features from the `train` edges' counts; `own`: leave the edge's own sign
/// and rating out (it is one of the training edges).
fn features(
    el: &EdgeList,
    sign: &[i8],
    counts: &[Counts],
    nbrs: &[FxHashSet<u32>],
    e: usize,
    own: bool,
) -> Vec<f64> {
    let (u, v) = (el.src[e] as usize, el.dst[e] as usize);
    let mut cu = counts[u];
    let mut cv = counts[v];
    if own {
        let w = el.weight[e];
        if sign[e] > 0 {
            cu.out_pos -= 1.0;
            cv.in_pos -= 1.0;
        } else {
            cu.out_neg -= 1.0;
            cv.in_neg -= 1.0;
        }
        cu.out_rating -= w;
        cv.in_rating -= w;
    }
    let mean = |sum: f64, n: f64| if n > 0.0 { sum / n } else { f64::NAN };
    let share = |p: f64, n: f64| (p + 1.0) / (p + n + 2.0);
    let (small, large) = if nbrs[u].len() < nbrs[v].len() {
        (&nbrs[u], &nbrs[v])
    } else {
        (&nbrs[v], &nbrs[u])
    };
    let common = small
        .iter()
        .filter(|x| large.contains(x) && **x as usize != u && **x as usize != v)
        .count() as f64;
    vec![
        cu.out_pos,
        cu.out_neg,
        mean(cu.out_rating, cu.out_pos + cu.out_neg),
        cu.in_pos,
        cu.in_neg,
        cv.in_pos,
        cv.in_neg,
        mean(cv.in_rating, cv.in_pos + cv.in_neg),
        cv.out_pos,
        cv.out_neg,
        common,
        share(cu.out_pos, cu.out_neg),
        share(cv.in_pos, cv.in_neg),
    ]
}

fn table(rows: Vec<Vec<f64>>, labels: Vec<Option<String>>, names: &[String]) -> FeatureTable {
    let n = rows.len();
    let mut columns = vec![Vec::with_capacity(n); names.len()];
    for r in rows {
        for (c, v) in columns.iter_mut().zip(r) {
            c.push(v);
        }
    }
    FeatureTable {
        source: TableSource {
            path: "edges".into(),
            format: "memory".into(),
            bytes: 0,
            sha256: String::new(),
        },
        ids: (0..n).map(|i| i.to_string()).collect(),
        names: names.to_vec(),
        columns,
        labels,
        aux: Vec::new(),
        lake: None,
    }
}

/// Each node's signed degrees and rating sums, and its neighbours, over the `train` edges.
fn tally(
    el: &EdgeList,
    sign: &[i8],
    n: usize,
    train: &[usize],
) -> (Vec<Counts>, Vec<FxHashSet<u32>>) {
    let mut counts = vec![Counts::default(); n];
    let mut nbrs: Vec<FxHashSet<u32>> = vec![FxHashSet::default(); n];
    for &e in train {
        let (u, v) = (el.src[e] as usize, el.dst[e] as usize);
        let w = el.weight[e];
        if sign[e] > 0 {
            counts[u].out_pos += 1.0;
            counts[v].in_pos += 1.0;
        } else {
            counts[u].out_neg += 1.0;
            counts[v].in_neg += 1.0;
        }
        counts[u].out_rating += w;
        counts[v].in_rating += w;
        nbrs[u].insert(v as u32);
        nbrs[v].insert(u as u32);
    }
    (counts, nbrs)
}

/// The edges' signs, the test edges and the training edges.
type Split<'a> = (&'a [i8], Vec<usize>, Vec<usize>);

/// The edges' signs and the seeded 80/20 (`test_fraction`) split.
fn split(el: &EdgeList, test_fraction: f64, seed: u64) -> Result<Split<'_>, String> {
    let sign = el
        .sign
        .as_ref()
        .ok_or("sign prediction needs signs: a sign column, or weights read with --signed")?;
    let m = el.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_test = ((m as f64) * test_fraction).round() as usize;
    let (test, train) = order.split_at(n_test);
    if train.is_empty() || test.is_empty() {
        return Err(format!("{m} edges leave nothing to train or test on"));
    }
    Ok((sign, test.to_vec(), train.to_vec()))
}

/// AUC and macro-F1 of the test edges' class probabilities (`probs`, row-major over
/// `classes`, `+` and `-`).
fn metrics(
    sign: &[i8],
    seed: u64,
    train_edges: usize,
    test: &[usize],
    probs: &[f64],
    classes: &[String],
) -> Result<SignMetrics, String> {
    let pos = classes
        .iter()
        .position(|c| c == "+")
        .ok_or("no positive edge among the training edges")?;
    let y: Vec<u32> = test
        .iter()
        .map(|&e| {
            let c = if sign[e] > 0 { "+" } else { "-" };
            classes.iter().position(|x| x == c).unwrap_or(0) as u32
        })
        .collect();
    let report = ledgerflow_ml::metrics::evaluate(&y, probs, classes, pos);
    let positives = test.iter().filter(|&&e| sign[e] > 0).count();
    Ok(SignMetrics {
        seed,
        train_edges,
        test_edges: test.len(),
        auc: report.roc_auc.unwrap_or(f64::NAN),
        f1_macro: report.macro_f1,
        positive_share: positives as f64 / test.len() as f64,
    })
}

/// One run of the trained signed GNN ([`crate::sgcn`]): the same split as [`run`], the
/// SGCN trained on the training edges (`o.seed` set to `seed`), the held-out signs
/// predicted with every training edge carrying messages.
pub fn run_sgcn(
    el: &EdgeList,
    test_fraction: f64,
    seed: u64,
    o: &crate::sgcn::SgcnOptions,
) -> Result<SignMetrics, String> {
    let (sign, test, train) = split(el, test_fraction, seed)?;
    let edge = |e: usize| (el.src[e], el.dst[e], sign[e] > 0);
    let tr: Vec<crate::sgcn::SignedEdge> = train.iter().map(|&e| edge(e)).collect();
    let n = el.nodes.len();
    let t = crate::sgcn::train(n, &tr, &crate::sgcn::SgcnOptions { seed, ..o.clone() })?;
    let g = crate::sgcn::SignedGraph::new(n, &tr);
    let pairs: Vec<(u32, u32)> = test.iter().map(|&e| (el.src[e], el.dst[e])).collect();
    let probs: Vec<f64> = t
        .model
        .predict(&g, &pairs)
        .into_iter()
        .flat_map(|p| [p, 1.0 - p])
        .collect();
    metrics(
        sign,
        seed,
        train.len(),
        &test,
        &probs,
        &["+".into(), "-".into()],
    )
}

/// One run: split with `seed`, describe the edges as `model` says, train `params` (its
/// seed is set to `seed`), score.
pub fn run(
    el: &EdgeList,
    test_fraction: f64,
    seed: u64,
    params: &ledgerflow_ml::Params,
    threads: usize,
    model: SignModel,
) -> Result<SignMetrics, String> {
    let (sign, test, train) = split(el, test_fraction, seed)?;
    let (test, train) = (&test[..], &train[..]);
    let n = el.nodes.len();
    let (counts, nbrs) = tally(el, sign, n, train);
    let lab = |e: usize| Some(if sign[e] > 0 { "+" } else { "-" }.to_string());
    let hoods = (model == SignModel::Balance).then(|| Hoods::new(el, sign, &counts, train));
    let describe = |e: usize, own: bool| {
        let mut f = features(el, sign, &counts, &nbrs, e, own);
        if let Some(h) = &hoods {
            h.features(el, sign, e, own, &mut f);
        }
        f
    };
    let names = model.features();
    let tr = table(
        train.iter().map(|&e| describe(e, true)).collect(),
        train.iter().map(|&e| lab(e)).collect(),
        &names,
    );
    let te = table(
        test.iter().map(|&e| describe(e, false)).collect(),
        test.iter().map(|&e| lab(e)).collect(),
        &names,
    );
    let mut p = params.clone();
    p.seed = seed;
    let model =
        ledgerflow_ml::model::train(&tr, "label", &p, threads).map_err(|e| e.to_string())?;
    let probs = model.predict_proba(&te, threads);
    metrics(sign, seed, train.len(), test, &probs, &model.classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leave-one-out: a training edge's features equal those it gets as an unseen edge
    /// of the graph without it (degrees, common neighbours and the signed convolution).
    #[test]
    fn a_training_edge_looks_like_an_unseen_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let n = 30u32;
        let mut el = EdgeList {
            nodes: (0..n).map(|i| i.to_string()).collect(),
            ..EdgeList::default()
        };
        let mut sign = Vec::new();
        let mut seen = FxHashSet::default();
        while el.src.len() < 150 {
            let (u, v) = (
                rand::Rng::gen_range(&mut rng, 0..n),
                rand::Rng::gen_range(&mut rng, 0..n),
            );
            if u == v || !seen.insert((u, v)) {
                continue;
            }
            let s: i8 = if rand::Rng::gen_bool(&mut rng, 0.8) {
                1
            } else {
                -1
            };
            el.src.push(u);
            el.dst.push(v);
            el.weight.push(f64::from(s) * 3.0);
            sign.push(s);
        }
        // reverse edges of two of the checked ones (each end then sits in the other's
        // neighbourhoods through a second edge)
        for (e, s) in [(0usize, -1i8), (7, 1)] {
            let (u, v) = (el.src[e], el.dst[e]);
            if seen.insert((v, u)) {
                el.src.push(v);
                el.dst.push(u);
                el.weight.push(f64::from(s));
                sign.push(s);
            }
        }
        let build = |train: &[usize]| tally(&el, &sign, n as usize, train);
        let all: Vec<usize> = (0..el.len()).collect();
        let (counts, nbrs) = build(&all);
        let hoods = Hoods::new(&el, &sign, &counts, &all);
        for e in [0, 7, 42, 149, el.len() - 1] {
            let mut own = features(&el, &sign, &counts, &nbrs, e, true);
            hoods.features(&el, &sign, e, true, &mut own);
            let rest: Vec<usize> = all.iter().copied().filter(|&x| x != e).collect();
            let (c2, n2) = build(&rest);
            // the pair's only edge is e, so the unseen version lacks it in `nbrs` too
            let mut unseen = features(&el, &sign, &c2, &n2, e, false);
            Hoods::new(&el, &sign, &c2, &rest).features(&el, &sign, e, false, &mut unseen);
            assert_eq!(own.len(), SignModel::Balance.features().len());
            // the common-neighbour count is the one column that keeps the pair itself
            for (k, (a, b)) in own.iter().zip(&unseen).enumerate() {
                if k == 10 {
                    continue;
                }
                let same = (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-9;
                assert!(
                    same,
                    "edge {e} column {k} ({}): {a} vs {b}",
                    SignModel::Balance.features()[k]
                );
            }
        }
    }
}
