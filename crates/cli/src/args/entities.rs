//! `ledgerflow entities build|why`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum EntitiesCommand {
    /// Cluster a UTXO chain's addresses into entities, from the lake's transactions.
    ///
    /// Addresses get dense ids in order of first appearance (table `addresses`). Inputs
    /// spent together are joined (the multi-input heuristic; coinbase excluded), CoinJoins
    /// are detected and, by default, not merged (rules: whirlpool, wasabi2, wasabi1,
    /// equal-output (BlockSci), joinmarket; table `coinjoins`), change outputs are joined
    /// with their spender when --change names heuristics, and a union of two clusters both
    /// above --guard-size (or, with --guard-labels, two differently labelled ones) is
    /// refused. Every union and every refusal is recorded in
    /// `entity_merges` (what `entities why` reads); `address_entity` gives each address
    /// its entity (id: the smallest address id in it, stable across rebuilds); `entities`
    /// sums each entity up. All are tables of the chain folder: crypto_<chain>.entities in
    /// `ledgerflow sql`.
    ///
    /// A second build after new blocks landed extends the last one (same result as a
    /// build from scratch, which --rebuild forces).
    ///
    /// Account (EVM) chains: every address is an actor; --deposit joins deposit addresses
    /// to the hot wallet they forward to (after Victor 2020), for ether and --token.
    ///
    /// Change heuristics (comma-separated; all must agree unless --change-combine any):
    ///   optimal         smaller than the smallest input
    ///   address-type    the one script type of all the inputs
    ///   address-reuse   pays an input address back
    ///   fresh-address   first appearance of the address (alias client-behaviour)
    ///   power-of-ten[:D] not a multiple of 10^D satoshi (D = 6)
    ///   locktime        spent by a transaction with the same nLockTime habit
    ///   peeling-chain   continues a peeling chain
    ///   one-time        GraphSense's one-time change, with a confidence
    ///   legacy          BlockSci's legacy rule
    ///   spent, none
    ///
    /// Examples:
    ///   ledgerflow entities build --lake lake --chain bitcoin-regtest
    ///   ledgerflow entities build -l lake --chain litecoin-regtest --change optimal,address-type
    ///   ledgerflow entities build -l lake --chain bitcoin --coinjoin flag --guard-size 100000
    ///
    /// Exit codes: 0 done, 2 bad flags, no such chain, no enriched transactions (nothing
    /// written).
    #[command(verbatim_doc_comment)]
    Build(EntitiesBuildArgs),
    /// Explain why two addresses are in one entity: the chain of transactions and
    /// heuristics between them (or say that they are apart).
    ///
    /// Examples:
    ///   ledgerflow entities why -l lake --chain bitcoin-regtest mokMSp4x… mhULRhVh…
    ///   ledgerflow entities why -l lake --chain bitcoin-regtest A B --format json
    ///
    /// Exit codes: 0 answered (together or apart), 2 unknown address, one address twice,
    /// no build yet.
    #[command(verbatim_doc_comment)]
    Why(EntitiesWhyArgs),
}

#[derive(Debug, Args)]
pub struct EntitiesBuildArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder (bitcoin-regtest, litecoin-regtest, bitcoin, …).
    #[arg(long)]
    pub chain: String,
    /// What to do with detected CoinJoins: exclude (keep their inputs apart), include (no
    /// detection: merge like any transaction), flag (detect and list, but merge).
    #[arg(long, value_enum, default_value_t = CoinJoinArg::Exclude)]
    pub coinjoin: CoinJoinArg,
    /// Change heuristics, comma-separated (see above); none by default.
    #[arg(long, default_value = "none")]
    pub change: String,
    /// How several change heuristics combine: all (intersection) or any (union).
    #[arg(long, value_enum, default_value_t = CombineArg::All)]
    pub change_combine: CombineArg,
    /// Change picks with a lower confidence are not merged (recorded as refused).
    #[arg(long, default_value_t = 0.0)]
    pub change_min_confidence: f64,
    /// Refuse a union of two clusters that both have more addresses than this.
    #[arg(long)]
    pub guard_size: Option<u32>,
    /// Refuse a union of two clusters whose addresses carry different labels (the
    /// lake's address_labels, from `ledgerflow labels import`); recorded in
    /// entity_merges as refused-labels.
    #[arg(long)]
    pub guard_labels: bool,
    /// Cluster from scratch even where the last build could be extended.
    #[arg(long)]
    pub rebuild: bool,
    /// EVM chains: join deposit addresses to the hot wallet they forward to (an address
    /// that forwards what it receives to one address within --deposit-max-delay blocks,
    /// once that address collects from --deposit-min-count of them).
    #[arg(long, help_heading = "Account chains (EVM)")]
    pub deposit: bool,
    /// Most blocks between receiving and forwarding.
    #[arg(long, default_value_t = 100, help_heading = "Account chains (EVM)")]
    pub deposit_max_delay: i64,
    /// Least share of what it received a deposit address forwards.
    #[arg(long, default_value_t = 0.9, help_heading = "Account chains (EVM)")]
    pub deposit_min_share: f64,
    /// Least deposit addresses of one hot wallet.
    #[arg(long, default_value_t = 2, help_heading = "Account chains (EVM)")]
    pub deposit_min_count: usize,
    /// Also this token's transfers (its contract address).
    #[arg(long, help_heading = "Account chains (EVM)")]
    pub token: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CoinJoinArg {
    Exclude,
    Include,
    Flag,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CombineArg {
    All,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WhyFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct EntitiesWhyArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder.
    #[arg(long)]
    pub chain: String,
    /// The two addresses.
    #[arg(num_args = 2, required = true, value_names = ["A", "B"])]
    pub addresses: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = WhyFormat::Text)]
    pub format: WhyFormat,
}
