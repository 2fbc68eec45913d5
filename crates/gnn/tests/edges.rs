#![allow(clippy::unwrap_used)]
//! Edge lists: the SNAP trust networks as shipped (Bitcoin-OTC without a header, Bitcoin-
//! Alpha with one), the layouts `--columns` describes, Parquet, and bad rows named by line.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ledgerflow_gnn::edges::{read, ColumnSpec, EdgeError, Header, ReadOptions};

fn signed() -> ReadOptions {
    ReadOptions {
        signed: true,
        ..ReadOptions::default()
    }
}

fn counts(sign: &[i8]) -> (usize, usize) {
    (
        sign.iter().filter(|&&s| s > 0).count(),
        sign.iter().filter(|&&s| s < 0).count(),
    )
}

#[test]
fn snap_trust_networks_read_with_and_without_header() {
    let Some(shared) = ledgerflow_testkit::shared_dir("snap_trust_networks") else {
        return;
    };
    let d = shared.join("datasets");
    // Bitcoin-OTC: no header, CRLF, source,target,rating,time
    let otc = read(&d.join("bitcoin_otc/soc-sign-bitcoinotc.csv"), &signed()).unwrap();
    assert!(!otc.header);
    assert_eq!((otc.nodes.len(), otc.len()), (5_881, 35_592));
    assert_eq!(counts(otc.sign.as_ref().unwrap()), (32_029, 3_563));
    let t = otc.time.as_ref().unwrap();
    assert_eq!(t.len(), otc.len());
    assert_eq!(t[0], 1_289_241_912);
    assert_eq!(otc.nodes[..3], ["6", "2", "5"]);
    assert_eq!(otc.weight[0], 4.0);
    let g = otc.to_csr();
    assert_eq!((g.node_count(), g.edge_count()), (5_881, 35_592));
    // Bitcoin-Alpha: a header row `source,target,weight,timestamp`
    let alpha = read(
        &d.join("bitcoin_alpha/soc-sign-bitcoinalpha.csv"),
        &signed(),
    )
    .unwrap();
    assert!(alpha.header);
    assert_eq!((alpha.nodes.len(), alpha.len()), (3_783, 24_186));
    assert_eq!(counts(alpha.sign.as_ref().unwrap()), (22_650, 1_536));
    assert!(alpha.time.is_some());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn columns_headers_and_bad_rows() {
    let d = tempfile::tempdir().unwrap();
    let o = ReadOptions::default();
    // addresses without a header: detection takes the first row for one, forcing reads it
    let p = write(d.path(), "a.csv", "0xaa,0xbb\n0xbb,0xcc\n0xaa,0xcc\n");
    let e = read(&p, &o).unwrap_err().to_string();
    assert!(
        e.contains("(0xaa,0xbb) was taken for a header") && e.contains("no header row"),
        "{e}"
    );
    let forced = ReadOptions {
        header: Header::Absent,
        ..ReadOptions::default()
    };
    let l = read(&p, &forced).unwrap();
    assert_eq!((l.nodes.len(), l.len()), (3, 3));
    assert_eq!(l.weight, vec![1.0; 3]);
    assert!(l.sign.is_none() && l.time.is_none());
    // positional, with a skipped column; a numeric role makes `x` a header cell
    let p = write(d.path(), "b.csv", "t,id,a,b,s\n9,1,u,v,-1\n9,2,v,w,1\n");
    let o = ReadOptions {
        columns: ColumnSpec::from_str("time,_,source,target,sign").unwrap(),
        ..ReadOptions::default()
    };
    let l = read(&p, &o).unwrap();
    assert!(l.header);
    assert_eq!(l.nodes, ["u", "v", "w"]);
    assert_eq!(l.sign, Some(vec![-1, 1]));
    assert_eq!(l.time, Some(vec![9, 9]));
    // by header name
    let p = write(
        d.path(),
        "c.csv",
        "from_addr,to_addr,amount\nx,y,2.5\ny,z,1\n",
    );
    let o = ReadOptions {
        columns: ColumnSpec::from_str("source=from_addr,target=to_addr,weight=amount").unwrap(),
        ..ReadOptions::default()
    };
    let l = read(&p, &o).unwrap();
    assert_eq!(l.weight, vec![2.5, 1.0]);
    let o = ReadOptions {
        columns: ColumnSpec::from_str("source=from,target=to_addr").unwrap(),
        ..ReadOptions::default()
    };
    let e = read(&p, &o).unwrap_err().to_string();
    assert!(
        e.contains("no column \"from\"") && e.contains("from_addr"),
        "{e}"
    );
    // a bad row names its line (blank lines count, as an editor shows them)
    let p = write(d.path(), "bad.csv", "1,2,3,100\n\n2,3,x,101\n");
    let e = read(&p, &signed()).unwrap_err();
    assert!(matches!(e, EdgeError::Line { line: 3, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("bad.csv line 3: weight \"x\" is not a number"),
        "{e}"
    );
    let p = write(d.path(), "short.csv", "1,2,3,100\n2\n");
    let e = read(&p, &signed()).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("target column"), "{e}");
    let p = write(d.path(), "zero.csv", "1,2,0,100\n");
    let e = read(&p, &signed()).unwrap_err().to_string();
    assert!(e.contains("line 1: weight 0 has no sign"), "{e}");
    let p = write(d.path(), "empty.csv", "");
    assert!(read(&p, &o).unwrap_err().to_string().contains("empty"));
    let p = write(d.path(), "noid.csv", "1,2\n,3\n");
    let e = read(&p, &ReadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("line 2: no source id"), "{e}");
    // specs that cannot work are refused up front
    for (s, want) in [
        ("source,weight", "names no target"),
        ("source,target,source", "names source twice"),
        ("source,target,colour", "\"colour\" is not a role"),
        ("source=a,target", "mix of positional"),
    ] {
        let e = ColumnSpec::from_str(s).unwrap_err();
        assert!(e.contains(want), "{s}: {e}");
    }
}

#[test]
fn parquet_edge_lists_by_column_name() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    let d = tempfile::tempdir().unwrap();
    let write = |name: &str, rating: Vec<Option<f64>>| {
        let p = d.path().join(name);
        let batch = RecordBatch::try_from_iter(vec![
            (
                "src",
                Arc::new(StringArray::from(vec!["a", "b", "a"])) as ArrayRef,
            ),
            ("dst", Arc::new(Int64Array::from(vec![7, 7, 8])) as ArrayRef),
            ("rating", Arc::new(Float64Array::from(rating)) as ArrayRef),
        ])
        .unwrap();
        let f = std::fs::File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        p
    };
    // `rating` is the weight by its name; integer ids read as text
    let p = write("e.parquet", vec![Some(1.0), Some(-2.0), Some(3.0)]);
    let o = ReadOptions {
        columns: ColumnSpec::from_str("source=src,target=dst,weight=rating").unwrap(),
        signed: true,
        ..ReadOptions::default()
    };
    let l = read(&p, &o).unwrap();
    assert_eq!(l.nodes, ["a", "7", "b", "8"]);
    assert_eq!(
        (l.src.clone(), l.dst.clone()),
        (vec![0, 2, 0], vec![1, 1, 3])
    );
    assert_eq!(l.sign, Some(vec![1, -1, 1]));
    assert_eq!(
        read(&p, &signed()).unwrap(),
        l,
        "the same roles found by name"
    );
    // a null where a value is needed names its row
    let p = write("null.parquet", vec![Some(1.0), Some(-2.0), None]);
    let e = read(&p, &o).unwrap_err().to_string();
    assert!(e.contains("null.parquet row 3: no weight (null)"), "{e}");
    // positions mean nothing in Parquet
    let o = ReadOptions {
        columns: ColumnSpec::from_str("source,target").unwrap(),
        ..ReadOptions::default()
    };
    let e = read(&p, &o).unwrap_err().to_string();
    assert!(e.contains("use --columns ROLE=NAME"), "{e}");
}

/// Edge signs of Bitcoin-OTC and Bitcoin-Alpha with the signed-GNN protocol: 80/20
/// edge split, five seeds, AUC and macro-F1 of the held-out signs; the degree-feature
/// baseline and the signed convolution on top of it (`SignModel::Balance`), both with
/// gradient-boosted trees (60 rounds). Published bests (SNEA): AUC 0.918 on OTC, 0.905
/// on Alpha.
#[test]
fn edge_signs_of_the_trust_networks_five_seeds() {
    let Some(shared) = ledgerflow_testkit::shared_dir("edge_signs") else {
        return;
    };
    use ledgerflow_gnn::sign::SignModel::{self, Balance, Degrees};
    let d = shared.join("datasets");
    let mut p = ledgerflow_ml::Params::new(ledgerflow_ml::Algo::Gbt);
    p.trees = 60;
    for (file, min_auc) in [
        ("bitcoin_otc/soc-sign-bitcoinotc.csv", 0.9),
        ("bitcoin_alpha/soc-sign-bitcoinalpha.csv", 0.88),
    ] {
        let el = read(&d.join(file), &signed()).unwrap();
        let mut means: Vec<(SignModel, f64)> = Vec::new();
        for model in [Degrees, Balance] {
            let runs: Vec<_> = (1..=5)
                .map(|seed| ledgerflow_gnn::sign::run(&el, 0.2, seed, &p, 2, model).unwrap())
                .collect();
            let mean = |f: &dyn Fn(&ledgerflow_gnn::sign::SignMetrics) -> f64| {
                runs.iter().map(f).sum::<f64>() / runs.len() as f64
            };
            let (auc, f1) = (mean(&|m| m.auc), mean(&|m| m.f1_macro));
            for m in &runs {
                println!(
                    "{file} {model:?} seed {}: AUC {:.4} macro-F1 {:.4} (test {}, positive {:.3})",
                    m.seed, m.auc, m.f1_macro, m.test_edges, m.positive_share
                );
                assert_eq!(m.test_edges, (el.len() as f64 * 0.2).round() as usize);
            }
            println!("{file} {model:?} mean of 5: AUC {auc:.4} macro-F1 {f1:.4}");
            assert!(
                auc > min_auc && f1 > 0.65,
                "{file} {model:?}: AUC {auc} F1 {f1}"
            );
            // the same seed, the same numbers (on one thread too)
            assert_eq!(
                ledgerflow_gnn::sign::run(&el, 0.2, 1, &p, 1, model).unwrap(),
                runs[0]
            );
            means.push((model, auc));
        }
        println!("{file}: {means:?}");
        // measured: the signed convolution adds 0.013 (OTC) and 0.010 (Alpha) mean AUC
        assert!(means[1].1 > means[0].1 + 0.004, "{file}: {means:?}");
    }
}

/// The trained signed GNN (SGCN, two learned layers) under the same protocol (80/20),
/// seed 1 on both networks (the five-seed measurement is the ignored test below).
#[test]
fn trained_signed_gnn_on_the_trust_networks() {
    sgcn_on_the_trust_networks(&[1], [0.9, 0.88]);
}

/// Five seeds, as docs/benchmarks.md reports them (about 15 minutes in a debug build):
/// `cargo test -p ledgerflow-gnn --test edges sgcn_five_seeds -- --ignored --nocapture`.
/// Measured: mean AUC 0.9375 (OTC) and 0.9263 (Alpha), above SNEA's published 0.918 and
/// 0.905.
#[test]
#[ignore = "about 15 minutes in a debug build; a measurement for docs/benchmarks.md"]
fn sgcn_five_seeds() {
    sgcn_on_the_trust_networks(&[1, 2, 3, 4, 5], [0.918, 0.905]);
}

fn sgcn_on_the_trust_networks(seeds: &[u64], min_auc: [f64; 2]) {
    let Some(shared) = ledgerflow_testkit::shared_dir("trained_signed_gnn") else {
        return;
    };
    let d = shared.join("datasets");
    let o = ledgerflow_gnn::sgcn::SgcnOptions::default();
    for (file, min_auc) in [
        "bitcoin_otc/soc-sign-bitcoinotc.csv",
        "bitcoin_alpha/soc-sign-bitcoinalpha.csv",
    ]
    .into_iter()
    .zip(min_auc)
    {
        let el = read(&d.join(file), &signed()).unwrap();
        let runs: Vec<_> = seeds
            .iter()
            .map(|&seed| ledgerflow_gnn::sign::run_sgcn(&el, 0.2, seed, &o).unwrap())
            .collect();
        for m in &runs {
            println!(
                "{file} sgcn seed {}: AUC {:.4} macro-F1 {:.4}",
                m.seed, m.auc, m.f1_macro
            );
            assert_eq!(m.test_edges, (el.len() as f64 * 0.2).round() as usize);
        }
        let k = runs.len() as f64;
        let auc = runs.iter().map(|m| m.auc).sum::<f64>() / k;
        let f1 = runs.iter().map(|m| m.f1_macro).sum::<f64>() / k;
        println!("{file} sgcn mean of {k}: AUC {auc:.4} macro-F1 {f1:.4}");
        // measured seed 1: AUC 0.9369 (OTC), 0.9270 (Alpha)
        assert!(auc > min_auc && f1 > 0.6, "{file}: AUC {auc} F1 {f1}");
    }
}
