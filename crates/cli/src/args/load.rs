//! `ledgerflow load postgres`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Load the lake's Parquet chunks into PostgreSQL.
    ///
    /// Each chain folder becomes a schema named like its SQL dataset (crypto_anvil,
    /// crypto_litecoin_regtest), each table a table created with exact types: NUMERIC(78,0)
    /// for 256-bit values, NUMERIC(29,0) for satoshi amounts, TEXT for hashes and addresses
    /// (the lake's lower-case hex), TIMESTAMPTZ, TEXT[] for address lists, JSONB for nested
    /// inputs/outputs/withdrawals; keys and indexes as ethereum-etl's Postgres schema. Rows
    /// go in with binary COPY, one transaction per chunk file: its block range is deleted
    /// and reloaded and the chunk recorded (with the file's SHA-256) in
    /// <schema>.ledgerflow_chunks before the commit. A rerun loads nothing twice; a chunk
    /// whose file changed is replaced; an interrupted load leaves each chunk fully loaded
    /// or not at all.
    ///
    /// Examples:
    ///   ledgerflow load postgres --url postgres://postgres@127.0.0.1:5432/chain -l lake
    ///   ledgerflow load postgres --url $DATABASE_URL --chain anvil -t blocks,transactions
    ///
    /// Exit codes: 0 done, 2 nothing or only part loaded (the error names chunk and table).
    #[command(verbatim_doc_comment)]
    Postgres(LoadPostgresArgs),
}

#[derive(Debug, Args)]
pub struct LoadPostgresArgs {
    /// The database: postgres://user[:password]@host[:port]/database.
    #[arg(long, env = "DATABASE_URL")]
    pub url: String,
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only these chain folders (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub chain: Vec<String>,
    /// Only these tables (comma-separated).
    #[arg(short, long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Reload every chunk, even those already loaded from the same file.
    #[arg(long)]
    pub force: bool,
    /// Print the load report as JSON.
    #[arg(long)]
    pub json: bool,
}
