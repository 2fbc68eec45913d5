//! Lake errors, naming the file involved.

use std::path::PathBuf;

/// A lake operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        /// What was being done (`create`, `rename`, …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Parquet encoding failed.
    #[error("writing Parquet file {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A Parquet file could not be opened or read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A record batch of a Parquet file could not be decoded.
    #[error("decoding {path}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// Arrow-level failure (schema mismatch: a ledgerflow bug).
    #[error("arrow error for {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A column the ethereum-etl profile needs is missing.
    #[error("table {table} has no column {column} (needed for ethereum-etl output)")]
    MissingColumn {
        /// Table.
        table: String,
        /// Column.
        column: String,
    },
    /// A chunk file was written with the wrong kind of data (batches to a text file or
    /// text to a Parquet file): a bug in the caller.
    #[error("{path}: internal error: {what}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// What was attempted.
        what: &'static str,
    },
    /// Two chunks of one table have different schemas and cannot be merged.
    #[error("{path} has another schema than {other}; not merged")]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// The first file of the merge.
        other: PathBuf,
    },
    /// Recording a merge (the caller's hook, e.g. a Delta commit) failed; the merged file is
    /// in place and the files it replaces are kept (the next compaction removes them).
    #[error("recording the merge into {path}")]
    Record {
        /// The merged file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file name in the lake does not follow the layout.
    #[error("{path} is not a chunk file name (<table>__<start>_<end>.<ext>)")]
    BadName {
        /// The file.
        path: PathBuf,
    },
}

pub(crate) fn io(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> LakeError {
    let path = path.into();
    move |source| LakeError::Io { op, path, source }
}
