//! `ledgerflow features`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Actor level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeatureLevel {
    /// One row per address.
    Address,
    /// One row per entity (UTXO chains: multi-input clustering of the chain up to the
    /// window end, CoinJoins excluded).
    Entity,
}

/// Which list `--describe` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeatureKind {
    /// Bitcoin-family chains.
    Utxo,
    /// Account chains (EVM).
    Evm,
    /// Both.
    All,
}

/// Actor features per time window, from the lake, into a Parquet file.
///
/// One row per actor active in a window: counts (transactions, counterparties,
/// addresses), values (received, sent, balance; min/max/mean/median/std of amounts;
/// round-amount shares), time (age, active days, inter-transaction gaps, burstiness,
/// hour and weekday profile), structure (degree ratios, fan-in/fan-out, self-churn,
/// address reuse, script types, coinbase share, CoinJoin participation, peel chains) and
/// neighbourhood (PageRank, components, counterparties' means, shares of labelled
/// counterparties per category). Account chains add gas and fees, contract calls,
/// failed transactions and tokens. `--describe` prints every column with its definition;
/// the file carries the same in its metadata, with the windows and the Merkle root of
/// the lake chunks read (what `model train` records and `model verify` re-checks).
///
/// A window (until − window, until] covers whole blocks: the chain up to the last block
/// before the first one stamped after its end. Nothing after the end is read: the
/// ledger is loaded up to that block, and history features (balance, age, totals) look
/// back from the end. With --windows N, N windows ending at until, until − step, …
///
/// With an `address_labels` table in the lake (`ledgerflow labels import`), a `label`
/// column (the actor's category; an entity takes the most frequent label of its
/// addresses), `label_source` (a group column for splits) and neighbour label shares
/// are added; --no-labels leaves all out, --no-label-features the shares only.
///
/// Examples:
///   ledgerflow features --lake lake --chain litecoin-regtest --level entity --window 30d -o f.parquet
///   ledgerflow features --lake lake --chain anvil --level address --window 7d --until 2024-03-31 -o evm.parquet
///   ledgerflow features --lake lake --chain bitcoin --window 1d --windows 30 -o daily.parquet
///   ledgerflow features --describe
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct FeaturesArgs {
    /// The lake.
    #[arg(short, long, default_value = "lake")]
    pub lake: PathBuf,
    /// Chain folder of the lake.
    #[arg(long, required_unless_present = "describe")]
    pub chain: Option<String>,
    /// Actors: addresses or entities.
    #[arg(long, value_enum, default_value_t = FeatureLevel::Address)]
    pub level: FeatureLevel,
    /// Window length: a number and a unit (s, m, h, d, w).
    #[arg(long, default_value = "30d")]
    pub window: String,
    /// End of the (last) window, inclusive: YYYY-MM-DD (the end of that day, UTC),
    /// YYYY-MM-DDTHH:MM[:SS] or Unix seconds. Default: the time of the last block.
    #[arg(long)]
    pub until: Option<String>,
    /// Read no block above this number, whatever the windows' times (blocks can share a
    /// timestamp); with no --until the last window ends at this block's time.
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Number of windows.
    #[arg(long, default_value_t = 1)]
    pub windows: usize,
    /// Time between the ends of consecutive windows (default: the window length).
    #[arg(long)]
    pub step: Option<String>,
    /// Leave labels out (no label column, no label shares).
    #[arg(long)]
    pub no_labels: bool,
    /// Keep the label columns but compute no feature from labels (no neighbour label
    /// shares): for evaluating look-alikes, where labels of held-out actors must not
    /// reach the features.
    #[arg(long)]
    pub no_label_features: bool,
    /// Threads (0: one per core). The output is identical for any count.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output file (Parquet).
    #[arg(short, long, required_unless_present = "describe")]
    pub output: Option<PathBuf>,
    /// Print every column with its family and definition, and exit.
    #[arg(long)]
    pub describe: bool,
    /// With --describe: which chain kind's columns.
    #[arg(long, value_enum, default_value_t = FeatureKind::All)]
    pub kind: FeatureKind,
}
