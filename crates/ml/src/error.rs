//! The crate's error: what went wrong and which file, column or parameter it concerns.

use std::path::PathBuf;

/// An error of feature loading, training, prediction or verification.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A feature table that cannot be used as it is (names the file and what is wrong).
    #[error("{path}: {message}")]
    Table { path: PathBuf, message: String },
    /// A model file that is not one, or is damaged.
    #[error("{path}: not a usable ledgerflow model: {message}")]
    Model { path: PathBuf, message: String },
    /// Parameters or inputs that do not fit together (a feature table that does not match
    /// the model, a label with one class, a split that leaves one side empty, ...).
    #[error("{0}")]
    Invalid(String),
    /// Writing an output table failed.
    #[error(transparent)]
    Lake(#[from] ledgerflow_lake::LakeError),
}

impl MlError {
    pub(crate) fn table(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        MlError::Table {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MlError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The crate's result.
pub type Result<T, E = MlError> = std::result::Result<T, E>;
