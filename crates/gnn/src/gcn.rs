//! A two-layer GCN (Kipf & Welling): `Z = Â · drop(ReLU(Â X W1 + b1)) · W2 + b2`, with a
//! class-weighted softmax cross-entropy over the training nodes, and its gradients
//! written out by hand (checked against finite differences in the tests).
//!
//! Backward, with `P = ÂX W1 + b1`, `H = ReLU(P)`, `D = H ⊙ M` (the dropout mask,
//! scaled by `1/(1-p)`), `G = Â D`:
//! `dZ = (softmax(Z) − Y) ⊙ w / Σw` on training rows (0 elsewhere); `dW2 = Gᵀ dZ`,
//! `db2 = Σ dZ`; `dD = Â (dZ W2ᵀ)` (Â is symmetric); `dP = dD ⊙ M ⊙ [P > 0]`;
//! `dW1 = (ÂX)ᵀ dP`, `db1 = Σ dP`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::adj::NormAdj;
use crate::dense::Mat;

/// The parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Gcn {
    pub w1: Mat,
    pub b1: Vec<f64>,
    pub w2: Mat,
    pub b2: Vec<f64>,
}

/// Gradients, shaped as the parameters.
pub type Grads = Gcn;

/// What the loss needs: the class of each node, which nodes count, and class weights.
#[derive(Debug, Clone)]
pub struct Targets<'a> {
    pub labels: &'a [Option<u32>],
    /// Nodes the loss runs over (the training side of a split).
    pub mask: &'a [bool],
    /// Weight per class (1 each for unweighted).
    pub class_weight: &'a [f64],
}

impl Gcn {
    /// Glorot-uniform weights from `rng`, zero biases.
    pub fn init(dim: usize, hidden: usize, classes: usize, rng: &mut ChaCha8Rng) -> Gcn {
        let w1 = Mat::glorot(dim, hidden, rng);
        let w2 = Mat::glorot(hidden, classes, rng);
        Gcn {
            w1,
            b1: vec![0.0; hidden],
            w2,
            b2: vec![0.0; classes],
        }
    }

    /// Zeros shaped like `self`.
    pub fn zeros_like(&self) -> Gcn {
        Gcn {
            w1: Mat::zeros(self.w1.rows, self.w1.cols),
            b1: vec![0.0; self.b1.len()],
            w2: Mat::zeros(self.w2.rows, self.w2.cols),
            b2: vec![0.0; self.b2.len()],
        }
    }

    /// Every parameter, in a fixed order (w1, b1, w2, b2), mutable.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.w1
            .data
            .iter_mut()
            .chain(self.b1.iter_mut())
            .chain(self.w2.data.iter_mut())
            .chain(self.b2.iter_mut())
    }

    /// Every parameter, in the same order.
    pub fn params(&self) -> impl Iterator<Item = &f64> {
        self.w1
            .data
            .iter()
            .chain(self.b1.iter())
            .chain(self.w2.data.iter())
            .chain(self.b2.iter())
    }

    /// The logits and the hidden layer (after ReLU, before dropout). `ax` is `Â X`
    /// (constant over training); `drop` the scaled dropout mask of the hidden layer.
    pub fn forward(&self, a: &NormAdj, ax: &Mat, drop: Option<&[f64]>) -> Forward {
        let mut p = ax.matmul(&self.w1);
        p.add_row(&self.b1);
        let mut d = p.clone();
        for (i, v) in d.data.iter_mut().enumerate() {
            *v = v.max(0.0) * drop.map_or(1.0, |m| m[i]);
        }
        let g = a.mul(&d);
        let mut z = g.matmul(&self.w2);
        z.add_row(&self.b2);
        Forward { p, d, g, z }
    }

    /// The loss and its gradients.
    pub fn loss_and_grads(
        &self,
        a: &NormAdj,
        ax: &Mat,
        drop: Option<&[f64]>,
        t: &Targets<'_>,
    ) -> (f64, Grads) {
        let f = self.forward(a, ax, drop);
        let (loss, dz) = cross_entropy(&f.z, t);
        (loss, self.backward(a, ax, drop, &f, &dz))
    }

    /// The gradients given `dL/dZ` for a forward pass `f` (any loss on the outputs:
    /// classes, or embeddings scored by a link decoder).
    pub fn backward(
        &self,
        a: &NormAdj,
        ax: &Mat,
        drop: Option<&[f64]>,
        f: &Forward,
        dz: &Mat,
    ) -> Grads {
        self.backward_full(a, ax, drop, f, dz).0
    }

    /// [`Gcn::backward`] and the gradient with respect to `ÂX` (`dP W1ᵀ`), for inputs
    /// that are themselves learned (`dX = Â dP W1ᵀ`, Â being symmetric).
    pub fn backward_full(
        &self,
        a: &NormAdj,
        ax: &Mat,
        drop: Option<&[f64]>,
        f: &Forward,
        dz: &Mat,
    ) -> (Grads, Mat) {
        let w2 = f.g.t_matmul(dz);
        let b2 = dz.col_sums();
        let dg = dz.matmul_t(&self.w2);
        let mut dp = a.mul(&dg);
        for (i, v) in dp.data.iter_mut().enumerate() {
            let keep = drop.map_or(1.0, |m| m[i]);
            *v *= if f.p.data[i] > 0.0 { keep } else { 0.0 };
        }
        let w1 = ax.t_matmul(&dp);
        let b1 = dp.col_sums();
        let dax = dp.matmul_t(&self.w1);
        (Gcn { w1, b1, w2, b2 }, dax)
    }
}

/// A forward pass's intermediate values.
#[derive(Debug, Clone)]
pub struct Forward {
    /// Before ReLU.
    pub p: Mat,
    /// After ReLU and dropout.
    pub d: Mat,
    /// `Â D`.
    pub g: Mat,
    /// Logits.
    pub z: Mat,
}

/// Row softmax.
pub fn softmax(z: &[f64], out: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - m).exp();
        s += *o;
    }
    for o in out.iter_mut() {
        *o /= s;
    }
}

/// Weighted mean cross-entropy over the masked, labelled rows, and `dL/dZ`.
pub fn cross_entropy(z: &Mat, t: &Targets<'_>) -> (f64, Mat) {
    let c = z.cols;
    let mut dz = Mat::zeros(z.rows, c);
    let mut total_w = 0.0;
    let mut loss = 0.0;
    let mut p = vec![0.0; c];
    for i in 0..z.rows {
        let (true, Some(y)) = (t.mask[i], t.labels[i]) else {
            continue;
        };
        let w = t.class_weight[y as usize];
        softmax(z.row(i), &mut p);
        loss -= w * p[y as usize].max(1e-300).ln();
        total_w += w;
        let row = dz.row_mut(i);
        for k in 0..c {
            row[k] = w * (p[k] - f64::from(u8::from(k == y as usize)));
        }
    }
    if total_w > 0.0 {
        loss /= total_w;
        for v in dz.data.iter_mut() {
            *v /= total_w;
        }
    }
    (loss, dz)
}

/// A dropout mask of `len` cells: 0 with probability `p`, else `1/(1-p)`.
pub fn dropout_mask(len: usize, p: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let keep = 1.0 / (1.0 - p);
    (0..len)
        .map(|_| if rng.gen::<f64>() < p { 0.0 } else { keep })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A small graph with features and labels where every gradient can be checked.
    fn case() -> (NormAdj, Mat, Vec<Option<u32>>, Vec<bool>) {
        let src = [0u32, 1, 2, 3, 4, 5, 0, 2];
        let dst = [1u32, 2, 3, 4, 5, 0, 3, 5];
        let a = NormAdj::new(7, &src, &dst); // node 6 isolated
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = Mat::uniform(7, 4, 1.0, &mut rng);
        let labels = vec![Some(0), Some(1), Some(2), None, Some(1), Some(0), Some(2)];
        let mask = vec![true, true, true, true, false, true, true];
        (a, x, labels, mask)
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (a, x, labels, mask) = case();
        let ax = a.mul(&x);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let g = Gcn::init(4, 5, 3, &mut rng);
        let drop = dropout_mask(7 * 5, 0.3, &mut rng);
        let cw = [1.0, 2.0, 0.5];
        let t = Targets {
            labels: &labels,
            mask: &mask,
            class_weight: &cw,
        };
        for d in [None, Some(&drop[..])] {
            let (_, grads) = g.loss_and_grads(&a, &ax, d, &t);
            let analytic: Vec<f64> = grads.params().copied().collect();
            let eps = 1e-6;
            let mut worst: f64 = 0.0;
            for (k, &an) in analytic.iter().enumerate() {
                let mut plus = g.clone();
                *plus.params_mut().nth(k).unwrap() += eps;
                let mut minus = g.clone();
                *minus.params_mut().nth(k).unwrap() -= eps;
                let lp = plus.loss_and_grads(&a, &ax, d, &t).0;
                let lm = minus.loss_and_grads(&a, &ax, d, &t).0;
                let numeric = (lp - lm) / (2.0 * eps);
                let err =
                    (numeric - analytic[k]).abs() / (numeric.abs() + analytic[k].abs()).max(1e-8);
                worst = worst.max(err);
                assert!(
                    err < 1e-5,
                    "parameter {k}: numeric {numeric}, analytic {an}"
                );
            }
            assert!(worst < 1e-5);
        }
    }

    #[test]
    fn softmax_cross_entropy_of_a_sure_answer_is_near_zero() {
        let z = Mat::from_vec(1, 2, vec![30.0, -30.0]);
        let labels = [Some(0)];
        let t = Targets {
            labels: &labels,
            mask: &[true],
            class_weight: &[1.0, 1.0],
        };
        let (l, dz) = cross_entropy(&z, &t);
        assert!(l < 1e-20 && dz.data[0].abs() < 1e-20, "{l}");
    }
}
