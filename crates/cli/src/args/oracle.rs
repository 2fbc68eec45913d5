//! `ledgerflow oracle …`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum OracleCommand {
    /// Deploy the oracle contracts (registry, licence NFT, oracle) and authorise workers.
    ///
    /// Prints the addresses (and writes them with -o as JSON). Later commands need only
    /// --oracle: the registry is read from it.
    ///
    /// Examples:
    ///   ledgerflow oracle deploy --rpc http://127.0.0.1:8545 --key-file owner.key -o oracle.json
    ///   ledgerflow oracle deploy --key-file owner.key --worker 0x70997970c51812dc3a010c7d01b50e0d17dc79c8
    #[command(verbatim_doc_comment)]
    Deploy(OracleDeployArgs),
    /// Register a dataset (lake chunks of a block range) or a model on the registry.
    #[command(subcommand)]
    Register(OracleRegisterCommand),
    /// Make a request from the command line (the callback is your own address unless
    /// --callback names a contract) and, with --wait, print the result once fulfilled.
    ///
    /// Jobs and their parameters:
    ///   sql    --template NAME --dataset ROOT [--arg NAME=VALUE | VALUE]...
    ///          (templates: avg_gas_price, max_gas_price, tx_count, sent_count, and those
    ///          of the worker's --templates file)
    ///   score  --model HASH --account ADDR [--class C]   (probability × 10^6)
    ///
    /// Examples:
    ///   ledgerflow oracle request --oracle 0x… --key-file me.key --job sql \
    ///       --template avg_gas_price --dataset 0x… --arg from_block=0 --arg to_block=99 --wait
    ///   ledgerflow oracle request --oracle 0x… --key-file me.key --job score \
    ///       --model 0x… --account 0x… --wait
    #[command(verbatim_doc_comment)]
    Request(OracleRequestArgs),
    /// Run the worker: follow the chain (reorg-safe), record requests in PostgreSQL, run
    /// their jobs over the lake and deliver results with their hashes.
    ///
    /// Requests survive restarts (idempotent by request id; the blocks missed while down
    /// are read from the checkpoint on). A request whose block leaves the chain is
    /// dropped; a fulfilment whose block leaves it is sent again. Transactions are signed
    /// here (EIP-1559) with nonces kept in PostgreSQL, sent again when the node forgets
    /// them and replaced with higher fees when they wait too long.
    ///
    /// The key file must be private (mode 0600); the key is never printed.
    ///
    /// Examples:
    ///   ledgerflow oracle run --rpc http://127.0.0.1:8545 --oracle 0x… --key-file worker.key \
    ///       --lake lake --postgres postgres://127.0.0.1/oracle --confirmations 2 --models models/
    #[command(verbatim_doc_comment)]
    Run(OracleRunArgs),
    /// Recompute a fulfilment from its recorded dataset root, model hash and parameters
    /// and say whether it matches (exit 0) or what differs (exit 1).
    ///
    /// Example:
    ///   ledgerflow oracle verify --rpc http://127.0.0.1:8545 --oracle 0x… --request 0x… --lake lake
    #[command(verbatim_doc_comment)]
    Verify(OracleVerifyArgs),
    /// Requests and their states, as the worker recorded them in PostgreSQL.
    Status(OracleStatusArgs),
}

#[derive(Debug, Subcommand)]
pub enum OracleRegisterCommand {
    /// Register the lake chunks of a chain and block range as a dataset: their Merkle
    /// root (every table's chunks wholly inside the range, `ledgerflow lake hash`).
    ///
    /// Example:
    ///   ledgerflow oracle register dataset --oracle 0x… --key-file me.key --lake lake \
    ///       --chain anvil --blocks 0:999
    #[command(verbatim_doc_comment)]
    Dataset(OracleRegisterDatasetArgs),
    /// Register a model folder (model.lfm and manifest.json): its SHA-256, its manifest's
    /// SHA-256, the lake root of its feature table (registered as a dataset first when
    /// new) and an optional licence (a LicenceNFT address and licence id: then only
    /// holders may request it).
    ///
    /// Example:
    ///   ledgerflow oracle register model --oracle 0x… --key-file me.key --model models/risk
    #[command(verbatim_doc_comment)]
    Model(OracleRegisterModelArgs),
}

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The node's JSON-RPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8545", env = "LEDGERFLOW_RPC")]
    pub rpc: String,
}

#[derive(Debug, Args)]
pub struct OracleDeployArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// The deployer's key file (mode 0600): it owns the oracle and the licence NFT.
    #[arg(long)]
    pub key_file: PathBuf,
    /// Worker addresses to authorise (default: the deployer's).
    #[arg(long = "worker")]
    pub workers: Vec<String>,
    /// Write the addresses here as JSON.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OracleRegisterDatasetArgs {
    #[command(flatten)]
    pub chain_rpc: ChainArgs,
    /// The oracle contract (its registry is used).
    #[arg(long)]
    pub oracle: String,
    #[arg(long)]
    pub key_file: PathBuf,
    #[arg(short, long, default_value = "lake")]
    pub lake: PathBuf,
    /// Chain folder of the lake (default: the lake's only chain).
    #[arg(long)]
    pub chain: Option<String>,
    /// Block range `A:B` (inclusive); chunks wholly inside it are the dataset.
    #[arg(long)]
    pub blocks: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OracleRegisterModelArgs {
    #[command(flatten)]
    pub chain_rpc: ChainArgs,
    #[arg(long)]
    pub oracle: String,
    #[arg(long)]
    pub key_file: PathBuf,
    /// The model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// A LicenceNFT contract: only holders of --licence-id may request the model.
    #[arg(long)]
    pub licence: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub licence_id: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OracleRequestArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[arg(long)]
    pub oracle: String,
    #[arg(long)]
    pub key_file: PathBuf,
    /// The job: sql, score, gnn-score (a registered GNN model's score; --model, --account) or
    /// train.
    #[arg(long)]
    pub job: String,
    /// sql: the query template.
    #[arg(long)]
    pub template: Option<String>,
    /// sql, train: the registered dataset root.
    #[arg(long)]
    pub dataset: Option<String>,
    /// train: the algorithm (forest or gbt).
    #[arg(long, default_value = "forest")]
    pub algo: String,
    /// train: trees (forest) or boosting rounds (gbt).
    #[arg(long, default_value_t = 100)]
    pub trees: u64,
    /// train: the seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// sql: a template argument, `NAME=VALUE` or positional (repeat).
    #[arg(long = "arg")]
    pub args: Vec<String>,
    /// sql: a JSON file of extra templates (as the worker's --templates).
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// score: the model hash (SHA-256 of model.lfm).
    #[arg(long)]
    pub model: Option<String>,
    /// score: the address to score.
    #[arg(long)]
    pub account: Option<String>,
    /// score: the class whose probability is asked for (default: the model's last).
    #[arg(long)]
    pub class: Option<String>,
    /// Payment in wei.
    #[arg(long, default_value_t = 0)]
    pub payment: u128,
    /// Seconds until the request expires.
    #[arg(long, default_value_t = 3600)]
    pub expiry: u64,
    /// Callback contract (default: your own address, which accepts any call).
    #[arg(long)]
    pub callback: Option<String>,
    /// Callback function signature, e.g. `onResult(bytes32,bytes)`.
    #[arg(long, default_value = "onResult(bytes32,bytes)")]
    pub selector: String,
    /// Wait for the fulfilment and print it.
    #[arg(long)]
    pub wait: bool,
    /// Seconds to wait with --wait.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OracleRunArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[arg(long)]
    pub oracle: String,
    /// The worker's key file (mode 0600; refused otherwise).
    #[arg(long)]
    pub key_file: PathBuf,
    #[arg(short, long, default_value = "lake")]
    pub lake: PathBuf,
    /// PostgreSQL URL for the worker's requests and checkpoint.
    #[arg(long, env = "LEDGERFLOW_POSTGRES")]
    pub postgres: String,
    /// Blocks below the tip that count as final.
    #[arg(long, default_value_t = 2)]
    pub confirmations: u64,
    /// Model folders (each with model.lfm and manifest.json) for `score` requests; the
    /// `train` job writes its models here (`<DIR>/<sha-256>/`), so it needs one.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Extra query templates (JSON) for `sql` requests.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// First block to read when there is no checkpoint (default: the oracle's deployment
    /// block).
    #[arg(long)]
    pub start_block: Option<u64>,
    /// Milliseconds between polls when idle.
    #[arg(long, default_value_t = 250)]
    pub poll_ms: u64,
    /// Seconds before an unmined transaction is sent again or replaced.
    #[arg(long, default_value_t = 15)]
    pub resend_after: u64,
    /// Fee increase of a replacement transaction, percent.
    #[arg(long, default_value_t = 15)]
    pub bump_percent: u32,
    /// Highest max fee per gas (gwei).
    #[arg(long, default_value_t = 500)]
    pub max_fee_gwei: u64,
    /// Also serve the requests of this Chainlink Operator (Chainlink's own contract; the
    /// worker's address must be one of its authorised senders): spec ids are ledgerflow
    /// job ids, CBOR parameters `template`, `dataset` and the template's arguments (sql)
    /// or `model`, `account`, `class` (score); answered with fulfillOracleRequest2.
    #[arg(long)]
    pub chainlink_operator: Option<String>,
    /// Serve /metrics and /health here (e.g. 127.0.0.1:9102).
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// Stop when no request is open and the chain is followed to its head (tests, demos).
    #[arg(long)]
    pub until_idle: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    pub max_seconds: Option<u64>,
}

#[derive(Debug, Args)]
pub struct OracleVerifyArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[arg(long)]
    pub oracle: String,
    /// The request id.
    #[arg(long)]
    pub request: String,
    #[arg(short, long, default_value = "lake")]
    pub lake: PathBuf,
    #[arg(long)]
    pub models: Option<PathBuf>,
    #[arg(long)]
    pub templates: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OracleStatusArgs {
    #[arg(long)]
    pub oracle: String,
    #[arg(long, env = "LEDGERFLOW_POSTGRES")]
    pub postgres: String,
    /// One request, in full.
    #[arg(long)]
    pub request: Option<String>,
    /// Most recent requests to list.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}
