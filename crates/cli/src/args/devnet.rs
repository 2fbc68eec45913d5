//! `ledgerflow demo` and `ledgerflow devnet run|litecoin`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    /// Give entities roles: 3 miners, 3 exchanges (fresh deposit addresses swept into a
    /// hot wallet, batched withdrawals), 3 gambling services (small round bets, quick
    /// payouts), 6 CoinJoin participants; the rest ordinary users.
    #[arg(long)]
    pub roles: bool,
    /// With --roles: write every address with its entity's role here, as a label file
    /// for `ledgerflow labels import` (address,category,source).
    #[arg(long, requires = "roles")]
    pub roles_file: Option<PathBuf>,
    /// Write what each transaction was here (`txid,action` CSV: payment_with_change,
    /// consolidation, coinjoin, peel_chain, fanout, funding_fanout, …): the
    /// transaction-level ground truth for `gnn train --task anomaly --level transaction`.
    #[arg(long)]
    pub actions_file: Option<PathBuf>,
    /// Stop the node (cleanly, flushing its block files) after generating instead of
    /// serving until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}
