//! `ledgerflow labels import`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Import public labels of addresses into the lake's `address_labels` table.
    ///
    /// Files: CSV with a header naming `address` and `category` (optional `source`,
    /// `confidence` in [0, 1] or a percentage, `label`), or GraphSense TagPacks (`.yaml`,
    /// `.yml`: header fields such as category, source and currency are inherited by every
    /// tag). Categories are lower-cased; EVM addresses lower-cased.
    ///
    /// Labels for addresses the chain does not have are kept (`known = false`), counted
    /// and listed, not fatal. Where `entities build` has run, every label carries its
    /// entity and `entity_labels` holds one row per labelled entity: its majority
    /// category and, when its addresses disagree, the conflict (reported here too).
    /// Imports add to the labels already there (same address, category and source:
    /// replaced); --replace starts afresh. A file that cannot be read writes nothing.
    ///
    /// SQL sees both tables: crypto_<chain>.address_labels, crypto_<chain>.entity_labels.
    /// `ledgerflow features` adds a `label` column and neighbour label shares from them,
    /// and `entities build --guard-labels` refuses merges of differently labelled
    /// clusters.
    ///
    /// Examples:
    ///   ledgerflow labels import --lake lake --chain litecoin-regtest roles.csv
    ///   ledgerflow labels import --lake lake --chain bitcoin tagpacks/*.yaml --replace
    #[command(verbatim_doc_comment)]
    Import(LabelsImportArgs),
}

#[derive(Debug, Args)]
pub struct LabelsImportArgs {
    /// The lake.
    #[arg(short, long, default_value = "lake")]
    pub lake: PathBuf,
    /// Chain folder of the lake (default: the lake's only chain).
    #[arg(long)]
    pub chain: Option<String>,
    /// Drop the labels already in the lake first.
    #[arg(long)]
    pub replace: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Label files (CSV or TagPack YAML).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}
