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
//! edges contribute nothing. The GNN models (SGCN-style signed convolutions) are meant
//! to beat this baseline.

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

fn table(rows: Vec<Vec<f64>>, labels: Vec<Option<String>>) -> FeatureTable {
    let n = rows.len();
    let mut columns = vec![Vec::with_capacity(n); FEATURES.len()];
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
        names: FEATURES.iter().map(|s| s.to_string()).collect(),
        columns,
        labels,
        aux: Vec::new(),
        lake: None,
    }
}

/// One run: split with `seed`, train `params` (its seed is set to `seed`), score.
pub fn run(
    el: &EdgeList,
    test_fraction: f64,
    seed: u64,
    params: &ledgerflow_ml::Params,
    threads: usize,
) -> Result<SignMetrics, String> {
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
    let n = el.nodes.len();
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
    let lab = |e: usize| Some(if sign[e] > 0 { "+" } else { "-" }.to_string());
    let tr = table(
        train
            .iter()
            .map(|&e| features(el, sign, &counts, &nbrs, e, true))
            .collect(),
        train.iter().map(|&e| lab(e)).collect(),
    );
    let te = table(
        test.iter()
            .map(|&e| features(el, sign, &counts, &nbrs, e, false))
            .collect(),
        test.iter().map(|&e| lab(e)).collect(),
    );
    let mut p = params.clone();
    p.seed = seed;
    let model =
        ledgerflow_ml::model::train(&tr, "label", &p, threads).map_err(|e| e.to_string())?;
    let probs = model.predict_proba(&te, threads);
    let classes = model.classes.clone();
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
    let report = ledgerflow_ml::metrics::evaluate(&y, &probs, &classes, pos);
    let positives = test.iter().filter(|&&e| sign[e] > 0).count();
    Ok(SignMetrics {
        seed,
        train_edges: train.len(),
        test_edges: test.len(),
        auc: report.roc_auc.unwrap_or(f64::NAN),
        f1_macro: report.macro_f1,
        positive_share: positives as f64 / test.len() as f64,
    })
}
