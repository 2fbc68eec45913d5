//! Errors of the EVM source, with the method, block and field that failed.

use ledgerflow_core::ErrorClass;

pub use ledgerflow_rpc::RpcError;

/// An error of the EVM source, naming the block and method involved.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// A JSON-RPC call for a block failed (after the retries that apply).
    #[error("block {block}: {method} failed")]
    Fetch {
        /// Block number.
        block: u64,
        /// JSON-RPC method.
        method: String,
        /// Cause.
        #[source]
        source: RpcError,
    },
    /// A JSON-RPC call not tied to one block failed.
    #[error("{what} failed")]
    Call {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: RpcError,
    },
    /// The node returned `null` for a block it should have.
    #[error("block {block}: {method} returned null (is the node synced, and does it keep this history?)")]
    Missing {
        /// Block number.
        block: u64,
        /// JSON-RPC method.
        method: String,
    },
    /// A value in an answer could not be decoded.
    #[error("block {block}: {method} answer has a bad {field}: {reason}")]
    Decode {
        /// Block number.
        block: u64,
        /// JSON-RPC method.
        method: String,
        /// Field path, e.g. `transactions[3].gasPrice`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The answers contradict each other (e.g. a receipt for another block).
    #[error("block {block}: inconsistent answers: {reason}")]
    Inconsistent {
        /// Block number.
        block: u64,
        /// What does not agree.
        reason: String,
    },
    /// The consumer of the rows (a file writer) failed.
    #[error("writing the rows of block range {range} failed")]
    Sink {
        /// The block range being written.
        range: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Building the Arrow batch failed (a ledgerflow bug).
    #[error("internal error while building table {table}: {source}")]
    Arrow {
        /// Table name.
        table: &'static str,
        /// Cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

impl EvmError {
    /// The error's class (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            EvmError::Fetch { source, .. } | EvmError::Call { source, .. } => source.class(),
            EvmError::Missing { .. } => ErrorClass::Transient,
            EvmError::Decode { .. } | EvmError::Inconsistent { .. } => ErrorClass::External,
            EvmError::Arrow { .. } => ErrorClass::Internal,
            EvmError::Sink { .. } => ErrorClass::External,
        }
    }
}
