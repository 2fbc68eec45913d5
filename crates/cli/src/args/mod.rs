//! Command-line arguments (clap derive), one file per command family; the top-level
//! command tree and the global flags are here. Raw flags are turned into validated
//! settings before any I/O happens (in the command modules).

mod bench;
mod devnet;
mod entities;
mod export;
mod features;
mod gnn;
mod graph;
mod labels;
mod lake;
mod load;
mod model;
mod node;
pub mod oracle;
mod schema;
mod sql;
mod stream;
mod taint;

pub use bench::*;
pub use devnet::*;
pub use entities::*;
pub use export::*;
pub use features::*;
pub use gnn::*;
pub use graph::*;
pub use labels::*;
pub use lake::*;
pub use load::*;
pub use model::*;
pub use node::*;
pub use schema::*;
pub use sql::*;
pub use stream::*;
pub use taint::*;

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
    /// Entities of a UTXO chain: address clustering (multi-input, CoinJoin rules, change
    /// heuristics, a super-cluster guard) into lake tables, and why two addresses are one
    /// entity.
    #[command(subcommand)]
    Entities(EntitiesCommand),
    /// Address and entity transaction graphs: build them into the lake, then PageRank,
    /// degrees, components, betweenness, k-hop neighbourhoods, paths, exports.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Trace how value from seed outputs, transactions or addresses disperses (poison,
    /// haircut, FIFO, LIFO, TIHO) into lake tables.
    Taint(TaintArgs),
    /// Actor features per time window from the lake (addresses or entities; 100+
    /// documented columns) into a Parquet file for the tree models.
    Features(FeaturesArgs),
    /// Public labels of addresses (CSV, GraphSense TagPacks) into the lake, propagated
    /// to entities with conflicts reported.
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Tree models on feature tables: train (random forest, gradient boosting), predict
    /// look-alikes, evaluate on temporal or group-disjoint splits, inspect, verify.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Graph learning on an edge list or a lake graph: GCN, GraphSAGE and GAT node
    /// classification, embeddings, link and sign prediction, anomaly scores, WL
    /// neighbourhood features (seeded, content-hashed model files with a manifest).
    #[command(subcommand)]
    Gnn(GnnCommand),
    /// Actors whose neighbourhoods look like ADDRESS's: Weisfeiler-Lehman subtree
    /// signatures of every node's k-hop neighbourhood (labels: address kind, degree and
    /// value buckets), ranked by the normalised WL kernel.
    ///
    ///   ledgerflow similar --lake lake --chain bitcoin bc1q… --top 20
    Similar(SimilarArgs),
    /// Lake maintenance: check consistency, compact, convert to Delta, hash the chunks.
    #[command(subcommand)]
    Lake(LakeCommand),
    /// The oracle: contracts ask for SQL aggregates over the lake or model scores; a
    /// worker computes them and delivers them on chain with the dataset root, model hash
    /// and code version, so anyone can verify them.
    #[command(subcommand)]
    Oracle(oracle::OracleCommand),
    /// Print the schema of every table (the table contract).
    Schema(SchemaArgs),
    /// Measurement helpers used by the scripts in bench/.
    #[command(subcommand)]
    Bench(BenchCommand),
}
