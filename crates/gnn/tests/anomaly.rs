#![allow(clippy::unwrap_used)]
//! Anomaly scores on a graph with planted anomalies: fan-out stars across communities
//! (a peel chain's or a mixer's shape) and a dense ring among strangers. The OddBall
//! ranking must find them; the auto-encoder's numbers are printed (they are reported in
//! docs/benchmarks.md: it does not).

use ledgerflow_gnn::anomaly::{quality, run};
use ledgerflow_gnn::edges::EdgeList;
use ledgerflow_gnn::link::LinkOptions;
use rand::{Rng, SeedableRng};

/// Communities of 40 (sparse inside), 5 star centres linked to 25 random nodes each,
/// and a ring of 8 random nodes linked to each other; truth: the centres and the ring.
fn planted(seed: u64) -> (EdgeList, Vec<Option<bool>>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = 300u32;
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for i in 0..n {
        for j in (i + 1)..n {
            let p = if i / 40 == j / 40 { 0.1 } else { 0.002 };
            if rng.gen::<f64>() < p {
                src.push(i);
                dst.push(j);
            }
        }
    }
    let mut truth = vec![Some(false); n as usize];
    for c in 0..5u32 {
        let centre = 10 + c * 57;
        truth[centre as usize] = Some(true);
        for _ in 0..25 {
            src.push(centre);
            dst.push(rng.gen_range(0..n));
        }
    }
    let ring: Vec<u32> = (0..8).map(|k| 5 + k * 37).collect();
    for (x, &a) in ring.iter().enumerate() {
        truth[a as usize] = Some(true);
        for &b in &ring[x + 1..] {
            src.push(a);
            dst.push(b);
        }
    }
    let m = src.len();
    (
        EdgeList {
            nodes: (0..n).map(|i| format!("n{i}")).collect(),
            src,
            dst,
            weight: vec![1.0; m],
            sign: None,
            time: None,
            header: false,
        },
        truth,
    )
}

#[test]
fn planted_stars_and_rings_rank_high_and_runs_repeat() {
    let (el, truth) = planted(7);
    let o = LinkOptions::default();
    let r = run(&el, None, &o).unwrap();
    let g = quality(&r.scores.gae, &truth, &[13]);
    let b = quality(&r.scores.oddball, &truth, &[13]);
    println!("gae {g:?}\noddball {b:?}\nalpha {} c {}", r.alpha, r.c);
    assert!(b.auc.unwrap() > 0.8, "{b:?}");
    assert!(b.precision_at[0].1 >= 0.5, "{b:?}");
    // per link: the cross-community links (the stars') are the unexpected ones
    let comm = |v: u32| v / 40;
    let edge_truth: Vec<bool> = r
        .link_scores
        .iter()
        .map(|&(a, b, _)| comm(a) != comm(b))
        .collect();
    let es: Vec<f64> = r.link_scores.iter().map(|l| l.2).collect();
    let edge_auc = ledgerflow_ml::metrics::curves(&es, &edge_truth)
        .roc_auc
        .unwrap();
    // measured, not asserted: on these purely structural anomalies the cross-fitted
    // auto-encoder does not single them out (docs/benchmarks.md); the ego-net law does
    println!("GAE link AUC (cross-community links) {edge_auc}");
    assert!(es.iter().all(|s| (0.0..=1.0).contains(s)));
    let mut seen: Vec<(u32, u32)> = r.link_scores.iter().map(|l| (l.0, l.1)).collect();
    seen.dedup();
    assert_eq!(seen.len(), r.links, "each link scored once");
    assert_eq!(run(&el, None, &o).unwrap(), r);
    assert_eq!(r.link_scores.len(), r.links);
}
