//! A real node: litecoind (Litecoin Core 0.21, a Bitcoin Core fork) in regtest with the
//! seeded UTXO workload.
//!
//! * the same chain exported from the node's RPC (raw and verbose blocks) and from its data
//!   directory (while the node runs, and after it stopped) gives byte-identical Parquet;
//! * every input is enriched, fees are exact and non-negative;
//! * a range that starts mid-chain (spent outputs from `getrawtransaction`) equals the
//!   same chunk of a full export;
//! * every address of the workload's ground truth is in the outputs table;
//! * `bench rpc-floor --methods getblock` fetches every block raw;
//! * bitcoin-etl 1.5.2 (`export_blocks_and_transactions` + `enrich_transactions`) on the same
//!   node writes byte-identical blocks and transactions JSON lines.

#![allow(clippy::unwrap_used)]

mod common;

use ledgerflow_testkit::services::or_skip;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ledgerflow_devnet::litecoin::UtxoWorkloadConfig;

fn export_args<'a>(src: &'a [&'a str], out: &'a str, extra: &'a [&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "export",
        "bitcoin",
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "-o",
        out,
        "-q",
        "--chunk-size",
        "50",
    ];
    v.extend_from_slice(src);
    v.extend_from_slice(extra);
    v
}

fn parquet_files(lake: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    lake_files(lake)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_and_files_agree_and_inputs_are_enriched() {
    let dir = tempfile::tempdir().unwrap();
    let Some((node, summary)) = litecoin_node(
        "litecoin_export",
        &dir.path().join("node"),
        UtxoWorkloadConfig {
            seed: 7,
            blocks: 25,
            txs_per_block: 15,
            entities: 25,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    assert!(
        summary.transactions >= 200,
        "{} transactions",
        summary.transactions
    );
    for a in [
        "payment_with_change",
        "consolidation",
        "coinjoin",
        "peel_chain",
        "fanout",
    ] {
        assert!(
            summary.actions.get(a).copied().unwrap_or(0) > 0,
            "action {a}: {:?}",
            summary.actions
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let url = node.url();
    let datadir = node.datadir.to_string_lossy().into_owned();
    let lake = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (raw, verbose, live, stopped, tail) = (
        lake("raw"),
        lake("verbose"),
        lake("live"),
        lake("stopped"),
        lake("tail"),
    );

    let o = run(&export_args(&["--rpc", &url], &raw, &["--rpc-mode", "raw"])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&export_args(
        &["--rpc", &url],
        &verbose,
        &["--rpc-mode", "verbose"],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    // the files of a running node (its last block may still be in its write buffer: the
    // tip the files show is compared below)
    let o = run(&export_args(
        &["--datadir", &datadir],
        &live,
        &["--blocks", &format!("0:{}", summary.head)],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    // from block 100 over RPC: outputs of earlier blocks come from getrawtransaction
    let o = run(&export_args(
        &["--rpc", &url],
        &tail,
        &["--blocks", "100:latest"],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    // the node floor of the benchmarks: every block fetched raw, nothing decoded
    let o = run(&[
        "bench",
        "rpc-floor",
        "--rpc",
        &url,
        "--methods",
        "getblock",
        "--blocks",
        "0:latest",
        "--batch-size",
        "7",
    ])
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let floor: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    let blocks = (summary.head + 1) as u64;
    assert_eq!(floor["blocks"].as_u64(), Some(blocks), "{floor}");
    // every answer carries at least the block's header and coinbase in hex
    let bytes = floor["bytes"].as_u64().unwrap();
    assert!(bytes > blocks * 2 * 160, "{floor}");
    let o = run(&[
        "bench",
        "rpc-floor",
        "--rpc",
        &url,
        "--methods",
        "getblock,blocks",
    ])
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be mixed"), "{}", stderr(&o));
    node.stop().await;
    let o = run(&export_args(&["--datadir", &datadir], &stopped, &[])).await;
    assert!(o.status.success(), "{}", stderr(&o));

    let base = parquet_files(Path::new(&raw));
    assert!(base.len() >= 4 * 3, "{} files", base.len());
    for other in [&verbose, &live, &stopped] {
        let files = parquet_files(Path::new(other));
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            base.keys().collect::<Vec<_>>(),
            "{other}: same chunk files"
        );
        for (p, bytes) in &files {
            assert!(
                bytes == &base[p],
                "{other}: {} differs from the raw RPC export",
                p.display()
            );
        }
    }
    // the mid-chain export: its chunks 100..149 onwards equal the full export's
    let tail_files = parquet_files(Path::new(&tail));
    assert!(!tail_files.is_empty());
    for (p, bytes) in &tail_files {
        assert!(bytes == &base[p], "tail: {} differs", p.display());
    }

    // enrichment: every input has its value, type and address; fees are exact
    let raw_lake = Path::new(&raw);
    let inputs = read_table(raw_lake, "litecoin-regtest", "inputs");
    let types = strings(&inputs, "type");
    assert!(!types.is_empty());
    assert!(types.iter().all(|t| t.is_some()), "every input enriched");
    let kinds = count(&types.iter().map(|t| t.clone().unwrap()).collect::<Vec<_>>());
    for k in ["pubkeyhash", "scripthash", "witness_v0_keyhash"] {
        assert!(kinds.contains_key(k), "spent {k} outputs: {kinds:?}");
    }
    let txs = read_table(raw_lake, "litecoin-regtest", "transactions");
    assert_eq!(
        rows(&txs) as u64,
        summary.transactions + summary.head as u64 + 1
    );

    // the ground truth's addresses are all on chain
    let outputs = read_table(raw_lake, "litecoin-regtest", "outputs");
    let on_chain: std::collections::HashSet<String> = outputs
        .iter()
        .flat_map(|b| {
            use arrow::array::{Array, AsArray};
            let l = b.column_by_name("addresses").unwrap().as_list::<i32>();
            (0..l.len())
                .flat_map(|i| {
                    let v = l.value(i);
                    let s = v.as_string::<i32>();
                    (0..s.len())
                        .map(|k| s.value(k).to_string())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for a in &summary.ground_truth {
        assert!(
            on_chain.contains(&a.address),
            "{} ({}) not on chain",
            a.address,
            a.entity
        );
    }
}

fn bitcoinetl() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv-btcetl/bin/bitcoinetl");
    if p.is_file() {
        return Some(p);
    }
    or_skip(
        "bitcoin_etl_equality",
        "ETL",
        Err("bitcoin-etl not installed (run scripts/setup-peers.sh btcetl)"),
    )
}

fn sorted_lines(paths: &[PathBuf]) -> Vec<String> {
    let mut v: Vec<String> = paths
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort();
    v
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoin_etl_equality() {
    let Some(etl) = bitcoinetl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some((node, summary)) = litecoin_node(
        "bitcoin_etl_equality",
        &dir.path().join("node"),
        UtxoWorkloadConfig {
            seed: 11,
            blocks: 15,
            txs_per_block: 12,
            entities: 20,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let d = dir.path();
    let url = node.url();
    let head = summary.head.to_string();
    let run_etl = |args: &[&str]| {
        let out = Command::new(&etl)
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bitcoinetl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run_etl(&[
        "export_blocks_and_transactions",
        "-s",
        "0",
        "-e",
        &head,
        "-p",
        &url,
        "-c",
        "litecoin",
        "--blocks-output",
        "blocks.json",
        "--transactions-output",
        "transactions.json",
    ]);
    run_etl(&[
        "enrich_transactions",
        "-p",
        &url,
        "-c",
        "litecoin",
        "--transactions-input",
        "transactions.json",
        "--transactions-output",
        "enriched.json",
    ]);
    run_etl(&[
        "export_blocks_and_transactions",
        "-s",
        "0",
        "-e",
        &head,
        "-p",
        &url,
        "-c",
        "litecoin",
        "--blocks-output",
        "blocks.csv",
        "--transactions-output",
        "transactions.csv",
    ]);
    let lake = d.join("lake").to_string_lossy().into_owned();
    let o = run(&export_args(
        &["--rpc", &url],
        &lake,
        &["-f", "json", "--blocks", &format!("0:{head}")],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let plain = d.join("plain").to_string_lossy().into_owned();
    let o = run(&export_args(
        &["--rpc", &url],
        &plain,
        &[
            "-f",
            "json",
            "--no-enrich",
            "-t",
            "transactions",
            "--blocks",
            &format!("0:{head}"),
        ],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = d.join("csv").to_string_lossy().into_owned();
    let o = run(&export_args(
        &["--rpc", &url],
        &csv,
        &["-f", "csv", "--no-enrich", "--blocks", &format!("0:{head}")],
    ))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    node.stop().await;
    let chain = Path::new(&lake).join("litecoin-regtest");
    assert_eq!(
        sorted_lines(&files_in(&chain.join("blocks"))),
        sorted_lines(&[d.join("blocks.json")]),
        "blocks"
    );
    let ours = sorted_lines(&files_in(&chain.join("transactions")));
    let theirs = sorted_lines(&[d.join("enriched.json")]);
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "enriched transactions");
    }
    let plain_ours = sorted_lines(&files_in(
        &Path::new(&plain).join("litecoin-regtest/transactions"),
    ));
    assert_eq!(
        plain_ours,
        sorted_lines(&[d.join("transactions.json")]),
        "plain transactions"
    );
    // bitcoin-etl's CSV files (the plain export), compared line by line without the headers
    for (table, theirs) in [
        ("blocks", "blocks.csv"),
        ("transactions", "transactions.csv"),
    ] {
        let files = files_in(&Path::new(&csv).join("litecoin-regtest").join(table));
        let mut ours: Vec<String> = Vec::new();
        let mut header = None;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let mut lines = text.split_inclusive("\r\n");
            header = lines.next().map(String::from);
            ours.extend(lines.map(String::from));
        }
        let text = std::fs::read_to_string(d.join(theirs)).unwrap();
        let mut lines = text.split_inclusive("\r\n");
        assert_eq!(header.as_deref(), lines.next(), "{table}: CSV header");
        let mut theirs: Vec<String> = lines.map(String::from).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours.len(), theirs.len(), "{table}: CSV rows");
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a, b, "{table}: CSV row");
        }
    }
}
