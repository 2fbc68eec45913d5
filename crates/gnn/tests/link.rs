#![allow(clippy::unwrap_used)]
//! Link prediction end to end on graphs with known structure.

use ledgerflow_gnn::edges::EdgeList;
use ledgerflow_gnn::link::{run, LinkOptions, SplitKind};
use rand::{Rng, SeedableRng};

/// Four communities of 50 (dense inside, rare across), edges timed in random order.
fn communities(seed: u64) -> EdgeList {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = 200u32;
    let (mut src, mut dst, mut time) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        for j in (i + 1)..n {
            let p = if i / 50 == j / 50 { 0.15 } else { 0.004 };
            if rng.gen::<f64>() < p {
                src.push(i);
                dst.push(j);
                time.push(rng.gen_range(0..1_000_000i64));
            }
        }
    }
    let m = src.len();
    EdgeList {
        nodes: (0..n).map(|i| format!("n{i}")).collect(),
        src,
        dst,
        weight: vec![1.0; m],
        sign: None,
        time: Some(time),
        header: false,
    }
}

#[test]
fn the_auto_encoder_learns_communities_and_repeats_itself() {
    let el = communities(1);
    let o = LinkOptions {
        train: ledgerflow_gnn::train::TrainOptions {
            seed: 4,
            ..LinkOptions::default().train
        },
        ..LinkOptions::default()
    };
    let r = run(&el, None, &o).unwrap();
    println!(
        "GAE {:?}\nAA {:?}\nbest epoch {} of {}; first {:?} last {:?}",
        r.gae,
        r.adamic_adar,
        r.best_epoch,
        r.epochs_run,
        r.history.first(),
        r.history.last()
    );
    assert!(r.history[0].0 > r.history[r.best_epoch].0, "the loss fell");
    assert!(r.gae.auc > 0.85, "{:?}", r.gae);
    assert!(r.gae.hits_at_10 > 0.3, "{:?}", r.gae);
    // common neighbours are scarce across a sparse community: the encoder does better
    assert!(r.gae.auc > r.adamic_adar.auc + 0.1, "{:?}", r.adamic_adar);
    let again = run(&el, None, &o).unwrap();
    assert_eq!(again, r);
    // the time split with windows
    let t = LinkOptions {
        split: SplitKind::Time,
        windows: 3,
        ..o.clone()
    };
    let r = run(&el, None, &t).unwrap();
    assert!(r.gae.window_map.unwrap() > 0.0 && r.gae.window_mrr.unwrap() > 0.0);
    assert!(r.gae.auc > 0.8, "{:?}", r.gae);
    // rolling windows: the same model and the same test metrics; only the windows are
    // scored over what was observed before each
    let rolling = LinkOptions {
        rolling: true,
        ..t.clone()
    };
    let q = run(&el, None, &rolling).unwrap();
    assert_eq!((q.best_epoch, &q.embedding), (r.best_epoch, &r.embedding));
    assert_eq!((q.gae.auc, q.gae.mrr), (r.gae.auc, r.gae.mrr));
    assert_eq!(q.adamic_adar.auc, r.adamic_adar.auc);
    assert_ne!(q.adamic_adar.window_map, r.adamic_adar.window_map);
    assert_ne!(q.gae.window_mrr, r.gae.window_mrr);
    assert!(q.gae.window_map.unwrap() > 0.0);
    assert_eq!(run(&el, None, &rolling).unwrap(), q);
}

#[test]
fn bad_settings_are_refused() {
    let mut el = communities(2);
    let o = LinkOptions::default();
    el.time = None;
    let t = LinkOptions {
        split: SplitKind::Time,
        ..o.clone()
    };
    assert!(run(&el, None, &t).unwrap_err().contains("time column"));
    let f = LinkOptions {
        test_fraction: 0.0,
        ..o
    };
    assert!(run(&el, None, &f).unwrap_err().contains("--test-fraction"));
}
