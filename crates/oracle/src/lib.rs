//! The oracle: on-chain requests for off-chain analytics and ML, fulfilled with the
//! hashes that let anyone re-derive the result.
//!
//! - [`contracts`]: the Solidity contracts of `contracts/` (compiled ahead of time with
//!   the pinned solc-js, `scripts/compile-contracts.sh`), their creation code, call
//!   encoding and revert reasons.
//! - [`events`]: the oracle's `Request`, `Fulfilled` and `Cancelled` events.
//! - [`templates`]: the `sql` job's query templates.
//! - [`jobs`]: the job registry (`sql`, `score`, `train`), deterministic results and their
//!   hashes.
//! - [`train`]: the `train` job's features, labels and model folder.
//! - [`store`]: the worker's requests and checkpoint in PostgreSQL.
//! - [`node`]: the JSON-RPC calls.
//! - [`worker`]: follow the chain, run jobs, deliver results (transaction manager).
//! - [`verify`]: recompute a fulfilment from its recorded hashes.
//! - [`keys`]: the worker's key file (0600 or refused; never printed).
//! - [`tx`]: EIP-1559 transactions encoded and signed here, sent raw.

pub mod chainlink;
pub mod contracts;
pub mod events;
pub mod jobs;
pub mod keys;
pub mod node;
pub mod ops;
pub mod store;
pub mod templates;
pub mod train;
pub mod tx;
pub mod verify;
pub mod worker;

pub use contracts::{artifact, creation, job_id, revert_reason, Artifact, OracleError};
