//! Node-written block files: BlockSci's regtest chains (written by Bitcoin Core, Bitcoin ABC
//! and Litecoin Core) decode from `blk00000.dat` alone, the best chain recovered from the
//! headers, to the node's own counts; the scenario's addresses and transactions appear with
//! the right values and types, and inputs are enriched with the outputs they spend.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use ledgerflow_bitcoin::blkfiles::DataDir;
use ledgerflow_bitcoin::chain::{AddressParams, ChainParams};
use ledgerflow_bitcoin::hash::from_hex;
use ledgerflow_bitcoin::transform::{block_rows, BtcRows, Want};
use ledgerflow_bitcoin::utxo::UtxoIndex;
use serde_json::Value;

fn counts(text: &str) -> (usize, usize, usize, usize) {
    // "Chain contains 202 blocks, 356 txes, 178 inputs, 693 outputs."
    let nums: Vec<usize> = text
        .lines()
        .find(|l| l.starts_with("Chain contains"))
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2], nums[3])
}

fn check_chain(tag: &str, chain: &str) {
    let Some(shared) = ledgerflow_testkit::shared_dir("blocksci_files") else {
        return;
    };
    let dir = shared.join("fixtures/blocksci").join(tag);
    let params = ChainParams::find(chain, "regtest").unwrap();
    let d = DataDir::open(&dir, params).unwrap();
    let blocks = d.blocks(0, d.tip()).unwrap();
    let mut rows = BtcRows::default();
    let mut ix = UtxoIndex::new();
    let mut unresolved = 0;
    for b in &blocks {
        unresolved += block_rows(b, params, Want::ALL, Some(&mut ix), &mut rows).unresolved;
    }
    assert_eq!(
        unresolved, 0,
        "{tag}: every input finds the output it spends"
    );
    let (n_blocks, n_txs, n_inputs, n_outputs) =
        counts(&std::fs::read_to_string(dir.join("checksums.txt")).unwrap());
    assert_eq!(rows.blocks.len(), n_blocks, "{tag}: blocks");
    assert_eq!(rows.transactions.len(), n_txs, "{tag}: transactions");
    assert_eq!(
        rows.inputs.len(),
        n_inputs,
        "{tag}: inputs (coinbase excluded)"
    );
    assert_eq!(rows.outputs.len(), n_outputs, "{tag}: outputs");
    for t in &rows.transactions {
        if t.is_coinbase == Some(false) {
            assert!(t.fee.unwrap().0 >= 0, "{tag}: fee of {}", t.hash);
        }
    }

    // the scenario record; Bitcoin ABC's record uses legacy addresses, the lake CashAddr
    let record: HashMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("output.json")).unwrap()).unwrap();
    let legacy = AddressParams {
        cashaddr: None,
        ..params.addresses
    };
    let address_of = |script_hex: &str| -> Vec<String> {
        ledgerflow_bitcoin::script::info(&from_hex(script_hex).unwrap(), &legacy).addresses
    };
    let mut checked = 0;
    let mut spent_checked = 0;
    for (k, v) in &record {
        let Some(kind) = k.strip_prefix("address-").and_then(|r| r.split('-').next()) else {
            continue;
        };
        let Some(addr) = v.as_str() else { continue };
        let Some(tx) = record.get(&format!("{k}-tx")).and_then(|t| t.as_str()) else {
            continue;
        };
        let value = record[&format!("{k}-value")].as_f64().unwrap();
        let height = record[&format!("{k}-height")].as_i64().unwrap();
        let out = rows
            .outputs
            .iter()
            .find(|o| {
                o.transaction_hash == tx
                    && address_of(o.script_hex.as_deref().unwrap()) == vec![addr.to_string()]
            })
            .unwrap_or_else(|| panic!("{tag}: {k}: output to {addr} in {tx}"));
        assert_eq!(out.block_number, height, "{tag}: {k}: height");
        assert_eq!(
            out.value.unwrap().0,
            (value * 1e8).round() as i64,
            "{tag}: {k}: value"
        );
        let want_type = match kind {
            "p2pkh" => "pubkeyhash",
            "p2sh" => "scripthash",
            "p2wpkh" => "witness_v0_keyhash",
            "p2wsh" => "witness_v0_scripthash",
            other => panic!("unexpected kind {other}"),
        };
        assert_eq!(out.type_.as_deref(), Some(want_type), "{tag}: {k}: type");
        // the "spend" scenario spends it later: the input is enriched with the same output
        let spent = rows.inputs.iter().find(|i| {
            i.spent_transaction_hash.as_deref() == Some(tx)
                && i.spent_output_index == Some(out.index)
        });
        let Some(spent) = spent else {
            checked += 1;
            continue;
        };
        spent_checked += 1;
        assert_eq!(spent.addresses, out.addresses, "{tag}: {k}: input enriched");
        assert_eq!(spent.value, out.value);
        assert_eq!(spent.type_, out.type_);
        assert_eq!(spent.spent_block_number, Some(height));
        checked += 1;
    }
    assert!(checked >= 6, "{tag}: {checked} address cases");
    assert!(
        spent_checked >= 3,
        "{tag}: {spent_checked} spent address cases"
    );

    let tx_outputs = |key: &str| -> Vec<&ledgerflow_core::tables::bitcoin::BtcOutputRow> {
        let tx = record[key].as_str().unwrap();
        rows.outputs
            .iter()
            .filter(|o| o.transaction_hash == tx)
            .collect()
    };
    let op_return = tx_outputs("op-return-tx");
    assert!(
        op_return
            .iter()
            .any(|o| o.script_type.as_deref() == Some("nulldata")
                && o.type_.as_deref() == Some("nonstandard")
                && o.addresses[0].starts_with("nonstandard")),
        "{tag}: OP_RETURN"
    );
    let multisig = tx_outputs("raw-multisig-tx");
    let m = multisig
        .iter()
        .find(|o| o.type_.as_deref() == Some("multisig"))
        .unwrap_or_else(|| panic!("{tag}: multisig"));
    assert!(m.required_signatures.unwrap() >= 1 && m.addresses.len() >= 2);
    // the three merged addresses are spent together by one transaction
    let merged: Vec<String> = (1..=3)
        .map(|i| {
            record[&format!("merge-addr-{i}")]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let spender = rows.transactions.iter().find(|t| {
        merged.iter().all(|a| {
            t.inputs.iter().any(|i| {
                rows.outputs.iter().any(|o| {
                    Some(o.transaction_hash.as_str()) == i.spent_transaction_hash.as_deref()
                        && Some(o.index) == i.spent_output_index
                        && address_of(o.script_hex.as_deref().unwrap()).contains(a)
                })
            })
        })
    });
    assert!(spender.is_some(), "{tag}: merge transaction");
}

#[test]
fn bitcoin_core_regtest() {
    check_chain("btc", "bitcoin");
}

#[test]
fn bitcoin_abc_regtest() {
    check_chain("bch", "bitcoin_cash");
}

#[test]
fn litecoin_core_regtest() {
    check_chain("ltc", "litecoin");
}
