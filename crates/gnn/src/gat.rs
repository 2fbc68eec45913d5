//! A two-layer graph attention network (Veličković et al.; PyG's `GATConv` as in its
//! Cora example): `heads` attention heads of `hidden` units each, concatenated, ELU,
//! then one head giving the logits. Dropout on the input features and on the hidden
//! layer (attention coefficients are not dropped). Gradients by hand, checked against
//! finite differences in the tests.
//!
//! One layer, per head, over the graph taken as undirected with a self-loop per node:
//! `G = X W`, `s_j = G_j · a_src`, `t_i = G_i · a_dst`, `u_ij = s_j + t_i`,
//! `α_ij = softmax_j(LeakyReLU₀.₂(u_ij))` over `j ∈ N(i) ∪ {i}`,
//! `out_i = Σ_j α_ij G_j + b`.
//!
//! Backward, given `dOut`: `db = Σ dOut`; per edge `dα_ij = dOut_i · G_j`, and
//! `dG_j += α_ij dOut_i`; softmax: `de_ij = α_ij (dα_ij − Σ_k α_ik dα_ik)`; LeakyReLU:
//! `du_ij = de_ij · (1 if u_ij > 0 else 0.2)`; `ds_j += du_ij`, `dt_i += du_ij`;
//! `dG_j += ds_j a_src + dt_j a_dst`; `da_src = Σ_j ds_j G_j`, `da_dst = Σ_i dt_i G_i`;
//! `dW = Xᵀ dG`, `dX = dG Wᵀ`.

use rand_chacha::ChaCha8Rng;

use crate::adj::Csr;
use crate::dense::Mat;
use crate::gcn::{cross_entropy, Targets};

const SLOPE: f64 = 0.2;

/// One attention layer with `heads` heads of `width` outputs each (concatenated).
#[derive(Debug, Clone, PartialEq)]
pub struct GatLayer {
    pub heads: usize,
    /// `d × (heads · width)`.
    pub w: Mat,
    /// `heads × width`.
    pub a_src: Mat,
    /// `heads × width`.
    pub a_dst: Mat,
    /// `heads · width`.
    pub b: Vec<f64>,
}

/// A forward pass through one layer: what the backward pass needs.
#[derive(Debug, Clone)]
pub struct LayerCache {
    g: Mat,
    /// Per CSR entry and head: the pre-activation score and the attention weight.
    u: Vec<f64>,
    alpha: Vec<f64>,
    pub out: Mat,
}

impl GatLayer {
    fn init(d: usize, heads: usize, width: usize, rng: &mut ChaCha8Rng) -> GatLayer {
        let w = Mat::glorot(d, heads * width, rng);
        let a_src = Mat::glorot(heads, width, rng);
        let a_dst = Mat::glorot(heads, width, rng);
        GatLayer {
            heads,
            w,
            a_src,
            a_dst,
            b: vec![0.0; heads * width],
        }
    }

    fn width(&self) -> usize {
        self.a_src.cols
    }

    fn params(&self) -> impl Iterator<Item = &f64> {
        self.w
            .data
            .iter()
            .chain(&self.a_src.data)
            .chain(&self.a_dst.data)
            .chain(&self.b)
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.w
            .data
            .iter_mut()
            .chain(self.a_src.data.iter_mut())
            .chain(self.a_dst.data.iter_mut())
            .chain(self.b.iter_mut())
    }

    /// The layer over `x`.
    pub fn forward(&self, adj: &Csr, x: &Mat) -> LayerCache {
        let (h, f) = (self.heads, self.width());
        let g = x.matmul(&self.w);
        let n = x.rows;
        // per node and head: s (as a source) and t (as a target)
        let mut s = crate::dense::zeroed(n * h);
        let mut t = crate::dense::zeroed(n * h);
        for i in 0..n {
            let gi = g.row(i);
            for k in 0..h {
                let gk = &gi[k * f..(k + 1) * f];
                s[i * h + k] = dot(gk, self.a_src.row(k));
                t[i * h + k] = dot(gk, self.a_dst.row(k));
            }
        }
        let nnz = adj.col.len();
        let mut u = crate::dense::zeroed(nnz * h);
        let mut alpha = crate::dense::zeroed(nnz * h);
        let mut out = Mat::zeros(n, h * f);
        for i in 0..n {
            let (lo, hi) = (adj.off[i], adj.off[i + 1]);
            for k in 0..h {
                let mut m = f64::NEG_INFINITY;
                for e in lo..hi {
                    let j = adj.col[e] as usize;
                    let v = s[j * h + k] + t[i * h + k];
                    u[e * h + k] = v;
                    m = m.max(leaky(v));
                }
                let mut z = 0.0;
                for e in lo..hi {
                    let a = (leaky(u[e * h + k]) - m).exp();
                    alpha[e * h + k] = a;
                    z += a;
                }
                let o = &mut out.data[i * h * f + k * f..i * h * f + (k + 1) * f];
                for e in lo..hi {
                    alpha[e * h + k] /= z;
                    let a = alpha[e * h + k];
                    let gj = &g.row(adj.col[e] as usize)[k * f..(k + 1) * f];
                    for (o, v) in o.iter_mut().zip(gj) {
                        *o += a * v;
                    }
                }
            }
        }
        out.add_row(&self.b);
        LayerCache { g, u, alpha, out }
    }

    /// Gradients of the parameters and of the input, given `dout`.
    pub fn backward(&self, adj: &Csr, x: &Mat, c: &LayerCache, dout: &Mat) -> (GatLayer, Mat) {
        let (h, f) = (self.heads, self.width());
        let n = x.rows;
        let b = dout.col_sums();
        let mut dg = Mat::zeros(n, h * f);
        let mut ds = crate::dense::zeroed(n * h);
        let mut dt = crate::dense::zeroed(n * h);
        let mut dalpha = Vec::new();
        for i in 0..n {
            let (lo, hi) = (adj.off[i], adj.off[i + 1]);
            for k in 0..h {
                let di = &dout.row(i)[k * f..(k + 1) * f];
                dalpha.clear();
                let mut total = 0.0;
                for e in lo..hi {
                    let j = adj.col[e] as usize;
                    let gj = &c.g.row(j)[k * f..(k + 1) * f];
                    let da = dot(di, gj);
                    total += c.alpha[e * h + k] * da;
                    dalpha.push(da);
                    let a = c.alpha[e * h + k];
                    let row = &mut dg.data[j * h * f + k * f..j * h * f + (k + 1) * f];
                    for (r, v) in row.iter_mut().zip(di) {
                        *r += a * v;
                    }
                }
                for (q, e) in (lo..hi).enumerate() {
                    let de = c.alpha[e * h + k] * (dalpha[q] - total);
                    let du = if c.u[e * h + k] > 0.0 { de } else { SLOPE * de };
                    let j = adj.col[e] as usize;
                    ds[j * h + k] += du;
                    dt[i * h + k] += du;
                }
            }
        }
        let mut a_src = Mat::zeros(h, f);
        let mut a_dst = Mat::zeros(h, f);
        for i in 0..n {
            for k in 0..h {
                let (si, ti) = (ds[i * h + k], dt[i * h + k]);
                let gi = &c.g.row(i)[k * f..(k + 1) * f];
                for ((s, t), g) in a_src.row_mut(k).iter_mut().zip(a_dst.row_mut(k)).zip(gi) {
                    *s += si * g;
                    *t += ti * g;
                }
                let row = &mut dg.data[i * h * f + k * f..i * h * f + (k + 1) * f];
                for ((r, s), t) in row.iter_mut().zip(self.a_src.row(k)).zip(self.a_dst.row(k)) {
                    *r += si * s + ti * t;
                }
            }
        }
        let w = x.t_matmul(&dg);
        let dx = dg.matmul_t(&self.w);
        (
            GatLayer {
                heads: h,
                w,
                a_src,
                a_dst,
                b,
            },
            dx,
        )
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn leaky(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        SLOPE * v
    }
}

fn elu(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        v.exp_m1()
    }
}

fn elu_grad(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else {
        v.exp()
    }
}

/// The two-layer network.
#[derive(Debug, Clone, PartialEq)]
pub struct Gat {
    pub l1: GatLayer,
    pub l2: GatLayer,
}

/// A forward pass's values.
struct Pass {
    x0: Mat,
    c1: LayerCache,
    d1: Mat,
    c2: LayerCache,
}

impl Gat {
    /// Glorot-uniform weights from `rng`, zero biases: `heads × hidden` hidden units.
    pub fn init(
        dim: usize,
        hidden: usize,
        heads: usize,
        classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> Gat {
        let l1 = GatLayer::init(dim, heads, hidden, rng);
        let l2 = GatLayer::init(heads * hidden, 1, classes, rng);
        Gat { l1, l2 }
    }

    /// Every parameter in a fixed order (layer 1: w, a_src, a_dst, b; then layer 2).
    pub fn params(&self) -> impl Iterator<Item = &f64> {
        self.l1.params().chain(self.l2.params())
    }

    /// The same, mutable.
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.l1.params_mut().chain(self.l2.params_mut())
    }

    /// Hidden units (all heads).
    pub fn hidden(&self) -> usize {
        self.l1.b.len()
    }

    /// Heads of the first layer.
    pub fn heads(&self) -> usize {
        self.l1.heads
    }

    /// First-layer weights (what weight decay applies to), counted from the start.
    pub fn first_layer_weights(&self) -> usize {
        self.l1.w.data.len()
    }

    /// Cells of the dropout mask over `n` nodes of `d` inputs: inputs, then hidden.
    pub fn dropout_len(&self, n: usize, d: usize) -> usize {
        n * (d + self.hidden())
    }

    fn pass(&self, adj: &Csr, x: &Mat, drop: Option<&[f64]>) -> Pass {
        let nd = x.data.len();
        let mut x0 = x.clone();
        if let Some(m) = drop {
            for (v, k) in x0.data.iter_mut().zip(&m[..nd]) {
                *v *= k;
            }
        }
        let c1 = self.l1.forward(adj, &x0);
        let mut d1 = c1.out.clone();
        for (i, v) in d1.data.iter_mut().enumerate() {
            *v = elu(*v) * drop.map_or(1.0, |m| m[nd + i]);
        }
        let c2 = self.l2.forward(adj, &d1);
        Pass { x0, c1, d1, c2 }
    }

    /// The logits.
    pub fn logits(&self, adj: &Csr, x: &Mat) -> Mat {
        self.pass(adj, x, None).c2.out
    }

    /// The hidden layer (after ELU): the node embeddings.
    pub fn embed(&self, adj: &Csr, x: &Mat) -> Mat {
        self.pass(adj, x, None).d1
    }

    /// The loss and its gradients.
    pub fn loss_and_grads(
        &self,
        adj: &Csr,
        x: &Mat,
        drop: Option<&[f64]>,
        t: &Targets<'_>,
    ) -> (f64, Gat) {
        let p = self.pass(adj, x, drop);
        let (loss, dz) = cross_entropy(&p.c2.out, t);
        let (l2, mut dd) = self.l2.backward(adj, &p.d1, &p.c2, &dz);
        let nd = x.data.len();
        for (i, v) in dd.data.iter_mut().enumerate() {
            *v *= elu_grad(p.c1.out.data[i]) * drop.map_or(1.0, |m| m[nd + i]);
        }
        let (l1, _) = self.l1.backward(adj, &p.x0, &p.c1, &dd);
        (loss, Gat { l1, l2 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcn::dropout_mask;
    use rand::SeedableRng;

    #[test]
    fn attention_over_a_node_and_its_neighbours_sums_to_one() {
        let adj = Csr::undirected(4, &[0, 1], &[1, 2], true);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let l = GatLayer::init(3, 2, 4, &mut rng);
        let x = Mat::uniform(4, 3, 1.0, &mut rng);
        let c = l.forward(&adj, &x);
        for i in 0..4 {
            for k in 0..2 {
                let s: f64 = (adj.off[i]..adj.off[i + 1])
                    .map(|e| c.alpha[e * 2 + k])
                    .sum();
                assert!((s - 1.0).abs() < 1e-12, "node {i} head {k}: {s}");
            }
        }
        // the isolated node 3 attends only to itself: its output is its own G row + b
        let g3 = x.matmul(&l.w);
        for (a, b) in c.out.row(3).iter().zip(g3.row(3)) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let src = [0u32, 1, 2, 3, 4, 5, 0, 2];
        let dst = [1u32, 2, 3, 4, 5, 0, 3, 5];
        let adj = Csr::undirected(7, &src, &dst, true); // node 6 isolated
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = Mat::uniform(7, 4, 1.0, &mut rng);
        let labels = vec![Some(0), Some(1), Some(2), None, Some(1), Some(0), Some(2)];
        let mask = vec![true, true, true, true, false, true, true];
        let cw = [1.0, 2.0, 0.5];
        let t = Targets {
            labels: &labels,
            mask: &mask,
            class_weight: &cw,
        };
        let g = Gat::init(4, 3, 2, 3, &mut rng);
        let drop = dropout_mask(g.dropout_len(7, 4), 0.3, &mut rng);
        for d in [None, Some(&drop[..])] {
            let (_, grads) = g.loss_and_grads(&adj, &x, d, &t);
            let analytic: Vec<f64> = grads.params().copied().collect();
            assert_eq!(analytic.len(), g.params().count());
            let eps = 1e-6;
            for (k, &an) in analytic.iter().enumerate() {
                let mut plus = g.clone();
                if let Some(v) = plus.params_mut().nth(k) {
                    *v += eps;
                }
                let mut minus = g.clone();
                if let Some(v) = minus.params_mut().nth(k) {
                    *v -= eps;
                }
                let lp = plus.loss_and_grads(&adj, &x, d, &t).0;
                let lm = minus.loss_and_grads(&adj, &x, d, &t).0;
                let numeric = (lp - lm) / (2.0 * eps);
                let err = (numeric - an).abs() / (numeric.abs() + an.abs()).max(1e-7);
                assert!(
                    err < 1e-5,
                    "parameter {k}: numeric {numeric}, analytic {an}"
                );
            }
        }
    }
}
