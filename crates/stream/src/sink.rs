//! What every sink does: hand back its checkpoint, and apply an event with its rows and
//! the window after it, atomically with respect to that checkpoint.

use arrow_array::RecordBatch;

use crate::chain::{Event, Window};
use crate::lake::LakeSink;
use crate::nats::NatsSink;
use crate::postgres::PgSink;

/// A sink failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// PostgreSQL.
    #[error(transparent)]
    Postgres(#[from] ledgerflow_postgres::PgError),
    /// The lake.
    #[error(transparent)]
    Lake(#[from] ledgerflow_lake::LakeError),
    /// NATS.
    #[error("{what}")]
    Nats {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: async_nats::Error,
    },
    /// A checkpoint that cannot be read or written.
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

/// One of the sinks a stream writes.
pub enum Sink {
    /// PostgreSQL tables.
    Postgres(PgSink),
    /// A NATS JetStream stream.
    Nats(Box<NatsSink>),
    /// The Parquet lake (immutable chunks and the tip area).
    Lake(LakeSink),
}

impl Sink {
    /// A short name for logs and metrics (`postgres`, `nats`, `lake`).
    pub fn kind(&self) -> &'static str {
        match self {
            Sink::Postgres(_) => "postgres",
            Sink::Nats(_) => "nats",
            Sink::Lake(_) => "lake",
        }
    }

    /// Where it writes, for messages.
    pub fn describe(&self) -> String {
        match self {
            Sink::Postgres(s) => s.describe(),
            Sink::Nats(s) => s.describe(),
            Sink::Lake(s) => s.describe(),
        }
    }

    /// The stored checkpoint.
    pub async fn checkpoint(&mut self, confirmations: u64) -> Result<Checkpoint, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.checkpoint(confirmations).await?),
            Sink::Nats(s) => Ok(s.checkpoint(confirmations)),
            Sink::Lake(s) => Ok(s.checkpoint(confirmations)),
        }
    }

    /// Applies an event with the rows of the blocks it applies (`tables`: every table the
    /// stream writes, for undo messages) and stores `after` as the checkpoint with it.
    pub async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        tables: &[&str],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.apply(event, rows, after, genesis).await?),
            Sink::Nats(s) => s.apply(event, rows, tables, after, genesis).await,
            Sink::Lake(s) => s.apply(event, rows, after, genesis),
        }
    }

    /// Completes an interrupted event (see [`Checkpoint::pending`]).
    pub async fn recover(
        &mut self,
        rows: Option<&[(&str, RecordBatch)]>,
        canonical: usize,
        tables: &[&str],
        confirmations: u64,
    ) -> Result<(), SinkError> {
        match self {
            Sink::Nats(s) => s.recover(rows, canonical, tables, confirmations).await,
            Sink::Postgres(_) | Sink::Lake(_) => Ok(()),
        }
    }
}
