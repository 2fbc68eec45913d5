//! Exports of a real anvil chain filled by the seeded workload: every table, checked
//! against what the workload did; determinism; resume; geth vs parity traces.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::*;
use ledgerflow_devnet::WorkloadConfig;

fn cfg(seed: u64, blocks: u64) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        blocks,
        txs_per_block: 15,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_matches_the_workload() {
    let Some((anvil, w)) = chain("every_table_matches_the_workload", cfg(7, 60)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    export_evm(&anvil.url(), &lake, &["--chunk-size", "16"]).await;
    let act = |k: &str| *w.actions.get(k).unwrap_or(&0);

    // the benchmarks' RPC floor fetches the same blocks, receipts and traces raw
    let floor = run(&[
        "bench",
        "rpc-floor",
        "--rpc",
        &anvil.url(),
        "--blocks",
        "0:latest",
        "--batch-size",
        "9",
    ])
    .await;
    assert!(floor.status.success(), "{}", stderr(&floor));
    let floor: serde_json::Value = serde_json::from_slice(&floor.stdout).unwrap();
    assert_eq!(floor["blocks"].as_u64(), Some(w.head + 1), "{floor}");
    assert!(
        floor["bytes"].as_u64().unwrap() > 1000 * w.transactions,
        "{floor}"
    );

    // blocks: contiguous, counts agree with transactions
    let blocks = read_table(&lake, "anvil", "blocks");
    let numbers: Vec<i64> = ints(&blocks, "number")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(numbers, (0..=w.head as i64).collect::<Vec<_>>());
    let tx_count: i64 = ints(&blocks, "transaction_count")
        .into_iter()
        .map(Option::unwrap)
        .sum();
    let txs = read_table(&lake, "anvil", "transactions");
    assert_eq!(rows(&txs) as i64, tx_count);
    assert_eq!(rows(&txs) as u64, w.transactions);
    assert!(ints(&blocks, "base_fee_per_gas")
        .iter()
        .all(|b| b.is_some()));
    assert!(ints(&blocks, "chain_id").iter().all(|c| *c == Some(31337)));

    // transactions: failed ones are exactly those meant to fail; all three types present
    let status = ints(&txs, "receipt_status");
    assert_eq!(
        status.iter().filter(|s| **s == Some(0)).count() as u64,
        w.failed_transactions
    );
    assert!(status.iter().all(|s| s.is_some()));
    let types: BTreeSet<i64> = ints(&txs, "transaction_type")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(types, BTreeSet::from([0, 1, 2]));
    assert!(ints(&txs, "receipt_effective_gas_price")
        .iter()
        .all(|p| p.is_some()));
    let hashes: BTreeSet<String> = strings(&txs, "hash").into_iter().flatten().collect();

    // receipts and logs
    let receipts = read_table(&lake, "anvil", "receipts");
    assert_eq!(rows(&receipts), rows(&txs));
    let logs = read_table(&lake, "anvil", "logs");
    assert!(rows(&logs) > 0);
    assert!(strings(&logs, "transaction_hash")
        .into_iter()
        .flatten()
        .all(|h| hashes.contains(&h)));

    // token transfers by standard
    let tt = read_table(&lake, "anvil", "token_transfers");
    let std = count(
        &strings(&tt, "token_standard")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    );
    let get = |k: &str| *std.get(k).unwrap_or(&0) as u64;
    assert_eq!(get("erc721"), act("erc721_mint") + act("erc721_transfer"));
    let batch_rows = ints(&tt, "batch_index")
        .iter()
        .filter(|b| **b == Some(1))
        .count();
    assert_eq!(
        batch_rows as u64,
        act("erc1155_batch"),
        "one row with batch_index 1 per batch"
    );
    assert!(
        get("erc1155") >= act("fund_erc1155") + act("erc1155_single") + 2 * act("erc1155_batch")
    );
    // every ERC-20 mint/transfer that succeeded, plus tokens minted by deployments
    assert!(
        get("erc20")
            >= act("fund_erc20") + act("erc20_transfer") + act("erc20_transfer_from")
                - act("failed_tx_out_of_gas")
    );
    assert!(strings(&tt, "token_id")
        .iter()
        .zip(strings(&tt, "token_standard"))
        .all(|(id, s)| id.is_some() == (s.as_deref() != Some("erc20"))));

    // traces: one top-level trace per transaction; the call shapes the workload makes
    let traces = read_table(&lake, "anvil", "traces");
    let addr = strings(&traces, "trace_address");
    let top = addr.iter().filter(|a| a.as_deref() == Some("")).count();
    assert_eq!(top, rows(&txs), "top-level traces = transactions");
    let call_types = count(
        &strings(&traces, "call_type")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    );
    assert!(
        call_types.contains_key("delegatecall")
            && call_types.contains_key("staticcall")
            && call_types.contains_key("call")
    );
    let trace_types = count(
        &strings(&traces, "trace_type")
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        *trace_types.get("suicide").unwrap_or(&0) as u64,
        act("create_and_selfdestruct")
    );
    let creates = *trace_types.get("create").unwrap_or(&0) as u64;
    assert_eq!(
        creates,
        act("deploy")
            + act("eoa_deploy")
            + act("factory_create")
            + act("factory_create2")
            + act("create_and_selfdestruct")
            + act("factory_token")
    );
    let tstatus = ints(&traces, "status");
    let errors = strings(&traces, "error");
    let failed_subcalls = tstatus
        .iter()
        .zip(&addr)
        .zip(&errors)
        .filter(|((s, a), e)| **s == Some(0) && a.as_deref() != Some("") && e.is_some())
        .count();
    assert_eq!(
        failed_subcalls as u64,
        act("reverted_subcall"),
        "reverted sub-calls inside successful transactions"
    );
    let ids: Vec<String> = strings(&traces, "trace_id").into_iter().flatten().collect();
    assert_eq!(ids.len(), rows(&traces));
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "trace ids are unique"
    );

    // contracts: every successful creation, with standards detected from modern bytecode
    let contracts = read_table(&lake, "anvil", "contracts");
    assert_eq!(rows(&contracts) as u64, creates);
    let is20 = bools(&contracts, "is_erc20")
        .iter()
        .filter(|b| **b == Some(true))
        .count() as u64;
    assert_eq!(
        is20,
        3 + act("factory_token") + act("eoa_deploy"),
        "LUSD, BYC, WETH and every token deployed later"
    );
    assert_eq!(
        bools(&contracts, "is_erc721")
            .iter()
            .filter(|b| **b == Some(true))
            .count(),
        1
    );
    assert_eq!(
        bools(&contracts, "is_erc1155")
            .iter()
            .filter(|b| **b == Some(true))
            .count(),
        1
    );
    let creators: BTreeSet<String> = strings(&contracts, "creator_address")
        .into_iter()
        .flatten()
        .collect();
    assert!(
        creators.contains(&w.contracts["factory"]),
        "contracts created by the factory"
    );

    // tokens: metadata read with eth_call
    let tokens = read_table(&lake, "anvil", "tokens");
    assert_eq!(rows(&tokens) as u64, is20 + 2);
    let symbols: BTreeSet<String> = strings(&tokens, "symbol").into_iter().flatten().collect();
    for s in ["LUSD", "BYC", "WETH", "LKIT"] {
        assert!(symbols.contains(s), "{s} in {symbols:?}");
    }
    let names = strings(&tokens, "name");
    let decimals = strings(&tokens, "decimals");
    let lusd = strings(&tokens, "symbol")
        .iter()
        .position(|s| s.as_deref() == Some("LUSD"))
        .unwrap();
    assert_eq!(names[lusd].as_deref(), Some("Ledger Dollar"));
    assert_eq!(decimals[lusd].as_deref(), Some("18"));
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_chain_gives_byte_identical_files_and_resume_skips_done_chunks() {
    let Some((anvil, w)) = chain("determinism_and_resume", cfg(11, 30)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for lake in [&a, &b] {
        export_evm(
            &anvil.url(),
            lake,
            &[
                "--chunk-size",
                "10",
                "--report",
                dir.path().join("r.json").to_str().unwrap(),
            ],
        )
        .await;
    }
    assert_eq!(
        files(&a),
        files(&b),
        "two exports of the same chain are byte-identical"
    );

    // resume: a partial head chunk is superseded, finished chunks are skipped
    let c = dir.path().join("c");
    let out = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "-o",
        c.to_str().unwrap(),
        "--chunk-size",
        "10",
        "--blocks",
        "0:14",
        "-q",
    ])
    .await;
    assert!(out.status.success());
    assert!(c
        .join("anvil/blocks/blocks__0000000010_0000000014.parquet")
        .exists());
    let report = dir.path().join("resume.json");
    export_evm(
        &anvil.url(),
        &c,
        &["--chunk-size", "10", "--report", report.to_str().unwrap()],
    )
    .await;
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["chunks_skipped"], 1, "{r}");
    assert!(
        !c.join("anvil/blocks/blocks__0000000010_0000000014.parquet")
            .exists(),
        "superseded by 10_19"
    );
    assert_eq!(
        lake_files(&c),
        lake_files(&a),
        "resumed lake equals a one-shot export"
    );
    let blocks = read_table(&c, "anvil", "blocks");
    assert_eq!(rows(&blocks) as u64, w.head + 1);

    // --overwrite redoes everything
    let out = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "-o",
        c.to_str().unwrap(),
        "--chunk-size",
        "10",
        "-q",
        "--overwrite",
        "--report",
        report.to_str().unwrap(),
    ])
    .await;
    assert!(out.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["chunks_skipped"], 0);
    assert_eq!(lake_files(&c), lake_files(&a));
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geth_and_parity_traces_agree_on_anvil() {
    let Some((anvil, _w)) = chain("geth_and_parity_traces_agree", cfg(3, 12)).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (p, g) = (dir.path().join("p"), dir.path().join("g"));
    for (lake, mode) in [(&p, "parity"), (&g, "geth")] {
        let out = run(&[
            "export",
            "evm",
            "--rpc",
            &anvil.url(),
            "-o",
            lake.to_str().unwrap(),
            "-t",
            "traces,contracts",
            "--traces",
            mode,
            "-q",
        ])
        .await;
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
    }
    let (pt, gt) = (
        read_table(&p, "anvil", "traces"),
        read_table(&g, "anvil", "traces"),
    );
    assert_eq!(rows(&pt), rows(&gt));
    // anvil's callTracer reports the block's cumulative gas as the top-level gasUsed and
    // error texts differ between the APIs; every other column must agree
    for col in [
        "transaction_hash",
        "from_address",
        "to_address",
        "value",
        "input",
        "trace_type",
        "call_type",
        "trace_address",
        "trace_id",
    ] {
        assert_eq!(strings(&pt, col), strings(&gt, col), "column {col}");
    }
    for col in ["transaction_index", "subtraces", "status", "block_number"] {
        assert_eq!(ints(&pt, col), ints(&gt, col), "column {col}");
    }
    assert_eq!(
        files(&p.join("anvil/contracts")),
        files(&g.join("anvil/contracts")),
        "contracts are the same either way"
    );
    anvil.stop().await;
}

/// Token metadata read with batched calls (one `eth_call` running BatchStaticCall's creation
/// code) equals one `eth_call` per function, for tokens that answer oddly: a name longer
/// than a batch keeps, bytes32 answers, only upper-case functions, a name() heavier than a
/// batched call's gas cap, a revert, an invalid opcode, three stray bytes, an account
/// without code and an empty address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_token_calls_equal_direct_calls() {
    use ledgerflow_evm::{EvmSource, RpcClient, RpcConfig, SourceConfig};
    use serde_json::json;
    use std::sync::atomic::Ordering;

    let Some((anvil, _)) = chain("batched_token_calls_equal_direct_calls", cfg(3, 2)).await else {
        return;
    };
    let client = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();
    let call = |m: &'static str, p: serde_json::Value| {
        let client = client.clone();
        async move {
            let raw = client.call(m, p).await.unwrap();
            serde_json::from_str::<serde_json::Value>(raw.get()).unwrap()
        }
    };
    let from = call("eth_accounts", json!([])).await[0].clone();
    let artifacts: serde_json::Value =
        serde_json::from_str(include_str!("contracts/artifacts.json")).unwrap();
    let mut addresses = Vec::new();
    for name in ["LongName", "Bytes32Meta", "UpperCase", "Heavy", "Broken"] {
        let code = &artifacts["contracts"][name]["bytecode"];
        let tx = call("eth_sendTransaction", json!([{"from": from, "data": code}])).await;
        // the devnet's anvil mines only when told to
        call("evm_mine", json!([])).await;
        let receipt = call("eth_getTransactionReceipt", json!([tx])).await;
        assert_eq!(receipt["status"], "0x1", "{name} deploys");
        addresses.push(receipt["contractAddress"].as_str().unwrap().to_string());
    }
    call("anvil_mine", json!(["0x3"])).await;
    addresses.push(from.as_str().unwrap().to_string());
    addresses.push("0x000000000000000000000000000000000000dead".to_string());
    let head = u64::from_str_radix(
        call("eth_blockNumber", json!([]))
            .await
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    // read two blocks below the head: an old block, as the export reads tokens
    let block = head - 2;
    let tag = json!(format!("{block:#x}"));

    let read = |direct: bool| {
        let url = anvil.url();
        let addresses = addresses.clone();
        let tag = tag.clone();
        async move {
            let client = RpcClient::new(RpcConfig::new(url)).unwrap();
            let source = EvmSource::connect(
                client.clone(),
                SourceConfig {
                    direct_token_calls: direct,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            let before = client.stats().calls.load(Ordering::Relaxed);
            let meta = source
                .call_token_functions(&addresses, &tag, block)
                .await
                .unwrap();
            (meta, client.stats().calls.load(Ordering::Relaxed) - before)
        }
    };
    let (batched, batched_calls) = read(false).await;
    let (direct, direct_calls) = read(true).await;
    println!("eth_calls: batched {batched_calls}, direct {direct_calls}");
    assert_eq!(batched, direct);

    let s = |v: &str| Some(v.to_string());
    let long = "A token whose name is much longer than anyone would reasonably choose, so long that the batched call cannot hand it back whole and it has to be asked again with a call of its own: two hundred and sixty bytes.......";
    // the ABI-encoded answer (offset, length, padded bytes) is longer than a batch keeps
    assert!(64 + long.len() > ledgerflow_evm::calls::MAX_RETURN);
    assert_eq!(
        batched[0],
        [s("LONG"), s(long), s("6"), Some(alloy_u256_max())]
    );
    assert_eq!(batched[1], [s("MKR"), s("Maker"), s("18"), None]);
    assert_eq!(batched[2], [s("UP"), s("Upper"), s("2"), None]);
    assert_eq!(batched[3], [s("HVY"), s("Heavy"), None, s("1000")]);
    assert_eq!(batched[4][3], s("7"));
    assert_eq!(batched[4][0..2], [None, None]);
    assert_eq!(batched[5], [None, None, None, None]);
    assert_eq!(batched[6], [None, None, None, None]);
    // 7 addresses x 4 functions plus the upper-case fallbacks where nothing came back: one
    // eth_call each directly; batched, two creation calls plus the answers a batch cannot
    // give exactly (the long name, the heavy name, the invalid opcode)
    assert!(direct_calls >= 28, "{direct_calls}");
    assert!(batched_calls <= 8, "{batched_calls}");
}

fn alloy_u256_max() -> String {
    "115792089237316195423570985008687907853269984665640564039457584007913129639935".to_string()
}
