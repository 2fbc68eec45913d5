//! `ledgerflow sql` and `ledgerflow shell`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The statement(s) to run, separated by ';'.
    pub query: Option<String>,
    /// The lake folder.
    #[arg(short, long, default_value = "lake", env = "LEDGERFLOW_LAKE")]
    pub lake: PathBuf,
    /// Run the statements in this file (after QUERY, if both are given).
    #[arg(short = 'F', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Result format: table, csv, json (one object per line) or parquet (needs --output).
    #[arg(short, long, default_value = "table", value_parser = parse_sql_format)]
    pub format: ledgerflow_sql::Format,
    /// Write the (last statement's) result to this file instead of standard output
    /// (written to a temporary name and renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Another name for a chain folder's dataset, e.g. crypto_ethereum=sepolia (repeatable).
    #[arg(long = "dataset", value_name = "ALIAS=FOLDER", value_parser = parse_alias)]
    pub datasets: Vec<(String, String)>,
    /// Threads for query execution (default: all cores).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Print the time each statement took (stderr).
    #[arg(long)]
    pub timing: bool,
    /// Shell history file (default: ~/.ledgerflow_history).
    #[arg(long)]
    pub history: Option<PathBuf>,
}

fn parse_sql_format(s: &str) -> Result<ledgerflow_sql::Format, String> {
    s.parse()
}

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, f)) if !a.trim().is_empty() && !f.trim().is_empty() => {
            Ok((a.trim().to_string(), f.trim().to_string()))
        }
        _ => Err(format!(
            "{s:?}: expected ALIAS=FOLDER, e.g. crypto_ethereum=sepolia"
        )),
    }
}
