//! Node connection flags shared by exports and streams: JSON-RPC tuning and a
//! Bitcoin-family node.

use std::path::PathBuf;

use clap::Args;

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
