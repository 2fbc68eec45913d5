//! `ledgerflow bench`: the measurement helpers of `bench/`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    /// Multi-input clustering throughput on synthetic input lists (written as Parquet for
    /// the peer with --write), optionally checked against the peer's partition.
    Cluster(BenchClusterArgs),
    /// PageRank seconds per iteration on a synthetic graph (written as Parquet for the
    /// peer with --write).
    Pagerank(BenchPagerankArgs),
    /// Write a synthetic UTXO lake (enriched transactions) for end-to-end runs of
    /// `entities build`, `graph` and `taint`.
    Lake(BenchLakeArgs),
    /// Prediction time of a model: every row of a feature table in one batch, and rows
    /// scored one at a time (the latency of a single request).
    Predict(BenchPredictArgs),
    /// The oracle on a local anvil chain: requests fulfilled per second and
    /// request-to-fulfilment latency (p50/p99) with 1, 10, 100 … requests outstanding, and
    /// the share of the worker's time spent in jobs versus the chain. Starts anvil (with a
    /// workload exported into a lake), deploys the contracts, runs a worker in-process;
    /// needs PostgreSQL (a fresh database `ledgerflow_bench_oracle` is made).
    Oracle(BenchOracleArgs),
}

#[derive(Debug, Args)]
pub struct BenchOracleArgs {
    /// Requests outstanding at once, one run each (comma-separated).
    #[arg(long, default_value = "1,10,100", value_delimiter = ',')]
    pub outstanding: Vec<usize>,
    /// Requests per run.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// The job: `sql` (tx_count over the lake) or `score` (a model's probability).
    #[arg(long, default_value = "sql")]
    pub job: String,
    /// PostgreSQL server (its `postgres` database; the benchmark makes its own).
    #[arg(
        long,
        env = "LEDGERFLOW_POSTGRES",
        default_value = "postgres://127.0.0.1:5432/postgres"
    )]
    pub postgres: String,
    /// Folder for the lake and the model.
    #[arg(long, default_value = "/tmp/lf-bench-oracle")]
    pub dir: PathBuf,
    /// Milliseconds between the worker's polls when idle.
    #[arg(long, default_value_t = 10)]
    pub poll_ms: u64,
    /// anvil binary.
    #[arg(long)]
    pub anvil: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchPredictArgs {
    /// The model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The feature table.
    #[arg(long)]
    pub features: PathBuf,
    /// The id column.
    #[arg(long)]
    pub id: String,
    /// Rows scored one at a time (on one thread).
    #[arg(long, default_value_t = 2000)]
    pub single: usize,
    /// Batch rounds (the fastest is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Threads of the batch (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct BenchClusterArgs {
    /// Transactions.
    #[arg(long, default_value_t = 10_000_000)]
    pub transactions: usize,
    /// Address ids.
    #[arg(long, default_value_t = 10_000_000)]
    pub addresses: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the input lists here (Parquet, one list<uint32> column `inputs`).
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Compare our partition with this one (Parquet, column `cluster_id`, one row per
    /// address id).
    #[arg(long)]
    pub check: Option<PathBuf>,
    /// Threads sharing the union-find (0: one per core). The partition and every entity
    /// id are the same for any count.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct BenchPagerankArgs {
    /// Nodes.
    #[arg(long, default_value_t = 2_000_000)]
    pub nodes: u32,
    /// Edges.
    #[arg(long, default_value_t = 10_000_000)]
    pub edges: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Iterations to time.
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Write the edges here (Parquet: src, dst uint32, weight float64).
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Threads (0: one per core); the fixed-iteration run is also timed on one thread.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct BenchLakeArgs {
    /// The lake folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Chain folder.
    #[arg(long, default_value = "synthetic")]
    pub chain: String,
    /// Transactions (coinbase not counted).
    #[arg(long, default_value_t = 1_000_000)]
    pub transactions: usize,
    /// Transactions per block.
    #[arg(long, default_value_t = 2_000)]
    pub per_block: usize,
    /// Blocks per chunk file.
    #[arg(long, default_value_t = 100)]
    pub chunk_size: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
