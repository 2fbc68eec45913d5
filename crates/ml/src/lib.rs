//! Machine learning over lake tables and feature tables users bring.
//!
//! - [`table`]: feature tables from Parquet or CSV (id, label, numeric features).
//! - [`bins`], [`tree`], [`forest`], [`gbt`]: histogram trees, random forests and
//!   gradient boosting, deterministic on any number of threads.
//! - [`iforest`]: isolation-forest outlier scores (unsupervised, seeded).
//! - [`model`]: the trained model, its prediction and explanations, its file and hash.
//! - [`manifest`]: what a training run read and did, and `verify` that re-derives it.
//! - [`metrics`], [`split`]: evaluation on temporal and group-disjoint splits.
//! - [`features`]: actor features from lake tables, per window (the one part that reads
//!   the lake's chain tables).
//!
//! Loading is the only I/O besides the model files; the rest is pure and tested on
//! hand-built tables.

pub mod bins;
pub mod error;
pub mod features;
pub mod forest;
pub mod gbt;
pub mod iforest;
pub mod labels;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod output;
pub mod params;
pub mod pool;
pub mod split;
pub mod table;
pub mod tree;

pub use error::{MlError, Result};
pub use model::Model;
pub use params::{Algo, ClassWeight, Params};
