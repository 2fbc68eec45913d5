//! SQL over the ledgerflow lake with Apache DataFusion.
//!
//! [`Engine::open`] registers every chain folder of a lake as a BigQuery-style dataset
//! (`crypto_ethereum`, `crypto_bitcoin`, `crypto_litecoin_regtest`, …; see [`catalog`]),
//! each table as a [`table::LakeTable`] that skips chunk files outside the query's block
//! range ([`prune`]) before DataFusion pushes projections and predicates into the Parquet
//! scan, plus the double-entry [`views`] and helper [`functions`]. [`output`] writes
//! results as a table, CSV, JSON lines or Parquet.

pub mod catalog;
pub mod engine;
pub mod error;
pub mod functions;
pub mod output;
pub mod prune;
pub mod table;
pub mod text;
pub mod views;

pub use engine::{Engine, Options, Relation, Scope};
pub use error::SqlError;
pub use output::Format;
