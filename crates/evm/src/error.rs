//! Errors of the EVM source, with the method, block and field that failed.

use ledgerflow_core::ErrorClass;

/// A failed JSON-RPC exchange.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The request did not complete within the timeout.
    #[error("{method}: no answer from {url} within {timeout_ms} ms")]
    Timeout {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// Timeout that elapsed.
        timeout_ms: u64,
    },
    /// The connection failed or was dropped.
    #[error("{method}: connection to {url} failed")]
    Connection {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an HTTP error status.
    #[error("{method}: HTTP {status} from {url}: {body}")]
    Http {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The answer is not a valid JSON-RPC response.
    #[error("{method}: malformed JSON-RPC answer: {reason}")]
    Malformed {
        /// JSON-RPC method.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// The node answered with a JSON-RPC error object.
    #[error("{method}: node error {code}: {message}")]
    Node {
        /// JSON-RPC method.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Error message.
        message: String,
    },
}

impl RpcError {
    /// Retry or not: timeouts, dropped connections, 429/5xx, unparsable bodies and the
    /// server-side JSON-RPC codes (-32603, -32000..-32099 except "method not found"-like
    /// messages) are transient; everything else is not.
    pub fn class(&self) -> ErrorClass {
        match self {
            RpcError::Timeout { .. } | RpcError::Connection { .. } => ErrorClass::Transient,
            RpcError::Http { status, .. } => {
                if *status == 429 || *status >= 500 {
                    ErrorClass::Transient
                } else {
                    ErrorClass::External
                }
            }
            RpcError::Malformed { .. } => ErrorClass::Transient,
            RpcError::Node { code, message, .. } => {
                if is_unsupported(*code, message) {
                    ErrorClass::External
                } else if *code == -32603
                    || *code == -32005
                    || (-32099..=-32000).contains(code)
                    || *code == 429
                {
                    ErrorClass::Transient
                } else {
                    ErrorClass::External
                }
            }
        }
    }

    /// Whether the node says it does not know the method (so a fallback applies).
    pub fn is_unsupported_method(&self) -> bool {
        match self {
            RpcError::Node { code, message, .. } => is_unsupported(*code, message),
            RpcError::Http { status, .. } => *status == 404 || *status == 405,
            _ => false,
        }
    }
}

fn is_unsupported(code: i64, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == -32601
        || m.contains("method not found")
        || m.contains("does not exist")
        || m.contains("not supported")
        || m.contains("unsupported method")
        || m.contains("not available")
        || m.contains("method not allowed")
}

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
