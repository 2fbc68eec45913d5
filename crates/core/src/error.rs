//! Error categories shared by every crate.
//!
//! Each crate has its own `thiserror` enum with typed context; each of those enums can say
//! which [`ErrorClass`] an error belongs to, and one place (the retry loop of a source, the
//! binary's exit code) decides what to do with it.

/// What kind of failure an error is, which decides retry and exit behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The user asked for something impossible (bad flag, bad range, bad SQL): do not retry.
    User,
    /// Something outside the process failed in a way that may pass (timeout, dropped
    /// connection, HTTP 5xx, rate limit): retry with backoff.
    Transient,
    /// Something outside the process answered wrongly and will keep doing so (malformed
    /// JSON-RPC answer, a node error that is not transient): do not retry.
    External,
    /// A bug in ledgerflow: please report.
    Internal,
}

impl ErrorClass {
    /// Whether an operation that failed this way is worth retrying.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Transient)
    }
}
