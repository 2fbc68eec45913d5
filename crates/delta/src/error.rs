//! Errors of the Delta layer.

use std::path::PathBuf;

use ledgerflow_lake::LakeError;

/// An error reading or writing a table's Delta log.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    /// The deltalake crate failed on a table.
    #[error("Delta table {table}: {source}")]
    Delta {
        /// The table folder.
        table: PathBuf,
        /// What deltalake reported.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// The lake layer failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A chunk's Parquet footer cannot be read.
    #[error("{path}: cannot read the Parquet footer: {source}")]
    Parquet {
        /// The chunk file.
        path: PathBuf,
        /// What the reader reported.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A chunk's columns differ from the table's.
    #[error(
        "{path}: its columns differ from the Delta table's ({detail}); a Delta table has one \
         schema, so re-export the chunk with this version of ledgerflow"
    )]
    SchemaMismatch {
        /// The chunk file.
        path: PathBuf,
        /// The first difference.
        detail: String,
    },
    /// A file system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl DeltaError {
    pub(crate) fn delta(
        table: &std::path::Path,
    ) -> impl FnOnce(deltalake::DeltaTableError) -> Self {
        let table = table.to_path_buf();
        move |e| DeltaError::Delta {
            table,
            source: Box::new(e),
        }
    }
}
