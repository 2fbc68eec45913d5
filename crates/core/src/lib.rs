//! # ledgerflow-core
//!
//! The bottom of the ledgerflow workspace: the types that every other crate shares and the
//! **table contract** — the Arrow schemas of every table ledgerflow writes. Nothing in this
//! crate performs I/O.
//!
//! * [`chain`]: chain identifiers.
//! * [`range`]: block ranges as users write them (`1000:2000`, `-100:`, `latest`) and their
//!   resolution into aligned chunks.
//! * [`table`]: the `ArrowCol` trait and the `table!` macro that declares a row struct, its
//!   Arrow schema and its conversion to a `RecordBatch` in one place, so they cannot drift.
//! * [`tables`]: the tables themselves (`crypto_ethereum` family), column names and order
//!   following the BigQuery public datasets, plus documented extra columns at the end.
//! * [`compat`]: the column lists and value rendering of ethereum-etl's CSV/JSON exporters.
//! * [`error`]: error categories shared by every crate (user / external / internal).

pub mod chain;
pub mod compat;
pub mod error;
pub mod range;
pub mod table;
pub mod tables;

pub use chain::ChainId;
pub use error::ErrorClass;
pub use range::{BlockRange, BlockSpec, RangeError};
