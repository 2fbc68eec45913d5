//! Live streaming to the chain tip (issue 5), built up in steps. This first part is the
//! chain-following core: [`chain::Window`] (the recent canonical blocks above the final
//! depth), [`chain::resolve`] (walk back to the common ancestor and produce the
//! `Committed`/`Reorged`/`Reverted` event every sink applies), and the node sources:
//! [`evm`] (headers, and an event's rows checked against its block hashes) and [`bitcoin`]
//! (headers); and the first sink, [`postgres`] (an event and its checkpoint in one
//! transaction). The other sinks and the `ledgerflow stream` command build on them.

pub mod bitcoin;
pub mod chain;
pub mod evm;
pub mod postgres;

pub use bitcoin::BitcoinHeaders;
pub use chain::{BlockRef, ChainError, Event, Follower, Headers, Link, Window};
pub use evm::{EvmHeaders, StreamError};
