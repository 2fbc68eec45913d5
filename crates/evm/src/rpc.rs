//! The JSON-RPC client (shared with the Bitcoin source; lives in `ledgerflow-rpc`).

pub use ledgerflow_rpc::*;
