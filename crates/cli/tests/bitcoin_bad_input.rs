//! Bad input to `export bitcoin`: bad arguments (rejected before any I/O), an unreachable
//! node, node errors and timeouts, a node on another chain, and a bad data directory — each
//! a clear error naming the block/method or file/offset, a non-zero exit, no partial chunk.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use ledgerflow_testkit::{FaultProxy, Faults, ReplayServer};

fn no_data_files(dir: &Path) {
    for p in files(dir).keys() {
        let s = p.to_string_lossy();
        assert!(s.contains("_runs"), "unexpected file left behind: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_rejected_before_any_io() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--rpc", "http://127.0.0.1:1", "--chain", "dogecoins"],
            "unknown chain/network",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "--network", "moon"],
            "unknown chain/network",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "--rpc-mode", "fast"],
            "--rpc-mode",
        ),
        (
            vec![
                "--rpc",
                "http://127.0.0.1:1",
                "--chain",
                "zcash",
                "--rpc-mode",
                "raw",
            ],
            "does not decode",
        ),
        (
            vec!["--datadir", "/nonexistent", "--chain", "dash"],
            "only be read over RPC",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "-f", "json", "-t", "inputs"],
            "flat inputs table",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "-t", "utxos"],
            "unknown table",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "--blocks", "9:3"],
            "is empty",
        ),
        (
            vec![
                "--rpc",
                "http://127.0.0.1:1",
                "--rpc-cookie",
                "/nonexistent/.cookie",
            ],
            "--rpc-cookie",
        ),
        (
            vec!["--rpc", "http://127.0.0.1:1", "--datadir", "/x"],
            "cannot be used with",
        ),
        (vec![], "--rpc"),
    ] {
        let mut argv = vec!["export", "bitcoin", "-o", o];
        argv.extend(args.iter().copied());
        let r = run(&argv).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", stderr(&r));
        assert!(
            stderr(&r).contains(needle),
            "{args:?}: wanted {needle:?} in {}",
            stderr(&r)
        );
        assert!(!out.exists(), "{args:?}: wrote something");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_node() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("lake");
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        "http://127.0.0.1:1",
        "--retries",
        "0",
        "-o",
        o.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    let e = stderr(&r);
    assert!(
        e.contains("getblockhash") && e.contains("connection"),
        "{e}"
    );
    assert!(!o.exists());
}

fn fixtures() -> Option<(PathBuf, PathBuf)> {
    let shared = ledgerflow_testkit::shared_dir("bitcoin_bad_input")?;
    let base = shared.join("fixtures/bitcoin-etl/test_export_blocks_job/bitcoin");
    Some((base.join("block_0"), base.join("block_with_transactions")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_errors_and_timeouts_name_the_block_and_leave_no_chunk() {
    let Some((genesis, blocks)) = fixtures() else {
        return;
    };
    let server = ReplayServer::start_bitcoin_etl(&[&genesis, &blocks])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    // block 50003 was never recorded: the node answers with an error for it
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &server.url,
        "--rpc-mode",
        "verbose",
        "--blocks",
        "50001:50003",
        "--chunk-size",
        "10",
        "--retries",
        "0",
        "-o",
        l,
        "-q",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(e.contains("getblockhash for block 50003"), "{e}");
    no_data_files(&lake);

    // the recorded blocks themselves export (unenriched spends of earlier blocks would need
    // getrawtransaction, which this recording lacks: --no-enrich)
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &server.url,
        "--rpc-mode",
        "verbose",
        "--blocks",
        "50001:50002",
        "--no-enrich",
        "-o",
        l,
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));

    // enrichment that cannot find a spent output says which one and what to do
    let lake2 = dir.path().join("lake2");
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &server.url,
        "--rpc-mode",
        "verbose",
        "--blocks",
        "50001:50002",
        "--retries",
        "0",
        "-o",
        lake2.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(e.contains("txindex=1"), "{e}");
    no_data_files(&lake2);

    // every answer delayed past the timeout
    let proxy = FaultProxy::start(
        &server.url,
        Faults {
            seed: 1,
            drop: 0.0,
            http_error: 0.0,
            corrupt: 0.0,
            delay_p: 1.0,
            delay: Duration::from_millis(800),
        },
    )
    .await
    .unwrap();
    let lake3 = dir.path().join("lake3");
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &proxy.url,
        "--rpc-mode",
        "verbose",
        "--blocks",
        "50001:50002",
        "--timeout",
        "0.2",
        "--retries",
        "1",
        "--no-enrich",
        "-o",
        lake3.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(stderr(&r).contains("within 200 ms"), "{}", stderr(&r));
    assert!(
        !lake3.exists()
            || files(&lake3)
                .keys()
                .all(|p| p.to_string_lossy().contains("_runs"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_chain_is_refused() {
    let Some((genesis, _)) = fixtures() else {
        return;
    };
    let server = ReplayServer::start_bitcoin_etl(&[&genesis]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("lake");
    // a Bitcoin mainnet node asked for Litecoin
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &server.url,
        "--chain",
        "litecoin",
        "-o",
        o.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    let e = stderr(&r);
    assert!(
        e.contains("wrong chain")
            && e.contains("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
        "{e}"
    );
    assert!(!o.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_directory() {
    let Some(shared) = ledgerflow_testkit::shared_dir("bitcoin_bad_input") else {
        return;
    };
    let blk = shared.join("fixtures/blocksci/btc/regtest/blocks/blk00000.dat");
    let mut bytes = std::fs::read(blk).unwrap();
    bytes[1000] ^= 0xff; // inside block 2 or so: its transactions no longer decode, or its header
    let dir = tempfile::tempdir().unwrap();
    let blocks = dir.path().join("node/regtest/blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    // a magic byte broken at a record boundary
    let len0 = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    bytes[8 + len0] = 0x00;
    bytes[8 + len0 + 1] = 0x11;
    std::fs::write(blocks.join("blk00000.dat"), &bytes).unwrap();
    let lake = dir.path().join("lake");
    let r = run(&[
        "export",
        "bitcoin",
        "--datadir",
        dir.path().join("node").to_str().unwrap(),
        "--network",
        "regtest",
        "-o",
        lake.to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    let e = stderr(&r);
    assert!(
        e.contains("blk00000.dat")
            && e.contains(&format!("at byte {}", 8 + len0))
            && e.contains("magic"),
        "{e}"
    );
    assert!(!lake.exists());
}
