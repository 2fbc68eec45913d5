//! `ledgerflow taint`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Trace how value from seeds disperses through a UTXO chain's spend graph.
///
/// Seeds (--seed, repeatable): an outpoint TXID:N, a transaction TXID (all its outputs)
/// or an address (every output paying it); FAMILY=SEED puts seeds into named families,
/// each traced on its own (default family: seed). Models:
///   poison   every output of a transaction with a tainted input is fully tainted
///   haircut  taint spread over a transaction's value in proportion (exact integers)
///   fifo     inputs' value in input order, outputs take it in output order
///   lifo     the same, last input first
///   tiho     taint in, highest out: the taint fills the largest outputs first
/// Transactions are processed in chain order (outputs spent in the same block in
/// transaction order). Fees take their share of taint unless --no-fee. Tables:
/// taint_outputs, taint_addresses, taint_entities (exposure per entity of
/// `entities build`), taint_summary. total_tainted is the taint held in outputs unspent at
/// the height bound (for poison: their whole value), in base units.
///
/// Examples:
///   ledgerflow taint -l lake --chain bitcoin-regtest --seed 4fc2…7b:0 --model haircut
///   ledgerflow taint -l lake --chain litecoin-regtest --seed hack=TXID --seed ransom=ADDR --model fifo --format json
///   ledgerflow taint -l lake --chain bitcoin-regtest --seed TXID:1 --model poison --max-height 196 --plot taint.svg
///
/// Account (EVM) chains: seeds are transaction hashes (the value they move) or addresses
/// (what they receive); --model haircut (share of the balance) or fifo (oldest lot
/// first), for ether and --token; table taint_accounts.
///
/// Exit codes: 0 done, 2 bad seed, unknown chain, lake without enriched inputs.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TaintArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder.
    #[arg(long)]
    pub chain: String,
    /// A seed: [FAMILY=]TXID:N, [FAMILY=]TXID or [FAMILY=]ADDRESS (repeatable).
    #[arg(long = "seed", required = true)]
    pub seeds: Vec<String>,
    /// The taint model.
    #[arg(long, value_enum, default_value_t = ModelArg::Haircut)]
    pub model: ModelArg,
    /// Follow spends up to this block.
    #[arg(long)]
    pub max_height: Option<i64>,
    /// Drop taint below this many base units from an output.
    #[arg(long, default_value_t = 0)]
    pub min_value: u64,
    /// Fees carry no taint.
    #[arg(long)]
    pub no_fee: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = TaintFormat::Text)]
    pub format: TaintFormat,
    /// Account (EVM) chains: also trace this token (its contract address).
    #[arg(long)]
    pub token: Option<String>,
    /// Draw the taint per hop and the most exposed entities to FILE.svg or FILE.png.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    Poison,
    Haircut,
    Fifo,
    Lifo,
    Tiho,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TaintFormat {
    Text,
    Json,
}
