//! # ledgerflow-graph
//!
//! Transaction graphs of addresses and entities from lake tables: [`csr`] (directed,
//! weighted, both adjacency directions), [`edges`] (transfers summed into edges), [`evm`]
//! (an account chain's address graph from `transactions` and `token_transfers`),
//! [`store`] (the `<level>_graph` tables, reading them into a [`csr::Csr`], writing
//! results), [`algo`] (PageRank, degrees, weakly and strongly connected components,
//! Brandes betweenness exact or sampled, k-hop neighbourhoods, shortest and widest paths)
//! and [`export`] (Neo4j bulk-import CSV, GraphML, CSV). The UTXO address graph is built
//! by `ledgerflow-entities`, which owns the UTXO ledger, and written through [`store`].

pub mod algo;
pub mod csr;
pub mod edges;
pub mod error;
pub mod evm;
pub mod export;
pub mod store;
pub mod tables;

pub use error::GraphError;
pub use store::{LakeGraph, Level};
