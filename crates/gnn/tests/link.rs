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
fn snapshots_rank_all_pairs_and_count_reciprocated_links() {
    let mut el = communities(3);
    // half of the links are reciprocated a little later (a rating returned)
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for i in 0..el.src.len() {
        if rng.gen::<f64>() < 0.5 {
            let t = el.time.as_ref().unwrap()[i] + rng.gen_range(1_000..150_000i64);
            let (a, b) = (el.src[i], el.dst[i]);
            el.src.push(b);
            el.dst.push(a);
            el.weight.push(1.0);
            el.time.as_mut().unwrap().push(t);
        }
    }
    let o = LinkOptions {
        split: SplitKind::Time,
        test_fraction: 0.2,
        snapshot: 80_000,
        train: ledgerflow_gnn::train::TrainOptions {
            epochs: 60,
            seed: 2,
            ..LinkOptions::default().train
        },
        ..LinkOptions::default()
    };
    let r = run(&el, None, &o).unwrap();
    let sn = r.snapshots.clone().unwrap();
    println!("{sn:?}");
    assert!(sn.steps >= 2 && sn.links > 0, "{sn:?}");
    assert!(sn.repeated > 0 && sn.repeated < sn.links, "{sn:?}");
    // chance: the share of positives among all pairs of a step
    let pairs = (200 * 199 / 2) as f64;
    let chance = sn.links as f64 / sn.steps as f64 / pairs;
    assert!(sn.gae.map > 3.0 * chance, "{sn:?} chance {chance}");
    assert!(sn.adamic_adar.map > 2.0 * chance, "{sn:?} chance {chance}");
    // returned ratings are the easy part: history finds them, Adamic-Adar cannot
    assert!(sn.history.map > sn.adamic_adar.map, "{sn:?}");
    assert!(sn.history.mrr > sn.adamic_adar.mrr, "{sn:?}");
    assert!(sn.history.map <= 1.0 && sn.history.mrr <= 1.0);
    // and the pending returns of one-way links, weighted on the validation steps, put
    // them above who is merely busy
    assert!(sn.val_steps >= 1, "{sn:?}");
    assert!(sn.reciprocity_weight > 0.0, "{sn:?}");
    assert!(sn.reciprocity.map > sn.activity.map, "{sn:?}");
    assert!(sn.reciprocity.mrr > sn.activity.mrr, "{sn:?}");
    assert_eq!(run(&el, None, &o).unwrap(), r);
    // the protocol needs the time split
    let random = LinkOptions {
        split: SplitKind::Random,
        ..o
    };
    assert!(run(&el, None, &random).unwrap_err().contains("--snapshot"));
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
