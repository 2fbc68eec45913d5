#![allow(clippy::unwrap_used)]
//! Byte-identical model files on 1 and 2 threads: a graph large enough that every
//! product runs split over threads (and row reductions in several blocks).

use ledgerflow_gnn::dense::{set_threads, Mat};
use ledgerflow_gnn::file::GnnModel;
use ledgerflow_gnn::train::{predict, train, Arch, Inputs, TrainOptions};
use rand::{Rng, SeedableRng};

#[test]
fn model_files_are_the_same_on_one_and_two_threads() {
    // split every product of this graph over the threads
    ledgerflow_gnn::dense::set_min_parallel_cells(1 << 12);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let n = 3000;
    let (mut s, mut d) = (Vec::new(), Vec::new());
    for _ in 0..15_000 {
        let a = rng.gen_range(0..n as u32);
        // mostly inside one of three blocks
        let b = if rng.gen::<f64>() < 0.9 {
            (a / 1000) * 1000 + rng.gen_range(0..1000)
        } else {
            rng.gen_range(0..n as u32)
        };
        s.push(a);
        d.push(b);
    }
    let x = Mat::from_vec(n, 8, (0..n * 8).map(|_| rng.gen_range(-1.0..1.0)).collect());
    let labels: Vec<Option<u32>> = (0..n).map(|i| Some((i / 1000) as u32)).collect();
    let train_mask: Vec<bool> = (0..n).map(|i| i % 10 == 0).collect();
    let val_mask: Vec<bool> = (0..n).map(|i| i % 10 == 1).collect();
    let o = TrainOptions {
        epochs: 4,
        heads: 2,
        seed: 5,
        ..TrainOptions::default()
    };
    for arch in [Arch::Gcn, Arch::Sage, Arch::Gat] {
        let mut files = Vec::new();
        for t in [1, 2] {
            set_threads(t);
            let inp = Inputs::new(arch, n, &s, &d, x.clone());
            let tr = train(&inp, arch, &labels, 3, &train_mask, &val_mask, &o);
            let p = predict(&tr.model, &inp);
            let m = GnnModel {
                net: tr.model,
                classes: vec!["a".into(), "b".into(), "c".into()],
                features: (0..8).map(|i| format!("f{i}")).collect(),
                scaling: vec![(0.0, 1.0); 8],
            };
            files.push((m.to_bytes(), p.data));
        }
        assert_eq!(files[0].0, files[1].0, "{arch:?}: model bytes");
        assert_eq!(files[0].1, files[1].1, "{arch:?}: predictions");
        // neighbour-sampled mini-batches (big enough batches that products split)
        let b = ledgerflow_gnn::sample::BatchOptions {
            batch_size: 150,
            fanout: [10, 5],
        };
        let mut nets = Vec::new();
        for t in [1, 2] {
            set_threads(t);
            let tr = ledgerflow_gnn::sample::train_batches(
                arch,
                n,
                &s,
                &d,
                &x,
                &labels,
                3,
                &train_mask,
                &val_mask,
                &o,
                &b,
            );
            nets.push(tr.model);
        }
        assert_eq!(nets[0], nets[1], "{arch:?}: mini-batch model");
    }
    set_threads(1);
}
