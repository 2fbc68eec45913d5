//! Full-batch training of the GCN: Adam, L2 weight decay on the first layer (as Kipf &
//! Welling), dropout on the hidden layer, class weights, and early stopping on the
//! validation loss (the best epoch's parameters are kept). Everything random comes from
//! one seeded ChaCha stream, drawn in a fixed order, so the same inputs and seed give the
//! same parameters bit for bit.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::adj::NormAdj;
use crate::dense::Mat;
use crate::gcn::{cross_entropy, dropout_mask, softmax, Gcn, Targets};

/// Training settings (PyG's GCN example defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub hidden: usize,
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub dropout: f64,
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
            patience: 50,
            balanced: false,
            seed: 0,
        }
    }
}

/// A trained model and how training went.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: Gcn,
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// (training loss, validation loss) per epoch.
    pub history: Vec<(f64, f64)>,
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    fn step(&mut self, params: &mut Gcn, grads: &Gcn, lr: f64, decay_w1: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        let n_w1 = params.w1.data.len();
        for (k, (p, g)) in params.params_mut().zip(grads.params()).enumerate() {
            let g = if k < n_w1 { g + decay_w1 * *p } else { *g };
            self.m[k] = B1 * self.m[k] + (1.0 - B1) * g;
            self.v[k] = B2 * self.v[k] + (1.0 - B2) * g * g;
            *p -= lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + EPS);
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

/// Trains on the `train` nodes, stopping early on the `val` nodes' loss.
pub fn train(
    a: &NormAdj,
    x: &Mat,
    labels: &[Option<u32>],
    classes: usize,
    train_mask: &[bool],
    val_mask: &[bool],
    o: &TrainOptions,
) -> Trained {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let ax = a.mul(x);
    let mut model = Gcn::init(x.cols, o.hidden, classes, &mut rng);
    let n_params = model.params().count();
    let mut adam = Adam {
        m: vec![0.0; n_params],
        v: vec![0.0; n_params],
        t: 0,
    };
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
    let mut best = (f64::INFINITY, 0usize, model.clone());
    let mut history = Vec::with_capacity(o.epochs);
    let mut epochs_run = 0;
    for epoch in 0..o.epochs {
        epochs_run = epoch + 1;
        let drop = (o.dropout > 0.0).then(|| dropout_mask(x.rows * o.hidden, o.dropout, &mut rng));
        let (loss, grads) = model.loss_and_grads(a, &ax, drop.as_deref(), &tt);
        adam.step(&mut model, &grads, o.lr, o.weight_decay);
        let val = if has_val {
            cross_entropy(&model.forward(a, &ax, None).z, &tv).0
        } else {
            loss
        };
        history.push((loss, val));
        if val < best.0 {
            best = (val, epoch, model.clone());
        } else if o.patience > 0 && epoch - best.1 >= o.patience {
            break;
        }
    }
    Trained {
        model: best.2,
        best_epoch: best.1,
        epochs_run,
        history,
    }
}

/// Class probabilities of every node (row-major, `classes` per node).
pub fn predict(model: &Gcn, a: &NormAdj, x: &Mat) -> Mat {
    let ax = a.mul(x);
    let z = model.forward(a, &ax, None).z;
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

    /// Two communities (dense inside, a few edges across) whose features are noise: only
    /// the graph tells them apart.
    fn communities(seed: u64) -> (NormAdj, Mat, Vec<Option<u32>>) {
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
        let a = NormAdj::new(n, &s, &d);
        let x = Mat::from_vec(n, 8, (0..n * 8).map(|_| rng.gen_range(-1.0..1.0)).collect());
        let labels = (0..n).map(|i| Some(u32::from(i >= 60))).collect();
        (a, x, labels)
    }

    #[test]
    fn learns_communities_from_the_graph_and_is_deterministic() {
        let (a, x, labels) = communities(3);
        let n = labels.len();
        // every fifth node trains, every fifth + 1 validates, the rest test
        let train_mask: Vec<bool> = (0..n).map(|i| i % 5 == 0).collect();
        let val_mask: Vec<bool> = (0..n).map(|i| i % 5 == 1).collect();
        let o = TrainOptions {
            seed: 7,
            ..TrainOptions::default()
        };
        let t = train(&a, &x, &labels, 2, &train_mask, &val_mask, &o);
        let p = predict(&t.model, &a, &x);
        let test: Vec<usize> = (0..n).filter(|i| i % 5 >= 2).collect();
        let right = test
            .iter()
            .filter(|&&i| {
                let guess = u32::from(p.row(i)[1] > p.row(i)[0]);
                Some(guess) == labels[i]
            })
            .count();
        let acc = right as f64 / test.len() as f64;
        assert!(
            acc > 0.9,
            "test accuracy {acc} (best epoch {})",
            t.best_epoch
        );
        assert!(t.history[0].0 > t.history[t.best_epoch].0, "the loss fell");
        // the same seed, the same bits; another seed, other weights
        let again = train(&a, &x, &labels, 2, &train_mask, &val_mask, &o);
        assert_eq!(again, t);
        let other = train(
            &a,
            &x,
            &labels,
            2,
            &train_mask,
            &val_mask,
            &TrainOptions {
                seed: 8,
                ..o.clone()
            },
        );
        assert_ne!(other.model, t.model);
    }

    #[test]
    fn balanced_weights_follow_the_training_counts() {
        let labels = [Some(0), Some(0), Some(0), Some(1), None, Some(1)];
        let mask = [true, true, true, true, true, false];
        assert_eq!(class_weights(&labels, &mask, 2, true), vec![4.0 / 6.0, 2.0]);
        assert_eq!(class_weights(&labels, &mask, 2, false), vec![1.0, 1.0]);
    }
}
