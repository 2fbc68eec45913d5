//! Errors of the entity layer, naming the lake, chain, table or file involved.

use std::path::PathBuf;

use ledgerflow_core::ErrorClass;
use ledgerflow_lake::error::LakeError;

/// What went wrong reading lake tables or building entities.
#[derive(Debug, thiserror::Error)]
pub enum EntityError {
    /// The chain folder is not in the lake.
    #[error("chain {chain:?} is not in the lake {lake} (its chains: {known})")]
    NoChain {
        /// The chain folder asked for.
        chain: String,
        /// The lake root.
        lake: PathBuf,
        /// The chain folders that exist, comma-separated (or `none`).
        known: String,
    },
    /// A table the job needs has no Parquet chunk.
    #[error("the lake has no {table} table for chain {chain} ({dir}); {hint}")]
    NoTable {
        /// Chain folder.
        chain: String,
        /// Table.
        table: String,
        /// The folder looked in.
        dir: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },
    /// The chain is an account chain (its transactions have no nested inputs).
    #[error(
        "chain {chain} is not a UTXO chain (its transactions table has no nested inputs): \
         clustering and taint work on UTXO chains; an account chain's addresses are its \
         actors (`ledgerflow graph build` works on it)"
    )]
    NotUtxo {
        /// The chain folder.
        chain: String,
    },
    /// The inputs were exported without enrichment (no spent address or value).
    #[error(
        "{path}: transaction {tx} input {input} has no {what}: the lake was exported without \
         enriched inputs (--no-enrich); export the chain again without --no-enrich"
    )]
    NotEnriched {
        /// The chunk file.
        path: PathBuf,
        /// Transaction hash.
        tx: String,
        /// Input position.
        input: i64,
        /// `value` or `address`.
        what: &'static str,
    },
    /// A chunk file does not have the shape of the table.
    #[error("{path}: {what}")]
    BadFile {
        /// The chunk file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Decoding a record batch failed.
    #[error("reading {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A filesystem operation failed.
    #[error("{op} {path}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a lake table failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// An address, transaction or outpoint the user named is not in the lake.
    #[error("{0}")]
    NotFound(String),
    /// The user asked for something that makes no sense (bad seed, one address for `why`).
    #[error("{0}")]
    Usage(String),
    /// The saved state of an earlier build cannot be read.
    #[error("{path}: {what}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

impl EntityError {
    /// Which kind of failure this is (user errors exit 2 without writing anything).
    pub fn class(&self) -> ErrorClass {
        match self {
            EntityError::NoChain { .. }
            | EntityError::NoTable { .. }
            | EntityError::NotEnriched { .. }
            | EntityError::NotUtxo { .. }
            | EntityError::NotFound(_)
            | EntityError::Usage(_) => ErrorClass::User,
            EntityError::BadFile { .. } | EntityError::Arrow { .. } | EntityError::State { .. } => {
                ErrorClass::External
            }
            EntityError::Io { .. } | EntityError::Lake(_) => ErrorClass::External,
        }
    }
}

pub(crate) fn io(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> EntityError {
    let path = path.into();
    move |source| EntityError::Io { op, path, source }
}
