#![allow(clippy::unwrap_used)]
//! The graph algorithms against networkx (pinned in bench/requirements-graph.txt, installed
//! by `scripts/setup-peers.sh graph`) on seeded random graphs: PageRank to 1e-9, connected
//! components exactly, exact betweenness exactly.

use std::collections::BTreeMap;

use ledgerflow_graph::algo::{self, PageRankOptions};
use ledgerflow_graph::csr::{Csr, Edge};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random directed graph: `n` nodes, about `m` edges, weights 1..1000, a few
/// self-loops, some nodes without out-edges (dangling).
fn random_graph(seed: u64, n: u32, m: usize) -> Vec<(u32, u32, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut edges: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for _ in 0..m {
        let s = rng.gen_range(0..n);
        // a tenth of the nodes never send
        if s % 10 == 9 {
            continue;
        }
        let d = if rng.gen_bool(0.02) {
            s
        } else {
            rng.gen_range(0..n)
        };
        *edges.entry((s, d)).or_default() += rng.gen_range(1..1000) as f64;
    }
    edges.into_iter().map(|((s, d), w)| (s, d, w)).collect()
}

/// Python's float reprs, parsed exactly.
fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().parse::<f64>().unwrap())
        .collect()
}

fn groups(c: &[u32]) -> Vec<Vec<u32>> {
    let mut m: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (v, &k) in c.iter().enumerate() {
        m.entry(k).or_default().push(v as u32);
    }
    let mut g: Vec<Vec<u32>> = m.into_values().collect();
    g.sort();
    g
}

#[test]
fn algorithms_equal_networkx() {
    let Some(py) =
        ledgerflow_testkit::services::peer_python("networkx", "venv-graph", "graph", "GRAPHPEERS")
    else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/networkx_check.py");
    for (seed, n, m) in [
        (1u64, 40u32, 120usize),
        (2, 300, 900),
        (3, 1000, 5000),
        (4, 200, 150),
    ] {
        let edges = random_graph(seed, n, m);
        let input = serde_json::json!({"n": n, "edges": edges});
        let nx = ledgerflow_testkit::services::run_json(&py, script, &input);
        let list: Vec<Edge> = edges
            .iter()
            .map(|&(s, d, w)| Edge {
                src: s,
                dst: d,
                weight: w,
            })
            .collect();
        let g = Csr::from_edges(n as usize, &list);
        let o = PageRankOptions {
            tol: 1e-13,
            max_iter: 10_000,
            ..PageRankOptions::default()
        };
        for (key, weighted) in [("pagerank", true), ("pagerank_unweighted", false)] {
            let ours = algo::pagerank(&g, &PageRankOptions { weighted, ..o });
            assert!(ours.converged);
            let theirs = floats(&nx[key]);
            let worst = ours
                .scores
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-9,
                "seed {seed} {key}: largest difference {worst:e}"
            );
        }
        let wcc: Vec<Vec<u32>> = serde_json::from_value(nx["wcc"].clone()).unwrap();
        assert_eq!(
            groups(&algo::weak_components(&g)),
            wcc,
            "seed {seed} weak components"
        );
        let scc: Vec<Vec<u32>> = serde_json::from_value(nx["scc"].clone()).unwrap();
        assert_eq!(
            groups(&algo::strong_components(&g)),
            scc,
            "seed {seed} strong components"
        );
        let bc = floats(&nx["betweenness"]);
        let ours = algo::betweenness(&g, None);
        let worst = ours
            .iter()
            .zip(&bc)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-300))
            .fold(0.0, f64::max);
        assert!(
            worst == 0.0,
            "seed {seed} betweenness: largest relative difference {worst:e}"
        );
        println!(
            "seed {seed}: {n} nodes, {} edges: PageRank, components and betweenness equal networkx {}",
            edges.len(),
            nx["version"]
        );
    }
}

#[test]
fn sampled_betweenness_is_seeded() {
    let edges = random_graph(7, 200, 800);
    let list: Vec<Edge> = edges
        .iter()
        .map(|&(s, d, w)| Edge {
            src: s,
            dst: d,
            weight: w,
        })
        .collect();
    let g = Csr::from_edges(200, &list);
    let a = algo::betweenness(&g, Some((50, 9)));
    assert_eq!(a, algo::betweenness(&g, Some((50, 9))));
    assert_ne!(a, algo::betweenness(&g, Some((50, 10))));
    // the sampled estimate is near the exact value where it is large
    let exact = algo::betweenness(&g, None);
    let top = (0..200)
        .max_by(|&i, &j| exact[i].total_cmp(&exact[j]))
        .unwrap();
    assert!(
        (a[top] - exact[top]).abs() < 0.5 * exact[top],
        "{} vs {}",
        a[top],
        exact[top]
    );
}
