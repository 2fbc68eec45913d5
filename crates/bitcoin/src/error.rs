//! Errors of the Bitcoin source, naming the file and offset, block or method involved.

use std::path::PathBuf;

use ledgerflow_core::ErrorClass;
use ledgerflow_rpc::RpcError;

use crate::raw::DecodeError;
use crate::verbose::VerboseError;

/// An error of the Bitcoin source.
#[derive(Debug, thiserror::Error)]
pub enum BtcError {
    /// A file could not be read.
    #[error("{path}: {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A block file is not what it should be (wrong magic, corrupted length, bad XOR key).
    #[error("{path} at byte {offset}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Byte offset in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A block failed to decode.
    #[error("block {hash} ({location}): {source}")]
    Decode {
        /// Block hash (display hex) or height.
        hash: String,
        /// Where it came from (`blk00003.dat at byte 1234` or `getblock`).
        location: String,
        /// The decoding failure.
        #[source]
        source: DecodeError,
    },
    /// A verbose RPC answer is malformed.
    #[error("{method} for block {block}: {source}")]
    Verbose {
        /// Method.
        method: &'static str,
        /// Block hash or height.
        block: String,
        /// What is wrong.
        #[source]
        source: VerboseError,
    },
    /// A JSON-RPC call failed.
    #[error("{method} for block {block}: {source}")]
    Rpc {
        /// Method.
        method: &'static str,
        /// Block (height or hash) involved.
        block: String,
        /// The failure.
        #[source]
        source: RpcError,
    },
    /// A block the range needs is not available.
    #[error("block {height} is not available: {reason}")]
    Missing {
        /// Height.
        height: i64,
        /// Why.
        reason: String,
    },
    /// The node or data directory is not the expected chain.
    #[error("wrong chain: {0}")]
    WrongChain(String),
    /// A spent output could not be found for enrichment.
    #[error("input {input} of transaction {tx} in block {height}: the spent output {prevout} is unknown ({hint})")]
    UnknownPrevout {
        /// Spending transaction.
        tx: String,
        /// Input position.
        input: usize,
        /// Spent outpoint `txid:vout`.
        prevout: String,
        /// Height of the spending block.
        height: i64,
        /// What to do about it.
        hint: String,
    },
}

impl BtcError {
    /// The error's class: transient RPC failures are retried by the client already, so
    /// what reaches here is final unless the RPC error says otherwise.
    pub fn class(&self) -> ErrorClass {
        match self {
            BtcError::Rpc { source, .. } => source.class(),
            BtcError::Io { .. } => ErrorClass::External,
            _ => ErrorClass::External,
        }
    }
}
