//! Full-batch training of the GCN: Adam, L2 weight decay on the first layer (as Kipf &
//! Welling), dropout on the hidden layer, class weights, and early stopping on the
//! validation loss (the best epoch's parameters are kept). Everything random comes from
//! one seeded ChaCha stream, drawn in a fixed order, so the same inputs and seed give the
//! same parameters bit for bit.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::adj::{Csr, MeanAdj, NormAdj};
use crate::dense::Mat;
use crate::gat::Gat;
use crate::gcn::{cross_entropy, dropout_mask, softmax, Gcn, Targets};
use crate::sage::Sage;

/// The layer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Gcn,
    Sage,
    Gat,
}

impl Arch {
    /// The name on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Gcn => "gcn",
            Arch::Sage => "sage",
            Arch::Gat => "gat",
        }
    }
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Arch, String> {
        match s.to_ascii_lowercase().as_str() {
            "gcn" => Ok(Arch::Gcn),
            "sage" | "graphsage" => Ok(Arch::Sage),
            "gat" => Ok(Arch::Gat),
            _ => Err(format!("unknown model {s:?} (gcn, sage, gat)")),
        }
    }
}

/// A graph's features and what an architecture precomputes from the graph.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub x: Mat,
    norm: Option<(NormAdj, Mat)>,
    mean: Option<(MeanAdj, Mat)>,
    att: Option<Csr>,
}

impl Inputs {
    /// For `arch`, over `n` nodes with these directed edges and features `x`.
    pub fn new(arch: Arch, n: usize, src: &[u32], dst: &[u32], x: Mat) -> Inputs {
        let (mut norm, mut mean, mut att) = (None, None, None);
        match arch {
            Arch::Gcn => {
                let a = NormAdj::new(n, src, dst);
                let ax = a.mul(&x);
                norm = Some((a, ax));
            }
            Arch::Sage => {
                let m = MeanAdj::new(n, src, dst);
                let mx = m.mul(&x);
                mean = Some((m, mx));
            }
            Arch::Gat => att = Some(Csr::undirected(n, src, dst, true)),
        }
        Inputs { x, norm, mean, att }
    }

    /// GraphSAGE inputs over a given neighbour-mean matrix (a sampled one).
    pub fn mean_over(m: MeanAdj, x: Mat) -> Inputs {
        let mx = m.mul(&x);
        Inputs {
            x,
            norm: None,
            mean: Some((m, mx)),
            att: None,
        }
    }
}

/// A model of either architecture.
#[derive(Debug, Clone, PartialEq)]
pub enum Net {
    Gcn(Gcn),
    Sage(Sage),
    Gat(Gat),
}

impl Net {
    pub(crate) fn init(
        arch: Arch,
        dim: usize,
        classes: usize,
        o: &TrainOptions,
        rng: &mut ChaCha8Rng,
    ) -> Net {
        match arch {
            Arch::Gcn => Net::Gcn(Gcn::init(dim, o.hidden, classes, rng)),
            Arch::Sage => Net::Sage(Sage::init(dim, o.hidden, classes, rng)),
            Arch::Gat => Net::Gat(Gat::init(dim, o.hidden, o.heads.max(1), classes, rng)),
        }
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        match self {
            Net::Gcn(_) => Arch::Gcn,
            Net::Sage(_) => Arch::Sage,
            Net::Gat(_) => Arch::Gat,
        }
    }

    /// Hidden units (the embedding width).
    pub fn hidden(&self) -> usize {
        match self {
            Net::Gcn(g) => g.b1.len(),
            Net::Sage(s) => s.hidden(),
            Net::Gat(g) => g.hidden(),
        }
    }

    /// Cells of one epoch's dropout mask over `n` nodes of `d` inputs.
    pub(crate) fn dropout_len(&self, n: usize, d: usize) -> usize {
        match self {
            Net::Gat(g) => g.dropout_len(n, d),
            _ => n * self.hidden(),
        }
    }

    pub(crate) fn first_layer_weights(&self) -> usize {
        match self {
            Net::Gcn(g) => g.w1.data.len(),
            Net::Sage(s) => s.first_layer_weights(),
            Net::Gat(g) => g.first_layer_weights(),
        }
    }

    pub(crate) fn param_count(&self) -> usize {
        match self {
            Net::Gcn(g) => g.params().count(),
            Net::Sage(s) => s.params().count(),
            Net::Gat(g) => g.params().count(),
        }
    }

    /// Every parameter in the architecture's order.
    pub fn params(&self) -> Box<dyn Iterator<Item = &f64> + '_> {
        match self {
            Net::Gcn(g) => Box::new(g.params()),
            Net::Sage(s) => Box::new(s.params()),
            Net::Gat(g) => Box::new(g.params()),
        }
    }

    pub(crate) fn params_mut(&mut self) -> Box<dyn Iterator<Item = &mut f64> + '_> {
        match self {
            Net::Gcn(g) => Box::new(g.params_mut()),
            Net::Sage(s) => Box::new(s.params_mut()),
            Net::Gat(g) => Box::new(g.params_mut()),
        }
    }

    /// The loss and the gradients, flat in parameter order.
    pub(crate) fn loss_and_grads(
        &self,
        inp: &Inputs,
        drop: Option<&[f64]>,
        t: &Targets<'_>,
    ) -> (f64, Vec<f64>) {
        match (self, &inp.norm, &inp.mean, &inp.att) {
            (Net::Gcn(g), Some((a, ax)), _, _) => {
                let (l, d) = g.loss_and_grads(a, ax, drop, t);
                (l, d.params().copied().collect())
            }
            (Net::Sage(s), _, Some((m, mx)), _) => {
                let (l, d) = s.loss_and_grads(m, &inp.x, mx, drop, t);
                (l, d.params().copied().collect())
            }
            (Net::Gat(g), _, _, Some(adj)) => {
                let (l, d) = g.loss_and_grads(adj, &inp.x, drop, t);
                (l, d.params().copied().collect())
            }
            _ => (f64::NAN, Vec::new()),
        }
    }

    /// The logits of every node (inputs built for another architecture give none).
    pub fn logits(&self, inp: &Inputs) -> Mat {
        match (self, &inp.norm, &inp.mean, &inp.att) {
            (Net::Gcn(g), Some((a, ax)), _, _) => g.forward(a, ax, None).z,
            (Net::Sage(s), _, Some((m, mx)), _) => s.logits(m, &inp.x, mx),
            (Net::Gat(g), _, _, Some(adj)) => g.logits(adj, &inp.x),
            _ => Mat::zeros(0, 0),
        }
    }

    /// The hidden layer of every node (after its activation, no dropout): the node
    /// embeddings `gnn embed` writes.
    pub fn embed(&self, inp: &Inputs) -> Mat {
        match (self, &inp.norm, &inp.mean, &inp.att) {
            (Net::Gcn(g), Some((a, ax)), _, _) => g.forward(a, ax, None).d,
            (Net::Sage(s), _, Some((m, mx)), _) => s.embed(m, &inp.x, mx),
            (Net::Gat(g), _, _, Some(adj)) => g.embed(adj, &inp.x),
            _ => Mat::zeros(0, 0),
        }
    }
}

/// Training settings (PyG's GCN example defaults).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainOptions {
    pub hidden: usize,
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub dropout: f64,
    /// Attention heads of a GAT's first layer (each `hidden` wide).
    pub heads: usize,
    /// Epochs without a better validation loss before stopping (0: never stop early).
    pub patience: usize,
    /// Weigh classes by `n / (classes × n_class)` over the training nodes.
    pub balanced: bool,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            hidden: 16,
            epochs: 200,
            lr: 0.01,
            weight_decay: 5e-4,
            dropout: 0.5,
            heads: 8,
            patience: 50,
            balanced: false,
            seed: 0,
        }
    }
}

/// A trained model and how training went.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: Net,
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// (training loss, validation loss) per epoch.
    pub history: Vec<(f64, f64)>,
}

/// Adam (Kingma & Ba; PyTorch's defaults), L2 decay on the first `n_w1` parameters.
pub(crate) struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    pub(crate) fn new(n_params: usize) -> Adam {
        Adam {
            m: vec![0.0; n_params],
            v: vec![0.0; n_params],
            t: 0,
        }
    }

    fn step(&mut self, params: &mut Net, grads: &[f64], lr: f64, decay_w1: f64) {
        let n_w1 = params.first_layer_weights();
        self.step_params(params.params_mut(), n_w1, grads, lr, decay_w1);
    }

    pub(crate) fn step_params<'a>(
        &mut self,
        params: impl Iterator<Item = &'a mut f64>,
        n_w1: usize,
        grads: &[f64],
        lr: f64,
        decay_w1: f64,
    ) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        for (k, (p, g)) in params.zip(grads).enumerate() {
            let g = if k < n_w1 { g + decay_w1 * *p } else { *g };
            self.m[k] = B1 * self.m[k] + (1.0 - B1) * g;
            self.v[k] = B2 * self.v[k] + (1.0 - B2) * g * g;
            *p -= lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + EPS);
        }
    }
}

/// Keeps the parameters of the epoch with the lowest validation criterion and says when
/// `patience` epochs have passed without a better one (0: never stop early); records
/// each epoch's (training loss, shown validation value).
pub(crate) struct EarlyStop<M> {
    pub(crate) best: f64,
    pub(crate) epoch: usize,
    pub(crate) model: M,
    pub(crate) history: Vec<(f64, f64)>,
    patience: usize,
}

impl<M: Clone> EarlyStop<M> {
    pub(crate) fn new(model: &M, patience: usize) -> EarlyStop<M> {
        EarlyStop {
            best: f64::INFINITY,
            epoch: 0,
            model: model.clone(),
            history: Vec::new(),
            patience,
        }
    }

    /// Records `epoch`: lower `criterion` is better (then `snapshot` gives the
    /// parameters kept); true when training should stop.
    pub(crate) fn observe(
        &mut self,
        epoch: usize,
        loss: f64,
        shown: f64,
        criterion: f64,
        snapshot: impl FnOnce() -> M,
    ) -> bool {
        self.history.push((loss, shown));
        if criterion < self.best {
            self.best = criterion;
            self.epoch = epoch;
            self.model = snapshot();
            false
        } else {
            self.patience > 0 && epoch - self.epoch >= self.patience
        }
    }
}

/// Class weights over the training nodes (`balanced`), or ones.
pub fn class_weights(
    labels: &[Option<u32>],
    mask: &[bool],
    classes: usize,
    balanced: bool,
) -> Vec<f64> {
    if !balanced {
        return vec![1.0; classes];
    }
    let mut n = vec![0usize; classes];
    for (l, &m) in labels.iter().zip(mask) {
        if let (Some(c), true) = (l, m) {
            n[*c as usize] += 1;
        }
    }
    let total: usize = n.iter().sum();
    n.iter()
        .map(|&k| {
            if k == 0 {
                0.0
            } else {
                total as f64 / (classes * k) as f64
            }
        })
        .collect()
}

/// Trains a model of `arch` on the `train` nodes, stopping early on the `val` nodes' loss.
pub fn train(
    inp: &Inputs,
    arch: Arch,
    labels: &[Option<u32>],
    classes: usize,
    train_mask: &[bool],
    val_mask: &[bool],
    o: &TrainOptions,
) -> Trained {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let x = &inp.x;
    let mut model = Net::init(arch, x.cols, classes, o, &mut rng);
    let n_params = model.param_count();
    let mut adam = Adam::new(n_params);
    let cw = class_weights(labels, train_mask, classes, o.balanced);
    let tt = Targets {
        labels,
        mask: train_mask,
        class_weight: &cw,
    };
    let tv = Targets {
        labels,
        mask: val_mask,
        class_weight: &cw,
    };
    let has_val = val_mask.iter().zip(labels).any(|(&m, l)| m && l.is_some());
    let mut stop = EarlyStop::new(&model, o.patience);
    let mut epochs_run = 0;
    for epoch in 0..o.epochs {
        epochs_run = epoch + 1;
        let drop = (o.dropout > 0.0)
            .then(|| dropout_mask(model.dropout_len(x.rows, x.cols), o.dropout, &mut rng));
        let (loss, grads) = model.loss_and_grads(inp, drop.as_deref(), &tt);
        adam.step(&mut model, &grads, o.lr, o.weight_decay);
        let val = if has_val {
            cross_entropy(&model.logits(inp), &tv).0
        } else {
            loss
        };
        if stop.observe(epoch, loss, val, val, || model.clone()) {
            break;
        }
    }
    Trained {
        model: stop.model,
        best_epoch: stop.epoch,
        epochs_run,
        history: stop.history,
    }
}

/// Class probabilities of every node (row-major, `classes` per node).
pub fn predict(model: &Net, inp: &Inputs) -> Mat {
    let z = model.logits(inp);
    let mut out = Mat::zeros(z.rows, z.cols);
    for i in 0..z.rows {
        let mut p = vec![0.0; z.cols];
        softmax(z.row(i), &mut p);
        out.row_mut(i).copy_from_slice(&p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Two communities (dense inside, a few edges across) whose features barely tell
    /// them apart: the neighbourhood has to.
    fn communities(seed: u64) -> (usize, Vec<u32>, Vec<u32>, Mat, Vec<Option<u32>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = 120;
        let (mut s, mut d) = (Vec::new(), Vec::new());
        for i in 0..n as u32 {
            for j in (i + 1)..n as u32 {
                let same = (i < 60) == (j < 60);
                let p = if same { 0.12 } else { 0.005 };
                if rng.gen::<f64>() < p {
                    s.push(i);
                    d.push(j);
                }
            }
        }
        // feature 0 leans a little towards the class, the rest is noise
        let mut x = Mat::uniform(n, 8, 1.0, &mut rng);
        for i in 0..n {
            x.row_mut(i)[0] += if i >= 60 { 0.4 } else { -0.4 };
        }
        let labels = (0..n).map(|i| Some(u32::from(i >= 60))).collect();
        (n, s, d, x, labels)
    }

    #[test]
    fn learns_communities_from_the_graph_and_is_deterministic() {
        let (n, s, d, x, labels) = communities(3);
        // every fifth node trains, every fifth + 1 validates, the rest test
        let train_mask: Vec<bool> = (0..n).map(|i| i % 5 == 0).collect();
        let val_mask: Vec<bool> = (0..n).map(|i| i % 5 == 1).collect();
        let o = TrainOptions {
            seed: 7,
            heads: 2,
            ..TrainOptions::default()
        };
        for arch in [Arch::Gcn, Arch::Sage, Arch::Gat] {
            let inp = Inputs::new(arch, n, &s, &d, x.clone());
            let t = train(&inp, arch, &labels, 2, &train_mask, &val_mask, &o);
            assert_eq!(t.model.arch(), arch);
            let p = predict(&t.model, &inp);
            let test: Vec<usize> = (0..n).filter(|i| i % 5 >= 2).collect();
            let right = test
                .iter()
                .filter(|&&i| {
                    let guess = u32::from(p.row(i)[1] > p.row(i)[0]);
                    Some(guess) == labels[i]
                })
                .count();
            let acc = right as f64 / test.len() as f64;
            // the feature alone (its sign) does much worse than with the neighbourhood
            let alone = test
                .iter()
                .filter(|&&i| Some(u32::from(x.row(i)[0] > 0.0)) == labels[i])
                .count() as f64
                / test.len() as f64;
            println!("{arch:?}: test accuracy {acc:.3}, feature alone {alone:.3}");
            assert!(
                acc > 0.85 && acc > alone + 0.1,
                "{arch:?}: test accuracy {acc}, feature alone {alone} (best epoch {})",
                t.best_epoch
            );
            assert!(t.history[0].0 > t.history[t.best_epoch].0, "the loss fell");
            // the same seed, the same bits; another seed, other weights
            let again = train(&inp, arch, &labels, 2, &train_mask, &val_mask, &o);
            assert_eq!(again, t);
            let other = TrainOptions {
                seed: 8,
                ..o.clone()
            };
            let other = train(&inp, arch, &labels, 2, &train_mask, &val_mask, &other);
            assert_ne!(other.model, t.model);
        }
    }

    #[test]
    fn neighbour_sampled_mini_batches_learn_too_and_repeat() {
        let (n, s, d, x, labels) = communities(3);
        let train_mask: Vec<bool> = (0..n).map(|i| i % 5 == 0).collect();
        let val_mask: Vec<bool> = (0..n).map(|i| i % 5 == 1).collect();
        let o = TrainOptions {
            seed: 7,
            ..TrainOptions::default()
        };
        let b = crate::sample::BatchOptions {
            batch_size: 8,
            fanout: [5, 3],
        };
        let fit = || {
            crate::sample::train_batches(
                Arch::Sage,
                n,
                &s,
                &d,
                &x,
                &labels,
                2,
                &train_mask,
                &val_mask,
                &o,
                &b,
            )
        };
        let t = fit();
        let inp = Inputs::new(Arch::Sage, n, &s, &d, x.clone());
        let p = predict(&t.model, &inp);
        let test: Vec<usize> = (0..n).filter(|i| i % 5 >= 2).collect();
        let right = test
            .iter()
            .filter(|&&i| Some(u32::from(p.row(i)[1] > p.row(i)[0])) == labels[i])
            .count();
        let acc = right as f64 / test.len() as f64;
        println!("SAGE, sampled mini-batches: test accuracy {acc:.3}");
        assert!(acc > 0.85, "{acc}");
        assert_eq!(fit(), t);
    }

    #[test]
    fn balanced_weights_follow_the_training_counts() {
        let labels = [Some(0), Some(0), Some(0), Some(1), None, Some(1)];
        let mask = [true, true, true, true, true, false];
        assert_eq!(class_weights(&labels, &mask, 2, true), vec![4.0 / 6.0, 2.0]);
        assert_eq!(class_weights(&labels, &mask, 2, false), vec![1.0, 1.0]);
    }
}
