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
    for model in ["gcn", "sage", "gat"] {
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
            "--heads",
            "2",
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
        // on one thread (the first run used one per core)
        args2.splice(2..2, ["--threads", "1"]);
        assert!(run(&args2).await.status.success());
        assert_eq!(std::fs::read(again.join("model.lfg")).unwrap(), bytes);
    }

    // a given split (another tool's, say) instead of the seeded shuffle
    let parted: String = std::fs::read_to_string(&nodes)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let part = match i {
                0 => "part",
                _ if i % 5 == 0 => "test",
                _ if i % 5 == 1 => "val",
                _ => "train",
            };
            format!("{l},{part}\n")
        })
        .collect();
    let pn = d.path().join("parted.csv");
    std::fs::write(&pn, parted).unwrap();
    let po = d.path().join("parted");
    let r = run(&[
        "gnn",
        "train",
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--features",
        s(&pn),
        "--label",
        "role",
        "--split-col",
        "part",
        "--format",
        "json",
        "-o",
        s(&po),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    assert_eq!(v["split"], serde_json::json!([72, 24, 24]), "{v}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(po.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["split_column"], "part");
    assert!(!m["edges"]["sha256"].as_str().unwrap().is_empty());

    // neighbour-sampled mini-batches: GraphSAGE on the sampled lists, GCN and GAT on
    // the sampled sub-graphs; the same model file on a rerun
    for model in ["sage", "gcn", "gat"] {
        let mb = d.path().join(format!("mb-{model}"));
        let args = [
            "gnn",
            "train",
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
            "--batch-size",
            "16",
            "--fanout",
            "5,3",
            "--seed",
            "1",
            "--format",
            "json",
            "-o",
            s(&mb),
        ];
        let r = run(&args).await;
        assert!(r.status.success(), "{model}: {}", stderr(&r));
        let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
        assert!(v["accuracy"].as_f64().unwrap() > 0.8, "{model}: {v}");
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(mb.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["batch"]["fanout"], serde_json::json!([5, 3]));
        let first = std::fs::read(mb.join("model.lfg")).unwrap();
        let r = run(&args).await;
        assert!(r.status.success(), "{model}: {}", stderr(&r));
        assert_eq!(
            std::fs::read(mb.join("model.lfg")).unwrap(),
            first,
            "{model}"
        );
    }
    let bad_mb = d.path().join("bad-mb");
    for (extra, want) in [
        (
            vec!["--model", "gcn", "--batch-size", "0"],
            "--batch-size must be at least 1",
        ),
        (
            vec!["--model", "sage", "--batch-size", "16", "--fanout", "5"],
            "two counts",
        ),
    ] {
        let mut args = vec![
            "gnn",
            "train",
            "--edges",
            s(&edges),
            "--header",
            "no",
            "--features",
            s(&nodes),
            "--label",
            "role",
            "-o",
            s(&bad_mb),
        ];
        args.extend(extra);
        let r = run(&args).await;
        assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
        assert!(stderr(&r).contains(want), "{}", stderr(&r));
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
            vec![
                "gnn",
                "train",
                "--task",
                "link",
                "--edges",
                s(&edges),
                "--header",
                "no",
                "--split",
                "time",
            ],
            "--split time needs a time column",
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

/// `gnn predict` and `gnn embed` with a trained model: every node scored (new nodes
/// too), embeddings as wide as the hidden layer, the same bytes twice, and a node table
/// without the model's features refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_and_embed_apply_a_trained_model() {
    let d = tempfile::tempdir().unwrap();
    let (edges, nodes) = write_graph(d.path());
    let out = d.path().join("m");
    let r = run(&[
        "gnn",
        "train",
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--features",
        s(&nodes),
        "--label",
        "role",
        "--model",
        "sage",
        "--dim",
        "8",
        "--seed",
        "2",
        "-o",
        s(&out),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    // a new graph: the old one plus a new node tied to the exchange community
    let mut e2 = std::fs::read_to_string(&edges).unwrap();
    for j in 60..70 {
        e2.push_str(&format!("0xnew,0x{j:040x}\n"));
    }
    let edges2 = d.path().join("edges2.csv");
    std::fs::write(&edges2, e2).unwrap();
    let scores = d.path().join("scores.csv");
    let r = run(&[
        "gnn",
        "predict",
        "--model",
        s(&out),
        "--edges",
        s(&edges2),
        "--header",
        "no",
        "--features",
        s(&nodes),
        "-o",
        s(&scores),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let text = std::fs::read_to_string(&scores).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,prediction,score,p_exchange,p_user"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 121);
    let truth = |id: &str| {
        if id == "0xnew" {
            return "exchange";
        }
        let i = usize::from_str_radix(id.trim_start_matches("0x"), 16).unwrap();
        if i >= 60 {
            "exchange"
        } else {
            "user"
        }
    };
    let right = rows.iter().filter(|r| r[1] == truth(r[0])).count();
    assert!(right >= 100, "{right} of 121 right");
    let new = rows.iter().find(|r| r[0] == "0xnew").unwrap();
    assert_eq!(new[1], "exchange", "{new:?}");
    // embeddings: 8 columns, the same bytes twice, Parquet readable by SQL
    let emb = d.path().join("emb.parquet");
    let emb2 = d.path().join("emb2.parquet");
    for o in [&emb, &emb2] {
        let r = run(&[
            "gnn",
            "embed",
            "--model",
            s(&out),
            "--edges",
            s(&edges),
            "--header",
            "no",
            "--features",
            s(&nodes),
            "-o",
            s(o),
        ])
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
        assert!(stderr(&r).contains("in 8 dimensions"), "{}", stderr(&r));
    }
    assert_eq!(std::fs::read(&emb).unwrap(), std::fs::read(&emb2).unwrap());
    let csv = d.path().join("emb.csv");
    let r = run(&[
        "gnn",
        "embed",
        "--model",
        s(&out.join("model.lfg")),
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--features",
        s(&nodes),
        "-o",
        s(&csv),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let head = std::fs::read_to_string(&csv).unwrap();
    assert!(
        head.starts_with("id,emb_0,emb_1,emb_2,emb_3,emb_4,emb_5,emb_6,emb_7\n"),
        "{}",
        &head[..80]
    );
    // a table without the model's "lean" column; a file that is not a model
    let thin = d.path().join("thin.csv");
    std::fs::write(&thin, "id,noise\n0xa,1\n").unwrap();
    let r = run(&[
        "gnn",
        "predict",
        "--model",
        s(&out),
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--features",
        s(&thin),
        "-o",
        s(&d.path().join("x.csv")),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("lean"), "{}", stderr(&r));
    let r = run(&[
        "gnn",
        "predict",
        "--model",
        s(&nodes),
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--features",
        s(&nodes),
        "-o",
        s(&d.path().join("x.csv")),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("LFGNN002"), "{}", stderr(&r));
    assert!(!d.path().join("x.csv").exists());
}

/// `--task link` (unsigned) from the command line: metrics as JSON, the embeddings as
/// a table and a metrics file, the same numbers twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_prediction_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let (edges, _) = write_graph(d.path());
    // add a time column: the row number
    let timed: String = std::fs::read_to_string(&edges)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l},1,{i}\n"))
        .collect();
    let tp = d.path().join("timed.csv");
    std::fs::write(&tp, timed).unwrap();
    let out = d.path().join("link");
    let args = [
        "gnn",
        "train",
        "--task",
        "link",
        "--edges",
        s(&tp),
        "--header",
        "no",
        "--split",
        "time",
        "--windows",
        "2",
        "--snapshot",
        "20",
        "--epochs",
        "60",
        "--seed",
        "3",
        "--format",
        "json",
        "-o",
        s(&out),
    ];
    let r = run(&args).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    // EvolveGCN's snapshots: steps of 20 rows from the test period on
    let sn = &v["snapshots"];
    assert!(sn["steps"].as_u64().unwrap() >= 2, "{v}");
    assert_eq!(sn["repeated"], 0, "no pair repeats in this file: {v}");
    for scorer in ["gae", "adamic_adar", "history", "activity", "reciprocity"] {
        for k in ["map", "mrr"] {
            let x = sn[scorer][k].as_f64().unwrap_or(f64::NAN);
            assert!(x > 0.0 && x <= 1.0, "{scorer} {k}: {v}");
        }
    }
    // the protocol needs the time split
    let mut random = args.to_vec();
    random[9] = "random";
    let bad = run(&random).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--snapshot"), "{}", stderr(&bad));
    for k in ["auc", "ap", "mrr", "hits@10", "map_windows", "mrr_windows"] {
        let x = v[k].as_f64().unwrap_or(f64::NAN);
        assert!((0.0..=1.0).contains(&x), "{k}: {v}");
        assert!(v["baseline"][k].as_f64().is_some(), "{k}: {v}");
    }
    assert!(v["auc"].as_f64().unwrap() > 0.7, "{v}");
    assert_eq!(v["split"], "time");
    assert_eq!(v["nodes"], 120);
    assert!(out.join("embeddings.parquet").exists());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["summary"], v);
    assert_eq!(m["edges"]["sha256"].as_str().unwrap().len(), 64);
    let again = run(&args).await;
    assert_eq!(stdout(&again), stdout(&r));
}

/// `--task anomaly` from the command line: planted fan-out stars ranked at the top by
/// OddBall, the evaluation against the labels, the score tables written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anomaly_ranking_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let (edges, _) = write_graph(d.path());
    let mut e = std::fs::read_to_string(&edges).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut table = String::from("id,balance,kind\n");
    for i in 0..120 {
        let star = i % 40 == 7;
        let kind = if star { "fanout" } else { "normal" };
        writeln!(table, "0x{i:040x},{},{kind}", rng.gen_range(0.0..1.0)).unwrap();
        if star {
            for _ in 0..30 {
                writeln!(e, "0x{i:040x},0x{:040x}", rng.gen_range(0..120)).unwrap();
            }
        }
    }
    let (ep, tp) = (d.path().join("e.csv"), d.path().join("t.csv"));
    std::fs::write(&ep, e).unwrap();
    std::fs::write(&tp, table).unwrap();
    let out = d.path().join("anomaly");
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--edges",
        s(&ep),
        "--header",
        "no",
        "--features",
        s(&tp),
        "--label",
        "kind",
        "--rank-by",
        "oddball",
        "--top",
        "3",
        "--epochs",
        "40",
        "--format",
        "json",
        "-o",
        s(&out),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    assert_eq!(v["evaluation"]["positive"], "fanout", "the rarer class");
    assert_eq!(v["evaluation"]["anomalies"], 3);
    // measured (seeded): the auto-encoder AUC 0.93, OddBall 0.70 with its top node a star
    assert!(
        v["evaluation"]["gae"]["auc"].as_f64().unwrap() > 0.85,
        "{v}"
    );
    assert!(
        v["evaluation"]["oddball"]["auc"].as_f64().unwrap() > 0.6,
        "{v}"
    );
    let top = v["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    assert_eq!(top[0]["truth"], true, "{v}");
    assert!(top[0]["oddball"].as_f64() >= top[1]["oddball"].as_f64());
    for f in ["node_scores.parquet", "link_scores.parquet", "metrics.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--edges",
        s(&ep),
        "--header",
        "no",
        "--label",
        "kind",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("--label needs --features"),
        "{}",
        stderr(&r)
    );
    // the known-shape ranking exists on transaction graphs only
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--edges",
        s(&ep),
        "--header",
        "no",
        "--rank-by",
        "typology",
        "--epochs",
        "2",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("--level transaction"), "{}", stderr(&r));
}

/// Unsupervised embeddings (`gnn train --task link -o`: no label is read) fed to the
/// tree models: `model evaluate --with-embeddings` reports the features alone beside
/// features + embeddings on the same group split; train, the manifest and predict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_feed_the_tree_models() {
    let d = tempfile::tempdir().unwrap();
    let (edges, nodes) = write_graph(d.path());
    let link = d.path().join("link");
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "link",
        "--edges",
        s(&edges),
        "--header",
        "no",
        "--seed",
        "1",
        "-o",
        s(&link),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let emb = link.join("embeddings.parquet");
    let r = run(&[
        "model",
        "evaluate",
        "--features",
        s(&nodes),
        "--id",
        "id",
        "--label",
        "role",
        "--split",
        "group",
        "--group-col",
        "id",
        "--test-fraction",
        "0.4",
        "--trees",
        "50",
        "--seed",
        "2",
        "--with-embeddings",
        s(&emb),
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    let alone = v["features_alone"]["accuracy"].as_f64().unwrap();
    let with = v["report"]["accuracy"].as_f64().unwrap();
    println!("accuracy: features alone {alone:.4}, with embeddings {with:.4}");
    assert!(with > alone + 0.1, "alone {alone}, with {with}");
    assert_eq!(v["embeddings"][0]["sha256"].as_str().unwrap().len(), 64);
    // train and predict with them; the manifest records the file
    let m = d.path().join("m");
    let r = run(&[
        "model",
        "train",
        "--features",
        s(&nodes),
        "--id",
        "id",
        "--label",
        "role",
        "--trees",
        "20",
        "--with-embeddings",
        s(&emb),
        "-o",
        s(&m),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let man: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("manifest.json")).unwrap()).unwrap();
    assert!(man["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "emb_0"));
    assert!(man["joined"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("embeddings.parquet"));
    let out = d.path().join("p.csv");
    let r = run(&[
        "model",
        "predict",
        "--model",
        s(&m),
        "--features",
        s(&nodes),
        "--id",
        "id",
        "--with-embeddings",
        s(&emb),
        "-o",
        s(&out),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 121);
    // without them the model's columns are missing
    let r = run(&[
        "model",
        "predict",
        "--model",
        s(&m),
        "--features",
        s(&nodes),
        "--id",
        "id",
        "-o",
        s(&out),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("emb_0"), "{}", stderr(&r));
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
    // the trained signed GNN on a small network: ten distrusted actors among 80
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let mut csv = String::new();
    for _ in 0..800 {
        let (a, b) = (rng.gen_range(0..80u32), rng.gen_range(0..80u32));
        if a != b {
            let rating = if b < 10 { -5 } else { 3 };
            csv.push_str(&format!("{a},{b},{rating},{}\n", 1_000 + a));
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small-signed.csv");
    std::fs::write(&small, csv).unwrap();
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "link",
        "--signed",
        "--sign-model",
        "sgcn",
        "--edges",
        s(&small),
        "--epochs",
        "120",
        "--seed",
        "1",
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    assert_eq!(v["model"], "sgcn", "{v}");
    assert!(v["auc"].as_f64().unwrap() > 0.9, "{v}");
}

/// `--task anomaly --level transaction` on the litecoind workload, whose generator
/// records what each transaction was (`devnet litecoin --actions-file`): the
/// transaction graph from the lake with its shape features, the unsupervised rankings,
/// and the supervised ranking (a GraphSAGE trained on the earlier transactions) putting
/// the later CoinJoins and peel-chain links at the top; the same scores on a rerun.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_anomalies_on_the_litecoin_workload() {
    let dir = tempfile::tempdir().unwrap();
    let Some((node, summary)) = common::litecoin_node(
        "transaction anomalies",
        &dir.path().join("node"),
        ledgerflow_devnet::litecoin::UtxoWorkloadConfig {
            seed: 5,
            blocks: 40,
            txs_per_block: 15,
            entities: 30,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let lake = dir.path().join("lake");
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &node.url(),
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "-o",
        s(&lake),
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    drop(node);
    let actions = dir.path().join("actions.csv");
    ledgerflow_devnet::litecoin::write_actions(&actions, &summary).unwrap();
    let text = std::fs::read_to_string(&actions).unwrap();
    assert_eq!(text.lines().count() as u64, summary.transactions + 1);
    let want = |a: &str| *summary.actions.get(a).unwrap_or(&0) as usize;
    let anomalies = want("coinjoin") + want("peel_chain");
    assert!(anomalies > 20, "{:?}", summary.actions);
    let out = dir.path().join("anomaly");
    let args = [
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--lake",
        s(&lake),
        "--chain",
        "litecoin-regtest",
        "--level",
        "transaction",
        "--features",
        s(&actions),
        "--id",
        "txid",
        "--label",
        "action",
        "--positive",
        "coinjoin,peel_chain",
        "--model",
        "sage",
        "--rank-by",
        "supervised",
        "--epochs",
        "150",
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
    let e = &v["evaluation"];
    assert_eq!(e["positive"], "coinjoin,peel_chain");
    assert_eq!(e["labelled"].as_u64().unwrap(), summary.transactions);
    assert_eq!(e["anomalies"].as_u64().unwrap() as usize, anomalies);
    assert_eq!(v["features"], "transaction shape");
    // every transaction is a node, coinbases included (unlabelled)
    assert!(v["nodes"].as_u64().unwrap() > summary.transactions);
    let sup = &e["supervised"];
    assert_eq!(sup["model"], "sage", "{sup}");
    let held = &sup["held_out"];
    let auc = held["supervised"]["auc"].as_f64().unwrap();
    let p10 = held["supervised"]["precision_at"][0][1].as_f64().unwrap();
    // measured (seeded): held-out AUC 0.98 and P@10 1.0 on a 60-block workload; the
    // unsupervised rankings sit near or below chance on the same nodes
    assert!(auc > 0.9, "{sup}");
    assert!(p10 >= 0.8, "{sup}");
    for k in ["gae", "oddball", "iforest", "typology"] {
        assert!(held[k]["auc"].as_f64().is_some(), "{k}");
    }
    // the known shapes, no label read: CoinJoin rules, then peeling chains by length
    let ty = &e["typology"];
    eprintln!("typology over every labelled transaction: {ty}");
    assert!(ty["auc"].as_f64().unwrap() > 0.95, "{ty}");
    assert!(ty["r_precision"].as_f64().unwrap() > 0.85, "{ty}");
    assert_eq!(ty["precision_at"][0][1].as_f64(), Some(1.0), "{ty}");
    let top = v["top"].as_array().unwrap();
    assert_eq!(top[0]["truth"], true, "{v}");
    for f in ["node_scores.parquet", "link_scores.parquet", "metrics.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let again = run(&args).await;
    assert_eq!(stdout(&again), stdout(&r), "same seed, same rankings");
    // ranked by the known shapes: the top are CoinJoins and peeling chains, named
    let mut by_shape = args.to_vec();
    let at = by_shape.iter().position(|x| *x == "supervised").unwrap();
    by_shape[at] = "typology";
    let r = run(&by_shape).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    for t in v["top"].as_array().unwrap() {
        let p = t["pattern"].as_str().unwrap();
        assert!(p.starts_with("coinjoin:") || p == "peel_chain", "{t}");
        assert!(t["typology"].as_f64().unwrap() > 1.0, "{t}");
    }
    // a lake chain without a transactions table is refused with the path named
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--lake",
        s(&lake),
        "--chain",
        "nochain",
        "--level",
        "transaction",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("nochain"), "{}", stderr(&r));
    // --level transaction names a lake graph, not an edge file
    let r = run(&[
        "gnn",
        "train",
        "--task",
        "anomaly",
        "--edges",
        s(&actions),
        "--level",
        "transaction",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("give --lake"), "{}", stderr(&r));
}
