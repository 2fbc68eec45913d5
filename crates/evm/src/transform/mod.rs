//! Pure transforms: recorded JSON-RPC answers → table rows. No I/O here; everything is
//! tested from fixtures.

pub mod bytecode;
pub mod logs;
pub mod tokens;
pub mod traces;

use ledgerflow_core::table::{Timestamp, Withdrawal};
use ledgerflow_core::tables::evm::{
    BlockRow, ContractRow, LogRow, ReceiptRow, TokenRow, TokenTransferRow, TraceRow, TransactionRow,
};

use crate::error::EvmError;
use crate::hex::{self, Q};
use crate::json::{GethTxTrace, ParityTrace, RpcBlock, RpcReceipt};

/// What a block's traces look like, by the API that produced them.
#[derive(Debug, Clone)]
pub enum BlockTraces {
    /// `trace_block`.
    Parity(Vec<ParityTrace>),
    /// `debug_traceBlockByNumber` with `callTracer`.
    Geth(Vec<GethTxTrace>),
}

/// Everything fetched for one block.
#[derive(Debug, Clone, Default)]
pub struct BlockData {
    /// The block with its transactions.
    pub block: RpcBlock,
    /// Its receipts (when receipts, logs or transfers are wanted).
    pub receipts: Option<Vec<RpcReceipt>>,
    /// Its traces (when traces or contracts are wanted).
    pub traces: Option<BlockTraces>,
}

/// Rows of every table for a range of blocks.
#[derive(Debug, Default, Clone)]
#[allow(missing_docs)]
pub struct EvmRows {
    pub blocks: Vec<BlockRow>,
    pub transactions: Vec<TransactionRow>,
    pub receipts: Vec<ReceiptRow>,
    pub logs: Vec<LogRow>,
    pub token_transfers: Vec<TokenTransferRow>,
    pub traces: Vec<TraceRow>,
    pub contracts: Vec<ContractRow>,
    pub tokens: Vec<TokenRow>,
}

impl EvmRows {
    /// Moves every row of `other` to the end of `self`.
    pub fn append(&mut self, other: &mut EvmRows) {
        self.blocks.append(&mut other.blocks);
        self.transactions.append(&mut other.transactions);
        self.receipts.append(&mut other.receipts);
        self.logs.append(&mut other.logs);
        self.token_transfers.append(&mut other.token_transfers);
        self.traces.append(&mut other.traces);
        self.contracts.append(&mut other.contracts);
        self.tokens.append(&mut other.tokens);
    }

    /// The rows of one table as an Arrow batch.
    pub fn to_batch(
        &self,
        t: ledgerflow_core::tables::evm::EvmTable,
    ) -> Result<arrow_array::RecordBatch, EvmError> {
        use ledgerflow_core::tables::evm::EvmTable as T;
        let b = match t {
            T::Blocks => BlockRow::to_batch(&self.blocks),
            T::Transactions => TransactionRow::to_batch(&self.transactions),
            T::Receipts => ReceiptRow::to_batch(&self.receipts),
            T::Logs => LogRow::to_batch(&self.logs),
            T::TokenTransfers => TokenTransferRow::to_batch(&self.token_transfers),
            T::Traces => TraceRow::to_batch(&self.traces),
            T::Contracts => ContractRow::to_batch(&self.contracts),
            T::Tokens => TokenRow::to_batch(&self.tokens),
        };
        b.map_err(|source| EvmError::Arrow {
            table: t.name(),
            source,
        })
    }
}

/// Field-level parsing with the block and method in every error.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Block number.
    pub block: u64,
    /// Method whose answer is parsed.
    pub method: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, reason: String) -> EvmError {
        EvmError::Decode {
            block: self.block,
            method: self.method.to_string(),
            field: field.into(),
            reason,
        }
    }
    /// Parses a field that may be absent; a bad value is an error naming the field.
    fn parse<T, U>(
        &self,
        v: Option<T>,
        field: impl FnOnce() -> String,
        f: impl FnOnce(T) -> hex::HexResult<U>,
    ) -> Result<Option<U>, EvmError> {
        v.map(|x| f(x).map_err(|r| self.err(field(), r)))
            .transpose()
    }
    /// A field that must be there.
    fn required<U>(&self, v: Option<U>, field: impl FnOnce() -> String) -> Result<U, EvmError> {
        v.ok_or_else(|| self.err(field(), "missing".into()))
    }
    /// An optional INT64 quantity.
    pub fn i64(
        &self,
        v: &Option<Q>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<i64>, EvmError> {
        self.parse(v.as_ref(), field, Q::i64)
    }
    /// A required INT64 quantity.
    pub fn req_i64(&self, v: &Option<Q>, field: impl Fn() -> String) -> Result<i64, EvmError> {
        let v = self.i64(v, &field)?;
        self.required(v, field)
    }
    /// An optional 256-bit quantity as a decimal string.
    pub fn dec(
        &self,
        v: &Option<Q>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.as_ref(), field, Q::dec)
    }
    /// An optional address, lower-cased.
    pub fn addr(
        &self,
        v: &Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.as_deref(), field, hex::address_of)
    }
    /// An optional 32-byte hash, lower-cased.
    pub fn hash(
        &self,
        v: &Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.as_deref(), field, hex::hash_of)
    }
    /// A required 32-byte hash.
    pub fn req_hash(
        &self,
        v: &Option<String>,
        field: impl Fn() -> String,
    ) -> Result<String, EvmError> {
        let v = self.hash(v, &field)?;
        self.required(v, field)
    }
    /// An optional address, lower-cased, moved out of the answer (no copy).
    pub fn take_addr(
        &self,
        v: &mut Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.take(), field, hex::address_owned)
    }
    /// An optional 32-byte hash, lower-cased, moved out of the answer (no copy).
    pub fn take_hash(
        &self,
        v: &mut Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.take(), field, hex::hash_owned)
    }
    /// A required 32-byte hash, moved out of the answer (no copy).
    pub fn take_req_hash(
        &self,
        v: &mut Option<String>,
        field: impl Fn() -> String,
    ) -> Result<String, EvmError> {
        let v = self.take_hash(v, &field)?;
        self.required(v, field)
    }
    /// Optional hex data, lower-cased, moved out of the answer (no copy).
    pub fn take_data(
        &self,
        v: &mut Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.take(), field, hex::data_owned)
    }
    /// Optional hex data, lower-cased.
    pub fn data(
        &self,
        v: &Option<String>,
        field: impl FnOnce() -> String,
    ) -> Result<Option<String>, EvmError> {
        self.parse(v.as_deref(), field, hex::data_of)
    }
}

/// The block facts every enriched row carries.
#[derive(Debug, Clone)]
pub struct BlockInfo {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: String,
    /// Timestamp.
    pub timestamp: Timestamp,
}

/// Builds the `blocks` row and returns the facts the other tables need.
pub fn block_row(
    chain_id: i64,
    b: &RpcBlock,
    expected: u64,
) -> Result<(BlockRow, BlockInfo), EvmError> {
    let ctx = Ctx {
        block: expected,
        method: "eth_getBlockByNumber",
    };
    let number = ctx.req_i64(&b.number, || "number".into())?;
    if number as u64 != expected {
        return Err(EvmError::Inconsistent {
            block: expected,
            reason: format!("asked for block {expected}, got {number}"),
        });
    }
    let hash = ctx.req_hash(&b.hash, || "hash".into())?;
    let timestamp = Timestamp(ctx.req_i64(&b.timestamp, || "timestamp".into())?);
    let withdrawals = match &b.withdrawals {
        None => Vec::new(),
        Some(ws) => ws
            .iter()
            .enumerate()
            .map(|(i, w)| {
                Ok(Withdrawal {
                    index: ctx
                        .req_i64(&Some(w.index.clone()), || format!("withdrawals[{i}].index"))?,
                    validator_index: ctx.req_i64(&Some(w.validator_index.clone()), || {
                        format!("withdrawals[{i}].validatorIndex")
                    })?,
                    address: ctx
                        .addr(&Some(w.address.clone()), || {
                            format!("withdrawals[{i}].address")
                        })?
                        .unwrap_or_default(),
                    amount: ctx
                        .dec(&Some(w.amount.clone()), || {
                            format!("withdrawals[{i}].amount")
                        })?
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<_, EvmError>>()?,
    };
    let row = BlockRow {
        timestamp,
        number,
        hash: hash.clone(),
        parent_hash: ctx.hash(&b.parent_hash, || "parentHash".into())?,
        nonce: ctx.data(&b.nonce, || "nonce".into())?,
        sha3_uncles: ctx.data(&b.sha3_uncles, || "sha3Uncles".into())?,
        logs_bloom: ctx.data(&b.logs_bloom, || "logsBloom".into())?,
        transactions_root: ctx.data(&b.transactions_root, || "transactionsRoot".into())?,
        state_root: ctx.data(&b.state_root, || "stateRoot".into())?,
        receipts_root: ctx.data(&b.receipts_root, || "receiptsRoot".into())?,
        miner: ctx.addr(&b.miner, || "miner".into())?,
        difficulty: ctx.dec(&b.difficulty, || "difficulty".into())?,
        total_difficulty: ctx.dec(&b.total_difficulty, || "totalDifficulty".into())?,
        size: ctx.i64(&b.size, || "size".into())?,
        extra_data: ctx.data(&b.extra_data, || "extraData".into())?,
        gas_limit: ctx.i64(&b.gas_limit, || "gasLimit".into())?,
        gas_used: ctx.i64(&b.gas_used, || "gasUsed".into())?,
        transaction_count: b.transactions.len() as i64,
        base_fee_per_gas: ctx.i64(&b.base_fee_per_gas, || "baseFeePerGas".into())?,
        withdrawals_root: ctx.data(&b.withdrawals_root, || "withdrawalsRoot".into())?,
        withdrawals,
        blob_gas_used: ctx.i64(&b.blob_gas_used, || "blobGasUsed".into())?,
        excess_blob_gas: ctx.i64(&b.excess_blob_gas, || "excessBlobGas".into())?,
        chain_id,
        parent_beacon_block_root: ctx.data(&b.parent_beacon_block_root, || {
            "parentBeaconBlockRoot".into()
        })?,
        uncle_count: b.uncles.len() as i64,
    };
    Ok((
        row,
        BlockInfo {
            number: expected,
            hash,
            timestamp,
        },
    ))
}

/// Which tables a transform should produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Want {
    pub blocks: bool,
    pub transactions: bool,
    pub receipts: bool,
    pub logs: bool,
    pub token_transfers: bool,
    pub traces: bool,
    pub contracts: bool,
    pub tokens: bool,
    /// Fill the `receipt_*` columns of `transactions` (needs receipts).
    pub transaction_receipts: bool,
}

impl Want {
    /// What the tables need (`transactions` always with its receipt columns).
    pub fn of_tables(tables: &[ledgerflow_core::tables::evm::EvmTable]) -> Self {
        use ledgerflow_core::tables::evm::EvmTable;
        let has = |t| tables.contains(&t);
        Want {
            blocks: has(EvmTable::Blocks),
            transactions: has(EvmTable::Transactions),
            receipts: has(EvmTable::Receipts),
            logs: has(EvmTable::Logs),
            token_transfers: has(EvmTable::TokenTransfers),
            traces: has(EvmTable::Traces),
            contracts: has(EvmTable::Contracts),
            tokens: has(EvmTable::Tokens),
            transaction_receipts: true,
        }
    }

    /// Every table.
    pub fn all() -> Self {
        Want {
            blocks: true,
            transactions: true,
            receipts: true,
            logs: true,
            token_transfers: true,
            traces: true,
            contracts: true,
            tokens: true,
            transaction_receipts: true,
        }
    }
    /// Whether receipts must be fetched.
    pub fn needs_receipts(&self) -> bool {
        (self.transactions && self.transaction_receipts)
            || self.receipts
            || self.logs
            || self.token_transfers
    }
    /// Whether traces must be fetched.
    pub fn needs_traces(&self) -> bool {
        self.traces || self.contracts || self.tokens
    }
}

/// Transforms one block's answers into rows of the wanted tables (tokens excepted: they need
/// `eth_call`, see [`tokens`]).
pub fn transform_block(
    chain_id: i64,
    number: u64,
    data: &mut BlockData,
    want: &Want,
    out: &mut EvmRows,
) -> Result<(), EvmError> {
    let BlockData {
        block,
        receipts,
        traces: block_traces,
    } = data;
    let (brow, info) = block_row(chain_id, block, number)?;
    let ctx = Ctx {
        block: number,
        method: "eth_getBlockByNumber",
    };
    let txs = &mut block.transactions;

    // Receipts, matched to transactions by position and checked by hash.
    let receipts: Option<&mut Vec<RpcReceipt>> = receipts.as_mut();
    if let Some(rs) = receipts.as_deref() {
        if rs.len() != txs.len() {
            return Err(EvmError::Inconsistent {
                block: number,
                reason: format!("{} transactions but {} receipts", txs.len(), rs.len()),
            });
        }
    }

    if want.transactions {
        out.transactions.reserve(txs.len());
        for (i, entry) in txs.iter_mut().enumerate() {
            let f = |name: &str| format!("transactions[{i}].{name}");
            let crate::json::TxEntry::Full(tx) = entry else {
                return Err(ctx.err(
                    f("hash"),
                    "the block was fetched without full transactions".into(),
                ));
            };
            let rc = receipts.as_deref().map(|r| &r[i]);
            let rctx = Ctx {
                block: number,
                method: "receipts",
            };
            let hash = ctx.req_hash(&tx.hash, || f("hash"))?;
            if let Some(r) = rc {
                let rh = rctx.req_hash(&r.transaction_hash, || {
                    format!("receipts[{i}].transactionHash")
                })?;
                if rh != hash {
                    return Err(EvmError::Inconsistent {
                        block: number,
                        reason: format!("receipt {i} is for transaction {rh}, expected {hash}"),
                    });
                }
            }
            let row = TransactionRow {
                hash,
                nonce: ctx.req_i64(&tx.nonce, || f("nonce"))?,
                transaction_index: ctx
                    .i64(&tx.transaction_index, || f("transactionIndex"))?
                    .unwrap_or(i as i64),
                from_address: ctx
                    .take_addr(&mut tx.from, || f("from"))?
                    .ok_or_else(|| ctx.err(f("from"), "missing".into()))?,
                to_address: ctx.take_addr(&mut tx.to, || f("to"))?,
                value: ctx.dec(&tx.value, || f("value"))?,
                gas: ctx.i64(&tx.gas, || f("gas"))?,
                gas_price: ctx.i64(&tx.gas_price, || f("gasPrice"))?,
                input: ctx.take_data(&mut tx.input, || f("input"))?,
                receipt_cumulative_gas_used: rc
                    .map(|r| {
                        rctx.i64(&r.cumulative_gas_used, || {
                            format!("receipts[{i}].cumulativeGasUsed")
                        })
                    })
                    .transpose()?
                    .flatten(),
                receipt_gas_used: rc
                    .map(|r| rctx.i64(&r.gas_used, || format!("receipts[{i}].gasUsed")))
                    .transpose()?
                    .flatten(),
                receipt_contract_address: rc
                    .map(|r| {
                        rctx.addr(&r.contract_address, || {
                            format!("receipts[{i}].contractAddress")
                        })
                    })
                    .transpose()?
                    .flatten(),
                receipt_root: rc
                    .map(|r| rctx.data(&r.root, || format!("receipts[{i}].root")))
                    .transpose()?
                    .flatten(),
                receipt_status: rc
                    .map(|r| rctx.i64(&r.status, || format!("receipts[{i}].status")))
                    .transpose()?
                    .flatten(),
                block_timestamp: info.timestamp,
                block_number: number as i64,
                block_hash: info.hash.clone(),
                max_fee_per_gas: ctx.i64(&tx.max_fee_per_gas, || f("maxFeePerGas"))?,
                max_priority_fee_per_gas: ctx
                    .i64(&tx.max_priority_fee_per_gas, || f("maxPriorityFeePerGas"))?,
                transaction_type: ctx.i64(&tx.tx_type, || f("type"))?,
                receipt_effective_gas_price: rc
                    .map(|r| {
                        rctx.i64(&r.effective_gas_price, || {
                            format!("receipts[{i}].effectiveGasPrice")
                        })
                    })
                    .transpose()?
                    .flatten(),
                max_fee_per_blob_gas: ctx
                    .i64(&tx.max_fee_per_blob_gas, || f("maxFeePerBlobGas"))?,
                blob_versioned_hashes: tx.blob_versioned_hashes.take().unwrap_or_default(),
                receipt_blob_gas_price: rc
                    .map(|r| rctx.i64(&r.blob_gas_price, || format!("receipts[{i}].blobGasPrice")))
                    .transpose()?
                    .flatten(),
                receipt_blob_gas_used: rc
                    .map(|r| rctx.i64(&r.blob_gas_used, || format!("receipts[{i}].blobGasUsed")))
                    .transpose()?
                    .flatten(),
                chain_id,
                receipt_l1_fee: rc
                    .map(|r| rctx.dec(&r.l1_fee, || format!("receipts[{i}].l1Fee")))
                    .transpose()?
                    .flatten(),
                receipt_l1_gas_used: rc
                    .map(|r| rctx.i64(&r.l1_gas_used, || format!("receipts[{i}].l1GasUsed")))
                    .transpose()?
                    .flatten(),
                receipt_l1_gas_price: rc
                    .map(|r| rctx.i64(&r.l1_gas_price, || format!("receipts[{i}].l1GasPrice")))
                    .transpose()?
                    .flatten(),
                receipt_l1_fee_scalar: rc.and_then(|r| scalar_text(&r.l1_fee_scalar)),
            };
            out.transactions.push(row);
        }
    }

    if let Some(rs) = receipts {
        for (i, r) in rs.iter_mut().enumerate() {
            if want.logs || want.token_transfers {
                logs::log_rows(chain_id, &info, r, i, want, out)?;
            }
            if want.receipts {
                out.receipts.push(receipt_row(chain_id, &info, r, i)?);
            }
        }
    }

    if want.traces || want.contracts || want.tokens {
        if let Some(t) = block_traces.as_mut() {
            let start = out.traces.len();
            match t {
                BlockTraces::Parity(ts) => {
                    traces::parity_rows(chain_id, &info, ts, &mut out.traces)?
                }
                BlockTraces::Geth(ts) => {
                    let hashes: Vec<Option<String>> = txs
                        .iter()
                        .map(|t| t.hash().map(|h| h.to_ascii_lowercase()))
                        .collect();
                    traces::geth_rows(chain_id, &info, ts, &hashes, &mut out.traces)?
                }
            }
            if want.contracts || want.tokens {
                let new: Vec<ContractRow> = out.traces[start..]
                    .iter()
                    .filter_map(bytecode::contract_row)
                    .collect();
                out.contracts.extend(new);
            }
            if !want.traces {
                out.traces.truncate(start);
            }
        }
    }

    if want.blocks {
        out.blocks.push(brow);
    }
    Ok(())
}

fn scalar_text(v: &Option<serde_json::Value>) -> Option<String> {
    match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn receipt_row(
    chain_id: i64,
    info: &BlockInfo,
    r: &mut RpcReceipt,
    i: usize,
) -> Result<ReceiptRow, EvmError> {
    let ctx = Ctx {
        block: info.number,
        method: "receipts",
    };
    let f = |name: &str| format!("receipts[{i}].{name}");
    Ok(ReceiptRow {
        transaction_hash: ctx.take_req_hash(&mut r.transaction_hash, || f("transactionHash"))?,
        transaction_index: ctx
            .i64(&r.transaction_index, || f("transactionIndex"))?
            .unwrap_or(i as i64),
        block_hash: ctx.take_hash(&mut r.block_hash, || f("blockHash"))?,
        block_number: ctx.i64(&r.block_number, || f("blockNumber"))?,
        cumulative_gas_used: ctx.i64(&r.cumulative_gas_used, || f("cumulativeGasUsed"))?,
        gas_used: ctx.i64(&r.gas_used, || f("gasUsed"))?,
        contract_address: ctx.take_addr(&mut r.contract_address, || f("contractAddress"))?,
        root: ctx.take_data(&mut r.root, || f("root"))?,
        status: ctx.i64(&r.status, || f("status"))?,
        effective_gas_price: ctx.i64(&r.effective_gas_price, || f("effectiveGasPrice"))?,
        blob_gas_price: ctx.i64(&r.blob_gas_price, || f("blobGasPrice"))?,
        blob_gas_used: ctx.i64(&r.blob_gas_used, || f("blobGasUsed"))?,
        chain_id,
        block_timestamp: info.timestamp,
        l1_fee: ctx.dec(&r.l1_fee, || f("l1Fee"))?,
        l1_gas_used: ctx.i64(&r.l1_gas_used, || f("l1GasUsed"))?,
        l1_gas_price: ctx.i64(&r.l1_gas_price, || f("l1GasPrice"))?,
        l1_fee_scalar: scalar_text(&r.l1_fee_scalar),
    })
}
