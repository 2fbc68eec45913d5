//! Graph learning over ledgerflow's address and entity graphs or any edge list a user
//! brings (issue 20: GNN node classification and embeddings, link and sign prediction,
//! anomaly scores, Weisfeiler-Lehman kernels).
//!
//! - [`edges`]: edge lists from CSV (with or without a header row) or Parquet, roles
//!   named by `--columns`, dense node numbering, errors that name the line.
//! - [`nodes`]: node features and labels joined to the edges (missing rows, isolated
//!   nodes, missing cells and one-class labels handled as documented there).

pub mod edges;
pub mod nodes;
