//! Conformance with bitcoin-etl 1.5.2 on real mainnet data: every offline case of
//! `../shared/fixtures/bitcoin-etl` is replayed through a local JSON-RPC server answering
//! from the recorded results, and the JSON lines ledgerflow renders must equal the expected
//! files (as JSON values per line, ignoring row order, as bitcoin-etl's own tests compare).
//!
//! The raw decoder is checked on the same data: every transaction's `hex` in the recorded
//! verbose answers decodes to the node's txid, size, vsize, asm, type, reqSigs and addresses.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledgerflow_bitcoin::chain::ChainParams;
use ledgerflow_bitcoin::etl::{block_json, transaction_json, EtlStyle};
use ledgerflow_bitcoin::source::{RpcMode, RpcSource};
use ledgerflow_bitcoin::transform::{block_rows, BtcRows, Want};
use ledgerflow_bitcoin::utxo::UtxoIndex;
use ledgerflow_rpc::{RpcClient, RpcConfig};
use ledgerflow_testkit::ReplayServer;
use serde_json::Value;

fn cases() -> Option<PathBuf> {
    let shared = ledgerflow_testkit::shared_dir("conformance_bitcoin_etl")?;
    Some(shared.join("fixtures/bitcoin-etl/test_export_blocks_job"))
}

fn lines(path: &Path) -> Vec<Value> {
    let mut v: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|x| x.to_string());
    v
}

fn parse(rendered: &[String]) -> Vec<Value> {
    let mut v: Vec<Value> = rendered
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|x| x.to_string());
    v
}

/// Runs one case: exports `start..=end` of `chain` through the replay server.
async fn run_case(dir: &Path, chain: &str, start: i64, end: i64, enrich: bool, stream: bool) {
    let server = ReplayServer::start_bitcoin_etl(&[dir]).await.unwrap();
    let params = ChainParams::find(chain, "main").unwrap();
    let mut cfg = RpcConfig::new(server.url.clone());
    cfg.max_retries = 0;
    let src = RpcSource {
        client: Arc::new(RpcClient::new(cfg).unwrap()),
        params,
        mode: RpcMode::Verbose,
    };
    let blocks = src.blocks(start, end).await.unwrap();
    let mut rows = BtcRows::default();
    for b in &blocks {
        let mut ix = UtxoIndex::new();
        if enrich {
            // bitcoin-etl's enrichment: spent outputs from getrawtransaction
            let outpoints: Vec<([u8; 32], u32)> = b
                .txs
                .iter()
                .flat_map(|t| t.inputs.iter().filter_map(|i| i.prev))
                .collect();
            let coins = src.prevouts(&outpoints).await.unwrap();
            for ((t, v), c) in coins {
                ix.insert(&t, v, c.value, c.height, &c.script);
            }
        }
        block_rows(b, params, Want::ALL, enrich.then_some(&mut ix), &mut rows);
    }
    let style = EtlStyle {
        stream,
        null_index: params.old_api,
    };
    let got_blocks: Vec<String> = rows.blocks.iter().map(|b| block_json(b, style)).collect();
    let got_txs: Vec<String> = rows
        .transactions
        .iter()
        .map(|t| transaction_json(t, style))
        .collect();
    let want_blocks = lines(&dir.join("expected_blocks.json"));
    let want_txs = lines(&dir.join("expected_transactions.json"));
    assert_eq!(parse(&got_blocks), want_blocks, "{}: blocks", dir.display());
    let got = parse(&got_txs);
    assert_eq!(
        got.len(),
        want_txs.len(),
        "{}: transaction count",
        dir.display()
    );
    for (g, w) in got.iter().zip(&want_txs) {
        assert_eq!(g, w, "{}: transaction", dir.display());
    }
    // key order too: the rendered text of each line equals Python's json.dumps of the
    // expected object in bitcoin-etl's field order
    let expected_text = std::fs::read_to_string(dir.join("expected_blocks.json")).unwrap();
    for line in &got_blocks {
        assert!(
            expected_text.contains(line.as_str()),
            "{}: block line not byte-identical:\n{line}",
            dir.display()
        );
    }
}

#[tokio::test]
async fn bitcoin_etl_cases() {
    let Some(root) = cases() else { return };
    let table: &[(&str, &str, i64, i64, bool, bool)] = &[
        ("bitcoin/block_0", "bitcoin", 0, 0, false, false),
        ("bitcoin/block_1", "bitcoin", 1, 1, false, false),
        (
            "bitcoin/block_without_transactions",
            "bitcoin",
            50000,
            50000,
            false,
            false,
        ),
        (
            "bitcoin/block_with_transactions",
            "bitcoin",
            50001,
            50002,
            false,
            false,
        ),
        (
            "bitcoin/stream_50001_50002",
            "bitcoin",
            50001,
            50002,
            true,
            true,
        ),
        (
            "bitcoin_cash/block_with_duplicate_txid",
            "bitcoin_cash",
            91722,
            91722,
            false,
            false,
        ),
        (
            "dogecoin/block_without_transactions",
            "dogecoin",
            2,
            2,
            false,
            false,
        ),
        ("zcash/block_0", "zcash", 0, 0, false, false),
        (
            "zcash/block_with_shielded_addresses",
            "zcash",
            508,
            508,
            false,
            false,
        ),
        (
            "zcash/block_with_value_balance",
            "zcash",
            462085,
            462085,
            false,
            false,
        ),
    ];
    for (case, chain, s, e, enrich, stream) in table {
        run_case(&root.join(case), chain, *s, *e, *enrich, *stream).await;
        println!("ok: {case}");
    }
}

/// Every recorded transaction with a `hex` decodes locally to what the node said.
#[test]
fn raw_decoder_agrees_with_the_node() {
    let Some(root) = cases() else { return };
    let mut checked = 0;
    for (case, chain) in [
        ("bitcoin/block_with_transactions", "bitcoin"),
        ("bitcoin/stream_50001_50002", "bitcoin"),
        ("bitcoin/block_1", "bitcoin"),
        ("bitcoin_cash/block_with_duplicate_txid", "bitcoin_cash"),
        ("dogecoin/block_without_transactions", "dogecoin"),
    ] {
        let params = ChainParams::find(chain, "main").unwrap();
        let fmt = ledgerflow_bitcoin::raw::Format::of(params);
        for entry in std::fs::read_dir(root.join(case)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("rpc_response_get")
                || name.contains("getblockhash")
                || name.contains("getblockcount")
            {
                continue;
            }
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let txs: Vec<Value> = match v.get("tx").and_then(|t| t.as_array()) {
                Some(a) => a.iter().filter(|t| t.is_object()).cloned().collect(),
                None if v.get("vin").is_some() => vec![v.clone()],
                None => vec![],
            };
            for t in txs {
                let Some(hex) = t["hex"].as_str() else {
                    continue;
                };
                let bytes = ledgerflow_bitcoin::hash::from_hex(hex).unwrap();
                let tx = ledgerflow_bitcoin::raw::decode_tx(&bytes, fmt).unwrap();
                assert_eq!(
                    ledgerflow_bitcoin::hash::hash_hex(&tx.txid),
                    t["txid"].as_str().unwrap()
                );
                if let Some(size) = t["size"].as_i64() {
                    assert_eq!(tx.size, Some(size));
                } else {
                    assert_eq!(tx.size, Some(bytes.len() as i64));
                }
                if let Some(vs) = t["vsize"].as_i64() {
                    assert_eq!(tx.vsize, Some(vs));
                }
                for (o, vo) in tx.outputs.iter().zip(t["vout"].as_array().unwrap()) {
                    let spk = &vo["scriptPubKey"];
                    let info = ledgerflow_bitcoin::script::info(&o.script, &params.addresses);
                    assert_eq!(
                        ledgerflow_bitcoin::script::to_asm(&o.script, false, Default::default()),
                        spk["asm"].as_str().unwrap()
                    );
                    assert_eq!(info.class.name(), spk["type"].as_str().unwrap(), "{name}");
                    assert_eq!(info.required_signatures, spk["reqSigs"].as_i64());
                    let addrs: Vec<String> = spk["addresses"]
                        .as_array()
                        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default();
                    assert_eq!(info.addresses, addrs, "{name}");
                }
                for (i, vi) in tx.inputs.iter().zip(t["vin"].as_array().unwrap()) {
                    if let Some(asm) = vi["scriptSig"]["asm"].as_str() {
                        let style = ledgerflow_bitcoin::transform::sighash_style(params);
                        assert_eq!(
                            ledgerflow_bitcoin::script::to_asm(&i.script_sig, true, style),
                            asm
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "checked {checked} transactions");
}

/// The real mainnet block decodes to its hash, height (BIP-34), and counts.
#[test]
fn mainnet_block() {
    let Some(shared) = ledgerflow_testkit::shared_dir("mainnet_block") else {
        return;
    };
    let path = shared.join("fixtures/mainnet-blocks/000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 1_381_836);
    let params = ChainParams::find("bitcoin", "main").unwrap();
    let b = ledgerflow_bitcoin::raw::decode_block(
        &bytes,
        702_861,
        ledgerflow_bitcoin::raw::Format::of(params),
    )
    .unwrap();
    assert_eq!(
        ledgerflow_bitcoin::hash::hash_hex(&b.hash),
        "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae"
    );
    assert_eq!(b.txs.len(), 2500);
    assert_eq!(b.txs.iter().map(|t| t.inputs.len()).sum::<usize>(), 6518);
    assert_eq!(b.txs.iter().map(|t| t.outputs.len()).sum::<usize>(), 6015);
    // BIP-34: the coinbase starts with the height
    let cb = &b.txs[0].inputs[0].script_sig;
    let n = cb[0] as usize;
    let mut h = 0i64;
    for (i, x) in cb[1..1 + n].iter().enumerate() {
        h |= (*x as i64) << (8 * i);
    }
    assert_eq!(h, 702_861);
    // the merkle root commits to every decoded txid
    let ids: Vec<[u8; 32]> = b.txs.iter().map(|t| t.txid).collect();
    assert_eq!(
        ledgerflow_bitcoin::hash::hash_hex(&ledgerflow_bitcoin::raw::merkle_root(&ids)),
        b.merkle_root
    );
    assert_eq!(b.size, Some(1_381_836));
    // rows build for every transaction
    let mut rows = BtcRows::default();
    block_rows(
        &b,
        params,
        Want::ALL,
        Some(&mut UtxoIndex::new()),
        &mut rows,
    );
    assert_eq!(rows.transactions.len(), 2500);
    assert_eq!(rows.outputs.len(), 6015);
    assert_eq!(rows.inputs.len(), 6517);
}
