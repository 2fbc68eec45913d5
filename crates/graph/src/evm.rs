//! The address graph of an account chain (EVM), from the lake's `transactions` (ether
//! moved by successful transactions, calls without value counted with value 0) and,
//! optionally, one token's `token_transfers`.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::Array;
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::Lake;
use rustc_hash::FxHashMap;

use crate::edges::EdgeBuilder;
use crate::error::GraphError;
use crate::tables::EdgeRow;

/// Addresses numbered in order of first appearance.
#[derive(Debug, Default)]
struct Names {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, a: &str) -> u32 {
        if let Some(&i) = self.ids.get(a) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(a.to_string(), i);
        self.names.push(a.to_string());
        i
    }
}

/// Which transfers make the edges.
#[derive(Debug, Clone, Default)]
pub struct EvmGraphOptions {
    /// Include ether moved by transactions.
    pub ether: bool,
    /// Include the transfers of this token (lower-case address).
    pub token: Option<String>,
}

fn scan(
    path: &Path,
    cols: &[&str],
    each: impl FnMut(&arrow_array::RecordBatch) -> Result<(), GraphError>,
) -> Result<(), GraphError> {
    for_each_batch(path, Columns::Named(cols), None, each)
}

fn bad(path: &Path, what: &str) -> GraphError {
    GraphError::BadFile {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

/// One value transfer of an account chain, in chain order.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    /// Transaction number (first-seen order; a transaction's ether and token transfers
    /// share it).
    pub tx: u64,
    /// The transaction hash.
    pub hash: String,
    /// Sender (address number).
    pub from: u32,
    /// Receiver.
    pub to: u32,
    /// Value in base units (wei or token units; 0 for failed transactions).
    pub value: f64,
    /// The exact value as a decimal string.
    pub value_text: String,
    /// Block.
    pub block: i64,
    /// Block time (seconds).
    pub time: i64,
    /// `None`: ether; `Some(token)`: that token.
    pub token: Option<String>,
}

/// The transfers of an EVM chain folder in chain order, and the address of every
/// address number (numbered in order of first appearance).
pub fn evm_transfers(
    lake: &Lake,
    chain: &str,
    o: &EvmGraphOptions,
) -> Result<(Vec<Transfer>, Vec<String>), GraphError> {
    let mut names = Names::default();
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut tx_no: u64 = 0;
    // (block, transaction hash) -> number, so ether and token transfers of one
    // transaction count it once
    let mut tx_ids: FxHashMap<String, u64> = FxHashMap::default();
    let mut tables: Vec<(&str, bool)> = Vec::new();
    if o.ether {
        tables.push(("transactions", true));
    }
    if o.token.is_some() {
        tables.push(("token_transfers", false));
    }
    for (table, ether) in tables {
        let (chunks, _) = lake.parquet_chunks(chain, table)?;
        if chunks.is_empty() {
            return Err(GraphError::NoTable {
                chain: chain.into(),
                table: table.into(),
                dir: lake.table_dir(chain, table),
                hint: "export the chain with `ledgerflow export evm` first",
            });
        }
        for c in chunks {
            let path = c.path.clone();
            let cols: &[&str] = if ether {
                &[
                    "hash",
                    "from_address",
                    "to_address",
                    "value",
                    "block_number",
                    "block_timestamp",
                    "receipt_status",
                ]
            } else {
                &[
                    "transaction_hash",
                    "token_address",
                    "from_address",
                    "to_address",
                    "value",
                    "block_number",
                    "block_timestamp",
                ]
            };
            scan(&path, cols, |batch| {
                let s = |n: &str| {
                    batch
                        .column_by_name(n)
                        .and_then(|c| c.as_string_opt::<i32>())
                        .ok_or_else(|| bad(&path, &format!("no string column {n}")))
                };
                let hash = s(if ether { "hash" } else { "transaction_hash" })?;
                let from = s("from_address")?;
                let to = s("to_address")?;
                let value = s("value")?;
                let block = batch
                    .column_by_name("block_number")
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| bad(&path, "no Int64 column block_number"))?;
                let time = batch
                    .column_by_name("block_timestamp")
                    .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
                    .ok_or_else(|| bad(&path, "no timestamp column block_timestamp"))?;
                let status = if ether {
                    batch
                        .column_by_name("receipt_status")
                        .and_then(|c| c.as_primitive_opt::<Int64Type>())
                } else {
                    None
                };
                let token = if ether {
                    None
                } else {
                    Some(s("token_address")?)
                };
                for i in 0..batch.num_rows() {
                    if from.is_null(i) || to.is_null(i) {
                        continue; // contract creation, mint or burn
                    }
                    if let (Some(t), Some(want)) = (token, o.token.as_deref()) {
                        if t.value(i) != want {
                            continue;
                        }
                    }
                    let failed = status.is_some_and(|st| !st.is_null(i) && st.value(i) == 0);
                    let v = if failed || value.is_null(i) {
                        0.0
                    } else {
                        value.value(i).parse::<f64>().unwrap_or(0.0)
                    };
                    let t = *tx_ids.entry(hash.value(i).to_string()).or_insert_with(|| {
                        tx_no += 1;
                        tx_no
                    });
                    let a = names.id(from.value(i));
                    let d = names.id(to.value(i));
                    transfers.push(Transfer {
                        tx: t,
                        hash: hash.value(i).to_string(),
                        from: a,
                        to: d,
                        value: v,
                        value_text: if failed || value.is_null(i) {
                            "0".into()
                        } else {
                            value.value(i).to_string()
                        },
                        block: block.value(i),
                        time: time.value(i).div_euclid(1_000_000),
                        token: token.map(|t| t.value(i).to_string()),
                    });
                }
                Ok(())
            })?;
        }
    }
    // one transaction's ether and token transfers together (stable: in log order)
    transfers.sort_by_key(|t| (t.block, t.tx));
    Ok((transfers, names.names))
}

/// The address edges of an EVM chain folder.
pub fn evm_edges(
    lake: &Lake,
    chain: &str,
    o: &EvmGraphOptions,
) -> Result<Vec<EdgeRow>, GraphError> {
    let (transfers, names) = evm_transfers(lake, chain, o)?;
    let mut b = EdgeBuilder::new();
    for t in &transfers {
        b.add(t.from, t.to, t.value, t.tx, t.block, t.time);
    }
    Ok(b.rows(|i| names[i as usize].clone(), |i| i as i64))
}
