//! The EVM tables (`crypto_ethereum` family).
//!
//! Conventions shared by every table:
//! * hashes, addresses and byte strings are lower-case `0x`-prefixed hex strings;
//! * 256-bit quantities (`value`, `difficulty`, token amounts, …) are exact decimal strings;
//!   quantities that BigQuery types INT64 (gas, fees, nonces) are `Int64`, and a value that
//!   does not fit is an error, never a silent truncation;
//! * every table ends with the BigQuery columns and then `chain_id` and ledgerflow's extras;
//! * rows are ordered by block number, then transaction index, then log/trace position.

use crate::table::{Timestamp, Withdrawal};

/// Key of the Parquet footer metadata naming an EVM chunk file's chain id (what marks a
/// file as an EVM table, e.g. for `lake compact`).
pub const CHAIN_ID_KEY: &str = "ledgerflow.chain_id";

/// Columns whose values repeat (addresses, block keys, small enums): Parquet dictionary
/// encoding for these, plain elsewhere. Hashes, call data, log data and blooms are nearly
/// all distinct, so a dictionary for them is built only to be thrown away (CPU and up to a
/// megabyte of memory per column and file).
pub const DICTIONARY_COLUMNS: &[&str] = &[
    "chain_id",
    "block_number",
    "block_timestamp",
    "block_hash",
    "timestamp",
    "miner",
    "from_address",
    "to_address",
    "address",
    "token_address",
    "operator_address",
    "creator_address",
    "trace_type",
    "call_type",
    "reward_type",
    "error",
    "token_standard",
    "transaction_type",
    "symbol",
    "name",
    "decimals",
];

crate::table! {
    /// `crypto_ethereum.blocks`: one row per block.
    pub struct BlockRow = "blocks" {
        timestamp: Timestamp,
        number: i64,
        hash: String,
        parent_hash: Option<String>,
        nonce: Option<String>,
        sha3_uncles: Option<String>,
        logs_bloom: Option<String>,
        transactions_root: Option<String>,
        state_root: Option<String>,
        receipts_root: Option<String>,
        miner: Option<String>,
        difficulty: Option<String>,
        total_difficulty: Option<String>,
        size: Option<i64>,
        extra_data: Option<String>,
        gas_limit: Option<i64>,
        gas_used: Option<i64>,
        transaction_count: i64,
        base_fee_per_gas: Option<i64>,
        withdrawals_root: Option<String>,
        withdrawals: Vec<Withdrawal>,
        blob_gas_used: Option<i64>,
        excess_blob_gas: Option<i64>,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: EIP-4788 parent beacon block root.
        parent_beacon_block_root: Option<String>,
        /// Extra: number of uncles (ommers).
        uncle_count: i64,
    }
}

crate::table! {
    /// `crypto_ethereum.transactions`: one row per transaction, with its receipt's columns.
    pub struct TransactionRow = "transactions" {
        hash: String,
        nonce: i64,
        transaction_index: i64,
        from_address: String,
        to_address: Option<String>,
        value: Option<String>,
        gas: Option<i64>,
        gas_price: Option<i64>,
        input: Option<String>,
        receipt_cumulative_gas_used: Option<i64>,
        receipt_gas_used: Option<i64>,
        receipt_contract_address: Option<String>,
        receipt_root: Option<String>,
        receipt_status: Option<i64>,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        max_fee_per_gas: Option<i64>,
        max_priority_fee_per_gas: Option<i64>,
        transaction_type: Option<i64>,
        receipt_effective_gas_price: Option<i64>,
        max_fee_per_blob_gas: Option<i64>,
        blob_versioned_hashes: Vec<String>,
        receipt_blob_gas_price: Option<i64>,
        receipt_blob_gas_used: Option<i64>,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra (OP stack): L1 data fee in wei, decimal string.
        receipt_l1_fee: Option<String>,
        /// Extra (OP stack): L1 gas used.
        receipt_l1_gas_used: Option<i64>,
        /// Extra (OP stack): L1 gas price.
        receipt_l1_gas_price: Option<i64>,
        /// Extra (OP stack): L1 fee scalar as reported (a decimal string such as `0.684`).
        receipt_l1_fee_scalar: Option<String>,
    }
}

crate::table! {
    /// `crypto_ethereum.receipts` (raw stage): one row per transaction receipt.
    pub struct ReceiptRow = "receipts" {
        transaction_hash: String,
        transaction_index: i64,
        block_hash: Option<String>,
        block_number: Option<i64>,
        cumulative_gas_used: Option<i64>,
        gas_used: Option<i64>,
        contract_address: Option<String>,
        root: Option<String>,
        status: Option<i64>,
        effective_gas_price: Option<i64>,
        blob_gas_price: Option<i64>,
        blob_gas_used: Option<i64>,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: block timestamp.
        block_timestamp: Timestamp,
        /// Extra (OP stack): L1 data fee in wei, decimal string.
        l1_fee: Option<String>,
        /// Extra (OP stack): L1 gas used.
        l1_gas_used: Option<i64>,
        /// Extra (OP stack): L1 gas price.
        l1_gas_price: Option<i64>,
        /// Extra (OP stack): L1 fee scalar as reported.
        l1_fee_scalar: Option<String>,
    }
}

crate::table! {
    /// `crypto_ethereum.logs`: one row per event log.
    pub struct LogRow = "logs" {
        log_index: i64,
        transaction_hash: String,
        transaction_index: i64,
        address: Option<String>,
        data: Option<String>,
        topics: Vec<String>,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
    }
}

crate::table! {
    /// `crypto_ethereum.token_transfers`: ERC-20, ERC-721 and (extra) ERC-1155 transfers.
    ///
    /// ERC-20 and ERC-721 rows are exactly ethereum-etl's (for ERC-721, `value` holds the
    /// token id, as ethereum-etl does). ERC-1155 `TransferSingle` gives one row and
    /// `TransferBatch` one row per (id, amount) pair, with `value` = amount.
    pub struct TokenTransferRow = "token_transfers" {
        token_address: String,
        from_address: Option<String>,
        to_address: Option<String>,
        value: Option<String>,
        transaction_hash: String,
        log_index: i64,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: `erc20`, `erc721` or `erc1155`.
        token_standard: String,
        /// Extra: the token id (ERC-721 and ERC-1155), decimal string.
        token_id: Option<String>,
        /// Extra: ERC-1155 operator.
        operator_address: Option<String>,
        /// Extra: position within an ERC-1155 `TransferBatch` (0 otherwise).
        batch_index: i64,
        /// Extra: the transaction's index in its block.
        transaction_index: i64,
    }
}

crate::table! {
    /// `crypto_ethereum.traces`: one row per call frame, plus block rewards and genesis
    /// allocations where the node reports them.
    pub struct TraceRow = "traces" {
        transaction_hash: Option<String>,
        transaction_index: Option<i64>,
        from_address: Option<String>,
        to_address: Option<String>,
        value: Option<String>,
        input: Option<String>,
        output: Option<String>,
        trace_type: String,
        call_type: Option<String>,
        reward_type: Option<String>,
        gas: Option<i64>,
        gas_used: Option<i64>,
        subtraces: Option<i64>,
        trace_address: Option<String>,
        error: Option<String>,
        status: Option<i64>,
        trace_id: Option<String>,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: position of the trace in the block's trace list.
        trace_index: i64,
    }
}

crate::table! {
    /// `crypto_ethereum.contracts`: one row per contract created (by a transaction or by
    /// another contract) and not reverted.
    pub struct ContractRow = "contracts" {
        address: String,
        bytecode: Option<String>,
        function_sighashes: Vec<String>,
        is_erc20: Option<bool>,
        is_erc721: Option<bool>,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: whether the bytecode implements ERC-1155.
        is_erc1155: Option<bool>,
        /// Extra: the creating transaction.
        transaction_hash: Option<String>,
        /// Extra: the address that executed CREATE/CREATE2 (an EOA or a factory contract).
        creator_address: Option<String>,
    }
}

crate::table! {
    /// `crypto_ethereum.tokens`: metadata of token contracts found in `contracts`.
    pub struct TokenRow = "tokens" {
        address: String,
        symbol: Option<String>,
        name: Option<String>,
        decimals: Option<String>,
        total_supply: Option<String>,
        block_timestamp: Timestamp,
        block_number: i64,
        block_hash: String,
        /// Extra: EIP-155 chain id.
        chain_id: i64,
        /// Extra: `erc20`, `erc721` or `erc1155`.
        token_standard: Option<String>,
    }
}

/// The EVM tables, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EvmTable {
    /// [`BlockRow`]
    Blocks,
    /// [`TransactionRow`]
    Transactions,
    /// [`ReceiptRow`]
    Receipts,
    /// [`LogRow`]
    Logs,
    /// [`TokenTransferRow`]
    TokenTransfers,
    /// [`TraceRow`]
    Traces,
    /// [`ContractRow`]
    Contracts,
    /// [`TokenRow`]
    Tokens,
}

impl EvmTable {
    /// Every table.
    pub const ALL: [EvmTable; 8] = [
        EvmTable::Blocks,
        EvmTable::Transactions,
        EvmTable::Receipts,
        EvmTable::Logs,
        EvmTable::TokenTransfers,
        EvmTable::Traces,
        EvmTable::Contracts,
        EvmTable::Tokens,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            EvmTable::Blocks => BlockRow::TABLE,
            EvmTable::Transactions => TransactionRow::TABLE,
            EvmTable::Receipts => ReceiptRow::TABLE,
            EvmTable::Logs => LogRow::TABLE,
            EvmTable::TokenTransfers => TokenTransferRow::TABLE,
            EvmTable::Traces => TraceRow::TABLE,
            EvmTable::Contracts => ContractRow::TABLE,
            EvmTable::Tokens => TokenRow::TABLE,
        }
    }

    /// Parses a table name (also accepts ethereum-etl's singular item types and `-`).
    pub fn from_name(name: &str) -> Option<EvmTable> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        Some(match n.as_str() {
            "blocks" | "block" => EvmTable::Blocks,
            "transactions" | "transaction" | "txs" => EvmTable::Transactions,
            "receipts" | "receipt" => EvmTable::Receipts,
            "logs" | "log" => EvmTable::Logs,
            "token_transfers" | "token_transfer" | "transfers" => EvmTable::TokenTransfers,
            "traces" | "trace" => EvmTable::Traces,
            "contracts" | "contract" => EvmTable::Contracts,
            "tokens" | "token" => EvmTable::Tokens,
            _ => return None,
        })
    }

    /// The Arrow schema.
    pub fn schema(self) -> arrow_schema::SchemaRef {
        match self {
            EvmTable::Blocks => BlockRow::schema(),
            EvmTable::Transactions => TransactionRow::schema(),
            EvmTable::Receipts => ReceiptRow::schema(),
            EvmTable::Logs => LogRow::schema(),
            EvmTable::TokenTransfers => TokenTransferRow::schema(),
            EvmTable::Traces => TraceRow::schema(),
            EvmTable::Contracts => ContractRow::schema(),
            EvmTable::Tokens => TokenRow::schema(),
        }
    }
}

impl std::fmt::Display for EvmTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
