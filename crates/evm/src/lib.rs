//! # ledgerflow-evm
//!
//! The EVM source: a JSON-RPC client ([`rpc`]), the shapes of node answers ([`json`]),
//! pure transforms from answers to table rows ([`transform`]) and the extraction that
//! fetches a block range ([`extract`]); [`abi`] is the workspace's one Solidity ABI codec. Fetching (I/O) is kept apart from transforming
//! (pure, tested from recorded answers), as in cryo.

pub mod abi;
pub mod calls;
pub mod error;
pub mod extract;
pub mod fuzz;
pub mod hex;
pub mod json;
pub mod rpc;
pub mod transform;

pub use error::{EvmError, RpcError};
pub use extract::{EvmSource, SourceConfig, TokenBlock, TraceMode};
pub use rpc::{RpcClient, RpcConfig};
pub use transform::{EvmRows, Want};
