//! `ledgerflow gnn train --task link`: which links will appear. A graph auto-encoder
//! (Kipf & Welling's GAE: a two-layer GCN encoder over the training links, inner-product
//! decoder `σ(z_u · z_v)`) trained with negative sampling, and the Adamic-Adar index on
//! the same training links as the baseline every result is printed beside.
//!
//! Links are the graph's distinct node pairs, taken as undirected, each with the time of
//! its first edge. Splits:
//! - **random**: the pairs shuffled with the seed: `test_fraction` held out for the
//!   test, `val_fraction` for early stopping (validation AUC), the rest to train on.
//! - **time**: the pairs in time order: the last `test_fraction` are the test (links
//!   that first appear in the future), the `val_fraction` before them validate, the
//!   past trains. Only the training links carry messages, in both splits.
//!
//! Metrics on the test links: ROC-AUC and average precision against as many sampled
//! non-links; MRR and Hits@k ranking each test link `(u, v)` among `negatives` pairs
//! `(u, w)` that are not links (ties share their ranks). With the time split and
//! `windows > 0` the test period is also cut into that many windows of equal link
//! counts, and in each window every node that gains a link ranks all other nodes it is
//! not yet linked to (EvolveGCN's all-candidates protocol): MAP is the mean over windows
//! of the average precision of the window's whole candidate list, MRR the mean over
//! windows of the mean over its nodes of the reciprocal rank of the node's first true
//! new link. The model is trained once on the past (not retrained per window).
//!
//! Without a node table the inputs are `log(1 + degree)` over the training links
//! (standardised) and `random_features` seeded uniform features of unit variance. With
//! `learned_features > 0` each node also gets that many free input features learned
//! with the encoder (the featureless GAE's identity input, without an `n × n` matrix):
//! `dX = Â dP W1ᵀ`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::adj::{key, Csr, NormAdj};
use crate::dense::Mat;
use crate::edges::EdgeList;
use crate::gcn::{dropout_mask, Gcn};
use crate::train::{Adam, EarlyStop, TrainOptions};

/// How the links are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    Random,
    Time,
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkOptions {
    /// Hidden width, epochs, learning rate, weight decay, dropout, patience, seed.
    pub train: TrainOptions,
    /// Embedding width (the encoder's output).
    pub dim: usize,
    pub split: SplitKind,
    pub test_fraction: f64,
    pub val_fraction: f64,
    /// Sampled non-links each test link is ranked against (MRR, Hits@k).
    pub negatives: usize,
    /// Random input features when there is no node table.
    pub random_features: usize,
    /// Learned input features per node (a free embedding the encoder smooths over the
    /// graph, trained with it; the featureless GAE's identity input, in `n × this`).
    pub learned_features: usize,
    /// Time split: test windows for the all-candidates MAP and MRR (0: none).
    pub windows: usize,
    /// With windows: score each window with every link before it observed (the
    /// validation links and the earlier windows carry messages and feed Adamic-Adar, and
    /// pairs already linked are no candidates), the model trained once (not retrained).
    pub rolling: bool,
    /// Time split: EvolveGCN's snapshot protocol with steps of this length (the time
    /// column's unit; 0: off) ([`crate::snapshot`]). The test and validation fractions
    /// then count steps (the last `test_fraction` of the steps are the test, as in
    /// EvolveGCN's splitter), and the links first seen in the test steps are the test
    /// links of the other metrics.
    pub snapshot: i64,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            train: TrainOptions {
                epochs: 200,
                dropout: 0.0,
                weight_decay: 0.0,
                hidden: 32,
                ..TrainOptions::default()
            },
            dim: 16,
            split: SplitKind::Random,
            test_fraction: 0.1,
            val_fraction: 0.05,
            negatives: 100,
            random_features: 0,
            learned_features: 32,
            windows: 0,
            rolling: false,
            snapshot: 0,
        }
    }
}

/// One scorer's test metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkMetrics {
    pub auc: f64,
    pub ap: f64,
    pub mrr: f64,
    pub hits_at_1: f64,
    pub hits_at_10: f64,
    pub hits_at_50: f64,
    /// All-candidates MAP over the test windows (time split with windows).
    pub window_map: Option<f64>,
    /// All-candidates MRR over the test windows.
    pub window_mrr: Option<f64>,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkRun {
    pub nodes: usize,
    pub links: usize,
    pub train_links: usize,
    pub val_links: usize,
    pub test_links: usize,
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// (training loss, validation AUC) per epoch.
    pub history: Vec<(f64, f64)>,
    pub gae: LinkMetrics,
    pub adamic_adar: LinkMetrics,
    /// EvolveGCN's snapshot protocol (`LinkOptions::snapshot`).
    pub snapshots: Option<crate::snapshot::SnapshotReport>,
    /// The trained encoder (its output rows are the node embeddings).
    #[serde(skip)]
    pub encoder: Gcn,
    #[serde(skip)]
    pub embedding: Mat,
}

/// The split stream's salt (kept apart from the training stream of the same seed).
const SPLIT_SALT: u64 = 0x5eed_11c0_0000_0002;
/// The evaluation negatives' salt.
const EVAL_SALT: u64 = 0x5eed_e7a1_0000_0003;

/// The distinct undirected pairs with the time of their first edge.
fn pairs(el: &EdgeList) -> Vec<(u32, u32, i64)> {
    let mut first: rustc_hash::FxHashMap<u64, i64> = Default::default();
    for i in 0..el.len() {
        let (a, b) = (el.src[i], el.dst[i]);
        if a == b {
            continue;
        }
        let t = el.time.as_ref().map_or(0, |t| t[i]);
        first
            .entry(key(a, b))
            .and_modify(|x| *x = (*x).min(t))
            .or_insert(t);
    }
    let mut out: Vec<(u32, u32, i64)> = first
        .into_iter()
        .map(|(k, t)| ((k >> 32) as u32, k as u32, t))
        .collect();
    out.sort_unstable();
    out
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A uniformly drawn pair that is not in `known` (nor a self-pair).
pub(crate) fn non_link(n: usize, known: &FxHashSet<u64>, rng: &mut ChaCha8Rng) -> (u32, u32) {
    loop {
        let a = rng.gen_range(0..n as u32);
        let b = rng.gen_range(0..n as u32);
        if a != b && !known.contains(&key(a, b)) {
            return (a, b);
        }
    }
}

/// Inputs without a node table (see the module notes).
pub fn structural_features(n: usize, train: &[(u32, u32, i64)], random: usize, seed: u64) -> Mat {
    let mut deg = vec![0.0f64; n];
    for &(a, b, _) in train {
        deg[a as usize] += 1.0;
        deg[b as usize] += 1.0;
    }
    let logd: Vec<f64> = deg.iter().map(|d| d.ln_1p()).collect();
    let mean = logd.iter().sum::<f64>() / n.max(1) as f64;
    let var = logd.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
    let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
    let d = 1 + random;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fea7_0000_0004);
    let a = 3f64.sqrt();
    let mut x = Mat::zeros(n, d);
    for (i, l) in logd.iter().enumerate() {
        let row = x.row_mut(i);
        row[0] = (l - mean) / sd;
        for v in &mut row[1..] {
            *v = rng.gen_range(-a..a);
        }
    }
    x
}

/// Mean binary cross-entropy of pair scores against their truth, and its gradient with
/// respect to the embeddings.
fn bce(z: &Mat, pos: &[(u32, u32)], neg: &[(u32, u32)]) -> (f64, Mat) {
    let mut dz = Mat::zeros(z.rows, z.cols);
    let total = (pos.len() + neg.len()).max(1) as f64;
    let mut loss = 0.0;
    for (set, y) in [(pos, 1.0), (neg, 0.0)] {
        for &(a, b) in set {
            let (a, b) = (a as usize, b as usize);
            let s = dot(z.row(a), z.row(b));
            let p = sigmoid(s);
            loss -= if y > 0.5 {
                p.max(1e-300).ln()
            } else {
                (1.0 - p).max(1e-300).ln()
            };
            let g = (p - y) / total;
            for c in 0..z.cols {
                let (za, zb) = (z.data[a * z.cols + c], z.data[b * z.cols + c]);
                dz.data[a * z.cols + c] += g * zb;
                dz.data[b * z.cols + c] += g * za;
            }
        }
    }
    (loss / total, dz)
}

/// Adamic-Adar scores over an undirected neighbour structure.
struct AdamicAdar {
    adj: Csr,
    weight: Vec<f64>,
}

impl AdamicAdar {
    fn new(adj: Csr) -> Self {
        let weight = crate::snapshot::adamic_adar_weights(&adj);
        AdamicAdar { adj, weight }
    }

    fn score(&self, a: u32, b: u32) -> f64 {
        let mut s = 0.0;
        crate::adj::for_common(
            self.adj.neighbours(a as usize),
            self.adj.neighbours(b as usize),
            |w| s += self.weight[w as usize],
        );
        s
    }
}

/// The rank of `s` among `others` (1 = best; ties share: half of them count above).
fn rank(s: f64, others: &[f64]) -> f64 {
    let above = others.iter().filter(|&&o| o > s).count() as f64;
    let ties = others.iter().filter(|&&o| o == s).count() as f64;
    1.0 + above + ties / 2.0
}

/// The test windows' all-candidates MAP and MRR for one scorer.
fn window_metrics(
    n: usize,
    windows: &[Vec<(u32, u32)>],
    train_known: &FxHashSet<u64>,
    score: &dyn Fn(u32, u32) -> f64,
) -> (f64, f64) {
    let (mut map, mut mrr) = (0.0, 0.0);
    for w in windows {
        let (m, r) = window_ap_rr(n, w, train_known, score);
        map += m;
        mrr += r;
    }
    let k = windows.len().max(1) as f64;
    (map / k, mrr / k)
}

/// One window's average precision over all candidates and mean reciprocal rank.
fn window_ap_rr(
    n: usize,
    w: &[(u32, u32)],
    train_known: &FxHashSet<u64>,
    score: &dyn Fn(u32, u32) -> f64,
) -> (f64, f64) {
    {
        let mut truth_of: rustc_hash::FxHashMap<u32, FxHashSet<u32>> = Default::default();
        for &(a, b) in w {
            truth_of.entry(a).or_default().insert(b);
            truth_of.entry(b).or_default().insert(a);
        }
        let mut sources: Vec<u32> = truth_of.keys().copied().collect();
        sources.sort_unstable();
        let mut scores = Vec::new();
        let mut truth = Vec::new();
        let mut rr = 0.0;
        for &u in &sources {
            let mine = &truth_of[&u];
            let mut best_true = f64::NEG_INFINITY;
            let mut cand = Vec::with_capacity(n);
            for v in 0..n as u32 {
                if v == u || train_known.contains(&key(u, v)) {
                    continue;
                }
                let s = score(u, v);
                let t = mine.contains(&v);
                if t {
                    best_true = best_true.max(s);
                } else {
                    cand.push(s);
                }
                scores.push(s);
                truth.push(t);
            }
            rr += 1.0 / rank(best_true, &cand);
        }
        let ap = ledgerflow_ml::metrics::curves(&scores, &truth)
            .pr_auc
            .unwrap_or(0.0);
        (ap, rr / sources.len().max(1) as f64)
    }
}

/// A scorer of node pairs built for one window.
type PairScore<'a> = Box<dyn Fn(u32, u32) -> f64 + 'a>;

/// Rolling windows (`LinkOptions::rolling`): each window scored over the links observed
/// before it. `score(observed links, window)` gives the window's scorer; returns the
/// mean AP and MRR over the windows.
fn rolling_metrics<'a, F>(
    n: usize,
    windows: &[Vec<(u32, u32)>],
    before: &[(u32, u32)],
    scorer: F,
) -> (f64, f64)
where
    F: Fn(&[(u32, u32)]) -> PairScore<'a>,
{
    let mut observed = before.to_vec();
    let (mut map, mut mrr) = (0.0, 0.0);
    for w in windows {
        let known: FxHashSet<u64> = observed.iter().map(|&(a, b)| key(a, b)).collect();
        let score = scorer(&observed);
        let (m, r) = window_ap_rr(n, w, &known, &*score);
        map += m;
        mrr += r;
        observed.extend_from_slice(w);
    }
    let k = windows.len().max(1) as f64;
    (map / k, mrr / k)
}

/// Everything evaluation needs, fixed before any scorer runs.
struct EvalSet {
    test: Vec<(u32, u32)>,
    test_neg: Vec<(u32, u32)>,
    /// Per test link: its `negatives` partners `w` for `(u, w)`.
    rank_neg: Vec<Vec<u32>>,
    windows: Vec<Vec<(u32, u32)>>,
}

fn evaluate(
    e: &EvalSet,
    n: usize,
    train_known: &FxHashSet<u64>,
    score: &dyn Fn(u32, u32) -> f64,
) -> LinkMetrics {
    let mut s: Vec<f64> = e.test.iter().map(|&(a, b)| score(a, b)).collect();
    let mut truth = vec![true; s.len()];
    s.extend(e.test_neg.iter().map(|&(a, b)| score(a, b)));
    truth.resize(s.len(), false);
    let c = ledgerflow_ml::metrics::curves(&s, &truth);
    let (mut mrr, mut h1, mut h10, mut h50) = (0.0, 0.0, 0.0, 0.0);
    for (&(u, v), ws) in e.test.iter().zip(&e.rank_neg) {
        let others: Vec<f64> = ws.iter().map(|&w| score(u, w)).collect();
        let r = rank(score(u, v), &others);
        mrr += 1.0 / r;
        h1 += f64::from(u8::from(r <= 1.0));
        h10 += f64::from(u8::from(r <= 10.0));
        h50 += f64::from(u8::from(r <= 50.0));
    }
    let t = e.test.len().max(1) as f64;
    let (window_map, window_mrr) = if e.windows.is_empty() {
        (None, None)
    } else {
        let (m, r) = window_metrics(n, &e.windows, train_known, score);
        (Some(m), Some(r))
    };
    LinkMetrics {
        auc: c.roc_auc.unwrap_or(f64::NAN),
        ap: c.pr_auc.unwrap_or(f64::NAN),
        mrr: mrr / t,
        hits_at_1: h1 / t,
        hits_at_10: h10 / t,
        hits_at_50: h50 / t,
        window_map,
        window_mrr,
    }
}

/// A trained encoder and what came of it.
pub(crate) struct Encoded {
    pub(crate) encoder: Gcn,
    /// The inputs it was trained with (given or structural, then learned).
    pub(crate) inputs: Mat,
    pub(crate) embedding: Mat,
    pub(crate) best_epoch: usize,
    pub(crate) epochs_run: usize,
    pub(crate) history: Vec<(f64, f64)>,
}

/// Trains the auto-encoder on `train_p` (messages and positives), negatives sampled
/// outside `train_known`, early stopping on the validation pairs' AUC.
pub(crate) fn train_encoder(
    n: usize,
    train_p: &[(u32, u32)],
    val_p: &[(u32, u32)],
    val_neg: &[(u32, u32)],
    train_known: &FxHashSet<u64>,
    x: &Mat,
    o: &LinkOptions,
) -> Encoded {
    let src: Vec<u32> = train_p.iter().map(|p| p.0).collect();
    let dst: Vec<u32> = train_p.iter().map(|p| p.1).collect();
    let a = NormAdj::new(n, &src, &dst);
    let mut rng = ChaCha8Rng::seed_from_u64(o.train.seed);
    // the inputs: the given or structural features, then the learned ones
    let fixed = x.cols;
    let width = fixed + o.learned_features;
    let mut x_all = Mat::zeros(n, width);
    let scale = 0.1;
    for i in 0..n {
        let row = x_all.row_mut(i);
        row[..fixed].copy_from_slice(x.row(i));
        for v in &mut row[fixed..] {
            *v = rng.gen_range(-scale..scale);
        }
    }
    let mut ax = a.mul(&x_all);
    let mut enc = Gcn::init(width, o.train.hidden, o.dim, &mut rng);
    let n_w1 = enc.w1.data.len();
    let n_enc = enc.params().count();
    let mut adam = Adam::new(n_enc + n * o.learned_features);
    let mut stop = EarlyStop::new(&(enc.clone(), x_all.clone()), o.train.patience);
    let mut epochs_run = 0;
    for epoch in 0..o.train.epochs {
        epochs_run = epoch + 1;
        let drop = (o.train.dropout > 0.0)
            .then(|| dropout_mask(n * o.train.hidden, o.train.dropout, &mut rng));
        let f = enc.forward(&a, &ax, drop.as_deref());
        let neg: Vec<(u32, u32)> = (0..train_p.len())
            .map(|_| non_link(n, train_known, &mut rng))
            .collect();
        let (loss, dz) = bce(&f.z, train_p, &neg);
        let (g, dax) = enc.backward_full(&a, &ax, drop.as_deref(), &f, &dz);
        let mut grads: Vec<f64> = g.params().copied().collect();
        let dx = a.mul(&dax);
        for i in 0..n {
            grads.extend_from_slice(&dx.row(i)[fixed..]);
        }
        let learned = x_all
            .data
            .chunks_mut(width)
            .flat_map(|row| row[fixed..].iter_mut());
        adam.step_params(
            enc.params_mut().chain(learned),
            n_w1,
            &grads,
            o.train.lr,
            o.train.weight_decay,
        );
        if o.learned_features > 0 {
            ax = a.mul(&x_all);
        }
        // early stopping on the validation links' AUC (ranking is what is asked of the
        // model; the loss also grows with the embeddings' scale)
        let val_score = if val_p.is_empty() {
            -loss
        } else {
            let z = enc.forward(&a, &ax, None).z;
            let s: Vec<f64> = val_p
                .iter()
                .chain(val_neg)
                .map(|&(u, v)| dot(z.row(u as usize), z.row(v as usize)))
                .collect();
            let truth: Vec<bool> = (0..s.len()).map(|i| i < val_p.len()).collect();
            ledgerflow_ml::metrics::curves(&s, &truth)
                .roc_auc
                .unwrap_or(0.0)
        };
        if stop.observe(epoch, loss, val_score, -val_score, || {
            (enc.clone(), x_all.clone())
        }) {
            break;
        }
    }
    let (encoder, inputs) = stop.model;
    let ax = a.mul(&inputs);
    let embedding = encoder.forward(&a, &ax, None).z;
    Encoded {
        encoder,
        inputs,
        embedding,
        best_epoch: stop.epoch,
        epochs_run,
        history: stop.history,
    }
}

/// Trains and evaluates as the module documents; `x`: standardised node features (one
/// row per node of `el`), or `None` for the structural inputs.
pub fn run(el: &EdgeList, x: Option<Mat>, o: &LinkOptions) -> Result<LinkRun, String> {
    for (f, name) in [
        (o.test_fraction, "--test-fraction"),
        (o.val_fraction, "--val-fraction"),
    ] {
        if !(0.0..1.0).contains(&f) {
            return Err(format!("{name} must be in [0, 1)"));
        }
    }
    if o.test_fraction <= 0.0 || o.test_fraction + o.val_fraction >= 0.9 {
        return Err("--test-fraction must be above 0 and leave 10 % of the links to train on with --val-fraction".into());
    }
    if o.split == SplitKind::Time && el.time.is_none() {
        return Err("--split time needs a time column (--columns …,time=NAME)".into());
    }
    if o.snapshot < 0 || (o.snapshot > 0 && o.split != SplitKind::Time) {
        return Err("--snapshot needs --split time and a positive step length".into());
    }
    if o.dim == 0 || o.train.hidden == 0 || o.train.epochs == 0 || o.negatives == 0 {
        return Err("--dim, the hidden width, --epochs and --negatives must be at least 1".into());
    }
    let n = el.nodes.len();
    let mut all = pairs(el);
    if all.len() < 20 {
        return Err(format!(
            "{} distinct links: too few to hold some out",
            all.len()
        ));
    }
    match o.split {
        SplitKind::Random => {
            let mut rng = ChaCha8Rng::seed_from_u64(o.train.seed ^ SPLIT_SALT);
            all.shuffle(&mut rng);
        }
        SplitKind::Time => all.sort_by_key(|&(a, b, t)| (t, a, b)),
    }
    let (n_test, n_val, snapshot_from) = match (&el.time, o.snapshot > 0) {
        (Some(time), true) => {
            // the fractions count time steps, as EvolveGCN's splitter does: the last
            // steps are the test, the ones before them validate
            let t0 = time.iter().copied().min().unwrap_or(0);
            let t1 = time.iter().copied().max().unwrap_or(0);
            let steps = (t1 - t0).div_euclid(o.snapshot) + 1;
            let test_steps = ((steps as f64) * o.test_fraction).round().max(1.0) as i64;
            let val_steps = ((steps as f64) * o.val_fraction).round() as i64;
            let test_from = steps - test_steps;
            let starting = |step: i64| all.partition_point(|p| p.2 < t0 + step * o.snapshot);
            let (v, t) = (starting(test_from - val_steps), starting(test_from));
            if t >= all.len() || v < 10 {
                return Err(format!(
                    "--snapshot {}: {steps} steps, the last {test_steps} hold {} new links and \
                     {v} come before the validation steps; too few to train or test on",
                    o.snapshot,
                    all.len() - t
                ));
            }
            (
                all.len() - t,
                t - v,
                Some((test_from - val_steps, test_from)),
            )
        }
        _ => (
            ((all.len() as f64) * o.test_fraction).round().max(1.0) as usize,
            ((all.len() as f64) * o.val_fraction).round() as usize,
            None,
        ),
    };
    let n_train = all.len() - n_test - n_val;
    let (train, rest) = all.split_at(n_train);
    let (val, test) = rest.split_at(n_val);
    let known_all: FxHashSet<u64> = all.iter().map(|&(a, b, _)| key(a, b)).collect();
    let train_known: FxHashSet<u64> = train.iter().map(|&(a, b, _)| key(a, b)).collect();
    let strip =
        |v: &[(u32, u32, i64)]| -> Vec<(u32, u32)> { v.iter().map(|&(a, b, _)| (a, b)).collect() };
    let (train_p, val_p, test_p) = (strip(train), strip(val), strip(test));

    // evaluation sets, fixed up front from their own stream
    let mut erng = ChaCha8Rng::seed_from_u64(o.train.seed ^ EVAL_SALT);
    let val_neg: Vec<(u32, u32)> = (0..val_p.len())
        .map(|_| non_link(n, &known_all, &mut erng))
        .collect();
    let test_neg: Vec<(u32, u32)> = (0..test_p.len())
        .map(|_| non_link(n, &known_all, &mut erng))
        .collect();
    let rank_neg: Vec<Vec<u32>> = test_p
        .iter()
        .map(|&(u, _)| {
            let mut ws = Vec::with_capacity(o.negatives);
            let mut tries = 0;
            while ws.len() < o.negatives && tries < o.negatives * 50 {
                tries += 1;
                let w = erng.gen_range(0..n as u32);
                if w != u && !known_all.contains(&key(u, w)) {
                    ws.push(w);
                }
            }
            ws
        })
        .collect();
    let windows: Vec<Vec<(u32, u32)>> = if o.split == SplitKind::Time && o.windows > 0 {
        let per = test_p.len().div_ceil(o.windows);
        test_p.chunks(per.max(1)).map(<[_]>::to_vec).collect()
    } else {
        Vec::new()
    };
    let eval = EvalSet {
        test: test_p.clone(),
        test_neg,
        rank_neg,
        windows,
    };

    let x = match x {
        Some(x) => x,
        None => structural_features(n, train, o.random_features, o.train.seed),
    };
    let src: Vec<u32> = train_p.iter().map(|p| p.0).collect();
    let dst: Vec<u32> = train_p.iter().map(|p| p.1).collect();
    let t = train_encoder(n, &train_p, &val_p, &val_neg, &train_known, &x, o);
    let z = &t.embedding;
    let gae = evaluate(&eval, n, &train_known, &|u, v| {
        dot(z.row(u as usize), z.row(v as usize))
    });
    let adj = Csr::undirected(n, &src, &dst, false);
    let aa = AdamicAdar::new(adj);
    let mut adamic_adar = evaluate(&eval, n, &train_known, &|u, v| aa.score(u, v));
    let mut gae = gae;
    // the trained encoder's embedding with the observed pairs carrying its messages
    let encode_over = |obs: &[(u32, u32)]| -> Mat {
        let (s, d): (Vec<u32>, Vec<u32>) = obs.iter().copied().unzip();
        let a = NormAdj::new(n, &s, &d);
        t.encoder.forward(&a, &a.mul(&t.inputs), None).z
    };
    if o.rolling && !eval.windows.is_empty() {
        let before: Vec<(u32, u32)> = train_p.iter().chain(&val_p).copied().collect();
        let (m, r) = rolling_metrics(n, &eval.windows, &before, |obs: &[(u32, u32)]| {
            let z = encode_over(obs);
            Box::new(move |u, v| dot(z.row(u as usize), z.row(v as usize)))
        });
        (gae.window_map, gae.window_mrr) = (Some(m), Some(r));
        let (m, r) = rolling_metrics(n, &eval.windows, &before, |obs: &[(u32, u32)]| {
            let (s, d): (Vec<u32>, Vec<u32>) = obs.iter().copied().unzip();
            let aa = AdamicAdar::new(Csr::undirected(n, &s, &d, false));
            Box::new(move |u, v| aa.score(u, v))
        });
        (adamic_adar.window_map, adamic_adar.window_mrr) = (Some(m), Some(r));
    }
    let snapshots = match (&el.time, snapshot_from) {
        (Some(time), Some((val_step, first_step))) => {
            let edges = crate::snapshot::steps_of(&el.src, &el.dst, time, o.snapshot);
            Some(crate::snapshot::evaluate(
                n,
                &edges,
                val_step,
                first_step,
                o.snapshot,
                |obs: &[(u32, u32)]| {
                    let z = encode_over(obs);
                    Box::new(move |u, row: &mut [f64]| {
                        let zu = z.row(u as usize);
                        for (v, r) in row.iter_mut().enumerate() {
                            *r = dot(zu, z.row(v));
                        }
                    })
                },
            ))
        }
        _ => None,
    };
    Ok(LinkRun {
        nodes: n,
        links: all.len(),
        train_links: train_p.len(),
        val_links: val_p.len(),
        test_links: test_p.len(),
        best_epoch: t.best_epoch,
        epochs_run: t.epochs_run,
        history: t.history,
        gae,
        adamic_adar,
        snapshots,
        encoder: t.encoder,
        embedding: t.embedding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties_and_adamic_adar_counts_common_neighbours() {
        assert_eq!(rank(1.0, &[0.5, 2.0, 1.0]), 2.5);
        assert_eq!(rank(3.0, &[]), 1.0);
        // 0-2, 1-2, 0-3, 1-3: 0 and 1 share 2 (degree 2) and 3 (degree 2)
        let adj = Csr::undirected(5, &[0, 1, 0, 1], &[2, 2, 3, 3], false);
        let aa = AdamicAdar::new(adj.clone());
        assert!((aa.score(0, 1) - 2.0 / 2f64.ln()).abs() < 1e-12);
        assert_eq!(aa.score(0, 4), 0.0);
    }

    #[test]
    fn the_decoder_gradient_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let z = Mat::uniform(5, 3, 1.0, &mut rng);
        let pos = [(0u32, 1u32), (2, 3), (1, 4)];
        let neg = [(0u32, 4u32), (3, 1)];
        let (_, dz) = bce(&z, &pos, &neg);
        for k in 0..15 {
            let mut p = z.clone();
            p.data[k] += 1e-6;
            let mut m = z.clone();
            m.data[k] -= 1e-6;
            let num = (bce(&p, &pos, &neg).0 - bce(&m, &pos, &neg).0) / 2e-6;
            assert!((num - dz.data[k]).abs() < 1e-7, "{k}: {num} {}", dz.data[k]);
        }
    }
}
