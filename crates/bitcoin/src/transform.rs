//! Decoded blocks → `crypto_bitcoin` rows, with inputs enriched from the spent-output
//! index in the same pass (pure: no I/O).

use ledgerflow_core::table::{Date, Sats, Timestamp};
use ledgerflow_core::tables::bitcoin::{
    BtcBlockRow, BtcInputRow, BtcOutputRow, BtcTransactionRow, TxInput, TxOutput,
};

use crate::chain::ChainParams;
use crate::hash::{hash_hex, to_hex};
use crate::model::{Block, TxOut};
use crate::script::{self, SighashStyle};
use crate::utxo::{Coin, UtxoIndex};

/// Which tables to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// `blocks`
    pub blocks: bool,
    /// `transactions`
    pub transactions: bool,
    /// `inputs`
    pub inputs: bool,
    /// `outputs`
    pub outputs: bool,
}

impl Want {
    /// Every table.
    pub const ALL: Want = Want {
        blocks: true,
        transactions: true,
        inputs: true,
        outputs: true,
    };
}

/// Rows of some blocks.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BtcRows {
    /// `blocks`
    pub blocks: Vec<BtcBlockRow>,
    /// `transactions`
    pub transactions: Vec<BtcTransactionRow>,
    /// `inputs`
    pub inputs: Vec<BtcInputRow>,
    /// `outputs`
    pub outputs: Vec<BtcOutputRow>,
}

/// Counters of a transform.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnrichStats {
    /// Inputs whose spent output was found.
    pub resolved: u64,
    /// Inputs whose spent output was not in the index (values left null).
    pub unresolved: u64,
}

/// How an output script is shown: the node's view where it gave one, else derived.
struct OutView {
    asm: String,
    req: Option<i64>,
    type_: String,
    addresses: Vec<String>,
    class: String,
}

fn out_view(o: &TxOut, params: &ChainParams) -> OutView {
    let derived = || script::info(&o.script, &params.addresses);
    match &o.node {
        Some(n) => {
            let asm = n
                .asm
                .clone()
                .unwrap_or_else(|| script::to_asm(&o.script, false, SighashStyle::Bitcoin));
            let class = n
                .type_
                .clone()
                .unwrap_or_else(|| derived().class.name().to_string());
            let type_ = if n.addresses.is_empty() {
                "nonstandard".to_string()
            } else {
                class.clone()
            };
            OutView {
                asm,
                req: n.req_sigs,
                type_,
                addresses: script::etl_addresses(n.addresses.clone(), &o.script),
                class,
            }
        }
        None => spent_view(&o.script, params),
    }
}

/// The view of a script derived locally (raw blocks and spent outputs).
fn spent_view(script_bytes: &[u8], params: &ChainParams) -> OutView {
    let info = script::info(script_bytes, &params.addresses);
    OutView {
        asm: script::to_asm(script_bytes, false, SighashStyle::Bitcoin),
        req: info.required_signatures,
        type_: info.etl_type().to_string(),
        class: info.class.name().to_string(),
        addresses: script::etl_addresses(info.addresses, script_bytes),
    }
}

/// The sighash notation of a chain's signatures.
pub fn sighash_style(params: &ChainParams) -> SighashStyle {
    if params.chain == "bitcoin_cash" {
        SighashStyle::ForkId
    } else {
        SighashStyle::Bitcoin
    }
}

/// Transforms one block (in chain order) into rows, spending and adding outputs in `index`
/// as it goes. With `enrich` off, inputs keep null values (bitcoin-etl's plain export) and
/// the index is left untouched.
pub fn block_rows(
    block: &Block,
    params: &ChainParams,
    want: Want,
    mut index: Option<&mut UtxoIndex>,
    out: &mut BtcRows,
) -> EnrichStats {
    let mut stats = EnrichStats::default();
    let style = sighash_style(params);
    let block_hash = hash_hex(&block.hash);
    let ts = Timestamp(block.time);
    let month = Date::month_of(block.time);
    let chain = params.chain.to_string();
    let mut coinbase_param = None;
    // Outputs first: since Bitcoin Cash's canonical transaction order (CTOR) a transaction
    // may spend an output of a transaction that comes later in the same block.
    if let Some(ix) = index.as_deref_mut() {
        for tx in &block.txs {
            for (oi, o) in tx.outputs.iter().enumerate() {
                ix.insert(&tx.txid, oi as u32, o.value, block.height as i32, &o.script);
            }
        }
    }
    for (ti, tx) in block.txs.iter().enumerate() {
        let txid = hash_hex(&tx.txid);
        let is_coinbase = tx.is_coinbase();
        let mut inputs: Vec<TxInput> = Vec::with_capacity(tx.inputs.len());
        let mut witnesses: Vec<&[Vec<u8>]> = Vec::with_capacity(tx.inputs.len());
        let mut classes: Vec<Option<String>> = Vec::with_capacity(tx.inputs.len());
        let mut spent_heights: Vec<Option<i64>> = Vec::with_capacity(tx.inputs.len());
        let mut all_resolved = true;
        for input in &tx.inputs {
            let Some((prev_txid, vout)) = input.prev else {
                coinbase_param.get_or_insert_with(|| to_hex(&input.script_sig));
                continue;
            };
            let coin: Option<Coin> = index
                .as_deref_mut()
                .and_then(|ix| ix.spend(&prev_txid, vout));
            let mut row = TxInput {
                index: inputs.len() as i64,
                spent_transaction_hash: Some(hash_hex(&prev_txid)),
                spent_output_index: Some(vout as i64),
                script_asm: Some(
                    input
                        .node_asm
                        .clone()
                        .unwrap_or_else(|| script::to_asm(&input.script_sig, true, style)),
                ),
                script_hex: Some(to_hex(&input.script_sig)),
                sequence: Some(input.sequence as i64),
                ..Default::default()
            };
            match coin {
                Some(c) => {
                    stats.resolved += 1;
                    // the spent script's type and addresses (its asm is not needed here)
                    let info = script::info(&c.script, &params.addresses);
                    row.required_signatures = info.required_signatures;
                    row.type_ = Some(info.etl_type().to_string());
                    classes.push(Some(info.class.name().to_string()));
                    row.addresses = script::etl_addresses(info.addresses, &c.script);
                    row.value = Some(Sats(c.value));
                    spent_heights.push((c.height >= 0).then_some(c.height as i64));
                }
                None => {
                    if index.is_some() {
                        stats.unresolved += 1;
                    }
                    all_resolved = false;
                    classes.push(None);
                    spent_heights.push(None);
                }
            }
            inputs.push(row);
            witnesses.push(&input.witness);
        }
        for v in &tx.shielded_inputs {
            inputs.push(TxInput {
                index: inputs.len() as i64,
                type_: Some("shielded".into()),
                value: Some(Sats(*v)),
                ..Default::default()
            });
            witnesses.push(&[]);
            classes.push(Some("shielded".into()));
            spent_heights.push(None);
        }
        let mut outputs: Vec<TxOutput> = Vec::with_capacity(tx.outputs.len());
        let mut out_classes: Vec<String> = Vec::with_capacity(tx.outputs.len());
        for (oi, o) in tx.outputs.iter().enumerate() {
            let v = out_view(o, params);
            outputs.push(TxOutput {
                index: oi as i64,
                script_asm: Some(v.asm),
                script_hex: Some(to_hex(&o.script)),
                required_signatures: v.req,
                type_: Some(v.type_),
                addresses: v.addresses,
                value: Some(Sats(o.value)),
            });
            out_classes.push(v.class);
        }
        for v in &tx.shielded_outputs {
            outputs.push(TxOutput {
                index: outputs.len() as i64,
                type_: Some("shielded".into()),
                value: Some(Sats(*v)),
                ..Default::default()
            });
            out_classes.push("shielded".into());
        }
        let output_value: i64 = outputs.iter().filter_map(|o| o.value).map(|s| s.0).sum();
        let input_value: i64 = inputs.iter().filter_map(|i| i.value).map(|s| s.0).sum();
        let resolved = all_resolved && index.is_some();
        if want.inputs {
            for (k, i) in inputs.iter().enumerate() {
                out.inputs.push(BtcInputRow {
                    transaction_hash: txid.clone(),
                    block_hash: block_hash.clone(),
                    block_number: block.height,
                    block_timestamp: ts,
                    index: i.index,
                    spent_transaction_hash: i.spent_transaction_hash.clone(),
                    spent_output_index: i.spent_output_index,
                    script_asm: i.script_asm.clone(),
                    script_hex: i.script_hex.clone(),
                    sequence: i.sequence,
                    required_signatures: i.required_signatures,
                    type_: i.type_.clone(),
                    addresses: i.addresses.clone(),
                    value: i.value,
                    chain: chain.clone(),
                    witness: witnesses[k].iter().map(|w| to_hex(w)).collect(),
                    script_type: classes[k].clone(),
                    spent_block_number: spent_heights[k],
                });
            }
        }
        if want.outputs {
            for (k, o) in outputs.iter().enumerate() {
                out.outputs.push(BtcOutputRow {
                    transaction_hash: txid.clone(),
                    block_hash: block_hash.clone(),
                    block_number: block.height,
                    block_timestamp: ts,
                    index: o.index,
                    script_asm: o.script_asm.clone(),
                    script_hex: o.script_hex.clone(),
                    required_signatures: o.required_signatures,
                    type_: o.type_.clone(),
                    addresses: o.addresses.clone(),
                    value: o.value,
                    chain: chain.clone(),
                    script_type: Some(out_classes[k].clone()),
                });
            }
        }
        if want.transactions {
            out.transactions.push(BtcTransactionRow {
                hash: txid,
                size: tx.size,
                virtual_size: tx.vsize,
                version: Some(tx.version),
                lock_time: Some(tx.lock_time),
                block_hash: block_hash.clone(),
                block_number: block.height,
                block_timestamp: ts,
                block_timestamp_month: month,
                input_count: Some(inputs.len() as i64),
                output_count: Some(outputs.len() as i64),
                input_value: if is_coinbase || resolved || tx.inputs.is_empty() {
                    Some(Sats(input_value))
                } else {
                    None
                },
                output_value: Some(Sats(output_value)),
                is_coinbase: Some(is_coinbase),
                fee: if is_coinbase {
                    Some(Sats(0))
                } else if resolved || tx.inputs.is_empty() {
                    Some(Sats(input_value - output_value))
                } else {
                    None
                },
                inputs,
                outputs,
                chain: chain.clone(),
                index: ti as i64,
                weight: tx.weight,
                wtxid: tx.wtxid.map(|w| hash_hex(&w)),
            });
        }
    }
    if want.blocks {
        out.blocks.push(BtcBlockRow {
            hash: block_hash,
            size: block.size,
            stripped_size: block.stripped_size,
            weight: block.weight,
            number: block.height,
            version: Some(block.version),
            merkle_root: Some(block.merkle_root.clone()),
            timestamp: ts,
            timestamp_month: month,
            nonce: Some(block.nonce.clone()),
            bits: Some(block.bits.clone()),
            coinbase_param,
            transaction_count: Some(block.txs.len() as i64),
            chain,
            previous_block_hash: (block.prev != [0; 32]).then(|| hash_hex(&block.prev)),
        });
    }
    stats
}
