//! `ledgerflow stream evm|bitcoin`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::node::{BtcNodeArgs, RpcTuning};

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
