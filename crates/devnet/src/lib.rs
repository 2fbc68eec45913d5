//! # ledgerflow-devnet
//!
//! A realistic local EVM chain for tests, benchmarks and the demo: an anvil node
//! ([`anvil`]) driven by a seeded workload generator ([`workload`]) that deploys the
//! contracts in `contracts/` (compiled ahead of time with solc-js; the artifacts are
//! committed) and sends a deterministic mix of ETH transfers, ERC-20/721/1155 transfers
//! (incl. batches), WETH deposits/withdrawals, internal value calls, delegatecalls,
//! static calls, CREATE/CREATE2 factories, create-and-selfdestruct, reverted sub-calls and
//! failed transactions, across legacy, EIP-2930 and EIP-1559 transaction types.
//!
//! And a local UTXO chain ([`litecoin`]): `litecoind -regtest` driven by a seeded workload
//! of entities, payments with change, consolidations, CoinJoins and peel chains, with the
//! ground truth of which entity owns which address.

pub mod anvil;
pub mod litecoin;
pub mod workload;

pub use anvil::{find_anvil, Anvil, AnvilOptions};
pub use workload::{generate, Workload, WorkloadConfig, WorkloadSummary};

/// Errors of the devnet.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// anvil is not installed.
    #[error("anvil not found (run scripts/setup.sh, or set LEDGERFLOW_ANVIL); looked at: {}", looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    AnvilNotFound {
        /// Places searched.
        looked: Vec<std::path::PathBuf>,
    },
    /// anvil stopped right after starting.
    #[error("anvil exited with {status}: {stderr}")]
    AnvilExited {
        /// Exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// anvil did not answer in time.
    #[error("anvil on port {port} did not answer within 30 s")]
    AnvilTimeout {
        /// Port.
        port: u16,
    },
    /// An OS operation failed.
    #[error("cannot {what}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The node rejected or mishandled a workload step.
    #[error("workload step failed: {0}")]
    Workload(String),
    /// A JSON-RPC call failed.
    #[error("JSON-RPC call failed")]
    Rpc(#[from] ledgerflow_evm::RpcError),
}
