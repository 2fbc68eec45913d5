//! The oracle: on-chain requests for off-chain analytics and ML, fulfilled with the
//! hashes that let anyone re-derive the result.
//!
//! - [`contracts`]: the Solidity contracts of `contracts/` (compiled ahead of time with
//!   the pinned solc-js, `scripts/compile-contracts.sh`), their creation code, call
//!   encoding and revert reasons.
//!
//! The worker, the job registry, `oracle verify` and the operator commands build on this
//! (issue 19, in progress).

pub mod contracts;

pub use contracts::{artifact, creation, job_id, revert_reason, Artifact, OracleError};
