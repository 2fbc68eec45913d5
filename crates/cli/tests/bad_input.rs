//! Bad input: bad arguments, unreachable or faulty nodes, malformed answers. Each gives a
//! clear error naming the block, method and field, a non-zero exit, and no partial chunk.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use ledgerflow_testkit::{FaultProxy, Faults, ReplayServer};
use serde_json::json;

fn no_temp_files(dir: &Path) {
    for p in files(dir).keys() {
        assert!(
            !p.to_string_lossy().contains(".tmp"),
            "temporary file left behind: {}",
            p.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_rejected_before_any_io() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let o = out.to_str().unwrap();
    for (args, needle) in [
        (vec!["--blocks", "abc"], "invalid block range"),
        (vec!["--blocks", "10:5"], "is empty"),
        (
            vec!["-t", "blocks,tranzactions"],
            "unknown table \"tranzactions\"",
        ),
        (vec!["--rpc", "ftp://example"], "not an http(s) URL"),
        (vec!["--chunk-size", "0"], "--chunk-size"),
        (vec!["-f", "xml"], "unknown format"),
        (vec!["--traces", "magic"], "unknown trace mode"),
    ] {
        let mut a = vec!["export", "evm", "-o", o];
        if !args.contains(&"--rpc") {
            a.extend(["--rpc", "http://127.0.0.1:1"]);
        }
        a.extend(args.iter().copied());
        let r = run(&a).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert!(stderr(&r).contains(needle), "{args:?}: {}", stderr(&r));
    }
    assert!(!out.exists(), "nothing is written for bad arguments");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_node_fails_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "export",
        "evm",
        "--rpc",
        "http://127.0.0.1:1",
        "--retries",
        "1",
        "-o",
        dir.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    let e = stderr(&r);
    assert!(
        e.contains("eth_chainId") && e.contains("connection to http://127.0.0.1:1 failed"),
        "{e}"
    );
}

/// A recorded chain of two blocks whose block 1 answer is replaced by `block1`.
async fn serve_with_block1(dir: &Path, block1: serde_json::Value) -> ReplayServer {
    let write = |key: &str, result: serde_json::Value| {
        std::fs::write(
            dir.join(format!("web3_response.{key}.json")),
            json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string(),
        )
        .unwrap();
    };
    let block = |n: u64, parent: &str| {
        json!({"number": format!("{n:#x}"), "hash": format!("0x{:064x}", n + 1), "parentHash": parent, "timestamp": "0x5f5e100",
               "gasLimit": "0x1c9c380", "gasUsed": "0x0", "miner": "0x0000000000000000000000000000000000000001", "transactions": []})
    };
    write("eth_chainId_", json!("0x7a69"));
    write("eth_blockNumber_", json!("0x1"));
    write(
        "eth_getBlockByNumber_0x0_false",
        block(0, &format!("0x{:064x}", 0)),
    );
    write("eth_getBlockByNumber_0x1_false", block1);
    ReplayServer::start(&[dir]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_name_block_method_and_field() {
    let good1 = || json!({"number": "0x1", "hash": format!("0x{:064x}", 2), "timestamp": "0x5f5e10c", "transactions": []});
    let mut cases = vec![];
    let mut bad = good1();
    bad["gasUsed"] = json!("0xzz");
    cases.push((
        bad,
        vec!["block 1", "eth_getBlockByNumber", "gasUsed", "0xzz"],
    ));
    let mut bad = good1();
    bad["gasLimit"] = json!("0x1ffffffffffffffffff");
    cases.push((bad, vec!["block 1", "gasLimit", "64-bit"]));
    let mut bad = good1();
    bad["hash"] = json!("0x1234");
    cases.push((bad, vec!["block 1", "hash", "32-byte"]));
    let mut bad = good1();
    bad["transactions"] = json!("oops");
    cases.push((bad, vec!["block 1", "transactions"]));
    let mut bad = good1();
    bad["number"] = json!("0x7");
    cases.push((bad, vec!["block 1", "asked for block 1, got 7"]));
    cases.push((serde_json::Value::Null, vec!["block 1", "returned null"]));
    for (answer, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = dir.path().join("fixtures");
        std::fs::create_dir(&fixtures).unwrap();
        let server = serve_with_block1(&fixtures, answer.clone()).await;
        let lake = dir.path().join("lake");
        let r = run(&[
            "export",
            "evm",
            "--rpc",
            &server.url,
            "-t",
            "blocks",
            "--chunk-size",
            "1",
            "--chunk-concurrency",
            "1",
            "--retries",
            "1",
            "-o",
            lake.to_str().unwrap(),
        ])
        .await;
        let e = stderr(&r);
        assert_eq!(
            r.status.code(),
            Some(1),
            "block 0 written, block 1 failed: {e}"
        );
        for n in needles {
            assert!(e.contains(n), "{answer}: missing {n:?} in: {e}");
        }
        assert!(lake.join("evm-31337").exists() || lake.join("anvil").exists());
        let blocks = lake.join("anvil/blocks");
        assert!(blocks
            .join("blocks__0000000000_0000000000.parquet")
            .exists());
        assert!(
            !blocks
                .join("blocks__0000000001_0000000001.parquet")
                .exists(),
            "no chunk for the bad block"
        );
        no_temp_files(&lake);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_node_gives_the_same_lake() {
    let Some((anvil, _)) = chain("a_flaky_node_gives_the_same_lake", workload(5, 20, 10)).await
    else {
        return;
    };
    let faults = Faults {
        seed: 9,
        drop: 0.1,
        http_error: 0.05,
        corrupt: 0.05,
        delay_p: 0.05,
        delay: Duration::from_millis(50),
    };
    let proxy = FaultProxy::start(&anvil.url(), faults).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (direct, flaky) = (dir.path().join("direct"), dir.path().join("flaky"));
    let r = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "-o",
        direct.to_str().unwrap(),
        "--chunk-size",
        "8",
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = run(&[
        "export",
        "evm",
        "--rpc",
        &proxy.url,
        "-o",
        flaky.to_str().unwrap(),
        "--chunk-size",
        "8",
        "--batch-size",
        "5",
        "--retries",
        "12",
        "--timeout",
        "5",
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        proxy.injected() > 5,
        "faults were injected: {}",
        proxy.injected()
    );
    assert_eq!(lake_files(&flaky), lake_files(&direct));
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_always_corrupts_fails_cleanly() {
    let Some((anvil, _)) = chain(
        "a_node_that_always_corrupts_fails_cleanly",
        workload(5, 3, 5),
    )
    .await
    else {
        return;
    };
    // answers eth_chainId/eth_blockNumber correctly through a clean proxy, then corrupts
    let proxy = FaultProxy::start(
        &anvil.url(),
        Faults {
            corrupt: 1.0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let r = run(&[
        "export",
        "evm",
        "--rpc",
        &proxy.url,
        "--chain-id",
        "31337",
        "--blocks",
        "0:3",
        "-o",
        lake.to_str().unwrap(),
        "--retries",
        "2",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("malformed JSON-RPC answer"),
        "{}",
        stderr(&r)
    );
    no_temp_files(&lake);
    for p in files(&lake).keys() {
        assert!(
            p.starts_with("anvil/_runs"),
            "only the run report is written: {}",
            p.display()
        );
    }
    anvil.stop().await;
}
