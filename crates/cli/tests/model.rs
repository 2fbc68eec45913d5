#![allow(clippy::unwrap_used)]
//! `model train|predict|evaluate|inspect|verify` through the binary: determinism across
//! thread counts, verification that notices a changed input or model file, splits,
//! plots, bad input, and the Kaggle Ethereum fraud table of ../shared/datasets.

mod common;

use std::path::{Path, PathBuf};

use common::{run, stderr, stdout};

/// A seeded table: `fraud` when `a > 0.6` and (`b` is missing or `b < 0.5`), noise in
/// `c`, a day column for time splits, an entity column for group splits, a text column.
fn synthetic(dir: &Path, rows: usize) -> PathBuf {
    let mut s = String::from("address,a,b,c,day,entity,token,label\n");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..rows {
        let a = next();
        let b = if next() < 0.15 { None } else { Some(next()) };
        let c = next();
        let fraud = a > 0.6 && b.is_none_or(|b| b < 0.5);
        let label = if i % 10 == 9 {
            "" // unlabelled
        } else if fraud {
            "fraud"
        } else {
            "normal"
        };
        s.push_str(&format!(
            "0x{i:040x},{a},{},{c},{},e{},{},{label}\n",
            b.map(|b| b.to_string()).unwrap_or_default(),
            i % 100,
            i / 4,
            if i % 2 == 0 { "USDT" } else { "DAI" }
        ));
    }
    let p = dir.join("features.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// (rank, p_fraud, top_features) of a look-alike file.
fn parquet_rows(p: &Path) -> Vec<(u32, f64, String)> {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, UInt32Type};
    let f = std::fs::File::open(p).unwrap();
    let rd = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in rd {
        let b = b.unwrap();
        let rank = b
            .column_by_name("rank")
            .unwrap()
            .as_primitive::<UInt32Type>();
        let pf = b
            .column_by_name("p_fraud")
            .unwrap()
            .as_primitive::<Float64Type>();
        let why = b.column_by_name("top_features").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            out.push((rank.value(i), pf.value(i), why.value(i).to_string()));
        }
    }
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn train(features: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "model",
        "train",
        "--features",
        s(features),
        "--id",
        "address",
        "--label",
        "label",
        "--exclude",
        "token,day,entity",
        "--trees",
        "25",
        "-o",
        s(out),
    ];
    if !extra.contains(&"--seed") {
        args.extend_from_slice(&["--seed", "7"]);
    }
    args.extend_from_slice(extra);
    run(&args).await
}

#[tokio::test]
async fn train_predict_inspect_verify_are_deterministic_and_honest() {
    let d = tempfile::tempdir().unwrap();
    let f = synthetic(d.path(), 3000);
    for algo in ["forest", "gbt"] {
        let m1 = d.path().join(format!("{algo}-1"));
        let m2 = d.path().join(format!("{algo}-2"));
        let r = train(&f, &m1, &["--algo", algo, "--threads", "1"]).await;
        assert!(r.status.success(), "{}", stderr(&r));
        assert!(
            stdout(&r).contains("2700 rows × 3 features"),
            "{}",
            stdout(&r)
        );
        assert!(
            stdout(&r).contains("300 rows without a label"),
            "{}",
            stdout(&r)
        );
        let r = train(&f, &m2, &["--algo", algo, "--threads", "2"]).await;
        assert!(r.status.success(), "{}", stderr(&r));
        let b1 = std::fs::read(m1.join("model.lfm")).unwrap();
        assert_eq!(b1, std::fs::read(m2.join("model.lfm")).unwrap(), "{algo}");
        assert_eq!(
            std::fs::read(m1.join("manifest.json")).unwrap(),
            std::fs::read(m2.join("manifest.json")).unwrap()
        );
        // Another seed: another model.
        let m3 = d.path().join(format!("{algo}-3"));
        let r = train(
            &f,
            &m3,
            &["--algo", algo, "--seed", "8", "--subsample", "0.8"],
        )
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
        assert_ne!(b1, std::fs::read(m3.join("model.lfm")).unwrap());

        // Predictions: identical on 1 and 2 threads, CSV and Parquet.
        let p1 = d.path().join(format!("{algo}-p1.csv"));
        let p2 = d.path().join(format!("{algo}-p2.csv"));
        for (p, t) in [(&p1, "1"), (&p2, "2")] {
            let r = run(&[
                "model",
                "predict",
                "--model",
                s(&m1),
                "--features",
                s(&f),
                "--id",
                "address",
                "--threads",
                t,
                "-o",
                s(p),
            ])
            .await;
            assert!(r.status.success(), "{}", stderr(&r));
        }
        let text = std::fs::read_to_string(&p1).unwrap();
        assert_eq!(text, std::fs::read_to_string(&p2).unwrap());
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "address,prediction,score,p_fraud,p_normal,top_features"
        );
        assert_eq!(lines.clone().count(), 3000);
        // The rule is learnt: a clear fraud row and a clear normal row.
        let fraud_row = text
            .lines()
            .find(|l| l.starts_with("0x0000000000000000000000000000000000000000,"))
            .unwrap();
        assert!(fraud_row.contains(",fraud,") || fraud_row.contains(",normal,"));
        let wrong = text
            .lines()
            .skip(1)
            .zip(std::fs::read_to_string(&f).unwrap().lines().skip(1))
            .filter(|(p, src)| {
                let truth = src.rsplit(',').next().unwrap();
                !truth.is_empty() && p.split(',').nth(1).unwrap() != truth
            })
            .count();
        assert!(wrong < 60, "{algo}: {wrong} training rows wrong");
        // Look-alikes: the top 20 of class fraud, ranked, explained by a and b.
        let top = d.path().join(format!("{algo}-top.parquet"));
        let r = run(&[
            "model",
            "predict",
            "--model",
            s(&m1),
            "--features",
            s(&f),
            "--id",
            "address",
            "--class",
            "fraud",
            "--top",
            "20",
            "-o",
            s(&top),
        ])
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
        let rows = parquet_rows(&top);
        assert_eq!(rows.len(), 20);
        assert_eq!(rows[0].0, 1);
        let mut last = f64::INFINITY;
        for (_, p, why) in &rows {
            assert!(*p <= last);
            last = *p;
            assert!(why.starts_with("a=") || why.starts_with("b="), "{why}");
        }

        // inspect: the SHA-256 of the file, the manifest.
        let r = run(&["model", "inspect", s(&m1), "--format", "json"]).await;
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
        let sha = ledgerflow_ml::model::sha256_hex(&b1);
        assert_eq!(v["sha256"], sha.as_str());
        assert_eq!(v["manifest"]["model_sha256"], sha.as_str());
        assert_eq!(
            v["manifest"]["features"],
            serde_json::json!(["a", "b", "c"])
        );

        // verify: passes, then fails on a changed model file and on a changed input.
        let r = run(&["model", "verify", s(&m1)]).await;
        assert!(r.status.success(), "{}{}", stdout(&r), stderr(&r));
        assert!(stdout(&r).contains("verified"), "{}", stdout(&r));
        let mut bad = b1.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        std::fs::write(m2.join("model.lfm"), &bad).unwrap();
        let r = run(&["model", "verify", s(&m2)]).await;
        assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
        assert!(stdout(&r).contains("the file changed"), "{}", stdout(&r));
    }
    // A changed input: the manifests point at features.csv.
    let mut text = std::fs::read_to_string(&f).unwrap();
    text.push_str("0xffff,0.1,0.2,0.3,4,e1,DAI,normal\n");
    std::fs::write(&f, text).unwrap();
    let r = run(&["model", "verify", s(&d.path().join("forest-1"))]).await;
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
    assert!(stdout(&r).contains("the input changed"), "{}", stdout(&r));
}

#[tokio::test]
async fn evaluate_splits_plots_and_saved_models() {
    let d = tempfile::tempdir().unwrap();
    let f = synthetic(d.path(), 4000);
    let plots = d.path().join("plots");
    let saved = d.path().join("saved");
    let r = run(&[
        "model",
        "evaluate",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "--exclude",
        "token,day",
        "--split",
        "group",
        "--group-col",
        "entity",
        "--trees",
        "30",
        "--seed",
        "3",
        "--plot-dir",
        s(&plots),
        "--permutation",
        "2",
        "-o",
        s(&saved),
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    let test_rows = v["test_rows"].as_u64().unwrap();
    let train_rows = v["train_rows"].as_u64().unwrap();
    assert_eq!(test_rows + train_rows, 3600);
    assert!((700..1500).contains(&test_rows), "{test_rows}");
    let report = &v["report"];
    assert_eq!(report["positive"], "normal");
    let fraud = report["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "fraud")
        .unwrap();
    assert!(fraud["f1"].as_f64().unwrap() > 0.9, "{fraud}");
    assert!(report["roc_auc"].as_f64().unwrap() > 0.95);
    let perm = v["permutation_importance"].as_array().unwrap();
    assert_eq!(perm[0]["feature"], "a", "{perm:?}");
    for p in ["roc.svg", "pr.svg", "calibration.svg"] {
        let svg = std::fs::read_to_string(plots.join(p)).unwrap();
        assert!(svg.starts_with("<svg"), "{p}");
    }
    // The saved model records its split; verify re-derives it from the training side.
    let r = run(&["model", "verify", s(&saved), "--format", "json"]).await;
    assert!(r.status.success(), "{}", stdout(&r));
    let r = run(&["model", "inspect", s(&saved)]).await;
    assert!(
        stdout(&r).contains("split     training side of"),
        "{}",
        stdout(&r)
    );
    // The same model scored by --model on the same split gives the same report.
    let r2 = run(&[
        "model",
        "evaluate",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "--split",
        "group",
        "--group-col",
        "entity",
        "--seed",
        "3",
        "--model",
        s(&saved),
        "--format",
        "json",
    ])
    .await;
    assert!(r2.status.success(), "{}", stderr(&r2));
    let v2: serde_json::Value = serde_json::from_str(&stdout(&r2)).unwrap();
    assert_eq!(v2["report"], v["report"]);

    // Time split: day < 60 trains.
    let r = run(&[
        "model",
        "evaluate",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "--exclude",
        "token,entity",
        "--split",
        "time",
        "--time-col",
        "day",
        "--cutoff",
        "60",
        "--algo",
        "gbt",
        "--trees",
        "40",
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    assert_eq!(v["train_rows"], 2160);
    assert_eq!(v["test_rows"], 1440);
    assert_eq!(v["algo"], "gbt");
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let f = synthetic(d.path(), 300);
    let out = d.path().join("m");
    let expect_2 = |r: &std::process::Output, what: &str| {
        assert_eq!(r.status.code(), Some(2), "{what}: {}", stderr(r));
        assert!(!stderr(r).contains("panicked"), "{what}");
    };
    // A non-numeric column, named, with the hint.
    let r = run(&[
        "model",
        "train",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "-o",
        s(&out),
    ])
    .await;
    expect_2(&r, "text column");
    assert!(
        stderr(&r).contains("non-numeric column")
            && stderr(&r).contains("\"entity\"")
            && stderr(&r).contains("\"token\"")
            && stderr(&r).contains("--exclude"),
        "{}",
        stderr(&r)
    );
    assert!(!out.exists());
    // An empty file.
    let empty = d.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let r = run(&[
        "model",
        "train",
        "--features",
        s(&empty),
        "--id",
        "address",
        "--label",
        "label",
        "-o",
        s(&out),
    ])
    .await;
    expect_2(&r, "empty");
    assert!(stderr(&r).contains("empty"), "{}", stderr(&r));
    // A label with one class.
    let one = d.path().join("one.csv");
    std::fs::write(&one, "address,a,label\nx,1,fraud\ny,2,fraud\n").unwrap();
    let r = run(&[
        "model",
        "train",
        "--features",
        s(&one),
        "--id",
        "address",
        "--label",
        "label",
        "-o",
        s(&out),
    ])
    .await;
    expect_2(&r, "one class");
    assert!(stderr(&r).contains("one class"), "{}", stderr(&r));
    assert!(!out.exists());
    // A feature table that does not match the model.
    let r = train(&f, &out, &[]).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let other = d.path().join("other.csv");
    std::fs::write(&other, "address,a,c\nx,1,2\n").unwrap();
    let pred = d.path().join("pred.csv");
    let r = run(&[
        "model",
        "predict",
        "--model",
        s(&out),
        "--features",
        s(&other),
        "--id",
        "address",
        "-o",
        s(&pred),
    ])
    .await;
    expect_2(&r, "schema");
    assert!(
        stderr(&r).contains("does not match the model"),
        "{}",
        stderr(&r)
    );
    assert!(stderr(&r).contains("\"b\""), "{}", stderr(&r));
    assert!(!pred.exists());
    // Unknown class, unknown column, not a model, bad split flags, bad parameters.
    for (args, needle) in [
        (
            vec![
                "model",
                "predict",
                "--model",
                s(&out),
                "--features",
                s(&f),
                "--id",
                "address",
                "--class",
                "mixer",
                "-o",
                s(&pred),
            ],
            "--class \"mixer\"",
        ),
        (
            vec![
                "model",
                "predict",
                "--model",
                s(&out),
                "--features",
                s(&f),
                "--id",
                "wallet",
                "-o",
                s(&pred),
            ],
            "no id column \"wallet\"",
        ),
        (
            vec![
                "model",
                "predict",
                "--model",
                s(&f),
                "--features",
                s(&f),
                "--id",
                "address",
                "-o",
                s(&pred),
            ],
            "not a usable ledgerflow model",
        ),
        (
            vec![
                "model",
                "evaluate",
                "--features",
                s(&f),
                "--id",
                "address",
                "--label",
                "label",
                "--split",
                "time",
                "--time-col",
                "day",
            ],
            "--cutoff",
        ),
        (
            vec![
                "model",
                "evaluate",
                "--features",
                s(&f),
                "--id",
                "address",
                "--label",
                "label",
                "--exclude",
                "token,entity",
                "--split",
                "time",
                "--time-col",
                "day",
                "--cutoff",
                "1000",
            ],
            "0 test rows",
        ),
        (
            vec![
                "model",
                "train",
                "--features",
                s(&f),
                "--id",
                "address",
                "--label",
                "label",
                "--exclude",
                "token,entity",
                "--trees",
                "0",
                "-o",
                s(&pred),
            ],
            "--trees",
        ),
    ] {
        let r = run(&args).await;
        expect_2(&r, needle);
        assert!(stderr(&r).contains(needle), "{needle}: {}", stderr(&r));
        assert!(!pred.exists(), "{needle}");
    }
}

/// The Kaggle Ethereum fraud table (see ../shared/datasets/README.md): with the leaking
/// row-number and Index columns excluded and the token-name text columns excluded, an
/// address-disjoint split; the forest finds the fraud class well, and a model that is
/// given `Index` learns it (the leak the README warns of) — which is why it is excluded.
#[tokio::test]
async fn kaggle_ethereum_fraud_address_disjoint() {
    let Some(shared) = ledgerflow_testkit::shared_dir("kaggle_ethereum_fraud_address_disjoint")
    else {
        return;
    };
    let f = shared.join("datasets/eth_fraud_kaggle/transaction_dataset.csv");
    if !f.exists() {
        println!(
            "skipped: kaggle_ethereum_fraud_address_disjoint: {} missing",
            f.display()
        );
        return;
    }
    let base = [
        "model",
        "evaluate",
        "--features",
        s(&f),
        "--id",
        "Address",
        "--label",
        "FLAG",
        "--exclude",
        "ERC20 most sent token type",
        "--exclude",
        "ERC20_most_rec_token_type",
        "--split",
        "group",
        "--group-col",
        "Address",
        "--seed",
        "1",
        "--format",
        "json",
    ];
    let mut honest = base.to_vec();
    honest.extend(["--exclude", "", "--exclude", "Index"]);
    let r = run(&honest).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    let f1 = v["report"]["classes"][1]["f1"].as_f64().unwrap();
    assert_eq!(v["report"]["classes"][1]["class"], "1");
    assert!(f1 > 0.9, "fraud F1 {f1}");
    let mut leaky = base.to_vec();
    leaky.extend(["--exclude", "", "--permutation", "1"]);
    let r = run(&leaky).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    let top = v["permutation_importance"][0]["feature"].as_str().unwrap();
    assert_eq!(top, "Index", "the leak shows as the most important feature");
}
