//! `ledgerflow export evm|bitcoin` and the output flags every export shares.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::node::{BtcNodeArgs, RpcTuning};

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum ExportCommand {
    /// Export an EVM chain over JSON-RPC.
    ///
    /// Tables: blocks, transactions (with receipt columns), receipts, logs, token_transfers
    /// (ERC-20, ERC-721 and ERC-1155), traces, contracts, tokens. Files land in
    /// <OUTPUT>/<chain>/<table>/<table>__<start>_<end>.<ext>, one per chunk of blocks; a rerun
    /// skips chunks already written (use --overwrite to redo them).
    ///
    /// Exit codes: 0 done, 1 some chunks written before a failure, 2 nothing written.
    Evm(ExportEvmArgs),
    /// Export a Bitcoin-family chain from a data directory's blk*.dat files or a node's RPC.
    ///
    /// Chains: bitcoin, litecoin, bitcoin_cash, dogecoin (files or RPC); dash, zcash (RPC).
    /// Tables: blocks, transactions (inputs and outputs nested), inputs, outputs, with the
    /// BigQuery crypto_bitcoin columns. Every input carries the value, type and address of
    /// the output it spends (enriched in the same pass from a compact spent-output index;
    /// --no-enrich gives bitcoin-etl's plain export). Same lake layout, chunking, resume,
    /// --dry-run and reports as `export evm`; -f json|csv writes bitcoin-etl's files.
    ///
    /// Examples:
    ///   ledgerflow export bitcoin --datadir ~/.bitcoin --blocks 0:100000
    ///   ledgerflow export bitcoin --rpc http://user:pass@127.0.0.1:9332 --chain litecoin
    ///   ledgerflow export bitcoin --rpc http://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie -f json
    ///
    /// Exit codes: 0 done, 1 some chunks written before a failure, 2 nothing written.
    #[command(verbatim_doc_comment)]
    Bitcoin(ExportBitcoinArgs),
}

#[derive(Debug, Args)]
pub struct ExportBitcoinArgs {
    /// Node JSON-RPC endpoint; credentials may be in the URL (`http://user:pass@host:port`).
    #[arg(
        long,
        env = "LEDGERFLOW_BTC_RPC",
        conflicts_with = "datadir",
        required_unless_present = "datadir",
        help_heading = "Source"
    )]
    pub rpc: Option<String>,

    /// A node's data directory: blocks are read from blocks/blk*.dat (no node needed; a
    /// running node's files are only read). `DIR`, `DIR/blocks` or `DIR/<network>` work.
    #[arg(long, help_heading = "Source")]
    pub datadir: Option<PathBuf>,

    #[command(flatten)]
    pub node: BtcNodeArgs,

    /// Blocks to export: `a:b` (inclusive), `a:`, `:b`, `-N:` (last N), `a:+N`, `latest`.
    #[arg(
        short,
        long,
        default_value = "0:latest",
        allow_hyphen_values = true,
        help_heading = "Source"
    )]
    pub blocks: String,

    /// Tables, comma-separated, or `all` (blocks, transactions, inputs, outputs; with
    /// -f csv|json, `all` means bitcoin-etl's blocks and transactions).
    #[arg(
        short,
        long,
        default_value = "all",
        value_delimiter = ',',
        help_heading = "Source"
    )]
    pub tables: Vec<String>,

    /// Leave inputs without the spent output's value, type and address (bitcoin-etl's
    /// plain `export_blocks_and_transactions`: fees come out negative).
    #[arg(long, help_heading = "Source")]
    pub no_enrich: bool,

    /// Blocks fetched and transformed together inside a chunk (bounds memory).
    #[arg(long, default_value_t = 100, help_heading = "RPC")]
    pub group_blocks: u64,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rpc_tuning: RpcTuning,
}

#[derive(Debug, Args)]
pub struct ExportEvmArgs {
    /// JSON-RPC endpoint (HTTP or HTTPS).
    #[arg(
        long,
        env = "LEDGERFLOW_RPC",
        default_value = "http://127.0.0.1:8545",
        help_heading = "Source"
    )]
    pub rpc: String,

    /// Blocks to export: `a:b` (inclusive), `a:`, `:b`, `-N:` (last N), `a:+N`, `latest`.
    #[arg(
        short,
        long,
        default_value = "0:latest",
        allow_hyphen_values = true,
        help_heading = "Source"
    )]
    pub blocks: String,

    /// Tables, comma-separated, or `all`.
    #[arg(
        short,
        long,
        default_value = "all",
        value_delimiter = ',',
        help_heading = "Source"
    )]
    pub tables: Vec<String>,

    /// Trace API: `auto` (trace_block, else debug_traceBlockByNumber), `parity` or `geth`.
    #[arg(long, default_value = "auto", help_heading = "Source")]
    pub traces: String,

    /// Block at which token metadata is read with eth_call: `chunk-end`, `creation`, `latest`.
    #[arg(long, default_value = "chunk-end", help_heading = "Source")]
    pub token_block: String,

    /// One eth_call per token function. By default the calls are batched, 96 to an eth_call
    /// that runs a throw-away creation code making them (nothing is deployed; far faster at
    /// old blocks), with the same answers; a node that refuses it gets direct calls anyway.
    #[arg(long, help_heading = "Source")]
    pub direct_token_calls: bool,

    /// Chain id to record (asked from the node with eth_chainId by default).
    #[arg(long, help_heading = "Source")]
    pub chain_id: Option<u64>,

    /// Fetch receipts one transaction at a time (never eth_getBlockReceipts).
    #[arg(long, help_heading = "Source")]
    pub per_tx_receipts: bool,

    #[command(flatten)]
    pub out: OutputArgs,

    /// ethereum-etl version whose CSV/JSON columns are written (2.4 or 2.3).
    #[arg(long, default_value = "2.4", help_heading = "Output")]
    pub etl_version: String,

    /// CSV/JSON: also write ERC-1155 token transfers (ethereum-etl has none, so by default
    /// the files hold exactly ethereum-etl's rows; Parquet always has them).
    #[arg(long, help_heading = "Output")]
    pub all_token_standards: bool,

    /// Blocks fetched and decoded together inside a chunk (bounds memory).
    #[arg(long, default_value_t = 100, help_heading = "RPC")]
    pub group_blocks: u64,

    /// Groups of blocks fetched at once per chunk.
    #[arg(long, default_value_t = 3, help_heading = "RPC")]
    pub groups_in_flight: usize,

    #[command(flatten)]
    pub rpc_tuning: RpcTuning,
}

/// Where and how an export writes (shared by every export).
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output folder (the lake root).
    #[arg(short, long, default_value = "lake", help_heading = "Output")]
    pub output: PathBuf,

    /// File format: parquet (BigQuery schema + extras), delta (the same Parquet chunks
    /// plus a Delta Lake log in each table folder, committed chunk by chunk, for Spark,
    /// Trino, Databricks, DuckDB and BigLake), csv or json (ethereum-etl's or bitcoin-etl's
    /// files).
    #[arg(short, long, default_value = "parquet", help_heading = "Output")]
    pub format: String,

    /// Name of the chain folder in the lake (default: from the chain, e.g. `ethereum`, `litecoin-regtest`).
    #[arg(long, help_heading = "Output")]
    pub chain_name: Option<String>,

    /// Blocks per chunk file (chunks are aligned to multiples of this).
    #[arg(long, default_value_t = 1000, help_heading = "Output")]
    pub chunk_size: u64,

    /// Rewrite chunks that already exist.
    #[arg(long, help_heading = "Output")]
    pub overwrite: bool,

    /// zstd compression level of Parquet files (1 is fastest; on chain data it compresses
    /// about as well as 3).
    #[arg(long, default_value_t = 1, help_heading = "Output")]
    pub zstd_level: i32,

    /// Parquet: most rows per row group.
    #[arg(long, default_value_t = 65536, help_heading = "Output")]
    pub row_group_size: usize,

    /// Parquet: a row group is also closed once the writer buffers this many MB of it
    /// (pages being encoded and pages encoded, not yet on disk). This bounds the memory of
    /// every file being written (2 MB: a full EVM export peaked at 130 MB); raise it (or
    /// 0: no limit, row groups of --row-group-size rows) for fewer, larger row groups, or
    /// merge chunks later with `ledgerflow lake compact`, which writes 65,536-row groups.
    #[arg(long, default_value_t = 2.0, help_heading = "Output")]
    pub row_group_mb: f64,

    /// Where to write the JSON run report (default: <OUTPUT>/<chain>/_runs/).
    #[arg(long, help_heading = "Output")]
    pub report: Option<PathBuf>,

    /// Print the plan and the schemas, fetch nothing.
    #[arg(long, help_heading = "Output")]
    pub dry_run: bool,
}
