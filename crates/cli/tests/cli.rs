//! The command line: dry runs, schemas, help, and an export killed mid-way that a rerun
//! completes.

#![allow(clippy::unwrap_used)]

mod common;

use ledgerflow_testkit::services::or_skip;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_and_help_teach() {
    let out = run(&["schema", "token_transfers"]).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("token_standard") && text.contains("crypto_<chain>.token_transfers"),
        "{text}"
    );
    let out = run(&["export", "evm", "--help"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--blocks",
        "-N:",
        "--traces",
        "--format",
        "--dry-run",
        "Exit codes",
    ] {
        assert!(text.contains(needle), "help lacks {needle}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_plan_and_writes_nothing() {
    let Some((anvil, w)) = chain("dry_run", workload(2, 5, 3)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "--blocks",
        "-4:",
        "--chunk-size",
        "2",
        "--dry-run",
        "-o",
        lake.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("export blocks {}:{}", w.head - 3, w.head)),
        "{text}"
    );
    assert!(
        text.contains("crypto_<chain>.traces") && text.contains("receipt_status"),
        "{text}"
    );
    assert!(!lake.exists());
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_export_leaves_only_whole_chunks_and_rerun_completes() {
    let Some((anvil, w)) = chain("killed_export", workload(8, 80, 20)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (lake, reference) = (dir.path().join("lake"), dir.path().join("reference"));
    let out = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "-o",
        reference.to_str().unwrap(),
        "--chunk-size",
        "4",
        "-q",
    ])
    .await;
    assert!(out.status.success());
    for delay_ms in [150u64, 400] {
        let mut child = std::process::Command::new(bin())
            .args([
                "export",
                "evm",
                "--rpc",
                &anvil.url(),
                "-o",
                lake.to_str().unwrap(),
                "--chunk-size",
                "4",
                "-q",
                "--chunk-concurrency",
                "1",
            ])
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // every visible chunk file is complete and readable
        for (path, _) in files(&lake) {
            if path.extension().is_some_and(|e| e == "parquet")
                && !path.to_string_lossy().contains(".tmp")
            {
                let f = std::fs::File::open(lake.join(&path)).unwrap();
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
    }
    export_evm(&anvil.url(), &lake, &["--chunk-size", "4"]).await;
    assert_eq!(
        lake_files(&lake),
        lake_files(&reference),
        "the rerun completes the lake, no temp files left"
    );
    assert_eq!(
        rows(&read_table(&lake, "anvil", "blocks")) as u64,
        w.head + 1
    );
    anvil.stop().await;
}

/// The README's main command: `ledgerflow demo` runs both chain families end to end and
/// leaves a lake with every table of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_exports_both_chain_families() {
    let tools = ledgerflow_devnet::find_anvil(None)
        .and_then(|_| ledgerflow_devnet::litecoin::find_litecoind(None).map(|_| ()))
        .map_err(|e| format!("demo: anvil or litecoind not installed (scripts/setup.sh): {e}"));
    if or_skip("demo", "LITECOIND", tools).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("demo-lake");
    let o = run(&[
        "demo",
        "--blocks",
        "5",
        "--txs-per-block",
        "5",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    for t in [
        "blocks",
        "transactions",
        "receipts",
        "logs",
        "token_transfers",
        "traces",
        "contracts",
        "tokens",
    ] {
        assert!(
            !read_table(&lake, "anvil", t).is_empty() || t == "tokens",
            "anvil/{t}"
        );
    }
    for t in ["blocks", "transactions", "inputs", "outputs"] {
        assert!(
            rows(&read_table(&lake, "litecoin-regtest", t)) > 0,
            "litecoin-regtest/{t}"
        );
    }
    // and ends with SQL over the lake: both datasets, their largest balances
    let e = stderr(&o);
    assert!(e.contains("SQL over the lake"), "{e}");
    assert!(
        e.contains("crypto_anvil: ") && e.contains("crypto_litecoin_regtest: "),
        "{e}"
    );
    assert!(e.matches("top balances").count() == 2, "{e}");
    // and with the Litecoin chain's entities, a PageRank top 10 and a taint run
    for t in [
        "addresses",
        "address_entity",
        "entities",
        "entity_graph",
        "entity_pagerank",
        "taint_outputs",
    ] {
        assert!(
            rows(&read_table(&lake, "litecoin-regtest", t)) > 0,
            "litecoin-regtest/{t}"
        );
    }
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("haircut seed:"), "{out}");
    assert!(lake.join("litecoin-taint.svg").exists());
    // and ends with look-alikes: roles as labels, entity features, a forest, its top 10
    assert!(rows(&read_table(&lake, "litecoin-regtest", "address_labels")) > 0);
    assert!(lake.join("litecoin-features.parquet").exists());
    assert!(lake.join("litecoin-model/model.lfm").exists());
    let tail = out
        .rsplit("top 10 look-alikes of an exchange")
        .next()
        .unwrap_or("");
    assert!(out.contains("top 10 look-alikes of an exchange"), "{out}");
    assert!(
        tail.contains("look-alikes: ") && tail.contains("of the top 10 are exchanges"),
        "{out}"
    );
    assert!(e.trim_end().ends_with("--group-col label_source"), "{e}");
}

/// A reader that stops early (`ledgerflow features --describe | head -1`): the closed
/// pipe ends the output quietly, with success and no panic.
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    use std::io::Read;
    let mut child = std::process::Command::new(common::bin())
        .args(["features", "--describe"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the reader goes away before the first line (the binary takes milliseconds to start)
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
}
