//! `ledgerflow gnn …`: graph neural networks on an edge list a user brings.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum GnnCommand {
    /// Train a GCN, GraphSAGE or GAT on an edge list and a node table.
    ///
    /// The edge file is CSV (with or without a header row: a first row with text where
    /// numbers belong is a header) or Parquet; --columns names its columns. The node
    /// table (CSV or Parquet) has an id column, numeric features and a label column;
    /// nodes without a row get the column means (and has_features = 0), rows without
    /// edges become isolated nodes. Labelled nodes are split with the seed: test,
    /// validation (early stopping), training.
    ///
    ///   ledgerflow gnn train --task node --edges edges.csv --features nodes.csv \
    ///       --id id --label role --model gcn --seed 1 -o models/gcn
    ///
    /// --task link predicts which links appear: a graph auto-encoder (GCN encoder,
    /// inner-product decoder, negative sampling) beside the Adamic-Adar index, with AUC,
    /// AP, MRR and Hits@k on held-out links; --split time trains on the past:
    ///
    ///   ledgerflow gnn train --task link --edges soc-sign-bitcoinotc.csv \
    ///       --split time --test-fraction 0.1 --windows 10 --format json -o out/otc
    ///
    /// --snapshot evaluates as EvolveGCN does (fixed time steps, all node pairs ranked
    /// per step, repeated links included):
    ///
    ///   ledgerflow gnn train --task link --edges soc-sign-bitcoinotc.csv \
    ///       --split time --test-fraction 0.2 --val-fraction 0.1 --snapshot 1200000
    ///
    /// --task anomaly ranks nodes by how badly an auto-encoder reconstructs their links
    /// and by OddBall's ego-net score; with a labelled node table it reports how well
    /// each ranking finds the labelled class:
    ///
    ///   ledgerflow gnn train --task anomaly --edges tx_graph.csv --features roles.csv \
    ///       --label role --positive coinjoin --top 20 -o out/anomaly
    ///
    /// or over the transaction graph of a lake's UTXO chain (shape features built in),
    /// with a supervised GNN trained on the earlier labelled transactions:
    ///
    ///   ledgerflow gnn train --task anomaly --lake lake --chain litecoin-regtest \
    ///       --level transaction --features actions.csv --id txid --label action \
    ///       --positive coinjoin,peel_chain --model sage --rank-by supervised
    ///
    /// --task link --signed predicts the sign of a held-out fraction of the edges (the
    /// signed-GNN protocol on trust networks) and prints AUC and macro-F1:
    ///
    ///   ledgerflow gnn train --task link --signed --edges soc-sign-bitcoinotc.csv \
    ///       --sign-model balance --test-fraction 0.2 --seed 1 --format json
    #[command(verbatim_doc_comment)]
    Train(Box<GnnTrainArgs>),
    /// Score every node of a graph with a trained model: a table of the predicted class
    /// and each class's probability (new nodes included: the model reads features and
    /// neighbourhoods, not ids).
    ///
    ///   ledgerflow gnn predict --model models/gcn --edges edges.csv \
    ///       --features nodes.csv --id id -o scores.parquet
    #[command(verbatim_doc_comment)]
    Predict(GnnApplyArgs),
    /// Write every node's embedding (the model's hidden layer) as a table: id, emb_0,
    /// emb_1, … (for the tree models: model train --with-embeddings).
    ///
    ///   ledgerflow gnn embed --model models/gcn --edges edges.csv \
    ///       --features nodes.csv -o embeddings.parquet
    #[command(verbatim_doc_comment)]
    Embed(GnnApplyArgs),
    /// Weisfeiler-Lehman neighbourhood features as a table (id, wl_0, …): each node's
    /// k-hop label counts hashed into --dim columns, for the tree models
    /// (model train --with-embeddings wl.parquet --embeddings-id id).
    ///
    ///   ledgerflow gnn wl --lake lake --chain bitcoin --hops 2 --dim 64 -o wl.parquet
    #[command(verbatim_doc_comment)]
    Wl(GnnWlArgs),
}

/// `gnn wl`.
#[derive(Debug, Args)]
pub struct GnnWlArgs {
    #[command(flatten)]
    pub input: GnnEdgeArgs,
    /// WL refinement rounds.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Neighbourhood radius (hops).
    #[arg(long, default_value_t = 2)]
    pub hops: usize,
    /// Hashed feature columns.
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// The id column's name in the output.
    #[arg(long, default_value = "id")]
    pub id: String,
    /// The output table: *.parquet, else CSV.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// `ledgerflow similar`.
#[derive(Debug, Args)]
pub struct SimilarArgs {
    #[command(flatten)]
    pub input: GnnEdgeArgs,
    /// The address (node id) whose neighbourhood to match.
    pub address: String,
    /// How many to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// WL refinement rounds.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Neighbourhood radius (hops).
    #[arg(long, default_value_t = 2)]
    pub hops: usize,
    /// Also write the list as a table (*.parquet, else CSV).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GnnTask {
    /// Node classification.
    Node,
    /// Link prediction; with --signed, the sign of held-out edges (trust networks).
    Link,
    /// Unusual nodes and links: auto-encoder reconstruction scores beside the OddBall
    /// ego-net baseline; with --label, both rankings evaluated (precision@k, AUC).
    Anomaly,
}

/// How --signed describes an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignModelArg {
    Degrees,
    Balance,
    /// The trained signed GNN (two SGCN layers, balanced and unbalanced halves).
    Sgcn,
}

/// Which graph of a lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GnnLevel {
    Address,
    Entity,
    Transaction,
}

/// Which anomaly score ranks the printed top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnomalyRank {
    Gae,
    Oddball,
    /// Isolation forest over node features and neighbourhood means.
    Iforest,
    /// With --label: the GNN trained on the earliest labelled nodes.
    Supervised,
    /// --level transaction: CoinJoins first (the entities crate's rules), then
    /// peeling chains, longest first; no labels, no training.
    Typology,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GnnModelKind {
    /// Graph convolution (Kipf & Welling).
    Gcn,
    /// GraphSAGE, mean aggregator.
    Sage,
    /// Graph attention (multi-head first layer, --heads).
    Gat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GnnSplit {
    Random,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderArg {
    Auto,
    Yes,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GnnFormat {
    Text,
    Json,
}

/// Where the edges are and how to read them.
#[derive(Debug, Clone, Args)]
pub struct GnnEdgeArgs {
    /// The edge list (CSV or Parquet).
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Or the graph `ledgerflow graph build` wrote into this lake (nodes are addresses;
    /// weight: value moved; time: first seen).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// The chain of --lake.
    #[arg(long)]
    pub chain: Option<String>,
    /// The graph of --lake: address_graph or entity_graph (what `ledgerflow graph
    /// build` wrote), or `transaction`: the transaction graph read from the chain's
    /// transactions table (a node per transaction, a link per spend), each transaction
    /// with 17 shape features (inputs, outputs, equal-value outputs, output ratios,
    /// roundness, fresh and self-change outputs, hold times, …) used as node features.
    #[arg(long, value_enum, default_value_t = GnnLevel::Address)]
    pub level: GnnLevel,
    /// Edge columns: positional roles (`source,target,weight,time`, `_` skips) or
    /// `ROLE=NAME` pairs (`source=from,target=to,sign=rating`).
    #[arg(long)]
    pub columns: Option<String>,
    /// Whether the edge CSV starts with a header row.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    pub header: HeaderArg,
}

/// `gnn predict` and `gnn embed`: a trained model over a graph and its node table.
#[derive(Debug, Args)]
pub struct GnnApplyArgs {
    /// The model folder (`gnn train -o`) or its model.lfg.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: GnnEdgeArgs,
    /// The node table (CSV or Parquet) with the model's feature columns.
    #[arg(long)]
    pub features: PathBuf,
    #[arg(long, default_value = "id")]
    pub id: String,
    /// The output table: *.parquet, else CSV.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Threads (0: one per core); the output is the same for any count.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct GnnTrainArgs {
    /// Threads (0: one per core); the model file is the same for any count. Products
    /// under 4,194,304 output cells (a quarter million nodes at width 16) stay on one
    /// thread, where two were measured no faster (LEDGERFLOW_GNN_PARALLEL_CELLS changes
    /// that size; it changes speed only).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = GnnTask::Node)]
    pub task: GnnTask,
    #[command(flatten)]
    pub input: GnnEdgeArgs,
    /// The node table: id, numeric features, label (--task node).
    #[arg(long)]
    pub features: Option<PathBuf>,
    #[arg(long, default_value = "id")]
    pub id: String,
    /// The node label column (--task node).
    #[arg(long)]
    pub label: Option<String>,
    /// --task link: predict the sign of held-out edges (from a sign column, or the
    /// weight's sign, e.g. the SNAP ratings) with the degree-feature baseline (each
    /// edge's ends' signed degrees, mean ratings and common neighbours over the training
    /// edges; gradient-boosted trees, --epochs rounds).
    #[arg(long)]
    pub signed: bool,
    /// --signed: the edge description: `degrees` (the baseline above) or `balance`
    /// (the degrees plus one SGCN-style signed convolution: both ends' mean inputs over
    /// the nodes they trust, distrust, are trusted by and are distrusted by), both
    /// with trees; or `sgcn`: a trained signed GNN (two SGCN layers, a balanced and an
    /// unbalanced half each --dim wide; --epochs, --lr, --patience, --weight-decay).
    #[arg(long, value_enum, default_value_t = SignModelArg::Degrees)]
    pub sign_model: SignModelArg,
    /// Node-table columns that are not features (repeat).
    #[arg(long)]
    pub exclude: Vec<String>,
    #[arg(long, value_enum, default_value_t = GnnModelKind::Gcn)]
    pub model: GnnModelKind,
    /// Hidden units (per attention head for gat): the embedding width.
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Attention heads of a gat's first layer.
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// L2 decay of the first layer's weights [node: 5e-4, link: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Dropout of the hidden layer (and a GAT's inputs) [node: 0.5, link: 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// --task link: the encoder's hidden width (--dim is the embedding width).
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// --task link: random (seeded shuffle of the links) or time (the last links in
    /// time are the test: train on the past, predict the future; needs a time column).
    #[arg(long, value_enum, default_value_t = GnnSplit::Random)]
    pub split: GnnSplit,
    /// --task link: sampled non-links each test link is ranked against (MRR, Hits@k).
    #[arg(long, default_value_t = 100)]
    pub negatives: usize,
    /// --task link --split time: cut the test period into this many windows and rank
    /// all candidate links in each (MAP, MRR as in EvolveGCN); 0 skips it.
    #[arg(long, default_value_t = 0)]
    pub windows: usize,
    /// --windows: score each window with every earlier link observed (messages,
    /// Adamic-Adar and the candidate list: pairs already linked are not new), as
    /// EvolveGCN predicts each snapshot from the ones before; the model is trained once.
    #[arg(long, requires = "windows")]
    pub rolling: bool,
    /// --task link --split time: EvolveGCN's snapshot protocol with steps of this many
    /// time units (1200000 for its Bitcoin-OTC/Alpha runs). --test-fraction and
    /// --val-fraction then count steps (EvolveGCN: 0.2 and 0.1); for each test step,
    /// rank all node pairs for the step's links with every earlier edge observed;
    /// repeated and reciprocated links count, linked pairs stay candidates. Adds a
    /// `history` scorer (pairs linked before first), an `activity` one (product of
    /// both ends' recent edge counts) and a `reciprocity` one (activity raised for
    /// one-way links awaiting their return, the weight chosen on the validation
    /// steps). 0 skips it.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub snapshot: i64,
    /// --task link: random input features added to log-degree (without --features).
    #[arg(long, default_value_t = 0)]
    pub random_features: usize,
    /// --task anomaly: the label value(s) that mark an anomaly, comma-separated
    /// (`coinjoin,peel_chain`; with --label; default the rarest class).
    #[arg(long)]
    pub positive: Option<String>,
    /// --task anomaly: nodes printed (and k of precision@k besides 10, 50, 100).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// --task anomaly: the score that orders the printed top.
    #[arg(long, value_enum, default_value_t = AnomalyRank::Gae)]
    pub rank_by: AnomalyRank,
    /// --task link: free input features per node learned with the encoder.
    #[arg(long, default_value_t = 32)]
    pub learned_features: usize,
    /// Epochs without a better validation loss before stopping (0: never).
    #[arg(long, default_value_t = 50)]
    pub patience: usize,
    /// Weigh classes by their inverse frequency among the training nodes.
    #[arg(long)]
    pub balanced: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// --task node: train on neighbour-sampled mini-batches of this many training nodes
    /// (one Adam step each) instead of the whole graph per step: GraphSAGE on the
    /// sampled neighbour lists, GCN and GAT on the sub-graph the sampled links make.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Neighbours sampled per node at hop 1 and hop 2 (with --batch-size).
    #[arg(long, default_value = "25,10")]
    pub fanout: String,
    /// --task node: a node-table column giving the split (train, val, test) instead of
    /// the seeded shuffle (to compare with another tool on the same split).
    #[arg(long)]
    pub split_col: Option<String>,
    /// Output folder: model.lfg and manifest.json (--task node); embeddings.parquet
    /// and metrics.json (--task link); node_scores.parquet, link_scores.parquet and
    /// metrics.json (--task anomaly).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = GnnFormat::Text)]
    pub format: GnnFormat,
}
