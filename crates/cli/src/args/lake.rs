//! `ledgerflow lake check|compact|convert`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Verify the lake the way blockchain-etl's verify step does: every chunk readable, no
    /// overlapping (duplicate) chunks, no gaps, every table covering the same blocks as
    /// `blocks`, one blocks row per block, and counts that agree across tables chunk by
    /// chunk: sum(blocks.transaction_count) = transactions (and receipts) rows; EVM:
    /// top-level traces = transactions; Bitcoin family: sum(input_count) = inputs rows,
    /// sum(output_count) = outputs rows. Tables with a Delta log: the log lists exactly
    /// the folder's chunks, with their current sizes.
    ///
    /// Exit codes: 0 consistent, 1 problems found (listed), 2 the lake cannot be read.
    #[command(verbatim_doc_comment)]
    Check(LakeCheckArgs),
    /// Merge small adjacent chunk files into larger ones (Parquet only).
    ///
    /// Chunks are merged within aligned windows of --target-blocks blocks, where they are
    /// contiguous, into one file named by the union of their ranges; rows and their order
    /// are kept. The merged file is renamed into place before the old ones are removed; an
    /// interrupted compaction leaves chunks inside the merged one, which SQL, load and
    /// export skip and the next compaction removes. Exports keep resuming: a chunk covered
    /// by a merged file counts as done. In a Delta table each merge is one commit (the
    /// merged file added, its parts removed) made before the parts are deleted.
    ///
    /// Examples:
    ///   ledgerflow lake compact -l lake --target-blocks 100000
    ///   ledgerflow lake compact -l lake --chain anvil --table logs --dry-run
    #[command(verbatim_doc_comment)]
    Compact(LakeCompactArgs),
    /// Make the lake's tables Delta Lake tables (or bring their logs up to date).
    ///
    /// Each table folder gets a _delta_log/ that lists its Parquet chunks as the table's
    /// data files, with row counts and per-column bounds (block numbers, timestamps,
    /// values) so readers skip chunks; the chunk files stay where they are, so the folder
    /// is still a plain Parquet dataset for ledgerflow and every other reader. Spark,
    /// Trino, Databricks, DuckDB (delta_scan), delta-rs/Polars and BigQuery (BigLake) read
    /// it as a Delta table. Each table changes in one commit: chunks added, rewritten
    /// chunks re-added, merged or removed chunks removed; a table already in line gets no
    /// commit. `export --format delta` keeps the logs current chunk by chunk, and `lake
    /// compact` records each merge as one commit.
    ///
    /// Examples:
    ///   ledgerflow lake convert -l lake
    ///   ledgerflow lake convert -l lake --chain anvil --table blocks,transactions --json
    #[command(verbatim_doc_comment)]
    Convert(LakeConvertArgs),
    /// The Merkle root of a chain's chunk files: what training manifests record so a
    /// model can be checked against the data it was made from.
    ///
    /// Each chunk's SHA-256; a leaf per chunk of SHA-256(0x00 chain 0x00 table 0x00
    /// start end chunk-hash), leaves in (table, block range) order, inner nodes
    /// SHA-256(0x01 left right), an unpaired node carried up. Only the chunks readers see
    /// are hashed (docs/architecture.md, "Lake hashes").
    ///
    /// Examples:
    ///   ledgerflow lake hash -l lake --chain litecoin-regtest
    ///   ledgerflow lake hash -l lake --chain anvil --table transactions,logs --until 1000 --json
    #[command(verbatim_doc_comment)]
    Hash(LakeHashArgs),
}

#[derive(Debug, Args)]
pub struct LakeHashArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// The chain folder.
    #[arg(long)]
    pub chain: String,
    /// Only these tables (comma-separated).
    #[arg(long, short, value_delimiter = ',')]
    pub table: Vec<String>,
    /// Leave out chunks that start after this block.
    #[arg(long)]
    pub until: Option<u64>,
    /// Print the root and every chunk as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LakeConvertArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder.
    #[arg(long)]
    pub chain: Option<String>,
    /// Only these tables (comma-separated).
    #[arg(long, short, value_delimiter = ',')]
    pub table: Vec<String>,
    /// The table format to convert to (delta is the one there is).
    #[arg(long, default_value = "delta")]
    pub to: String,
    /// Print the per-table report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LakeCompactArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder.
    #[arg(long)]
    pub chain: Option<String>,
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// Blocks per merged file (windows aligned to multiples of it).
    #[arg(long, default_value_t = 100_000)]
    pub target_blocks: u64,
    /// Print what would be merged; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LakeCheckArgs {
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Only this chain folder (e.g. anvil, litecoin-regtest).
    #[arg(long)]
    pub chain: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}
