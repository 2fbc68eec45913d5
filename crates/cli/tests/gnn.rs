#![allow(clippy::unwrap_used)]
//! `ledgerflow gnn train --task node` end to end: a graph of two communities written as
//! files, a GCN and a GraphSAGE trained on it (the same model file bytes on a second
//! run), and bad input refused with exit 2 and the cause named.

mod common;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use common::{run, stderr, stdout};
use rand::{Rng, SeedableRng};

/// Edges (no header) and a node table of two communities of 60 whose one informative
/// feature only leans towards the class; ids are addresses.
fn write_graph(dir: &Path) -> (PathBuf, PathBuf) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let id = |i: usize| format!("0x{i:040x}");
    let mut e = String::new();
    for i in 0..120 {
        for j in (i + 1)..120 {
            let p = if (i < 60) == (j < 60) { 0.12 } else { 0.005 };
            if rng.gen::<f64>() < p {
                writeln!(e, "{},{}", id(i), id(j)).unwrap();
            }
        }
    }
    let mut n = String::from("id,lean,noise,role\n");
    for i in 0..120 {
        let lean = rng.gen_range(-1.0..1.0) + if i >= 60 { 0.4 } else { -0.4 };
        let role = if i >= 60 { "exchange" } else { "user" };
        writeln!(n, "{},{lean},{},{role}", id(i), rng.gen_range(-1.0..1.0)).unwrap();
    }
    let (ep, np) = (dir.join("edges.csv"), dir.join("nodes.csv"));
    std::fs::write(&ep, e).unwrap();
    std::fs::write(&np, n).unwrap();
    (ep, np)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_classification_trains_repeatably_and_refuses_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let (edges, nodes) = write_graph(d.path());
    for model in ["gcn", "sage"] {
        let out = d.path().join(model);
        let args = [
            "gnn",
            "train",
            "--task",
            "node",
            "--edges",
            s(&edges),
            "--header",
            "no",
            "--features",
            s(&nodes),
            "--label",
            "role",
            "--model",
            model,
            "--seed",
            "1",
            "--format",
            "json",
            "-o",
            s(&out),
        ];
        let r = run(&args).await;
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
        assert!(v["accuracy"].as_f64().unwrap() > 0.8, "{model}: {v}");
        assert!(v["auc"].as_f64().unwrap() > 0.85, "{model}: {v}");
        assert_eq!(v["nodes"], 120);
        let bytes = std::fs::read(out.join("model.lfg")).unwrap();
        assert_eq!(
            v["model_sha256"].as_str().unwrap(),
            ledgerflow_ml::model::sha256_hex(&bytes)
        );
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["task"], "node");
        assert_eq!(m["edges"]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(m["split"].as_array().unwrap().len(), 3);
        // the same inputs and seed: the same model file, byte for byte
        let again = d.path().join(format!("{model}-again"));
        let mut args2 = args.to_vec();
        let last = args2.len() - 1;
        args2[last] = s(&again);
        assert!(run(&args2).await.status.success());
        assert_eq!(std::fs::read(again.join("model.lfg")).unwrap(), bytes);
    }

    // bad input: exit 2, the cause named, no panic
    let bad_edges = d.path().join("bad.csv");
    std::fs::write(&bad_edges, "0xa,0xb,1\n0xb,0xc,x\n").unwrap();
    let one_class = d.path().join("one.csv");
    std::fs::write(&one_class, "id,f,role\n0xa,1,user\n0xb,2,user\n").unwrap();
    let o = d.path().join("bad-out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--edges",
                s(&bad_edges),
                "--header",
                "no",
                "--features",
                s(&nodes),
            ],
            "bad.csv line 2: weight \"x\" is not a number",
        ),
        (
            vec![
                "--edges",
                s(&edges),
                "--header",
                "no",
                "--features",
                s(&one_class),
            ],
            "every label is \"user\"",
        ),
        (
            vec![
                "--edges",
                s(&edges),
                "--columns",
                "source,colour",
                "--features",
                s(&nodes),
            ],
            "\"colour\" is not a role",
        ),
        (
            vec!["--edges", s(&edges), "--features", s(&nodes)],
            "was taken for a header",
        ),
        (
            vec![
                "--edges",
                s(&edges),
                "--header",
                "no",
                "--features",
                s(&nodes),
                "--test-fraction",
                "1.5",
            ],
            "--test-fraction must be in [0, 1)",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["gnn", "train", "--label", "role", "-o", s(&o)];
        args.extend(extra);
        let r = run(&args).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", stderr(&r));
        let e = stderr(&r);
        assert!(e.contains(want) && !e.contains("panicked"), "{args:?}: {e}");
    }
    assert!(!o.join("model.lfg").exists(), "no half-written output");
    for (args, want) in [
        (
            vec!["gnn", "train", "--task", "link", "--edges", s(&edges)],
            "add --signed",
        ),
        (
            vec!["gnn", "train", "--edges", s(&edges)],
            "--task node needs --features, --label and -o/--output",
        ),
    ] {
        let r = run(&args).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", stderr(&r));
        assert!(stderr(&r).contains(want), "{args:?}: {}", stderr(&r));
    }
}

/// `--task link --signed` on Bitcoin-OTC as shipped (no header): the held-out signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_signs_from_the_command_line() {
    let Some(shared) = ledgerflow_testkit::shared_dir("edge_signs_cli") else {
        return;
    };
    let f = shared.join("datasets/bitcoin_otc/soc-sign-bitcoinotc.csv");
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "link",
        "--signed",
        "--edges",
        s(&f),
        "--epochs",
        "60",
        "--test-fraction",
        "0.2",
        "--seed",
        "1",
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    assert_eq!(v["test_edges"], 7118);
    assert_eq!(v["nodes"], 5881);
    assert!(v["auc"].as_f64().unwrap() > 0.9, "{v}");
    assert!(v["f1_macro"].as_f64().unwrap() > 0.7, "{v}");
}
