//! Graph learning over ledgerflow's address and entity graphs or any edge list a user
//! brings (issue 20: GNN node classification and embeddings, link and sign prediction,
//! anomaly scores, Weisfeiler-Lehman kernels).
//!
//! - [`edges`]: edge lists from CSV (with or without a header row) or Parquet, roles
//!   named by `--columns`, dense node numbering, errors that name the line.
//! - [`nodes`]: node features and labels joined to the edges (missing rows, isolated
//!   nodes, missing cells and one-class labels handled as documented there).
//! - [`anomaly`]: unusual nodes and links: auto-encoder reconstruction scores and the
//!   OddBall ego-net baseline, evaluated against labels when there are some.
//! - [`dense`], [`adj`]: row-major matrices and the GCN propagation matrix, sums in one
//!   fixed order.
//! - [`gcn`]: a two-layer GCN, its loss and hand-written gradients (finite-difference
//!   checked).
//! - [`infer`]: `gnn predict` / `gnn embed`: a model file applied to a graph.
//! - [`link`]: link prediction: a graph auto-encoder with negative sampling against
//!   Adamic-Adar, random and temporal splits, AUC/AP/MRR/Hits@k and windowed MAP.
//! - [`file`]: the model file (same model, same bytes: its SHA-256 names it).
//! - [`node_task`]: `gnn train --task node`: split, standardise, train, test metrics,
//!   the model file and its manifest.
//! - [`gat`]: a two-layer graph attention network (multi-head), gradients by hand
//!   (checked).
//! - [`sage`]: a two-layer GraphSAGE (mean aggregator), gradients by hand (checked).
//! - [`sample`]: neighbour-sampled mini-batches for GraphSAGE (two-hop fan-outs).
//! - [`sign`]: edge-sign prediction (80/20 protocol), the degree-feature baseline with
//!   gradient-boosted trees.
//! - [`similar`]: WL signatures of each node's k-hop neighbourhood: similar-neighbourhood
//!   search and hashed features for the tree models.
//! - [`train`]: full-batch training (Adam, weight decay, dropout, class weights, early
//!   stopping on the validation loss), seeded and bit-for-bit repeatable.
//! - [`txgraph`]: the transaction graph of a UTXO chain in the lake (a spend is a link)
//!   and each transaction's shape features.
//! - [`wl`]: Weisfeiler-Lehman subtree labels, neighbourhood histograms and the WL
//!   subtree kernel.

pub mod adj;
pub mod anomaly;
pub mod dense;
pub mod edges;
pub mod file;
pub mod gat;
pub mod gcn;
pub mod infer;
pub mod link;
pub mod node_task;
pub mod nodes;
pub mod sage;
pub mod sample;
pub mod sgcn;
pub mod sign;
pub mod similar;
pub mod snapshot;
pub mod train;
pub mod txgraph;
pub mod wl;
