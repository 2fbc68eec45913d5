//! `ledgerflow gnn train --task anomaly`: unusual nodes and links, unsupervised.
//!
//! - **Auto-encoder** (GAE, as [`crate::link`]), cross-fitted: the links are split in
//!   two seeded halves and each half is scored by the encoder trained on the other (a
//!   seeded `val_fraction` of it steering early stopping), so no link is scored by a
//!   model that learned it. A link's score is how unexpected the decoder finds it,
//!   `1 − σ(z_u · z_v)`; a node's is the squared error
//!   of its adjacency row's reconstruction, estimated as the mean of `(1 − p)²` over its
//!   links plus the mean of `p²` over 64 sampled non-links (seeded; 0 when isolated).
//! - **Structural baseline** (OddBall, Akoglu et al. 2010): a node's ego-net (itself, its
//!   neighbours and the links among them) has `N` neighbours and `E` links; over all
//!   nodes with two neighbours or more `log E = α log N + log C` is fitted by least
//!   squares and a node scores `max(E, CN^α) / min(E, CN^α) · ln(|E − CN^α| + 1)`: far
//!   from the power law, either side (stars: peel chains and fan-outs; near-cliques).
//!
//! - **Isolation forest** ([`ledgerflow_ml::iforest`], 200 trees of 256 nodes, seeded)
//!   over each node's features beside the mean of its neighbours' (the standardised
//!   node table, or the structural inputs without one): nodes whose own shape or whose
//!   neighbourhood's is rare (on a transaction graph: CoinJoins' equal outputs, the
//!   skewed outputs and one-input ancestry of peel chains).
//!
//! On a transaction graph the CLI adds a fourth ranking that learns nothing: the known
//! shapes of [`crate::txgraph::typology`] (CoinJoins, then peeling chains by length).
//!
//! With labels (`positive` names the anomalous classes) all rankings are evaluated:
//! ROC-AUC and precision at k.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::adj::{key, Csr};
use crate::dense::Mat;
use crate::edges::EdgeList;
use crate::link::{self, LinkOptions};
use ledgerflow_ml::iforest::IForestOptions;

/// Per node: both scores and the ego-net counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeScores {
    pub gae: Vec<f64>,
    pub oddball: Vec<f64>,
    /// Isolation forest over each node's features and its neighbours' mean features.
    pub iforest: Vec<f64>,
    pub degree: Vec<u32>,
    pub ego_edges: Vec<u64>,
}

/// How one ranking finds the labelled anomalies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankingQuality {
    pub auc: Option<f64>,
    /// (k, precision among the top k).
    pub precision_at: Vec<(usize, f64)>,
    /// Precision among the top `R`, `R` the number of anomalies (= recall there).
    pub r_precision: Option<f64>,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRun {
    pub nodes: usize,
    pub links: usize,
    /// The fitted power law `E = C N^α`.
    pub alpha: f64,
    pub c: f64,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub scores: NodeScores,
    /// Per distinct link `(a, b)` (node numbers, `a < b`): its auto-encoder score.
    #[serde(skip)]
    pub link_scores: Vec<(u32, u32, f64)>,
    #[serde(skip)]
    pub embedding: Mat,
}

/// Non-links sampled per node for its reconstruction error.
const NON_LINKS: usize = 64;

/// OddBall's ego-net counts and scores over an undirected neighbour structure.
pub fn oddball(adj: &Csr) -> (Vec<u32>, Vec<u64>, Vec<f64>, f64, f64) {
    let n = adj.n;
    let deg: Vec<u32> = (0..n).map(|i| adj.neighbours(i).len() as u32).collect();
    // triangles at each node: each link's common neighbours, counted at both ends
    let mut tri = vec![0u64; n];
    for u in 0..n {
        for &v in adj.neighbours(u) {
            if (v as usize) <= u {
                continue;
            }
            let mut c = 0u64;
            crate::adj::for_common(adj.neighbours(u), adj.neighbours(v as usize), |_| c += 1);
            tri[u] += c;
            tri[v as usize] += c;
        }
    }
    // each triangle at a node was seen from its two links there
    let ego: Vec<u64> = (0..n).map(|i| u64::from(deg[i]) + tri[i] / 2).collect();
    let pts: Vec<(f64, f64)> = (0..n)
        .filter(|&i| deg[i] >= 2)
        .map(|i| ((deg[i] as f64).ln(), (ego[i] as f64).ln()))
        .collect();
    let (alpha, logc) = if pts.len() >= 2 {
        let m = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / m;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let a = if sxx > 0.0 { sxy / sxx } else { 1.0 };
        (a, my - a * mx)
    } else {
        (1.0, 0.0)
    };
    let c = logc.exp();
    let score = (0..n)
        .map(|i| {
            if deg[i] == 0 {
                return 0.0;
            }
            let e = ego[i] as f64;
            let want = c * (deg[i] as f64).powf(alpha);
            e.max(want) / e.min(want).max(1e-12) * ((e - want).abs() + 1.0).ln()
        })
        .collect();
    (deg, ego, score, alpha, c)
}

/// Scores every node and link as the module documents; `x`: standardised node features
/// or `None` for the structural inputs.
pub fn run(el: &EdgeList, x: Option<&Mat>, o: &LinkOptions) -> Result<AnomalyRun, String> {
    if !(0.0..0.5).contains(&o.val_fraction) {
        return Err("--val-fraction must be in [0, 0.5)".into());
    }
    let n = el.nodes.len();
    let mut pairs: Vec<(u32, u32)> = (0..el.len())
        .filter(|&i| el.src[i] != el.dst[i])
        .map(|i| {
            let (a, b) = (el.src[i], el.dst[i]);
            if a < b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    if pairs.len() < 10 {
        return Err(format!("{} distinct links: too few to score", pairs.len()));
    }
    let known: FxHashSet<u64> = pairs.iter().map(|&(a, b)| key(a, b)).collect();
    // two folds: each link is scored by the encoder trained on the other half (a model
    // that saw a link would have learned it), a validation sample of the training half
    // steering early stopping
    let mut rng = ChaCha8Rng::seed_from_u64(o.train.seed ^ 0x5eed_a0a1_0000_0005);
    let mut shuffled = pairs.clone();
    shuffled.shuffle(&mut rng);
    let half = shuffled.len() / 2;
    let folds = [shuffled[..half].to_vec(), shuffled[half..].to_vec()];
    let with_time: Vec<(u32, u32, i64)> = pairs.iter().map(|&(a, b)| (a, b, 0)).collect();
    let structural;
    let x = match x {
        Some(x) => x,
        None => {
            structural = link::structural_features(n, &with_time, o.random_features, o.train.seed);
            &structural
        }
    };
    let mut sum = vec![0.0; n];
    let mut cnt = vec![0u32; n];
    let mut link_scores: Vec<(u32, u32, f64)> = Vec::with_capacity(pairs.len());
    let mut encoded = Vec::new();
    for f in 0..2 {
        let (scored, rest) = (&folds[f], &folds[1 - f]);
        let n_val = ((rest.len() as f64) * o.val_fraction).round() as usize;
        let (val, train) = rest.split_at(n_val);
        let val_neg: Vec<(u32, u32)> = (0..n_val)
            .map(|_| link::non_link(n, &known, &mut rng))
            .collect();
        let t = link::train_encoder(n, train, val, &val_neg, &known, x, o);
        let z = &t.embedding;
        for &(a, b) in scored {
            let s = 1.0 - link::sigmoid(link::dot(z.row(a as usize), z.row(b as usize)));
            for v in [a, b] {
                sum[v as usize] += s * s;
                cnt[v as usize] += 1;
            }
            link_scores.push((a, b, s));
        }
        encoded.push(t);
    }
    link_scores.sort_unstable_by_key(|l| (l.0, l.1));
    let t = encoded.swap_remove(0);
    let z = &t.embedding;
    // the other half of the row's reconstruction: non-links the decoder expects
    let mut nrng = ChaCha8Rng::seed_from_u64(o.train.seed ^ 0x5eed_a0a1_0000_0006);
    let gae: Vec<f64> = (0..n)
        .map(|i| {
            if cnt[i] == 0 {
                return 0.0;
            }
            let mut miss = 0.0;
            let mut k = 0;
            let mut tries = 0;
            while k < NON_LINKS && tries < NON_LINKS * 20 {
                tries += 1;
                let j = rand::Rng::gen_range(&mut nrng, 0..n as u32);
                if j as usize == i || known.contains(&key(i as u32, j)) {
                    continue;
                }
                miss += link::sigmoid(link::dot(z.row(i), z.row(j as usize))).powi(2);
                k += 1;
            }
            let linked = sum[i] / f64::from(cnt[i]);
            linked + if k > 0 { miss / k as f64 } else { 0.0 }
        })
        .collect();
    let src: Vec<u32> = pairs.iter().map(|p| p.0).collect();
    let dst: Vec<u32> = pairs.iter().map(|p| p.1).collect();
    let adj = Csr::undirected(n, &src, &dst, false);
    let (degree, ego_edges, oddball, alpha, c) = oddball(&adj);
    let ctx = with_neighbour_means(x, &adj);
    let iforest = ledgerflow_ml::iforest::scores(
        &ctx.data,
        ctx.rows,
        ctx.cols,
        &IForestOptions {
            seed: o.train.seed,
            ..IForestOptions::default()
        },
    );
    Ok(AnomalyRun {
        nodes: n,
        links: pairs.len(),
        alpha,
        c,
        best_epoch: t.best_epoch,
        epochs_run: t.epochs_run,
        scores: NodeScores {
            gae,
            oddball,
            iforest,
            degree,
            ego_edges,
        },
        link_scores,
        embedding: t.embedding,
    })
}

/// A supervised ranking: a GNN trained on the labelled past, scoring the future.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervised {
    /// P(anomalous) of every node.
    pub score: Vec<f64>,
    /// The held-out nodes the ranking is judged on (the latest labelled ones).
    pub test: Vec<bool>,
    pub train_nodes: usize,
    pub val_nodes: usize,
    pub test_nodes: usize,
    pub best_epoch: usize,
    pub epochs_run: usize,
}

/// Trains a two-class GNN of `arch` on `x` (standardised) to tell the nodes marked in
/// `truth` from the other labelled ones, split in node order: the last `test_fraction`
/// of the labelled nodes are held out (on a transaction graph, whose nodes are in chain
/// order: the latest transactions, so the model learns on the past only), the
/// `val_fraction` before them steer early stopping, the rest train. Classes weighted
/// by their frequency (anomalies are rare). Refused without anomalies or normal nodes
/// among the training ones.
pub fn supervised(
    el: &EdgeList,
    x: &Mat,
    truth: &[Option<bool>],
    arch: crate::train::Arch,
    o: &crate::train::TrainOptions,
    test_fraction: f64,
    val_fraction: f64,
) -> Result<Supervised, String> {
    use crate::train::{self, Inputs};
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err("--test-fraction must be in (0, 1)".into());
    }
    if !(0.0..1.0).contains(&val_fraction) || test_fraction + val_fraction >= 1.0 {
        return Err("--val-fraction must be in [0, 1) and leave nodes to train on".into());
    }
    let n = x.rows;
    let labelled: Vec<usize> = (0..n).filter(|&i| truth[i].is_some()).collect();
    let m = labelled.len();
    let n_test = ((m as f64) * test_fraction).round() as usize;
    let n_val = ((m as f64) * val_fraction).round() as usize;
    let n_train = m.saturating_sub(n_test + n_val);
    let (mut train_mask, mut val_mask, mut test) = (vec![false; n], vec![false; n], vec![false; n]);
    for (k, &i) in labelled.iter().enumerate() {
        if k < n_train {
            train_mask[i] = true;
        } else if k < n_train + n_val {
            val_mask[i] = true;
        } else {
            test[i] = true;
        }
    }
    let labels: Vec<Option<u32>> = truth.iter().map(|t| t.map(u32::from)).collect();
    let pos = (0..n)
        .filter(|&i| train_mask[i] && truth[i] == Some(true))
        .count();
    if pos == 0 || pos == n_train {
        return Err(format!(
            "the {n_train} training nodes (the earliest labelled) hold {pos} anomalies: \
             supervised ranking needs both kinds"
        ));
    }
    let inp = Inputs::new(arch, n, &el.src[..], &el.dst[..], x.clone());
    let o = crate::train::TrainOptions {
        balanced: true,
        ..o.clone()
    };
    let t = train::train(&inp, arch, &labels, 2, &train_mask, &val_mask, &o);
    let p = train::predict(&t.model, &inp);
    Ok(Supervised {
        score: (0..n).map(|i| p.row(i)[1]).collect(),
        test,
        train_nodes: n_train,
        val_nodes: n_val,
        test_nodes: m - n_train - n_val,
        best_epoch: t.best_epoch,
        epochs_run: t.epochs_run,
    })
}

/// `[x | mean of the neighbours' rows of x]` (zeros for an isolated node): each node's
/// features beside its neighbourhood's, the isolation forest's input.
pub fn with_neighbour_means(x: &Mat, adj: &Csr) -> Mat {
    let (n, d) = (x.rows, x.cols);
    let mut out = Mat::zeros(n, 2 * d);
    for i in 0..n {
        let row = &mut out.data[i * 2 * d..(i + 1) * 2 * d];
        row[..d].copy_from_slice(x.row(i));
        let nb = adj.neighbours(i);
        if nb.is_empty() {
            continue;
        }
        for &j in nb {
            for (o, v) in row[d..].iter_mut().zip(x.row(j as usize)) {
                *o += v;
            }
        }
        for o in &mut row[d..] {
            *o /= nb.len() as f64;
        }
    }
    out
}

/// Node numbers from the highest score down (ties by number).
pub fn ranking(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// How a ranking by `scores` finds the nodes marked in `truth` (only nodes with a known
/// truth count).
pub fn quality(scores: &[f64], truth: &[Option<bool>], ks: &[usize]) -> RankingQuality {
    let idx: Vec<usize> = (0..scores.len()).filter(|&i| truth[i].is_some()).collect();
    let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
    let t: Vec<bool> = idx.iter().map(|&i| truth[i] == Some(true)).collect();
    let auc = ledgerflow_ml::metrics::curves(&s, &t).roc_auc;
    let order = ranking(&s);
    let precision_at = ks
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let top = order.iter().take(k).filter(|&&i| t[i]).count();
            (k, top as f64 / k.min(order.len()).max(1) as f64)
        })
        .collect();
    let r = t.iter().filter(|&&x| x).count();
    let r_precision =
        (r > 0).then(|| order.iter().take(r).filter(|&&i| t[i]).count() as f64 / r as f64);
    RankingQuality {
        auc,
        precision_at,
        r_precision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oddball_by_hand_on_a_star_and_a_clique() {
        // a star 0-(1..=5) and a 4-clique 6..=9
        let mut s = vec![];
        let mut d = vec![];
        for v in 1..=5u32 {
            s.push(0);
            d.push(v);
        }
        for a in 6..=9u32 {
            for b in (a + 1)..=9 {
                s.push(a);
                d.push(b);
            }
        }
        let adj = Csr::undirected(10, &s, &d, false);
        let (deg, ego, _, _, _) = oddball(&adj);
        assert_eq!(deg[0], 5);
        assert_eq!(ego[0], 5); // a star: no links among the leaves
        assert_eq!(deg[6], 3);
        assert_eq!(ego[6], 6); // a clique of 4: every link
        assert_eq!(ego[1], 1);
    }

    #[test]
    fn supervised_ranking_learns_on_the_earlier_nodes() {
        // a ring of 200; every 10th node is anomalous, and so shaped: its feature is
        // high, its neighbours' feature middling
        let n = 200u32;
        let src: Vec<u32> = (0..n).collect();
        let dst: Vec<u32> = (0..n).map(|i| (i + 1) % n).collect();
        let el = EdgeList {
            nodes: (0..n).map(|i| i.to_string()).collect(),
            weight: vec![1.0; n as usize],
            src,
            dst,
            ..EdgeList::default()
        };
        let truth: Vec<Option<bool>> = (0..n).map(|i| Some(i % 10 == 3)).collect();
        let mut x = Mat::zeros(n as usize, 2);
        for i in 0..n as usize {
            x.data[2 * i] = if i % 10 == 3 { 1.5 } else { -0.2 };
            x.data[2 * i + 1] = ((i * 37 % 11) as f64 - 5.0) / 5.0;
        }
        let o = crate::train::TrainOptions {
            seed: 3,
            epochs: 100,
            ..Default::default()
        };
        let arch = crate::train::Arch::Sage;
        let r = supervised(&el, &x, &truth, arch, &o, 0.25, 0.1).unwrap();
        assert_eq!((r.train_nodes, r.val_nodes, r.test_nodes), (130, 20, 50));
        // held out: the last 50 nodes
        assert!(r.test[150] && !r.test[149]);
        let held: Vec<Option<bool>> = truth
            .iter()
            .zip(&r.test)
            .map(|(t, &k)| if k { *t } else { None })
            .collect();
        let q = quality(&r.score, &held, &[5]);
        assert!(q.auc.unwrap() > 0.999, "{:?}", q);
        assert_eq!(q.precision_at, vec![(5, 1.0)]);
        assert_eq!(r, supervised(&el, &x, &truth, arch, &o, 0.25, 0.1).unwrap());
        // no anomaly among the earliest nodes: refused, saying why
        let late: Vec<Option<bool>> = (0..n).map(|i| Some(i >= 190)).collect();
        let e = supervised(&el, &x, &late, arch, &o, 0.25, 0.1).unwrap_err();
        assert!(e.contains("needs both kinds"), "{e}");
    }

    #[test]
    fn quality_counts_the_top() {
        let s = [0.9, 0.1, 0.8, 0.2, 0.5];
        let t = [Some(true), Some(false), Some(false), None, Some(true)];
        let q = quality(&s, &t, &[1, 2, 3]);
        assert_eq!(q.precision_at, vec![(1, 1.0), (2, 0.5), (3, 2.0 / 3.0)]);
        assert_eq!(q.r_precision, Some(0.5));
        assert_eq!(q.auc, Some(0.75));
    }
}
