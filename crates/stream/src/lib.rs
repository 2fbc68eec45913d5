//! Live streaming to the chain tip (issue 5), built up in steps. This first part is the
//! chain-following core: [`chain::Window`] (the recent canonical blocks above the final
//! depth), [`chain::resolve`] (walk back to the common ancestor and produce the
//! `Committed`/`Reorged`/`Reverted` event every sink applies). The node sources, sinks
//! and the `ledgerflow stream` command build on it.

pub mod chain;
pub mod evm;

pub use chain::{BlockRef, ChainError, Event, Headers, Link, Window};
pub use evm::{EvmHeaders, StreamError};
