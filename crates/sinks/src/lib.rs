//! # ledgerflow-sinks
//!
//! The concrete sinks of a stream, one file each, behind `ledgerflow-stream`'s
//! [`Sink`](ledgerflow_stream::Sink) and [`OpenSink`](ledgerflow_stream::OpenSink) traits.
//! Each stores its checkpoint atomically with the rows of an event:
//!
//! * [`postgres`]: one transaction per event (deletes of undone blocks, binary COPY of
//!   the new rows, the checkpoint); opened from [`postgres::PgOptions`].
//! * [`nats`]: JetStream, an intent checkpoint before publishing and de-duplication ids,
//!   so a restart completes an interrupted event exactly once; [`nats::NatsOptions`].
//! * [`lake`]: final blocks in immutable chunk files, the rest in a `_tip/` area whose
//!   `state.json` is the commit point; [`lake::LakeOptions`].
//!
//! Only the binary (and a future server) names these; the stream driver, the oracle and
//! the analytics layers know sinks through the traits (`scripts/check-deps.sh`).
//!
//! Adding a sink: a new file here with a struct implementing `Sink` and an options struct
//! implementing `OpenSink`, a `pub mod` line below, and one line in the binary's
//! `commands/stream.rs` that pushes its options into the list.

pub mod lake;
pub mod nats;
pub mod postgres;

pub use lake::{LakeOptions, LakeSink};
pub use nats::{NatsOptions, NatsSink};
pub use postgres::{PgOptions, PgSink};
