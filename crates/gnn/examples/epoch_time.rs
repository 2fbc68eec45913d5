//! Milliseconds per training epoch of each architecture on a generated graph, for
//! tuning the layers without the CLI and its files (the PyG comparison is
//! `bench/gnn.sh`):
//!
//! ```sh
//! cargo run --release -p ledgerflow-gnn --example epoch_time -- 200000 11 20 sage,gcn
//! ```
//!
//! Arguments: nodes, mean degree, epochs, models. The graph is a stochastic block model
//! shaped like `bench/gnn_peer.py data` (4 classes, a fifth of the edges across classes,
//! 16 uniform noise features with a weak class signal, 60/20/20 split; not the same
//! draws), from a fixed seed; one thread, GraphSAGE and GCN by default.

use std::time::Instant;

use ledgerflow_gnn::dense::Mat;
use ledgerflow_gnn::train::{train, Arch, Inputs, TrainOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let n: usize = arg(0, "200000").parse().unwrap_or(200_000);
    let degree: usize = arg(1, "11").parse().unwrap_or(11);
    let epochs: usize = arg(2, "20").parse().unwrap_or(20);
    let models = arg(3, "sage,gcn");
    let (k, dim) = (4usize, 16usize);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let label: Vec<u32> = (0..n).map(|_| rng.gen_range(0..k as u32)).collect();
    let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); k];
    for (i, &c) in label.iter().enumerate() {
        by_class[c as usize].push(i as u32);
    }
    let m = n * degree / 2;
    let (mut src, mut dst) = (Vec::with_capacity(m), Vec::with_capacity(m));
    for _ in 0..m {
        let a = rng.gen_range(0..n);
        let c = if rng.gen::<f64>() < 0.2 {
            rng.gen_range(0..k)
        } else {
            label[a] as usize
        };
        let b = by_class[c][rng.gen_range(0..by_class[c].len())];
        src.push(a as u32);
        dst.push(b);
    }
    let mut x = Mat::zeros(n, dim);
    for (i, &c) in label.iter().enumerate() {
        for (f, v) in x.row_mut(i).iter_mut().enumerate() {
            let signal = if f % k == c as usize { 0.3 } else { 0.0 };
            *v = rng.gen_range(-1.7..1.7) + signal;
        }
    }
    let part: Vec<u8> = (0..n).map(|_| rng.gen_range(0..10)).collect();
    let labels: Vec<Option<u32>> = label.iter().map(|&c| Some(c)).collect();
    let train_mask: Vec<bool> = part.iter().map(|&p| p < 6).collect();
    let val_mask: Vec<bool> = part.iter().map(|&p| (6..8).contains(&p)).collect();
    let test: Vec<usize> = (0..n).filter(|&i| part[i] >= 8).collect();
    for model in models.split(',') {
        let Ok(arch) = model.parse::<Arch>() else {
            eprintln!("unknown model {model}");
            continue;
        };
        let inp = Inputs::new(arch, n, &src, &dst, x.clone());
        let o = TrainOptions {
            epochs,
            patience: 0,
            seed: 1,
            ..TrainOptions::default()
        };
        let t = Instant::now();
        let tr = train(&inp, arch, &labels, k, &train_mask, &val_mask, &o);
        let ms = t.elapsed().as_secs_f64() * 1000.0 / epochs as f64;
        let z = tr.model.logits(&inp);
        let right = test
            .iter()
            .filter(|&&i| {
                let r = z.row(i);
                let best = (0..k).fold(0, |b, c| if r[c] > r[b] { c } else { b });
                best == label[i] as usize
            })
            .count();
        println!(
            "{model}: {ms:.1} ms/epoch, test accuracy {:.4}",
            right as f64 / test.len().max(1) as f64
        );
    }
}
