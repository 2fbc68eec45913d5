#![allow(clippy::unwrap_used)]
//! `ledgerflow features` and `labels import` on BlockSci's node-written regtest chain and
//! an anvil workload: a window reads nothing after its end (a lake cut at the window's
//! last block gives the same features), labels with unknown addresses, the training
//! manifest's lake root that `model verify` re-checks, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{chain, export_evm, run, stderr, stdout};
use ledgerflow_ml::table::{load, ColumnSpec};

async fn export_regtest(shared: &Path, dir: &Path, name: &str, blocks: Option<&str>) -> PathBuf {
    let lake = dir.join(name);
    let data = shared.join("fixtures/blocksci/btc");
    let mut args = vec![
        "export",
        "bitcoin",
        "--datadir",
        data.to_str().unwrap(),
        "--chain",
        "bitcoin",
        "--network",
        "regtest",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ];
    if let Some(b) = blocks {
        args.extend(["--blocks", b]);
    }
    let r = run(&args).await;
    assert!(r.status.success(), "export: {}", stderr(&r));
    lake
}

fn table(p: &Path, id: &str, label: Option<&str>) -> ledgerflow_ml::table::FeatureTable {
    load(
        p,
        &ColumnSpec {
            id: id.into(),
            label: label.map(str::to_string),
            ..ColumnSpec::default()
        },
    )
    .unwrap()
}

const CHAIN: &str = "bitcoin-regtest";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_labels_manifest_and_bad_input() {
    let Some(shared) = ledgerflow_testkit::shared_dir("features") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let full = export_regtest(&shared, dir.path(), "full", None).await;
    // Block 151 is the last one stamped at or before 07:00:00 (block 152 is later).
    let cut = export_regtest(&shared, dir.path(), "cut", Some("0:151")).await;
    let (l, c) = (full.to_str().unwrap(), cut.to_str().unwrap());
    let out = |n: &str| dir.path().join(n).to_str().unwrap().to_string();

    // --describe documents every column
    let d = run(&["features", "--describe"]).await;
    assert!(d.status.success());
    let text = stdout(&d);
    for (name, _, def) in ledgerflow_ml::features::utxo::UTXO
        .iter()
        .chain(ledgerflow_ml::features::evm::EVM)
    {
        assert!(text.contains(name) && text.contains(def), "{name}");
    }

    // A window never reads past its end: the full lake and the lake cut at the window's
    // last block give the same rows, at both levels.
    for level in ["entity", "address"] {
        let (a, b) = (
            out(&format!("{level}-full.parquet")),
            out(&format!("{level}-cut.parquet")),
        );
        for (lake, o) in [(l, &a), (c, &b)] {
            let r = run(&[
                "features",
                "--lake",
                lake,
                "--chain",
                CHAIN,
                "--level",
                level,
                "--window",
                "3650d",
                "--until",
                "2018-09-01T07:00:00",
                "-o",
                o,
            ])
            .await;
            assert!(r.status.success(), "{}", stderr(&r));
            assert!(stdout(&r).contains("blocks 0..=151"), "{}", stdout(&r));
        }
        let id = if level == "entity" {
            "entity"
        } else {
            "address"
        };
        let (ta, tb) = (
            table(Path::new(&a), id, None),
            table(Path::new(&b), id, None),
        );
        assert!(ta.rows() > 10);
        assert_eq!(ta.ids, tb.ids, "{level}");
        assert_eq!(ta.names, tb.names);
        assert!(ta.names.len() >= 100, "{} features", ta.names.len());
        assert!(!ta
            .names
            .iter()
            .any(|n| n.starts_with("window_") || n == "entity_address"));
        for (k, (x, y)) in ta.columns.iter().zip(&tb.columns).enumerate() {
            let same = x
                .iter()
                .zip(y)
                .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()));
            assert!(same, "{level}: column {} differs", ta.names[k]);
        }
        // the later blocks do change a window that includes them
        let later = out(&format!("{level}-later.parquet"));
        let r = run(&[
            "features", "--lake", l, "--chain", CHAIN, "--level", level, "--window", "3650d", "-o",
            &later,
        ])
        .await;
        assert!(r.status.success());
        assert_ne!(table(Path::new(&later), id, None).rows(), ta.rows());
        // the metadata names the lake chunks read
        let meta = ledgerflow_ml::features::lake::read_meta(Path::new(&a))
            .unwrap()
            .unwrap();
        assert_eq!(meta.lake.until_block, Some(151));
        assert_eq!(meta.lake.tables, vec!["transactions".to_string()]);
        assert_eq!(meta.windows[0].last_block, Some(151));
        assert_eq!(meta.columns.len(), ta.names.len());
        // --until-block: the full lake read up to block 151 is the cut lake
        let (ub, cb) = (
            out(&format!("{level}-until-block.parquet")),
            out(&format!("{level}-cut-all.parquet")),
        );
        for (lake, o, extra) in [(l, &ub, Some("151")), (c, &cb, None)] {
            let mut args = vec![
                "features", "--lake", lake, "--chain", CHAIN, "--level", level, "--window",
                "3650d", "-o", o,
            ];
            if let Some(b) = extra {
                args.extend(["--until-block", b]);
            }
            let r = run(&args).await;
            assert!(r.status.success(), "{}", stderr(&r));
        }
        let (tu, tc) = (
            table(Path::new(&ub), id, None),
            table(Path::new(&cb), id, None),
        );
        assert_eq!(tu.ids, tc.ids, "{level}");
        for (x, y) in tu.columns.iter().zip(&tc.columns) {
            assert!(x
                .iter()
                .zip(y)
                .all(|(p, q)| p == q || (p.is_nan() && q.is_nan())));
        }
    }

    // The same lake gives byte-identical feature files on 1 and 2 threads.
    let (t1, t2) = (out("t1.parquet"), out("t2.parquet"));
    for (t, o) in [("1", &t1), ("2", &t2)] {
        let r = run(&[
            "features",
            "--lake",
            l,
            "--chain",
            CHAIN,
            "--level",
            "entity",
            "--window",
            "1d",
            "--windows",
            "3",
            "--step",
            "12h",
            "--threads",
            t,
            "-o",
            o,
        ])
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
    }
    assert_eq!(std::fs::read(&t1).unwrap(), std::fs::read(&t2).unwrap());
    let meta = ledgerflow_ml::features::lake::read_meta(Path::new(&t1))
        .unwrap()
        .unwrap();
    assert_eq!(meta.windows.len(), 3);
    assert_eq!(meta.windows[1].end - meta.windows[0].end, 43_200);

    // Labels: two known addresses per role, one unknown; a bad file writes nothing.
    let addrs = {
        let t = table(Path::new(&out("address-later.parquet")), "address", None);
        t.ids
    };
    let labels = dir.path().join("labels.csv");
    let mut csv = String::from("address,category,source,confidence\n");
    for (i, a) in addrs.iter().take(12).enumerate() {
        let cat = if i % 2 == 0 { "exchange" } else { "miner" };
        csv.push_str(&format!("{a},{cat},test,0.9\n"));
    }
    csv.push_str("mxNotOnThisChainAtAll11111111111111,mixer,test,\n");
    std::fs::write(&labels, &csv).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "address,category\nmxabc,\n").unwrap();
    let r = run(&[
        "labels",
        "import",
        "--lake",
        l,
        "--chain",
        CHAIN,
        bad.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("line 2"), "{}", stderr(&r));
    assert!(!full.join(CHAIN).join("address_labels").exists());
    let r = run(&[
        "labels",
        "import",
        "--lake",
        l,
        "--chain",
        CHAIN,
        "--json",
        labels.to_str().unwrap(),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let rep: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    assert_eq!(rep["unknown"], 1);
    assert_eq!(rep["addresses"], 13);
    assert_eq!(rep["categories"]["exchange"], 6);
    let q = run(&[
        "sql",
        "-l",
        l,
        "--format",
        "csv",
        "SELECT count(*) AS n FROM crypto_bitcoin_regtest.address_labels WHERE known",
    ])
    .await;
    assert!(stdout(&q).contains("\n12"), "{}", stdout(&q));

    // Features with labels, a model on them, and its manifest's lake root.
    let f = out("labelled.parquet");
    let r = run(&[
        "features", "--lake", l, "--chain", CHAIN, "--window", "3650d", "-o", &f,
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let t = table(Path::new(&f), "address", Some("label"));
    assert_eq!(t.labels.iter().filter(|x| x.is_some()).count(), 12);
    assert!(t.names.iter().any(|n| n == "neigh_label_share_exchange"));
    let m = out("model");
    let r = run(&[
        "model",
        "train",
        "--features",
        &f,
        "--id",
        "address",
        "--label",
        "label",
        "--trees",
        "10",
        "--seed",
        "3",
        "-o",
        &m,
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&m).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["lake"]["chain"], CHAIN);
    assert_eq!(manifest["lake"]["chunks"], 2);
    let r = run(&["model", "verify", &m]).await;
    assert!(r.status.success(), "{}", stdout(&r));
    // A changed lake chunk (labels imported again, differently) fails verification.
    std::fs::write(&labels, csv.replace("exchange", "gambling")).unwrap();
    let r = run(&[
        "labels",
        "import",
        "--lake",
        l,
        "--chain",
        CHAIN,
        "--replace",
        labels.to_str().unwrap(),
    ])
    .await;
    assert!(r.status.success());
    let r = run(&["model", "verify", &m]).await;
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
    assert!(stdout(&r).contains("FAIL lake chunks"), "{}", stdout(&r));

    // The guard refuses nothing here but runs with labels.
    let r = run(&[
        "entities",
        "build",
        "-l",
        l,
        "--chain",
        CHAIN,
        "--guard-labels",
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));

    // Bad input: exit 2, nothing written.
    for (args, says) in [
        (vec!["--window", "3x"], "unknown unit"),
        (vec!["--until", "yesterday"], "--until"),
        (vec!["--chain", "nope"], "no chain"),
        (
            vec!["--until", "2001-01-01"],
            "before the chain's first block",
        ),
    ] {
        let o = out("bad.parquet");
        let mut all = vec!["features", "--lake", l, "-o", &o];
        if !args.contains(&"--chain") {
            all.extend(["--chain", CHAIN]);
        }
        all.extend(args.iter().copied());
        let r = run(&all).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert!(stderr(&r).contains(says), "{args:?}: {}", stderr(&r));
        assert!(!Path::new(&o).exists());
    }
    let r = run(&[
        "features",
        "--lake",
        l,
        "--chain",
        CHAIN,
        "-o",
        &out("f.csv"),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("Parquet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evm_address_features_on_anvil() {
    let Some((anvil, _w)) = chain(
        "evm_address_features_on_anvil",
        common::workload(11, 30, 10),
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    export_evm(&anvil.url(), &lake, &["--tables", "all"]).await;
    let chain_name = std::fs::read_dir(&lake)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| !n.starts_with('_'))
        .unwrap();
    let l = lake.to_str().unwrap();
    let f = dir.path().join("evm.parquet");
    let r = run(&[
        "features",
        "--lake",
        l,
        "--chain",
        &chain_name,
        "--window",
        "30d",
        "-o",
        f.to_str().unwrap(),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let t = table(&f, "address", None);
    assert!(t.rows() > 5, "{} rows", t.rows());
    assert!(t.names.len() >= 100);
    let col = |n: &str| &t.columns[t.names.iter().position(|x| x == n).unwrap()];
    // the workload deploys contracts, calls them, moves tokens and pays gas
    assert!(col("is_contract").contains(&1.0));
    assert!(col("gas_price_mean_gwei").iter().any(|&v| v > 0.0));
    assert!(col("distinct_tokens").iter().any(|&v| v >= 1.0));
    assert!(col("contract_call_share").iter().any(|&v| v > 0.0));
    let r = run(&[
        "features",
        "--lake",
        l,
        "--chain",
        &chain_name,
        "--level",
        "entity",
        "-o",
        dir.path().join("e.parquet").to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("account chain"), "{}", stderr(&r));
}
