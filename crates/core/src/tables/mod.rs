//! The tables ledgerflow writes. Column names and order follow the BigQuery public
//! datasets (`crypto_ethereum` enriched stage, see `../shared/schemas`); columns that
//! BigQuery does not have are appended after them, starting with `chain_id`.
//!
//! [`list`] parses table lists as users write them and describes tables.

pub mod bitcoin;
pub mod evm;
pub mod list;

pub use list::{describe, TableListError};
