//! The shapes of the JSON-RPC answers ledgerflow reads. Values stay as sent (strings) until
//! the transform parses them, where the block and field are known for error messages.
//! Unknown fields are ignored; fields that a node may omit are `Option`.

use serde::Deserialize;

use crate::hex::Q;

/// `eth_getBlockByNumber(n, true)`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RpcBlock {
    pub number: Option<Q>,
    pub hash: Option<String>,
    pub parent_hash: Option<String>,
    pub nonce: Option<String>,
    pub sha3_uncles: Option<String>,
    pub logs_bloom: Option<String>,
    pub transactions_root: Option<String>,
    pub state_root: Option<String>,
    pub receipts_root: Option<String>,
    pub miner: Option<String>,
    pub difficulty: Option<Q>,
    pub total_difficulty: Option<Q>,
    pub size: Option<Q>,
    pub extra_data: Option<String>,
    pub gas_limit: Option<Q>,
    pub gas_used: Option<Q>,
    pub timestamp: Option<Q>,
    pub base_fee_per_gas: Option<Q>,
    pub withdrawals_root: Option<String>,
    pub withdrawals: Option<Vec<RpcWithdrawal>>,
    pub blob_gas_used: Option<Q>,
    pub excess_blob_gas: Option<Q>,
    pub parent_beacon_block_root: Option<String>,
    #[serde(default)]
    pub uncles: Vec<String>,
    /// Full transactions (`eth_getBlockByNumber(n, true)`) or only their hashes (`false`).
    #[serde(default)]
    pub transactions: Vec<TxEntry>,
}

/// A block's transaction: the full object, or only its hash.
#[derive(Debug, Clone)]
pub enum TxEntry {
    /// Only the hash.
    Hash(String),
    /// The full transaction.
    Full(Box<RpcTransaction>),
}

impl TxEntry {
    /// The transaction hash.
    pub fn hash(&self) -> Option<&str> {
        match self {
            TxEntry::Hash(h) => Some(h),
            TxEntry::Full(t) => t.hash.as_deref(),
        }
    }
}

impl<'de> Deserialize<'de> for TxEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TxEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a transaction object or a transaction hash")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TxEntry, E> {
                Ok(TxEntry::Hash(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<TxEntry, A::Error> {
                RpcTransaction::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| TxEntry::Full(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

/// An EIP-4895 withdrawal.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RpcWithdrawal {
    pub index: Q,
    pub validator_index: Q,
    pub address: String,
    pub amount: Q,
}

/// A transaction inside a block.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RpcTransaction {
    pub hash: Option<String>,
    pub nonce: Option<Q>,
    pub block_hash: Option<String>,
    pub block_number: Option<Q>,
    pub transaction_index: Option<Q>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub value: Option<Q>,
    pub gas: Option<Q>,
    pub gas_price: Option<Q>,
    #[serde(alias = "data")]
    pub input: Option<String>,
    pub max_fee_per_gas: Option<Q>,
    pub max_priority_fee_per_gas: Option<Q>,
    #[serde(rename = "type")]
    pub tx_type: Option<Q>,
    pub max_fee_per_blob_gas: Option<Q>,
    pub blob_versioned_hashes: Option<Vec<String>>,
}

/// A transaction receipt.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RpcReceipt {
    pub transaction_hash: Option<String>,
    pub transaction_index: Option<Q>,
    pub block_hash: Option<String>,
    pub block_number: Option<Q>,
    pub cumulative_gas_used: Option<Q>,
    pub gas_used: Option<Q>,
    pub contract_address: Option<String>,
    pub root: Option<String>,
    pub status: Option<Q>,
    pub effective_gas_price: Option<Q>,
    pub l1_fee: Option<Q>,
    pub l1_gas_used: Option<Q>,
    pub l1_gas_price: Option<Q>,
    pub l1_fee_scalar: Option<serde_json::Value>,
    pub blob_gas_price: Option<Q>,
    pub blob_gas_used: Option<Q>,
    #[serde(default)]
    pub logs: Vec<RpcLog>,
}

/// An event log inside a receipt.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RpcLog {
    pub log_index: Option<Q>,
    pub transaction_hash: Option<String>,
    pub transaction_index: Option<Q>,
    pub block_hash: Option<String>,
    pub block_number: Option<Q>,
    pub address: Option<String>,
    pub data: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
}

/// One element of `trace_block` (Parity/OpenEthereum/Erigon/Reth/anvil).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ParityTrace {
    #[serde(default)]
    pub action: ParityAction,
    pub result: Option<ParityResult>,
    pub error: Option<String>,
    pub subtraces: Option<i64>,
    #[serde(default)]
    pub trace_address: Vec<i64>,
    pub transaction_hash: Option<String>,
    pub transaction_position: Option<i64>,
    pub block_number: Option<u64>,
    pub block_hash: Option<String>,
    #[serde(rename = "type")]
    pub trace_type: String,
}

/// The `action` of a Parity trace (fields depend on the trace type).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ParityAction {
    pub from: Option<String>,
    pub to: Option<String>,
    pub value: Option<Q>,
    pub gas: Option<Q>,
    pub input: Option<String>,
    pub call_type: Option<String>,
    pub init: Option<String>,
    pub address: Option<String>,
    pub refund_address: Option<String>,
    pub balance: Option<Q>,
    pub author: Option<String>,
    pub reward_type: Option<String>,
    pub creation_method: Option<String>,
}

/// The `result` of a Parity trace.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ParityResult {
    pub gas_used: Option<Q>,
    pub output: Option<String>,
    pub address: Option<String>,
    pub code: Option<String>,
}

/// One element of `debug_traceBlockByNumber(n, {tracer: "callTracer"})`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct GethTxTrace {
    pub tx_hash: Option<String>,
    pub result: Option<GethFrame>,
    pub error: Option<String>,
}

/// A callTracer frame.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct GethFrame {
    #[serde(rename = "type", default)]
    pub frame_type: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub value: Option<Q>,
    pub gas: Option<Q>,
    pub gas_used: Option<Q>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub calls: Vec<GethFrame>,
}
