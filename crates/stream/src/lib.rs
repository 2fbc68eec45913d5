//! Live streaming to the chain tip (issue 5).
//!
//! - [`chain`]: the recent canonical blocks ([`chain::Window`]), what a node's newer blocks
//!   mean for them ([`chain::resolve`]: `Committed`/`Reorged`/`Reverted` events) and the
//!   [`chain::Follower`] that turns polls into events.
//! - Node sources: [`evm`] (headers, and an event's rows checked against its block hashes)
//!   and [`bitcoin`] (headers).
//! - The sink traits ([`sink::Sink`], [`sink::OpenSink`]): every sink stores its
//!   checkpoint atomically with the rows. The concrete sinks (PostgreSQL, NATS JetStream,
//!   the lake) live in `ledgerflow-sinks`; this crate names none of them.
//! - [`driver`]: the loop over one node and several sinks; [`metrics`]: `/metrics` and
//!   `/health`.

pub mod bitcoin;
pub mod chain;
pub mod driver;
pub mod evm;
pub mod heads;
pub mod metrics;
pub mod sink;

pub use bitcoin::{BitcoinHeaders, BtcNode};
pub use chain::{BlockRef, ChainError, Event, Follower, Headers, Link, Window};
pub use driver::{Driver, DriverError, EvmNode, RowSource, StreamOptions};
pub use evm::{EvmHeaders, StreamError};
pub use sink::{BoxError, Checkpoint, OpenSink, Sink, SinkError};
