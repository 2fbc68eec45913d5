//! # ledgerflow-lake
//!
//! Where rows land. A lake is a folder laid out by chain, table and block range:
//!
//! ```text
//! <root>/<chain>/<table>/<table>__<start>_<end>.parquet   (10-digit, zero-padded, inclusive)
//! <root>/<chain>/_runs/<run id>.json                      (run reports)
//! ```
//!
//! Every file is written to a temporary name in the same folder and renamed into place, so
//! a reader (or a crashed run) never sees a half-written chunk. A chunk that exists is
//! skipped by a rerun unless overwriting is asked for.
//!
//! * [`layout`]: paths, chunk discovery.
//! * [`writer`]: Parquet (zstd), CSV and JSON-lines chunk writers with atomic rename.
//! * [`compact`]: `lake compact` (merge small adjacent chunks, crash-safe).
//! * [`check`]: `lake check` (gaps, overlaps, counts across tables).
//! * [`etl`]: ethereum-etl compatible CSV/JSON rendering.
//! * [`runner`]: the chunk runner every export shares (plan, skip, fetch, commit, hooks).

pub mod check;
pub mod compact;
pub mod error;
pub mod etl;
pub mod hash;
pub mod layout;
pub mod reader;
pub mod runner;
pub mod writer;

pub use error::LakeError;
pub use layout::{ChunkFile, Lake};
pub use writer::{Format, WriteOptions};
