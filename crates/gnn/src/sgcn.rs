//! A trained signed GNN for edge signs (`--sign-model sgcn`): SGCN (Derr, Ma & Tang,
//! "Signed Graph Convolutional Network", 2018) with two learned layers, each node carrying
//! a *balanced* and an *unbalanced* half.
//!
//! Over the undirected signed neighbourhoods `N⁺(i)` and `N⁻(i)` (mean aggregation):
//!
//! ```text
//! layer 1:  b¹ = tanh([mean_{N⁺} x ‖ x] B₁)          u¹ = tanh([mean_{N⁻} x ‖ x] U₁)
//! layer 2:  b² = tanh([mean_{N⁺} b¹ ‖ mean_{N⁻} u¹ ‖ b¹] B₂)
//!           u² = tanh([mean_{N⁺} u¹ ‖ mean_{N⁻} b¹ ‖ u¹] U₂)
//! edge u→v: p(+) = σ(θ_s · [b²_u ‖ u²_u] + θ_t · [b²_v ‖ u²_v] + c)
//! ```
//!
//! (balance theory: a friend's friend and an enemy's enemy feed the balanced half, a
//! friend's enemy and an enemy's friend the unbalanced one). The input `x` of a node is
//! its standardised log signed in/out degrees and positive shares plus a constant.
//! Trained with Adam on the class-weighted cross-entropy of the edge signs (SGCN's
//! balance-theory triplet term is not used: a sign classifier is what is evaluated).
//!
//! So that a training edge is seen as a held-out one will be, each epoch re-splits the
//! training edges (seeded): 70 % carry messages and make the degree inputs, the other
//! 30 % are the supervision, absent from both. A fixed tenth of the training edges is
//! held out of everything for early stopping (validation loss). Prediction uses every
//! training edge for messages and inputs. Gradients are written by hand and checked
//! against finite differences; everything runs in one thread in a fixed order.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dense::Mat;

/// Input width: six degree features and a constant.
const INPUT: usize = 7;
/// Share of an epoch's training edges that carry messages.
const MESSAGE_SHARE: f64 = 0.7;

/// Settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SgcnOptions {
    /// Width of each half (balanced, unbalanced) in both layers.
    pub half: usize,
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub patience: usize,
    pub seed: u64,
}

impl Default for SgcnOptions {
    fn default() -> Self {
        SgcnOptions {
            half: 16,
            epochs: 200,
            lr: 0.01,
            weight_decay: 1e-4,
            patience: 30,
            seed: 0,
        }
    }
}

/// The parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgcn {
    b1: Mat,
    u1: Mat,
    b2: Mat,
    u2: Mat,
    /// `[θ_s ‖ θ_t]`, each `2 · half` wide.
    theta: Vec<f64>,
    c: f64,
}

/// Signed edges `(source, target, positive)`.
pub type SignedEdge = (u32, u32, bool);

/// The graph a forward pass runs over: inputs and both neighbourhoods (undirected).
pub struct SignedGraph {
    x: Mat,
    pos: Vec<Vec<u32>>,
    neg: Vec<Vec<u32>>,
}

impl SignedGraph {
    /// Inputs and neighbourhoods from the `edges` over `n` nodes.
    pub fn new(n: usize, edges: &[SignedEdge]) -> SignedGraph {
        // out+, out-, in+, in-
        let mut deg = vec![[0.0f64; 4]; n];
        let mut pos = vec![Vec::new(); n];
        let mut neg = vec![Vec::new(); n];
        for &(a, b, p) in edges {
            let (o, i) = if p { (0, 2) } else { (1, 3) };
            deg[a as usize][o] += 1.0;
            deg[b as usize][i] += 1.0;
            let hood = if p { &mut pos } else { &mut neg };
            hood[a as usize].push(b);
            hood[b as usize].push(a);
        }
        let share = |p: f64, q: f64| (p + 1.0) / (p + q + 2.0);
        let mut x = Mat::zeros(n, INPUT);
        for (i, d) in deg.iter().enumerate() {
            x.row_mut(i).copy_from_slice(&[
                d[0].ln_1p(),
                d[1].ln_1p(),
                d[2].ln_1p(),
                d[3].ln_1p(),
                share(d[0], d[1]),
                share(d[2], d[3]),
                1.0,
            ]);
        }
        // standardise the six degree columns over the nodes; the constant stays 1
        let all: Vec<usize> = (0..n).collect();
        let mut scaling = crate::dense::column_scaling(&x, &all);
        scaling[INPUT - 1] = (0.0, 1.0);
        SignedGraph {
            x: crate::dense::standardise(&x, &scaling),
            pos,
            neg,
        }
    }
}

/// Row `i` of the result: the mean of `h`'s rows over `hood[i]` (zeros when empty).
fn mean(hood: &[Vec<u32>], h: &Mat) -> Mat {
    let mut out = Mat::zeros(hood.len(), h.cols);
    for (i, l) in hood.iter().enumerate() {
        if l.is_empty() {
            continue;
        }
        let w = 1.0 / l.len() as f64;
        let row = out.row_mut(i);
        for &j in l {
            for (o, v) in row.iter_mut().zip(h.row(j as usize)) {
                *o += w * v;
            }
        }
    }
    out
}

/// The transpose of [`mean`]: adds `d`'s row `i`, over `|hood[i]|`, to each row of
/// `hood[i]` in `out`.
fn mean_t(hood: &[Vec<u32>], d: &Mat, out: &mut Mat) {
    for (i, l) in hood.iter().enumerate() {
        if l.is_empty() {
            continue;
        }
        let w = 1.0 / l.len() as f64;
        for &j in l {
            let row = out.row_mut(j as usize);
            for (o, v) in row.iter_mut().zip(d.row(i)) {
                *o += w * v;
            }
        }
    }
}

fn tanh_of(m: Mat) -> Mat {
    let mut m = m;
    m.data.iter_mut().for_each(|v| *v = v.tanh());
    m
}

/// `d ⊙ (1 − h²)`: through tanh.
fn through_tanh(d: &Mat, h: &Mat) -> Mat {
    let mut out = d.clone();
    for (o, v) in out.data.iter_mut().zip(&h.data) {
        *o *= 1.0 - v * v;
    }
    out
}

/// `parts` side by side (each `n × w`): one `n × (k w)` matrix.
fn cat(parts: &[&Mat]) -> Mat {
    let mut out = parts[0].clone();
    for p in &parts[1..] {
        out = Mat::hcat(&out, p);
    }
    out
}

/// What a forward pass keeps for the backward one.
struct Cache {
    p1: Mat,
    q1: Mat,
    b1: Mat,
    u1: Mat,
    p2: Mat,
    q2: Mat,
    b2: Mat,
    u2: Mat,
}

impl Sgcn {
    /// Glorot-uniform weights from `rng`.
    pub fn init(half: usize, rng: &mut ChaCha8Rng) -> Sgcn {
        let b1 = Mat::glorot(2 * INPUT, half, rng);
        let u1 = Mat::glorot(2 * INPUT, half, rng);
        let b2 = Mat::glorot(3 * half, half, rng);
        let u2 = Mat::glorot(3 * half, half, rng);
        // a 4·half → 1 layer
        let theta = Mat::glorot(4 * half, 1, rng).data;
        Sgcn {
            b1,
            u1,
            b2,
            u2,
            theta,
            c: 0.0,
        }
    }

    fn half(&self) -> usize {
        self.b1.cols
    }

    fn forward(&self, g: &SignedGraph) -> Cache {
        let p1 = Mat::hcat(&mean(&g.pos, &g.x), &g.x);
        let q1 = Mat::hcat(&mean(&g.neg, &g.x), &g.x);
        let b1 = tanh_of(p1.matmul(&self.b1));
        let u1 = tanh_of(q1.matmul(&self.u1));
        let p2 = cat(&[&mean(&g.pos, &b1), &mean(&g.neg, &u1), &b1]);
        let q2 = cat(&[&mean(&g.pos, &u1), &mean(&g.neg, &b1), &u1]);
        let b2 = tanh_of(p2.matmul(&self.b2));
        let u2 = tanh_of(q2.matmul(&self.u2));
        Cache {
            p1,
            q1,
            b1,
            u1,
            p2,
            q2,
            b2,
            u2,
        }
    }

    /// The logit of edge `(a, b)` from the last layer.
    fn logit(&self, c: &Cache, a: u32, b: u32) -> f64 {
        let h = self.half();
        let (ts, tt) = self.theta.split_at(2 * h);
        let dot = |t: &[f64], i: usize| {
            let (tb, tu) = t.split_at(h);
            tb.iter().zip(c.b2.row(i)).map(|(x, y)| x * y).sum::<f64>()
                + tu.iter().zip(c.u2.row(i)).map(|(x, y)| x * y).sum::<f64>()
        };
        dot(ts, a as usize) + dot(tt, b as usize) + self.c
    }

    /// Probability that each edge is positive.
    pub fn predict(&self, g: &SignedGraph, edges: &[(u32, u32)]) -> Vec<f64> {
        let c = self.forward(g);
        edges
            .iter()
            .map(|&(a, b)| sigmoid(self.logit(&c, a, b)))
            .collect()
    }

    /// The parameters in one order: B₁, U₁, B₂, U₂, θ, c.
    fn params(&self) -> Vec<f64> {
        let mut v = Vec::new();
        for m in [&self.b1, &self.u1, &self.b2, &self.u2] {
            v.extend_from_slice(&m.data);
        }
        v.extend_from_slice(&self.theta);
        v.push(self.c);
        v
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut f64> {
        self.b1
            .data
            .iter_mut()
            .chain(self.u1.data.iter_mut())
            .chain(self.b2.data.iter_mut())
            .chain(self.u2.data.iter_mut())
            .chain(self.theta.iter_mut())
            .chain(std::iter::once(&mut self.c))
    }

    /// Weighted cross-entropy over `edges` (`w_pos`, `w_neg` per class, divided by the
    /// total weight) from a forward pass, and its derivative by each edge's logit.
    fn edge_loss(
        &self,
        c: &Cache,
        edges: &[SignedEdge],
        w_pos: f64,
        w_neg: f64,
    ) -> (f64, Vec<f64>) {
        let total: f64 = edges
            .iter()
            .map(|e| if e.2 { w_pos } else { w_neg })
            .sum::<f64>()
            .max(1e-300);
        let mut loss = 0.0;
        let ds = edges
            .iter()
            .map(|&(a, b, y)| {
                let w = if y { w_pos } else { w_neg } / total;
                let s = self.logit(c, a, b);
                // −log σ(s) for +, −log(1 − σ(s)) for −, stable
                loss += w * if y { softplus(-s) } else { softplus(s) };
                w * (sigmoid(s) - if y { 1.0 } else { 0.0 })
            })
            .collect();
        (loss, ds)
    }

    /// The loss of [`Sgcn::loss_and_grad`] alone (no backward pass).
    pub fn loss(&self, g: &SignedGraph, edges: &[SignedEdge], w_pos: f64, w_neg: f64) -> f64 {
        self.edge_loss(&self.forward(g), edges, w_pos, w_neg).0
    }

    /// Weighted cross-entropy over `edges` (`w_pos`, `w_neg` per class, divided by the
    /// total weight) and its gradient in [`Sgcn::params`] order.
    pub fn loss_and_grad(
        &self,
        g: &SignedGraph,
        edges: &[SignedEdge],
        w_pos: f64,
        w_neg: f64,
    ) -> (f64, Vec<f64>) {
        let h = self.half();
        let c = self.forward(g);
        let n = g.x.rows;
        let (loss, dss) = self.edge_loss(&c, edges, w_pos, w_neg);
        // d loss / d b², d u²
        let (mut db2, mut du2) = (Mat::zeros(n, h), Mat::zeros(n, h));
        let mut dtheta = vec![0.0; 4 * h];
        let mut dc = 0.0;
        for (&(a, b, _), &ds) in edges.iter().zip(&dss) {
            dc += ds;
            for (end, i) in [(0usize, a as usize), (1, b as usize)] {
                let t = &self.theta[end * 2 * h..(end + 1) * 2 * h];
                let dt = &mut dtheta[end * 2 * h..(end + 1) * 2 * h];
                for k in 0..h {
                    dt[k] += ds * c.b2.row(i)[k];
                    dt[h + k] += ds * c.u2.row(i)[k];
                    db2.row_mut(i)[k] += ds * t[k];
                    du2.row_mut(i)[k] += ds * t[h + k];
                }
            }
        }
        // layer 2
        let gb2 = through_tanh(&db2, &c.b2);
        let gu2 = through_tanh(&du2, &c.u2);
        let d_b2w = c.p2.t_matmul(&gb2);
        let d_u2w = c.q2.t_matmul(&gu2);
        let dp2 = gb2.matmul_t(&self.b2);
        let dq2 = gu2.matmul_t(&self.u2);
        // p2 = [mean⁺ b¹ ‖ mean⁻ u¹ ‖ b¹], q2 = [mean⁺ u¹ ‖ mean⁻ b¹ ‖ u¹]
        let mut db1 = dp2.cols(2 * h, h);
        mean_t(&g.pos, &dp2.cols(0, h), &mut db1);
        mean_t(&g.neg, &dq2.cols(h, h), &mut db1);
        let mut du1 = dq2.cols(2 * h, h);
        mean_t(&g.neg, &dp2.cols(h, h), &mut du1);
        mean_t(&g.pos, &dq2.cols(0, h), &mut du1);
        // layer 1
        let d_b1w = c.p1.t_matmul(&through_tanh(&db1, &c.b1));
        let d_u1w = c.q1.t_matmul(&through_tanh(&du1, &c.u1));
        let mut grad = Vec::with_capacity(self.params().len());
        for m in [&d_b1w, &d_u1w, &d_b2w, &d_u2w] {
            grad.extend_from_slice(&m.data);
        }
        grad.extend_from_slice(&dtheta);
        grad.push(dc);
        (loss, grad)
    }
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

/// `ln(1 + e^s)` without overflow.
fn softplus(s: f64) -> f64 {
    s.max(0.0) + (-s.abs()).exp().ln_1p()
}

/// A trained model and how training went.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    pub model: Sgcn,
    pub best_epoch: usize,
    pub epochs_run: usize,
}

/// Trains on the `train` edges over `n` nodes.
pub fn train(n: usize, train: &[SignedEdge], o: &SgcnOptions) -> Result<Trained, String> {
    if o.half == 0 || o.epochs == 0 {
        return Err("the SGCN needs a width and epochs of at least 1".into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let mut edges = train.to_vec();
    edges.shuffle(&mut rng);
    let n_val = (edges.len() / 10).max(1);
    if edges.len() < n_val + 10 {
        return Err(format!("{} training edges: too few", edges.len()));
    }
    let (val, fit) = edges.split_at(n_val);
    let (val, mut fit) = (val.to_vec(), fit.to_vec());
    let val_graph = SignedGraph::new(n, &fit);
    let pos = fit.iter().filter(|e| e.2).count() as f64;
    let neg = fit.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Err("the training edges hold one sign only".into());
    }
    // balanced classes
    let (w_pos, w_neg) = (
        fit.len() as f64 / (2.0 * pos),
        fit.len() as f64 / (2.0 * neg),
    );
    let mut model = Sgcn::init(o.half, &mut rng);
    let n_params = model.params().len();
    let mut adam = crate::train::Adam::new(n_params);
    let (mut best, mut best_loss, mut best_epoch, mut epochs_run) =
        (model.clone(), f64::INFINITY, 0, 0);
    let cut = ((fit.len() as f64) * MESSAGE_SHARE).round() as usize;
    for epoch in 0..o.epochs {
        epochs_run = epoch + 1;
        fit.shuffle(&mut rng);
        let (messages, supervision) = fit.split_at(cut);
        let g = SignedGraph::new(n, messages);
        let (_, grad) = model.loss_and_grad(&g, supervision, w_pos, w_neg);
        // weight decay on everything but the bias
        adam.step_params(
            model.params_mut(),
            n_params - 1,
            &grad,
            o.lr,
            o.weight_decay,
        );
        let vl = model.loss(&val_graph, &val, w_pos, w_neg);
        if vl < best_loss {
            (best, best_loss, best_epoch) = (model.clone(), vl, epoch);
        } else if o.patience > 0 && epoch - best_epoch >= o.patience {
            break;
        }
    }
    Ok(Trained {
        model: best,
        best_epoch,
        epochs_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn random_graph(n: u32, m: usize, seed: u64) -> Vec<SignedEdge> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        while out.len() < m {
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            if a != b {
                out.push((a, b, rng.gen_bool(0.7)));
            }
        }
        out
    }

    #[test]
    fn gradients_match_finite_differences() {
        let edges = random_graph(12, 40, 1);
        let g = SignedGraph::new(12, &edges[..28]);
        let sup = &edges[28..];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let model = Sgcn::init(3, &mut rng);
        let (_, grad) = model.loss_and_grad(&g, sup, 1.3, 2.1);
        let p = model.params();
        assert_eq!(grad.len(), p.len());
        let eps = 1e-6;
        for (k, &g_k) in grad.iter().enumerate() {
            let shifted = |d: f64| {
                let mut m = model.clone();
                if let Some(x) = m.params_mut().nth(k) {
                    *x += d;
                }
                m.loss_and_grad(&g, sup, 1.3, 2.1).0
            };
            let num = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            assert!(
                (num - g_k).abs() < 1e-7 * (1.0 + num.abs()),
                "parameter {k}: numeric {num} vs {g_k}"
            );
        }
    }

    #[test]
    fn reputation_is_learned_and_training_is_seeded() {
        // ten bad actors everyone distrusts; a held-out edge's sign follows its target
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 60u32;
        let mut edges = Vec::new();
        while edges.len() < 600 {
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            if a != b {
                edges.push((a, b, b >= 10));
            }
        }
        let (test, tr) = edges.split_at(100);
        let o = SgcnOptions {
            epochs: 150,
            seed: 5,
            ..SgcnOptions::default()
        };
        let t = train(n as usize, tr, &o).unwrap();
        let g = SignedGraph::new(n as usize, tr);
        let pairs: Vec<(u32, u32)> = test.iter().map(|e| (e.0, e.1)).collect();
        let p = t.model.predict(&g, &pairs);
        let right = p
            .iter()
            .zip(test)
            .filter(|(p, e)| (**p > 0.5) == e.2)
            .count();
        assert!(right >= 90, "{right} of 100");
        assert_eq!(train(n as usize, tr, &o).unwrap(), t);
    }
}
