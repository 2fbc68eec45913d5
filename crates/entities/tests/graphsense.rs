#![allow(clippy::unwrap_used)]
//! Multi-input clustering gives graphsense-clustering's partition (pinned in
//! bench/requirements-graph.txt, installed by `scripts/setup-peers.sh graph`) on the same
//! inputs: seeded synthetic transactions with a realistic input-count distribution.

use ledgerflow_entities::unionfind::UnionFind;

/// Input counts: 1 (60 %), 2 (20 %), 3–5 (12 %), 6–20 (7 %), 21–200 (1 %); addresses
/// drawn with a heavy head (a few reused a lot) over `n` ids.
pub fn synthetic(seed: u64, txs: usize, n: u32) -> Vec<Vec<u32>> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..txs)
        .map(|_| {
            let r = next() % 100;
            let k = match r {
                0..=59 => 1,
                60..=79 => 2,
                80..=91 => 3 + next() % 3,
                92..=98 => 6 + next() % 15,
                _ => 21 + next() % 180,
            };
            (0..k)
                .map(|_| {
                    let u = next() % n as u64;
                    // squaring pulls ids toward 0: a heavy head of reused addresses
                    ((u * u) / n as u64) as u32
                })
                .collect()
        })
        .collect()
}

fn ours(txs: &[Vec<u32>], n: usize) -> Vec<u32> {
    let mut u = UnionFind::without_sizes(n);
    for t in txs {
        u.union_all(t);
    }
    u.smallest_members()
}

#[test]
fn same_partition_as_graphsense_clustering() {
    let Some(py) = ledgerflow_testkit::services::peer_python(
        "graphsense-clustering",
        "venv-graph",
        "graph",
        "GRAPHPEERS",
    ) else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/graphsense_check.py");
    for (seed, txs, n) in [
        (1u64, 2_000usize, 3_000u32),
        (2, 50_000, 40_000),
        (3, 20_000, 500),
    ] {
        let t = synthetic(seed, txs, n);
        let input = serde_json::json!({"max_id": n - 1, "txs": t});
        let theirs: Vec<u32> =
            serde_json::from_value(ledgerflow_testkit::services::run_json(&py, script, &input))
                .unwrap();
        let mine = ours(&t, n as usize);
        assert_eq!(mine.len(), theirs.len());
        let differ = mine.iter().zip(&theirs).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ, 0,
            "seed {seed}: {differ} addresses in another cluster"
        );
        let clusters = mine
            .iter()
            .enumerate()
            .filter(|(i, &e)| *i as u32 == e)
            .count();
        println!("seed {seed}: {txs} transactions, {n} addresses, {clusters} clusters: same partition as graphsense-clustering");
    }
}
