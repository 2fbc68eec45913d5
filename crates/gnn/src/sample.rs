//! Neighbour-sampled mini-batches (Hamilton et al.; PyG's `NeighborLoader`): each step
//! trains on a batch of training nodes through a sampled two-hop computation graph
//! instead of the whole graph, so memory and time per step depend on the batch and the
//! fan-outs, not on the graph's size.
//!
//! For a batch `B`: every node of `B` samples up to `fanout[0]` of its neighbours
//! (without replacement; all of them when it has fewer), giving `N1`; every node of `N1`
//! not in `B` samples up to `fanout[1]` of its own, giving `N2`. The sub-graph holds `B`,
//! then `N1`, then `N2` (first appearance order), each node averaging over its sampled
//! list (nodes of `N2` over none: the second layer reads them only through `N1`'s first
//! layer, where their own features enter). The loss runs over `B` only. Everything comes
//! from one seeded stream, drawn in a fixed order.
//!
//! GraphSAGE trains on the sampled lists exactly as drawn; GCN and GAT run their full-batch layers on the sub-graph the sampled links
//! make (taken both ways, as their full-batch graphs are: symmetric normalisation, and
//! attention over a node's sampled neighbours, its samplers and itself), the loss again
//! over `B` only.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::adj::{Csr, MeanAdj};
use crate::dense::Mat;
use crate::gcn::{cross_entropy, dropout_mask, Targets};
use crate::train::{class_weights, Adam, Arch, EarlyStop, Inputs, Net, TrainOptions, Trained};

/// A sampled computation graph.
#[derive(Debug, Clone, PartialEq)]
pub struct SubGraph {
    /// Global node numbers, the batch first.
    pub nodes: Vec<u32>,
    /// The batch's size (its nodes are `nodes[..batch]`).
    pub batch: usize,
    /// Per local node: its sampled neighbours (local numbers).
    pub lists: Vec<Vec<u32>>,
}

/// Samples the two-hop computation graph of `batch` (see the module notes).
pub fn sample(adj: &Csr, batch: &[u32], fanout: [usize; 2], rng: &mut ChaCha8Rng) -> SubGraph {
    let mut local: FxHashMap<u32, u32> = FxHashMap::default();
    let mut nodes: Vec<u32> = Vec::new();
    let mut id = |g: u32, nodes: &mut Vec<u32>| -> u32 {
        *local.entry(g).or_insert_with(|| {
            nodes.push(g);
            (nodes.len() - 1) as u32
        })
    };
    for &b in batch {
        id(b, &mut nodes);
    }
    let mut lists: Vec<Vec<u32>> = Vec::new();
    let pick = |v: u32, k: usize, rng: &mut ChaCha8Rng| -> Vec<u32> {
        let nb = adj.neighbours(v as usize);
        if nb.len() <= k {
            nb.to_vec()
        } else {
            nb.choose_multiple(rng, k).copied().collect()
        }
    };
    // hop 1: the batch's lists
    for i in 0..batch.len() {
        let g = nodes[i];
        let chosen = pick(g, fanout[0], rng);
        let l: Vec<u32> = chosen.into_iter().map(|u| id(u, &mut nodes)).collect();
        lists.push(l);
    }
    // hop 2: the lists of the nodes hop 1 added
    let hop1_end = nodes.len();
    for i in batch.len()..hop1_end {
        let g = nodes[i];
        let chosen = pick(g, fanout[1], rng);
        let l: Vec<u32> = chosen.into_iter().map(|u| id(u, &mut nodes)).collect();
        lists.push(l);
    }
    lists.resize(nodes.len(), Vec::new());
    SubGraph {
        nodes,
        batch: batch.len(),
        lists,
    }
}

/// Options of mini-batch training.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BatchOptions {
    pub batch_size: usize,
    pub fanout: [usize; 2],
}

/// Trains a model of `arch` on the `train` nodes with neighbour-sampled mini-batches
/// (GraphSAGE on the sampled lists, GCN and GAT on the sub-graph of the sampled links:
/// see the module notes); one Adam step per batch, batches in a seeded order every
/// epoch, early stopping on the `val` nodes' full-graph loss.
#[allow(clippy::too_many_arguments)]
pub fn train_batches(
    arch: Arch,
    n: usize,
    src: &[u32],
    dst: &[u32],
    x: &Mat,
    labels: &[Option<u32>],
    classes: usize,
    train_mask: &[bool],
    val_mask: &[bool],
    o: &TrainOptions,
    b: &BatchOptions,
) -> Trained {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let mut model = Net::init(arch, x.cols, classes, o, &mut rng);
    let n_w1 = model.first_layer_weights();
    let mut adam = Adam::new(model.param_count());
    let adj = Csr::undirected(n, src, dst, false);
    let full = Inputs::new(arch, n, src, dst, x.clone());
    let cw = class_weights(labels, train_mask, classes, o.balanced);
    let tv = Targets {
        labels,
        mask: val_mask,
        class_weight: &cw,
    };
    let has_val = val_mask.iter().zip(labels).any(|(&m, l)| m && l.is_some());
    let mut order: Vec<u32> = (0..n as u32)
        .filter(|&i| train_mask[i as usize] && labels[i as usize].is_some())
        .collect();
    let mut stop = EarlyStop::new(&model, o.patience);
    let mut epochs_run = 0;
    for epoch in 0..o.epochs {
        epochs_run = epoch + 1;
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for batch in order.chunks(b.batch_size.max(1)) {
            let sg = sample(&adj, batch, b.fanout, &mut rng);
            let mut xl = Mat::zeros(sg.nodes.len(), x.cols);
            for (i, &g) in sg.nodes.iter().enumerate() {
                xl.row_mut(i).copy_from_slice(x.row(g as usize));
            }
            let inp = if arch == Arch::Sage {
                Inputs::mean_over(MeanAdj::from_lists(&sg.lists), xl)
            } else {
                let (mut ls, mut ld) = (Vec::new(), Vec::new());
                for (i, l) in sg.lists.iter().enumerate() {
                    for &j in l {
                        ls.push(i as u32);
                        ld.push(j);
                    }
                }
                Inputs::new(arch, sg.nodes.len(), &ls, &ld, xl)
            };
            let ll: Vec<Option<u32>> = sg.nodes.iter().map(|&g| labels[g as usize]).collect();
            let mask: Vec<bool> = (0..sg.nodes.len()).map(|i| i < sg.batch).collect();
            let t = Targets {
                labels: &ll,
                mask: &mask,
                class_weight: &cw,
            };
            let drop = (o.dropout > 0.0).then(|| {
                dropout_mask(
                    model.dropout_len(sg.nodes.len(), x.cols),
                    o.dropout,
                    &mut rng,
                )
            });
            let (loss, grads) = model.loss_and_grads(&inp, drop.as_deref(), &t);
            loss_sum += loss * batch.len() as f64;
            adam.step_params(model.params_mut(), n_w1, &grads, o.lr, o.weight_decay);
        }
        let loss = loss_sum / order.len().max(1) as f64;
        let val = if has_val {
            cross_entropy(&model.logits(&full), &tv).0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_respect_the_fanouts_and_the_order() {
        // a star 0 - 1..=9, and 1 - 10..=14
        let mut s = vec![];
        let mut d = vec![];
        for v in 1..=9u32 {
            s.push(0);
            d.push(v);
        }
        for v in 10..=14u32 {
            s.push(1);
            d.push(v);
        }
        let adj = Csr::undirected(15, &s, &d, false);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let sg = sample(&adj, &[0], [3, 2], &mut rng);
        assert_eq!(sg.nodes[0], 0);
        assert_eq!(sg.batch, 1);
        assert_eq!(sg.lists[0].len(), 3);
        // each hop-1 node sampled at most 2, hop-2 nodes none
        for i in 1..=3 {
            assert!(sg.lists[i].len() <= 2);
        }
        assert!(sg.lists[4..].iter().all(Vec::is_empty));
        // lists point at the right global neighbours
        for (i, l) in sg.lists.iter().enumerate() {
            for &j in l {
                let (a, b) = (sg.nodes[i], sg.nodes[j as usize]);
                assert!(adj.neighbours(a as usize).contains(&b));
            }
        }
        // the same seed, the same sample
        let mut again = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(sample(&adj, &[0], [3, 2], &mut again), sg);
        // a fan-out above the degree takes every neighbour
        let all = sample(&adj, &[1], [50, 50], &mut rng);
        assert_eq!(all.lists[0].len(), 6);
    }
}
