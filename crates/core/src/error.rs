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

/// Any error, boxed (what runner hooks, row writers and sink stores hand back); its
/// causes are kept.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A [`BoxError`] that is itself an error, shown as the boxed one (its message, then its
/// causes as its own), for `#[error(transparent)]` variants: a `Box<dyn Error>` is not an
/// `Error`.
#[derive(Debug)]
pub struct Transparent(pub BoxError);

impl std::fmt::Display for Transparent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Transparent {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An error and its causes on one line, separated by `: ` (for run reports, logs and
/// messages that must fit one line).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod chain_tests {
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn joins_the_causes() {
        let e = E(
            "chunk",
            Some(Box::new(E("rpc", Some(Box::new(E("timeout", None)))))),
        );
        assert_eq!(super::error_chain(&e), "chunk: rpc: timeout");
    }
}
