//! The oracle: on-chain requests for off-chain analytics and ML, fulfilled with the
//! hashes that let anyone re-derive the result.
//!
//! - [`contracts`]: the Solidity contracts of `contracts/` (compiled ahead of time with
//!   the pinned solc-js, `scripts/compile-contracts.sh`), their creation code, call
//!   encoding and revert reasons.
//! - [`keys`]: the worker's key file (0600 or refused; never printed).
//! - [`tx`]: EIP-1559 transactions encoded and signed here, sent raw.
//!
//! The worker, the job registry, `oracle verify` and the operator commands build on this
//! (issue 19, in progress).

pub mod contracts;
pub mod keys;
pub mod tx;

pub use contracts::{artifact, creation, job_id, revert_reason, Artifact, OracleError};
