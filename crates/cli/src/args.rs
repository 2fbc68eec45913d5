//! Command-line arguments (clap derive). Raw flags are turned into validated settings
//! before any I/O happens.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ledgerflow turns public blockchains into analysis-ready data: a Parquet lake laid out by
/// chain/table/block range whose tables follow the BigQuery `crypto_*` schemas, or CSV/JSON
/// files identical to ethereum-etl's.
///
/// Quick start (starts a local anvil chain, fills it, exports it):
///
///     ledgerflow demo
///
/// Export an EVM chain:
///
///     ledgerflow export evm --rpc http://127.0.0.1:8545 --blocks 0:latest --tables all -o lake/
#[derive(Debug, Parser)]
#[command(
    name = "ledgerflow",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors; no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing would only obscure clap's derive
pub enum Command {
    /// Export blocks and everything in them into the lake (or CSV/JSON files).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Run the whole pipeline on a local chain: start anvil, generate a seeded workload,
    /// export every table into a lake and print a summary.
    Demo(DemoArgs),
    /// Local development chains.
    #[command(subcommand)]
    Devnet(DevnetCommand),
    /// Query the lake with SQL (Apache DataFusion).
    ///
    /// Every chain folder of the lake is a dataset named like BigQuery's public ones
    /// (crypto_ethereum, crypto_bitcoin, crypto_litecoin_regtest, ...), every table folder a
    /// table: crypto_anvil.transactions. A test network also answers to its chain's name
    /// (crypto_litecoin for litecoin-regtest) and a lake's only EVM chain to crypto_ethereum,
    /// so BigQuery community queries run unchanged (back-quoted paths like
    /// `bigquery-public-data.crypto_bitcoin.inputs` are accepted). Filters on block_number
    /// (number in blocks) skip chunk files outside the range; other filters and the
    /// selected columns are pushed into the Parquet scan.
    ///
    /// Views: double_entry_book, balances, daily_balances, token_double_entry_book (EVM).
    /// Functions: wei_to_eth, sat_to_coin, token_amount, hex_to_bytes, bytes_to_hex,
    /// normalize_address.
    ///
    /// Without a query: an interactive shell on a terminal (history, multi-line statements
    /// ending in ';', \d to list tables, \d NAME for a schema), or the statements on stdin.
    ///
    /// Examples:
    ///   ledgerflow sql "SELECT count(*) FROM crypto_ethereum.transactions"
    ///   ledgerflow sql -l lake "SELECT * FROM crypto_litecoin.balances ORDER BY balance DESC LIMIT 10"
    ///   ledgerflow sql --format parquet --output top.parquet "SELECT ..."
    ///   ledgerflow sql -f docs/queries/01_daily_transactions.sql --format csv
    ///   ledgerflow sql                      (the shell)
    ///
    /// Exit codes: 0 done, 2 bad query, unknown table, unreadable lake or output.
    #[command(verbatim_doc_comment)]
    Sql(SqlArgs),
    /// The interactive SQL shell over the lake (same as `ledgerflow sql` without a query).
    Shell(SqlArgs),
    /// Follow a chain's tip into PostgreSQL, NATS JetStream and the lake, reorg-safe and
    /// crash-safe.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// Load the lake into a database.
    #[command(subcommand)]
    Load(LoadCommand),
    /// Lake maintenance: verify a lake's consistency.
    #[command(subcommand)]
    Lake(LakeCommand),
    /// Print the schema of every table (the table contract).
    Schema(SchemaArgs),
    /// Measurement helpers used by the scripts in bench/.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Load the lake's Parquet chunks into PostgreSQL.
    ///
    /// Each chain folder becomes a schema named like its SQL dataset (crypto_anvil,
    /// crypto_litecoin_regtest), each table a table created with exact types: NUMERIC(78,0)
    /// for 256-bit values, NUMERIC(29,0) for satoshi amounts, TEXT for hashes and addresses
    /// (the lake's lower-case hex), TIMESTAMPTZ, TEXT[] for address lists, JSONB for nested
    /// inputs/outputs/withdrawals; keys and indexes as ethereum-etl's Postgres schema. Rows
    /// go in with binary COPY, one transaction per chunk file: its block range is deleted
    /// and reloaded and the chunk recorded (with the file's SHA-256) in
    /// <schema>.ledgerflow_chunks before the commit. A rerun loads nothing twice; a chunk
    /// whose file changed is replaced; an interrupted load leaves each chunk fully loaded
    /// or not at all.
    ///
    /// Examples:
    ///   ledgerflow load postgres --url postgres://postgres@127.0.0.1:5432/chain -l lake
    ///   ledgerflow load postgres --url $DATABASE_URL --chain anvil -t blocks,transactions
    ///
    /// Exit codes: 0 done, 2 nothing or only part loaded (the error names chunk and table).
    #[command(verbatim_doc_comment)]
    Postgres(LoadPostgresArgs),
}

#[derive(Debug, Args)]
pub struct LoadPostgresArgs {
    /// The database: postgres://user[:password]@host[:port]/database.
    #[arg(long, env = "DATABASE_URL")]
    pub url: String,
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only these chain folders (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub chain: Vec<String>,
    /// Only these tables (comma-separated).
    #[arg(short, long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Reload every chunk, even those already loaded from the same file.
    #[arg(long)]
    pub force: bool,
    /// Print the load report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Verify the lake the way blockchain-etl's verify step does: every chunk readable, no
    /// overlapping (duplicate) chunks, no gaps, every table covering the same blocks as
    /// `blocks`, one blocks row per block, and counts that agree across tables chunk by
    /// chunk: sum(blocks.transaction_count) = transactions (and receipts) rows; EVM:
    /// top-level traces = transactions; Bitcoin family: sum(input_count) = inputs rows,
    /// sum(output_count) = outputs rows. Tables with a Delta log: the log lists exactly
    /// the folder's chunks, with their current sizes.
    ///
    /// Exit codes: 0 consistent, 1 problems found (listed), 2 the lake cannot be read.
    #[command(verbatim_doc_comment)]
    Check(LakeCheckArgs),
    /// Merge small adjacent chunk files into larger ones (Parquet only).
    ///
    /// Chunks are merged within aligned windows of --target-blocks blocks, where they are
    /// contiguous, into one file named by the union of their ranges; rows and their order
    /// are kept. The merged file is renamed into place before the old ones are removed; an
    /// interrupted compaction leaves chunks inside the merged one, which SQL, load and
    /// export skip and the next compaction removes. Exports keep resuming: a chunk covered
    /// by a merged file counts as done. In a Delta table each merge is one commit (the
    /// merged file added, its parts removed) made before the parts are deleted.
    ///
    /// Examples:
    ///   ledgerflow lake compact -l lake --target-blocks 100000
    ///   ledgerflow lake compact -l lake --chain anvil --table logs --dry-run
    #[command(verbatim_doc_comment)]
    Compact(LakeCompactArgs),
    /// Make the lake's tables Delta Lake tables (or bring their logs up to date).
    ///
    /// Each table folder gets a _delta_log/ that lists its Parquet chunks as the table's
    /// data files, with row counts and per-column bounds (block numbers, timestamps,
    /// values) so readers skip chunks; the chunk files stay where they are, so the folder
    /// is still a plain Parquet dataset for ledgerflow and every other reader. Spark,
    /// Trino, Databricks, DuckDB (delta_scan), delta-rs/Polars and BigQuery (BigLake) read
    /// it as a Delta table. Each table changes in one commit: chunks added, rewritten
    /// chunks re-added, merged or removed chunks removed; a table already in line gets no
    /// commit. `export --format delta` keeps the logs current chunk by chunk, and `lake
    /// compact` records each merge as one commit.
    ///
    /// Examples:
    ///   ledgerflow lake convert -l lake
    ///   ledgerflow lake convert -l lake --chain anvil --table blocks,transactions --json
    #[command(verbatim_doc_comment)]
    Convert(LakeConvertArgs),
}

#[derive(Debug, Args)]
pub struct LakeConvertArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder.
    #[arg(long)]
    pub chain: Option<String>,
    /// Only these tables (comma-separated).
    #[arg(long, short, value_delimiter = ',')]
    pub table: Vec<String>,
    /// The table format to convert to (delta is the one there is).
    #[arg(long, default_value = "delta")]
    pub to: String,
    /// Print the per-table report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LakeCompactArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder.
    #[arg(long)]
    pub chain: Option<String>,
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// Blocks per merged file (windows aligned to multiples of it).
    #[arg(long, default_value_t = 100_000)]
    pub target_blocks: u64,
    /// Print what would be merged; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LakeCheckArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder (e.g. anvil, litecoin-regtest).
    #[arg(long)]
    pub chain: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The statement(s) to run, separated by ';'.
    pub query: Option<String>,
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Run the statements in this file (after QUERY, if both are given).
    #[arg(short = 'F', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Result format: table, csv, json (one object per line) or parquet (needs --output).
    #[arg(short, long, default_value = "table", value_parser = parse_sql_format)]
    pub format: ledgerflow_sql::Format,
    /// Write the (last statement's) result to this file instead of standard output
    /// (written to a temporary name and renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Another name for a chain folder's dataset, e.g. crypto_ethereum=sepolia (repeatable).
    #[arg(long = "dataset", value_name = "ALIAS=FOLDER", value_parser = parse_alias)]
    pub datasets: Vec<(String, String)>,
    /// Threads for query execution (default: all cores).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Print the time each statement took (stderr).
    #[arg(long)]
    pub timing: bool,
    /// Shell history file (default: ~/.ledgerflow_history).
    #[arg(long)]
    pub history: Option<PathBuf>,
}

fn parse_sql_format(s: &str) -> Result<ledgerflow_sql::Format, String> {
    s.parse()
}

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, f)) if !a.trim().is_empty() && !f.trim().is_empty() => {
            Ok((a.trim().to_string(), f.trim().to_string()))
        }
        _ => Err(format!(
            "{s:?}: expected ALIAS=FOLDER, e.g. crypto_ethereum=sepolia"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fetch the raw answers an export needs, decoding nothing (the "RPC floor").
    RpcFloor(RpcFloorArgs),
    /// Decode throughput of a raw Bitcoin block on one core (MB/s), against hashing every
    /// byte with SHA-256d (the physical limit of any decoder that checks ids).
    Decode(BenchDecodeArgs),
    /// Bytes per unspent output of the spent-output index at a given size, with a
    /// mainnet-like mix of script types.
    Utxo(BenchUtxoArgs),
}

#[derive(Debug, Args)]
pub struct BenchDecodeArgs {
    /// A raw block file (consensus encoding).
    #[arg(long)]
    pub block: PathBuf,
    /// Seconds to measure each step for.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

#[derive(Debug, Args)]
pub struct BenchUtxoArgs {
    /// Unspent outputs to insert.
    #[arg(long, default_value_t = 10_000_000)]
    pub count: u64,
    /// Seed of the synthetic outpoints.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct RpcFloorArgs {
    /// JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub rpc: String,
    /// Blocks to fetch.
    #[arg(short, long, default_value = "0:latest", allow_hyphen_values = true)]
    pub blocks: String,
    /// Method groups: blocks, receipts, traces (EVM: eth_getBlockByNumber with
    /// transactions, eth_getBlockReceipts, trace_block); or getblock (a Bitcoin-family node:
    /// getblockhash then `getblock <hash> 0`, what `export bitcoin --rpc` fetches; give the
    /// credentials in the URL, http://USER:PASSWORD@HOST:PORT).
    #[arg(long, value_delimiter = ',', default_value = "blocks,receipts,traces")]
    pub methods: Vec<String>,
    /// HTTP requests in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Calls per HTTP batch.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
}

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

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Lake folder to write.
    #[arg(short, long, default_value = "demo-lake")]
    pub output: PathBuf,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Skip the Bitcoin-family part (litecoind regtest chain exported from its block files).
    #[arg(long)]
    pub no_bitcoin: bool,
}

/// The local chain: which anvil, and the seeded workload generated on it.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Blocks of workload to generate.
    #[arg(long, default_value_t = 200)]
    pub blocks: u64,
    /// Transactions per block.
    #[arg(long, default_value_t = 20)]
    pub txs_per_block: usize,
    /// Seed of the workload.
    #[arg(long, env = "SEED", default_value_t = 42)]
    pub seed: u64,
    /// anvil binary (default: LEDGERFLOW_ANVIL, .tools/node_modules, then PATH).
    #[arg(long)]
    pub anvil: Option<PathBuf>,
}

impl WorkloadArgs {
    /// The workload generator's settings.
    pub fn config(&self) -> ledgerflow_devnet::WorkloadConfig {
        ledgerflow_devnet::WorkloadConfig {
            seed: self.seed,
            blocks: self.blocks,
            txs_per_block: self.txs_per_block,
            ..Default::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start anvil, generate a seeded workload and keep the node running until Ctrl-C.
    Run(DevnetRunArgs),
    /// Start litecoind in regtest, generate a seeded UTXO workload (entities, payments with
    /// change, consolidations, CoinJoins, peel chains) and keep the node running until
    /// Ctrl-C. Prints the RPC URL, data directory and what was generated; writes which
    /// entity owns which address with --ground-truth.
    Litecoin(DevnetLitecoinArgs),
}

#[derive(Debug, Args)]
pub struct DevnetRunArgs {
    /// Port for anvil.
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Stop after generating instead of serving until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

#[derive(Debug, Args)]
pub struct DevnetLitecoinArgs {
    /// RPC port (0: a free one).
    #[arg(long, default_value_t = 19443)]
    pub port: u16,
    /// Data directory to keep (default: a temporary one, removed at exit).
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// Blocks of workload (after 100+ blocks that mature the first coinbases).
    #[arg(long, default_value_t = 50)]
    pub blocks: u64,
    /// Transactions per block.
    #[arg(long, default_value_t = 20)]
    pub txs_per_block: usize,
    /// Entities that own addresses.
    #[arg(long, default_value_t = 40)]
    pub entities: usize,
    /// Seed of the workload.
    #[arg(long, env = "SEED", default_value_t = 42)]
    pub seed: u64,
    /// litecoind binary (default: LEDGERFLOW_LITECOIND, then PATH).
    #[arg(long)]
    pub litecoind: Option<PathBuf>,
    /// Write the ground truth (address,entity,kind CSV) here.
    #[arg(long)]
    pub ground_truth: Option<PathBuf>,
    /// Stop the node (cleanly, flushing its block files) after generating instead of
    /// serving until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Chain family: evm (crypto_ethereum tables) or bitcoin (crypto_bitcoin tables).
    #[arg(long, default_value = "evm")]
    pub family: String,
    /// Tables to show (default: all).
    #[arg(value_delimiter = ',')]
    pub tables: Vec<String>,
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

/// JSON-RPC client settings (shared by every export over RPC).
#[derive(Debug, Args, Clone)]
pub struct RpcTuning {
    /// HTTP requests in flight at once.
    #[arg(long, default_value_t = 8, help_heading = "RPC")]
    pub concurrency: usize,

    /// Chunks processed at once.
    #[arg(long, default_value_t = 2, help_heading = "RPC")]
    pub chunk_concurrency: usize,

    /// JSON-RPC calls per HTTP batch (1 disables batching).
    #[arg(long, default_value_t = 50, help_heading = "RPC")]
    pub batch_size: usize,

    /// Limit of JSON-RPC calls per second (each call of a batch counts).
    #[arg(long, help_heading = "RPC")]
    pub rps: Option<f64>,

    /// Timeout of one HTTP request, in seconds.
    #[arg(long, default_value_t = 30.0, help_heading = "RPC")]
    pub timeout: f64,

    /// Retries of a transient failure (timeouts, dropped connections, HTTP 429/5xx).
    #[arg(long, default_value_t = 5, help_heading = "RPC")]
    pub retries: u32,
}

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Follow an EVM node's tip (JSON-RPC polling) into one or more sinks.
    ///
    /// Every new block is checked against its parent; when the node switched branch the
    /// stream walks back to the common ancestor and emits the undo of the orphaned blocks
    /// before the new ones (Committed / Reorged / Reverted events). Each sink stores its
    /// checkpoint with the rows, atomically, and resumes from it after a restart or a
    /// crash: no row is lost, duplicated or left from an orphaned block.
    ///
    /// Sinks (any combination, at least one):
    ///   --postgres URL    tables in schema crypto_<chain>, orphaned rows deleted in the
    ///                     same transaction as the new ones; checkpoint in
    ///                     crypto_<chain>.ledgerflow_stream
    ///   --nats URL        JetStream stream LEDGERFLOW_<CHAIN>, subject
    ///                     ledgerflow.<chain>.<table>, one JSON message per row, explicit
    ///                     undo messages, Nats-Msg-Id for de-duplication; checkpoint in
    ///                     key-value bucket ledgerflow_stream
    ///   -o, --lake DIR    final blocks into immutable chunk files, the rest in
    ///                     <chain>/_tip (rewritten on reorg, folded into chunks once
    ///                     final); a lake with chunks is continued from its last one
    ///                     (backfill with `export evm`, then follow)
    ///
    /// Examples:
    ///   ledgerflow stream evm --rpc http://127.0.0.1:8545 --postgres postgres://127.0.0.1/db
    ///   ledgerflow stream evm --confirmations 12 --start -100 --nats nats://127.0.0.1:4222 -o lake/
    ///   ledgerflow stream evm --postgres $PG --metrics-addr 127.0.0.1:9184 --log-format json
    ///
    /// Operations: /metrics (Prometheus) and /health on --metrics-addr; SIGTERM or Ctrl-C
    /// stop between events. Exit codes: 0 stopped, 2 bad arguments, wrong chain, a
    /// reorganisation deeper than --confirmations, or retries exhausted.
    #[command(verbatim_doc_comment)]
    Evm(StreamEvmArgs),
    /// Follow a Bitcoin-family node's tip (JSON-RPC polling) into one or more sinks.
    ///
    /// The same events, checkpoints, sinks and operations as `stream evm`, with the
    /// crypto_bitcoin tables (blocks, transactions with nested inputs/outputs, inputs,
    /// outputs). Every input carries the value, type and addresses of the output it spends
    /// (outputs older than the event are read with getrawtransaction: start the node with
    /// txindex=1).
    ///
    /// Examples:
    ///   ledgerflow stream bitcoin --rpc http://user:pass@127.0.0.1:8332 --postgres $PG
    ///   ledgerflow stream bitcoin --rpc http://127.0.0.1:19443 --rpc-cookie ~/.litecoin/regtest/.cookie \
    ///       --chain litecoin --network regtest --confirmations 6 -o lake/ --nats nats://127.0.0.1:4222
    #[command(verbatim_doc_comment)]
    Bitcoin(StreamBitcoinArgs),
}

#[derive(Debug, Args)]
pub struct StreamBitcoinArgs {
    /// Node JSON-RPC endpoint; credentials may be in the URL (`http://user:pass@host:port`).
    #[arg(long, env = "LEDGERFLOW_BTC_RPC", help_heading = "Source")]
    pub rpc: String,

    #[command(flatten)]
    pub node: BtcNodeArgs,

    /// Tables, comma-separated, or `all` (blocks, transactions, inputs, outputs; blocks is
    /// always written).
    #[arg(
        short,
        long,
        default_value = "all",
        value_delimiter = ',',
        help_heading = "Source"
    )]
    pub tables: Vec<String>,

    /// Chain folder / dataset name (default: the chain's, e.g. litecoin_regtest).
    #[arg(long, help_heading = "Source")]
    pub chain_name: Option<String>,

    #[command(flatten)]
    pub follow: StreamFollowArgs,

    #[command(flatten)]
    pub sinks: StreamSinkArgs,

    #[command(flatten)]
    pub rpc_tuning: RpcTuning,
}

#[derive(Debug, Args)]
pub struct StreamEvmArgs {
    /// JSON-RPC endpoint (HTTP or HTTPS).
    #[arg(
        long,
        env = "LEDGERFLOW_RPC",
        default_value = "http://127.0.0.1:8545",
        help_heading = "Source"
    )]
    pub rpc: String,

    /// Tables, comma-separated, or `all` (blocks is always written: it carries the hashes
    /// the stream checks).
    #[arg(
        short,
        long,
        default_value = "all",
        value_delimiter = ',',
        help_heading = "Source"
    )]
    pub tables: Vec<String>,

    /// Trace API: `auto`, `parity` or `geth`.
    #[arg(long, default_value = "auto", help_heading = "Source")]
    pub traces: String,

    /// Chain folder / dataset name (default: the chain's name from eth_chainId).
    #[arg(long, help_heading = "Source")]
    pub chain_name: Option<String>,

    /// Also subscribe to new heads over the node's WebSocket (`eth_subscribe newHeads`) to
    /// wake up as soon as a block arrives; polling still decides everything. `--ws` alone
    /// derives the URL from --rpc (http → ws, as anvil, geth and reth serve both on one
    /// port); `--ws URL` names it.
    #[arg(long, num_args = 0..=1, default_missing_value = "auto", value_name = "URL", help_heading = "Source")]
    pub ws: Option<String>,

    /// Block at which token metadata is read with eth_call: `creation` (the default here:
    /// the same answer however the blocks are grouped into events), `chunk-end`, `latest`.
    #[arg(long, default_value = "creation", help_heading = "Source")]
    pub token_block: String,

    /// One eth_call per token function instead of batched calls (see `export evm`).
    #[arg(long, help_heading = "Source")]
    pub direct_token_calls: bool,

    #[command(flatten)]
    pub follow: StreamFollowArgs,

    #[command(flatten)]
    pub sinks: StreamSinkArgs,

    #[command(flatten)]
    pub rpc_tuning: RpcTuning,
}

/// How a stream follows the chain (`stream evm` and `stream bitcoin`).
#[derive(Debug, Args)]
pub struct StreamFollowArgs {
    /// Where a sink without a checkpoint starts: a block number, `-N` (N below the head),
    /// `latest` (the head). A lake with chunk files continues after its last chunk.
    #[arg(
        long,
        default_value = "latest",
        allow_hyphen_values = true,
        help_heading = "Following"
    )]
    pub start: String,

    /// Blocks deeper than this below the tip are final (immutable; 0 allowed).
    #[arg(long, default_value_t = 12, help_heading = "Following")]
    pub confirmations: u64,

    /// Wait between polls at the tip (e.g. 500ms, 2s).
    #[arg(long, default_value = "1s", value_parser = parse_duration, help_heading = "Following")]
    pub poll_interval: std::time::Duration,

    /// At most this many blocks per event while catching up.
    #[arg(long, default_value_t = 100, help_heading = "Following")]
    pub max_blocks_per_event: u64,

    /// Stop once every sink is at the node's head (a catch-up run).
    #[arg(long, help_heading = "Following")]
    pub until_head: bool,

    /// Stop once every sink holds this block.
    #[arg(long, help_heading = "Following")]
    pub stop_at: Option<u64>,

    /// Give up after this many failed attempts in a row (default: retry forever, with
    /// backoff up to 30 s; /health reports the failure).
    #[arg(long, help_heading = "Following")]
    pub max_retries: Option<u64>,
}

/// The sinks of a stream and the operations endpoint.
#[derive(Debug, Args)]
pub struct StreamSinkArgs {
    /// PostgreSQL sink: connection URL.
    #[arg(long, env = "LEDGERFLOW_STREAM_POSTGRES", help_heading = "Sinks")]
    pub postgres: Option<String>,

    /// PostgreSQL schema (default: crypto_<chain>).
    #[arg(long, help_heading = "Sinks")]
    pub pg_schema: Option<String>,

    /// NATS sink: server URL.
    #[arg(long, env = "LEDGERFLOW_STREAM_NATS", help_heading = "Sinks")]
    pub nats: Option<String>,

    /// NATS subject prefix (default: ledgerflow.<chain>).
    #[arg(long, help_heading = "Sinks")]
    pub nats_prefix: Option<String>,

    /// JetStream stream name (default: LEDGERFLOW_<CHAIN>).
    #[arg(long, help_heading = "Sinks")]
    pub nats_stream: Option<String>,

    /// JetStream de-duplication window when the stream is created.
    #[arg(long, default_value = "10m", value_parser = parse_duration, help_heading = "Sinks")]
    pub nats_dedup_window: std::time::Duration,

    /// Lake sink: the lake folder.
    #[arg(short = 'o', long = "lake", alias = "output", help_heading = "Sinks")]
    pub lake: Option<PathBuf>,

    /// Lake: blocks per chunk file.
    #[arg(long, default_value_t = 1000, help_heading = "Sinks")]
    pub chunk_size: u64,

    /// Lake: zstd level.
    #[arg(long, default_value_t = 3, help_heading = "Sinks")]
    pub zstd_level: i32,

    /// Name of this stream's checkpoints (several streams can share a database or bucket).
    #[arg(long, default_value = "default", help_heading = "Sinks")]
    pub name: String,

    /// Serve /metrics (Prometheus) and /health on this address (e.g. 127.0.0.1:9184).
    #[arg(long, help_heading = "Operations")]
    pub metrics_addr: Option<String>,
}

/// Parses `500ms`, `2s`, `1.5s`, `10m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 2s, 10m)"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A Bitcoin-family node: chain, network, RPC authentication and block fetching
/// (`export bitcoin`, `stream bitcoin`).
#[derive(Debug, Args)]
pub struct BtcNodeArgs {
    /// Chain: bitcoin, litecoin, bitcoin_cash, dogecoin, dash, zcash.
    #[arg(long, default_value = "bitcoin", help_heading = "Source")]
    pub chain: String,

    /// Network: main, test, signet or regtest.
    #[arg(long, default_value = "main", help_heading = "Source")]
    pub network: String,

    /// Bitcoin Core cookie file for RPC authentication (`<datadir>/.cookie`).
    #[arg(long, help_heading = "Source")]
    pub rpc_cookie: Option<PathBuf>,

    /// RPC user (or in the URL).
    #[arg(long, env = "LEDGERFLOW_RPC_USER", help_heading = "Source")]
    pub rpc_user: Option<String>,

    /// RPC password (or in the URL).
    #[arg(
        long,
        env = "LEDGERFLOW_RPC_PASSWORD",
        hide_env_values = true,
        help_heading = "Source"
    )]
    pub rpc_password: Option<String>,

    /// How blocks are fetched over RPC: `raw` (getblock <hash> 0, decoded here: fastest),
    /// `verbose` (getblock <hash> 2, or getblock true + getrawtransaction on old-API chains),
    /// `auto` (raw where ledgerflow decodes the chain's blocks, verbose for dash and zcash).
    #[arg(long, default_value = "auto", help_heading = "Source")]
    pub rpc_mode: String,
}
