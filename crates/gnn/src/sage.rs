//! A two-layer GraphSAGE with the mean aggregator (Hamilton et al.; PyG's `SAGEConv`):
//! each layer is `h' = h W_self + mean_{j ∈ N(i)} h_j W_neigh + b`, ReLU and dropout
//! between the layers; gradients by hand (finite-difference checked).
//!
//! With `M` the neighbour-mean matrix, `P = X Ws1 + M X Wn1 + b1` (`M X` computed once
//! per graph), `D = ReLU(P) ⊙ mask`, `Z = D Ws2 + M (D Wn2) + b2`: the second layer's
//! mean runs over the `classes` columns of `D Wn2`, not the hidden ones of `D` (the same
//! product, a fraction of the sparse work). Backward, with `G = Mᵀ dZ`:
//! `dWs2 = Dᵀ dZ`, `dWn2 = Dᵀ G`, `db2 = Σ dZ`, `dD = dZ Ws2ᵀ + G Wn2ᵀ`,
//! `dP = dD ⊙ mask ⊙ [P > 0]`, `dWs1 = Xᵀ dP`, `dWn1 = (M X)ᵀ dP`, `db1 = Σ dP`.

use rand_chacha::ChaCha8Rng;

use crate::adj::MeanAdj;
use crate::dense::Mat;
use crate::gcn::{cross_entropy, Targets};

/// The parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sage {
    pub ws1: Mat,
    pub wn1: Mat,
    pub b1: Vec<f64>,
    pub ws2: Mat,
    pub wn2: Mat,
    pub b2: Vec<f64>,
}

impl Sage {
    /// Weights and biases uniform in `±1/√fan_in` from `rng` (PyTorch's `Linear`
    /// default, which PyG's `SAGEConv` uses).
    pub fn init(dim: usize, hidden: usize, classes: usize, rng: &mut ChaCha8Rng) -> Sage {
        let mut uniform = |r: usize, c: usize, fan_in: usize| {
            Mat::uniform(r, c, 1.0 / (fan_in.max(1) as f64).sqrt(), rng)
        };
        let ws1 = uniform(dim, hidden, dim);
        let wn1 = uniform(dim, hidden, dim);
        let b1 = uniform(1, hidden, dim).data;
        let ws2 = uniform(hidden, classes, hidden);
        let wn2 = uniform(hidden, classes, hidden);
        let b2 = uniform(1, classes, hidden).data;
        Sage {
            ws1,
            wn1,
            b1,
            ws2,
            wn2,
            b2,
        }
    }

    /// Every parameter in a fixed order (ws1, wn1, b1, ws2, wn2, b2).
    pub fn params(&self) -> impl Iterator<Item = &f64> {
        self.ws1
            .data
            .iter()
            .chain(&self.wn1.data)
            .chain(&self.b1)
            .chain(&self.ws2.data)
            .chain(&self.wn2.data)
            .chain(&self.b2)
    }

    /// The same, mutable.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.ws1
            .data
            .iter_mut()
            .chain(self.wn1.data.iter_mut())
            .chain(self.b1.iter_mut())
            .chain(self.ws2.data.iter_mut())
            .chain(self.wn2.data.iter_mut())
            .chain(self.b2.iter_mut())
    }

    /// Hidden width.
    pub fn hidden(&self) -> usize {
        self.b1.len()
    }

    /// First-layer weights (what weight decay applies to), counted from the start.
    pub fn first_layer_weights(&self) -> usize {
        self.ws1.data.len() + self.wn1.data.len()
    }

    /// The hidden layer (after ReLU and dropout), computed in place over the
    /// pre-activation. `mx` is `M X`. Where it is positive the pre-activation was and
    /// the unit was kept, which is all the backward pass needs of `P`.
    fn hidden_layer(&self, x: &Mat, mx: &Mat, drop: Option<&[f64]>) -> Mat {
        let mut d = Mat::affine_pair(x, &self.ws1, mx, &self.wn1, &self.b1);
        for (i, v) in d.data.iter_mut().enumerate() {
            *v = v.max(0.0) * drop.map_or(1.0, |k| k[i]);
        }
        d
    }

    /// `[Ws2 | Wn2]`: both second-layer weights side by side (hidden × 2·classes).
    fn w2(&self) -> Mat {
        Mat::hcat(&self.ws2, &self.wn2)
    }

    /// The logits from the hidden layer: `D Ws2 + M (D Wn2) + b2`, the neighbour mean
    /// taken over the `classes` columns of `D Wn2` rather than the hidden ones of `D`.
    fn logits_from(&self, m: &MeanAdj, d: &Mat) -> Mat {
        let mut z = d.matmul(&self.ws2);
        let agg = m.mul(&d.matmul(&self.wn2));
        for (row, mean) in z
            .data
            .chunks_mut(z.cols.max(1))
            .zip(agg.data.chunks(agg.cols.max(1)))
        {
            for ((o, b), bias) in row.iter_mut().zip(mean).zip(&self.b2) {
                *o += b + bias;
            }
        }
        z
    }

    /// The hidden layer (after ReLU): the node embeddings.
    pub fn embed(&self, _m: &MeanAdj, x: &Mat, mx: &Mat) -> Mat {
        self.hidden_layer(x, mx, None)
    }

    /// The logits.
    pub fn logits(&self, m: &MeanAdj, x: &Mat, mx: &Mat) -> Mat {
        let d = self.hidden_layer(x, mx, None);
        self.logits_from(m, &d)
    }

    /// The loss and its gradients.
    pub fn loss_and_grads(
        &self,
        m: &MeanAdj,
        x: &Mat,
        mx: &Mat,
        drop: Option<&[f64]>,
        t: &Targets<'_>,
    ) -> (f64, Sage) {
        let c = self.b2.len();
        let d = self.hidden_layer(x, mx, drop);
        let z = self.logits_from(m, &d);
        let (loss, dz) = cross_entropy(&z, t);
        // [dZ | Mᵀ dZ]: with it both second-layer gradients are one product with D,
        // and dD one product with [Ws2 | Wn2]
        let dcat = Mat::hcat(&dz, &m.mul_t(&dz));
        let dw2 = d.t_matmul(&dcat);
        let mut dd = dcat.matmul_t(&self.w2());
        // dP = dD ⊙ mask ⊙ [P > 0]: D > 0 exactly where P > 0 and the unit was kept
        for (i, v) in dd.data.iter_mut().enumerate() {
            let keep = drop.map_or(1.0, |k| k[i]);
            *v *= if d.data[i] > 0.0 { keep } else { 0.0 };
        }
        (
            loss,
            Sage {
                ws1: x.t_matmul(&dd),
                wn1: mx.t_matmul(&dd),
                b1: dd.col_sums(),
                ws2: dw2.cols(0, c),
                wn2: dw2.cols(c, c),
                b2: dz.col_sums(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcn::dropout_mask;
    use rand::SeedableRng;

    #[test]
    fn gradients_match_finite_differences() {
        let src = [0u32, 1, 2, 3, 4, 5, 0, 2];
        let dst = [1u32, 2, 3, 4, 5, 0, 3, 5];
        let m = MeanAdj::new(7, &src, &dst); // node 6 isolated
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = Mat::uniform(7, 4, 1.0, &mut rng);
        let mx = m.mul(&x);
        let labels = vec![Some(0), Some(1), Some(2), None, Some(1), Some(0), Some(2)];
        let mask = vec![true, true, true, true, false, true, true];
        let cw = [1.0, 2.0, 0.5];
        let t = Targets {
            labels: &labels,
            mask: &mask,
            class_weight: &cw,
        };
        let s = Sage::init(4, 5, 3, &mut rng);
        let drop = dropout_mask(7 * 5, 0.3, &mut rng);
        for d in [None, Some(&drop[..])] {
            let (_, g) = s.loss_and_grads(&m, &x, &mx, d, &t);
            let analytic: Vec<f64> = g.params().copied().collect();
            let eps = 1e-6;
            for (k, &an) in analytic.iter().enumerate() {
                let mut plus = s.clone();
                if let Some(v) = plus.params_mut().nth(k) {
                    *v += eps;
                }
                let mut minus = s.clone();
                if let Some(v) = minus.params_mut().nth(k) {
                    *v -= eps;
                }
                let lp = plus.loss_and_grads(&m, &x, &mx, d, &t).0;
                let lm = minus.loss_and_grads(&m, &x, &mx, d, &t).0;
                let numeric = (lp - lm) / (2.0 * eps);
                let err = (numeric - an).abs() / (numeric.abs() + an.abs()).max(1e-8);
                assert!(
                    err < 1e-5,
                    "parameter {k}: numeric {numeric}, analytic {an}"
                );
            }
        }
    }
}
