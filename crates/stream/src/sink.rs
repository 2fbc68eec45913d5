//! What every sink does: hand back its checkpoint, and apply an event with its rows and
//! the window after it, atomically with respect to that checkpoint.
//!
//! The driver knows sinks only through these traits: [`Sink`] (an open sink) and
//! [`OpenSink`] (how to open one, again after a failure). The concrete sinks
//! (PostgreSQL, NATS JetStream, the lake) live in `ledgerflow-sinks`; a new one is one
//! file there (or in any crate) implementing both traits, plus one line where the binary
//! builds the list it hands to [`crate::Driver::open`].

use arrow_array::RecordBatch;

use crate::chain::{Event, Window};

/// Any error of a sink's store (its causes are kept).
pub use ledgerflow_core::error::BoxError;
use ledgerflow_core::error::Transparent;

/// A sink failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store failed (the database, the message server, the file system): the driver
    /// reopens the sink from its checkpoint and tries the event again.
    #[error(transparent)]
    Store(Transparent),
    /// The store failed while doing `what`.
    #[error("{what}")]
    Context {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: BoxError,
    },
    /// A checkpoint that cannot be read or written (not retried).
    #[error("checkpoint of {sink}: {reason}")]
    Checkpoint {
        /// The sink.
        sink: String,
        /// What is wrong.
        reason: String,
    },
    /// Rows that cannot be encoded for the sink.
    #[error("rows of {table}: {reason}")]
    Encode {
        /// Table.
        table: String,
        /// What is wrong.
        reason: String,
    },
}

impl SinkError {
    /// A store's own error, shown as it is (with its causes).
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        SinkError::Store(Transparent(Box::new(e)))
    }
}

/// A sink's stored position.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// The recent blocks its rows correspond to (empty: nothing applied yet).
    pub window: Window,
    /// The genesis hash of the chain it was filled from.
    pub genesis: Option<String>,
    /// An event whose application was interrupted and must be completed first (NATS).
    pub pending: Option<Event>,
}

/// An open sink.
///
/// `apply` must store the event's rows and the window after it atomically (all or
/// nothing, as its checkpoint sees it): after a failure the driver drops the sink, opens
/// it again and resumes from [`Sink::checkpoint`].
#[async_trait::async_trait]
pub trait Sink: Send {
    /// A short name for logs and metrics (`postgres`, `nats`, `lake`).
    fn kind(&self) -> &'static str;

    /// Where it writes, for messages.
    fn describe(&self) -> String;

    /// The stored checkpoint (`confirmations`: blocks deeper than this are final).
    async fn checkpoint(&mut self, confirmations: u64) -> Result<Checkpoint, SinkError>;

    /// Applies an event with the rows of the blocks it applies (`tables`: every table the
    /// stream writes, for sinks that publish undo records per table) and stores `after`
    /// as the checkpoint with it; `genesis` is the node's genesis hash.
    async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        tables: &[&str],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError>;

    /// Completes an interrupted event (see [`Checkpoint::pending`]): `rows` of its first
    /// `canonical` blocks (those still on the node's chain). Sinks whose store is
    /// transactional never leave one, and keep this default.
    async fn recover(
        &mut self,
        _rows: Option<&[(&str, RecordBatch)]>,
        _canonical: usize,
        _tables: &[&str],
        _confirmations: u64,
    ) -> Result<(), SinkError> {
        Ok(())
    }
}

/// How to open a sink (at the start, and again after it failed).
#[async_trait::async_trait]
pub trait OpenSink: Send + Sync {
    /// The kind of sink it opens (as [`Sink::kind`]), for messages before it is open.
    fn kind(&self) -> &'static str;

    /// Connects / opens.
    async fn open(&self) -> Result<Box<dyn Sink>, SinkError>;
}
