#![allow(clippy::unwrap_used)]
//! The Weisfeiler-Lehman subtree kernel against GraKeL's on random labelled graphs
//! without isolated nodes (pinned by `scripts/setup-peers.sh kernels`).

use ledgerflow_gnn::wl::{kernel_matrix, LabelledGraph};
use rand::{Rng, SeedableRng};

#[test]
fn wl_kernel_matrix_equals_grakel() {
    let Some(py) =
        ledgerflow_testkit::services::peer_python("grakel", "venv-kernels", "kernels", "KERNELS")
    else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grakel_check.py");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let mut graphs = Vec::new();
    let mut json_graphs = Vec::new();
    for _ in 0..8 {
        let n = rng.gen_range(3..12u32);
        let labels: Vec<String> = (0..n)
            .map(|_| ["p2pkh", "p2sh", "p2wpkh"][rng.gen_range(0..3)].to_string())
            .collect();
        // a path through every node first: GraKeL leaves nodes without neighbours out of
        // its refined rounds (ours count them, as the definition does: wl.rs), so the
        // comparison runs on graphs without isolated nodes
        let mut edges: Vec<(u32, u32)> = (1..n).map(|v| (v - 1, v)).collect();
        edges.extend((0..rng.gen_range(0..15)).map(|_| (rng.gen_range(0..n), rng.gen_range(0..n))));
        let (s, d): (Vec<u32>, Vec<u32>) = edges.iter().copied().unzip();
        graphs.push(LabelledGraph::new(labels.clone(), &s, &d));
        json_graphs.push(serde_json::json!({"labels": labels, "edges": edges}));
    }
    for h in [1usize, 2, 4] {
        let ours = kernel_matrix(&graphs, h);
        let input = serde_json::json!({"h": h, "graphs": json_graphs});
        let theirs = ledgerflow_testkit::services::run_json(&py, script, &input);
        let theirs: Vec<Vec<u64>> = theirs["matrix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap().round() as u64)
                    .collect()
            })
            .collect();
        assert_eq!(ours, theirs, "h = {h}");
    }
}
