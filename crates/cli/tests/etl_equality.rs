//! Equality with ethereum-etl 2.4.2 on the same chain: ethereum-etl (installed pinned by
//! `scripts/setup-peers.sh etl`) and ledgerflow export the same anvil chain; blocks,
//! transactions, receipts, logs, token transfers (ERC-20/721) and traces must be equal row
//! for row, as CSV and as JSON lines (files compared as text, ignoring row order).

#![allow(clippy::unwrap_used)]

mod common;

use ledgerflow_testkit::services::or_skip;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn ethereumetl() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv-etl/bin/ethereumetl");
    if p.is_file() {
        return Some(p);
    }
    or_skip(
        "etl_equality",
        "ETL",
        Err("ethereum-etl not installed (run scripts/setup-peers.sh etl)"),
    )
}

fn etl(bin: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ethereumetl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn lines(path: &Path) -> (Option<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut l: Vec<String> = text
        .split('\n')
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let header = (path.extension().unwrap() == "csv" && !l.is_empty()).then(|| l.remove(0));
    l.sort();
    (header, l)
}

fn only_file(dir: &Path) -> PathBuf {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(f.len(), 1, "{}", dir.display());
    f.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_rows_as_ethereum_etl() {
    let Some(bin) = ethereumetl() else { return };
    let Some((anvil, w)) = chain("same_rows_as_ethereum_etl", workload(21, 40, 15)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = anvil.url();
    let end = w.head.to_string();
    let bin2 = bin.clone();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        let (bin, d) = (bin2, d2);
        for ext in ["csv", "json"] {
            etl(
                &bin,
                &d,
                &[
                    "export_blocks_and_transactions",
                    "-s",
                    "0",
                    "-e",
                    &end,
                    "-p",
                    &url,
                    "--blocks-output",
                    &format!("blocks.{ext}"),
                    "--transactions-output",
                    &format!("transactions.{ext}"),
                ],
            );
        }
        etl(
            &bin,
            &d,
            &[
                "extract_csv_column",
                "-i",
                "transactions.csv",
                "-c",
                "hash",
                "-o",
                "hashes.txt",
            ],
        );
        for ext in ["csv", "json"] {
            etl(
                &bin,
                &d,
                &[
                    "export_receipts_and_logs",
                    "--transaction-hashes",
                    "hashes.txt",
                    "-p",
                    &url,
                    "--receipts-output",
                    &format!("receipts.{ext}"),
                    "--logs-output",
                    &format!("logs.{ext}"),
                ],
            );
            etl(
                &bin,
                &d,
                &[
                    "extract_token_transfers",
                    "--logs",
                    &format!("logs.{ext}"),
                    "-o",
                    &format!("token_transfers.{ext}"),
                ],
            );
            etl(
                &bin,
                &d,
                &[
                    "export_traces",
                    "-s",
                    "0",
                    "-e",
                    &end,
                    "-p",
                    &url,
                    "-o",
                    &format!("traces.{ext}"),
                ],
            );
        }
    })
    .await
    .unwrap();

    for format in ["csv", "json"] {
        let lake = d.join(format!("ours-{format}"));
        let out = run(&[
            "export",
            "evm",
            "--rpc",
            &anvil.url(),
            "-f",
            format,
            "--chunk-size",
            "100000",
            "-q",
            "-t",
            "blocks,transactions,receipts,logs,token_transfers,traces",
            "-o",
            lake.to_str().unwrap(),
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        for table in [
            "blocks",
            "transactions",
            "receipts",
            "logs",
            "token_transfers",
            "traces",
        ] {
            let (eh, el) = lines(&d.join(format!("{table}.{format}")));
            let (oh, ol) = lines(&only_file(&lake.join("anvil").join(table)));
            assert_eq!(oh, eh, "{table}.{format}: header");
            assert_eq!(ol.len(), el.len(), "{table}.{format}: row count");
            assert!(!ol.is_empty(), "{table}.{format}: rows");
            for (o, e) in ol.iter().zip(&el) {
                assert_eq!(o, e, "{table}.{format}: row differs");
            }
        }
    }
    anvil.stop().await;
}
