//! `ledgerflow schema`.

use clap::Args;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Chain family: evm (crypto_ethereum tables) or bitcoin (crypto_bitcoin tables).
    #[arg(long, default_value = "evm")]
    pub family: String,
    /// Tables to show (default: all).
    #[arg(value_delimiter = ',')]
    pub tables: Vec<String>,
}
