//! Errors of the SQL layer.

use std::path::PathBuf;

/// What can go wrong between a query's text and its result.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The lake folder cannot be read.
    #[error("lake {path}: {message}")]
    Lake {
        /// Folder or file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// A chunk file is not readable Parquet (truncated, not Parquet, wrong schema).
    #[error("chunk {path}: {message}")]
    Chunk {
        /// The file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// A bad `--dataset` alias.
    #[error("{0}")]
    Alias(String),
    /// The query text does not parse.
    #[error("SQL syntax error: {message}")]
    Syntax {
        /// The parser's message (with line and column).
        message: String,
    },
    /// The query names a table the lake does not have.
    #[error("unknown table {name}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_else(|| " (\\d lists the tables)".into()))]
    UnknownTable {
        /// The name as written.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// Planning or execution failed.
    #[error("{0}")]
    Query(String),
    /// Writing the result failed.
    #[error("writing the result to {path}: {message}")]
    Output {
        /// The file (or `-` for standard output).
        path: String,
        /// What happened.
        message: String,
    },
}

impl SqlError {
    /// A DataFusion error with its chain flattened to one message; syntax errors get their
    /// own kind.
    pub fn from_datafusion(e: datafusion::error::DataFusionError) -> SqlError {
        use datafusion::error::DataFusionError as D;
        match e.find_root() {
            D::SQL(p, _) => SqlError::Syntax {
                message: p
                    .to_string()
                    .trim_start_matches("sql parser error: ")
                    .to_string(),
            },
            _ => SqlError::Query(e.strip_backtrace()),
        }
    }
}
