//! Errors of the graph layer.

use std::path::PathBuf;

use ledgerflow_core::ErrorClass;
use ledgerflow_lake::LakeError;

/// What went wrong building, reading or analysing a graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// No edge table yet.
    #[error("chain {chain} has no {table} table ({dir}); run `ledgerflow graph build` first")]
    NoGraph {
        /// Chain folder.
        chain: String,
        /// The table.
        table: String,
        /// The folder looked in.
        dir: PathBuf,
    },
    /// A table the build needs is missing.
    #[error("the lake has no {table} table for chain {chain} ({dir}); {hint}")]
    NoTable {
        /// Chain folder.
        chain: String,
        /// Table.
        table: String,
        /// Folder.
        dir: PathBuf,
        /// What to do.
        hint: &'static str,
    },
    /// A node the user named is not in the graph.
    #[error("{0}")]
    NotFound(String),
    /// A request that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// A file of the wrong shape.
    #[error("{path}: {what}")]
    BadFile {
        /// File.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        /// What.
        op: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a lake file failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
}

impl GraphError {
    /// User errors exit 2 and write nothing.
    pub fn class(&self) -> ErrorClass {
        match self {
            GraphError::NoGraph { .. }
            | GraphError::NoTable { .. }
            | GraphError::NotFound(_)
            | GraphError::Usage(_) => ErrorClass::User,
            _ => ErrorClass::External,
        }
    }
}
