//! Loads the ledgerflow lake into PostgreSQL.
//!
//! * [`schema`]: column types chosen for exactness (`NUMERIC(78,0)` for 256-bit values,
//!   `NUMERIC(p,0)` for satoshi, `TIMESTAMPTZ`, `TEXT[]`, `JSONB` for nested rows), keys
//!   and indexes after ethereum-etl's Postgres schema.
//! * [`copy`]: Arrow batches → binary `COPY` (pure).
//! * [`load`]: one transaction per chunk file, recorded with its SHA-256 so reruns load
//!   nothing twice and changed chunks are replaced whole.

pub mod copy;
pub mod error;
pub mod load;
pub mod schema;

pub use error::PgError;
pub use load::{load, ChunkDone, LoadOptions, LoadReport};
