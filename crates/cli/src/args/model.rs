//! `ledgerflow model train|predict|evaluate|inspect|verify`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train a random forest or gradient-boosted trees on a feature table.
    ///
    /// Any table works: Parquet or CSV with an id column, a label column and numeric
    /// feature columns (integers, floats, booleans, timestamps; empty cells, NA and NaN
    /// are missing values, which the trees route to the better side). Every column that is
    /// not the id or the label is a feature unless --exclude names it; a non-numeric
    /// column is refused by name. Rows without a label are skipped.
    ///
    /// Writes DIR/model.lfm (the model; its SHA-256 is its identity) and
    /// DIR/manifest.json (what was read: the file's SHA-256, the columns, the parameters,
    /// the seed, the code version). The same data, parameters and seed give a
    /// byte-identical model on any number of threads; `model verify DIR` re-derives it.
    ///
    /// Algorithms:
    ///   forest  bootstrapped CART trees (Gini), sqrt(features) tried per split,
    ///           probabilities averaged (scikit-learn's RandomForestClassifier)
    ///   gbt     gradient boosting on histograms (XGBoost's hist method): logistic or
    ///           softmax loss, depth 6, learning rate 0.1, L2 1.0 by default
    ///
    /// Examples:
    ///   ledgerflow model train --features accounts.csv --id address --label FLAG --exclude token -o model/
    ///   ledgerflow model train --features f.parquet --id address --label category --algo gbt --trees 300 --seed 7 -o gbt/
    #[command(verbatim_doc_comment)]
    Train(TrainArgs),
    /// Score every row of a feature table with a model.
    ///
    /// Writes one row per actor: the id, `prediction` (the most probable class),
    /// `score` (its probability), `p_<class>` for every class and `top_features` (the
    /// features that moved the score most, from the trees' decision paths). With --top K:
    /// the K rows most like --class (default: the positive class, the last one of two),
    /// ranked, with `rank`.
    ///
    /// Examples:
    ///   ledgerflow model predict --model model/ --features accounts.csv --id address -o scores.csv
    ///   ledgerflow model predict --model model/ --features f.parquet --id address --class mixer --top 50 --format parquet -o lookalikes.parquet
    ///   ledgerflow model predict --model model/ --features f.parquet --id entity --class exchange --top 20 --unlabelled label --keep entity_address -o top.csv
    #[command(verbatim_doc_comment)]
    Predict(PredictArgs),
    /// Train on one side of a leakage-safe split and score the other.
    ///
    /// Splits: --split time --time-col COL --cutoff T (train on rows before T, a number
    /// or a date, test on the rest) or --split group --group-col COL (every group, e.g.
    /// an entity or an address, entirely on one side; --test-fraction of the groups,
    /// chosen by a seeded hash). Random row splits are not offered: rows of one actor on
    /// both sides leak.
    ///
    /// Reports precision, recall and F1 per class, accuracy, ROC-AUC and PR-AUC, Brier
    /// score, log loss and a calibration table; --plot-dir writes roc, pr and calibration
    /// plots; permutation importance on the test side with --permutation N. With --model,
    /// scores an existing model on the test side instead of training; -o saves the
    /// trained model (its manifest records the split, so `model verify` re-derives it).
    ///
    /// Examples:
    ///   ledgerflow model evaluate --features accounts.csv --id address --label FLAG --split group --group-col address --exclude token
    ///   ledgerflow model evaluate --features f.parquet --id entity --label role --split time --time-col first_seen --cutoff 2024-01-01 --plot-dir plots/
    #[command(verbatim_doc_comment)]
    Evaluate(EvaluateArgs),
    /// Print a model's SHA-256, parameters, classes, features, importances and manifest.
    Inspect(InspectArgs),
    /// Re-derive a model from its manifest and compare it byte for byte.
    ///
    /// Checks that the model file still has the recorded SHA-256, that the input (and,
    /// for lake-derived features, the lake chunks) still hash to what was recorded, then
    /// trains again with the recorded parameters and seed and compares the bytes.
    ///
    /// Exit codes: 0 verified, 1 a check failed, 2 unreadable folder or manifest.
    #[command(verbatim_doc_comment)]
    Verify(VerifyArgs),
}

/// Columns and training parameters shared by train and evaluate.
#[derive(Debug, Args, Clone)]
pub struct TrainParams {
    /// The algorithm.
    #[arg(long, default_value = "forest", value_parser = ["forest", "gbt"])]
    pub algo: String,
    /// Trees (forest) or boosting rounds (gbt).
    #[arg(long, default_value_t = 100)]
    pub trees: u32,
    /// The seed of every random draw (bootstrap, feature sampling, row sampling).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Deepest level (default: unlimited for forest, 6 for gbt).
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// Fewest training rows in a leaf.
    #[arg(long, default_value_t = 1)]
    pub min_leaf: u32,
    /// Features tried per split (forest): sqrt, log2, all, a count or a fraction.
    #[arg(long)]
    pub max_features: Option<String>,
    /// Class weights: none, balanced, or CLASS=WEIGHT,... (e.g. 1=5).
    #[arg(long, default_value = "none")]
    pub class_weight: String,
    /// Shrinkage per round (gbt).
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// L2 penalty on leaf weights (gbt).
    #[arg(long, default_value_t = 1.0)]
    pub lambda: f64,
    /// Least hessian in a child (gbt).
    #[arg(long, default_value_t = 1.0)]
    pub min_child_weight: f64,
    /// Share of rows per round (gbt).
    #[arg(long, default_value_t = 1.0)]
    pub subsample: f64,
    /// Share of features per tree (gbt).
    #[arg(long, default_value_t = 1.0)]
    pub colsample: f64,
    /// Histogram bins per feature (2..=255).
    #[arg(long, default_value_t = 255)]
    pub max_bins: u32,
    /// Bootstrap off (forest): every tree sees every row.
    #[arg(long)]
    pub no_bootstrap: bool,
}

/// The feature table and its columns.
#[derive(Debug, Args, Clone)]
pub struct TableArgs {
    /// The feature table: Parquet (.parquet) or CSV.
    #[arg(long)]
    pub features: PathBuf,
    /// The id column.
    #[arg(long)]
    pub id: String,
    /// Columns that are not features (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Node embeddings (`gnn embed`, or `gnn train --task link -o`'s
    /// embeddings.parquet) joined to the feature table by id: their columns become
    /// features (rows without one: missing values). `model evaluate` then also reports
    /// the features alone on the same split.
    #[arg(long)]
    pub with_embeddings: Option<PathBuf>,
    /// The id column of --with-embeddings.
    #[arg(long, default_value = "id")]
    pub embeddings_id: String,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// The label column.
    #[arg(long)]
    pub label: String,
    #[command(flatten)]
    pub params: TrainParams,
    /// The model folder to write (model.lfm, manifest.json).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Threads (0: one per core); the model is the same for any count.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PredictFormat {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model folder (or its model.lfm).
    #[arg(long)]
    pub model: PathBuf,
    /// The feature table: Parquet or CSV with the model's feature columns.
    #[arg(long)]
    pub features: PathBuf,
    /// The id column.
    #[arg(long)]
    pub id: String,
    /// Node embeddings joined by id, as the model was trained (`model train
    /// --with-embeddings`).
    #[arg(long)]
    pub with_embeddings: Option<PathBuf>,
    /// The id column of --with-embeddings.
    #[arg(long, default_value = "id")]
    pub embeddings_id: String,
    /// The output file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format (default: from the file's extension, else csv).
    #[arg(long, value_enum)]
    pub format: Option<PredictFormat>,
    /// Only the K rows most like --class, ranked.
    #[arg(long)]
    pub top: Option<usize>,
    /// The class to rank by with --top and to explain (default: the last class).
    #[arg(long)]
    pub class: Option<String>,
    /// Features listed in top_features per row.
    #[arg(long, default_value_t = 3)]
    pub explain: usize,
    /// Columns of the feature table copied into the output as they are (e.g. label,
    /// entity_address).
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Score only the rows where this column is empty: look-alikes among the actors
    /// nobody has labelled yet (e.g. --unlabelled label).
    #[arg(long)]
    pub unlabelled: Option<String>,
    /// Threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitKind {
    Time,
    Group,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// The label column.
    #[arg(long)]
    pub label: String,
    /// How to split.
    #[arg(long, value_enum)]
    pub split: SplitKind,
    /// The time column (--split time): numbers or dates.
    #[arg(long)]
    pub time_col: Option<String>,
    /// Rows before this time train (a number, or a date YYYY-MM-DD[THH:MM:SS]).
    #[arg(long)]
    pub cutoff: Option<String>,
    /// The group column (--split group); may be the id column.
    #[arg(long)]
    pub group_col: Option<String>,
    /// Share of the groups that test (--split group).
    #[arg(long, default_value_t = 0.3)]
    pub test_fraction: f64,
    /// Seed of the group hash (default: --seed).
    #[arg(long)]
    pub split_seed: Option<u64>,
    #[command(flatten)]
    pub params: TrainParams,
    /// Score this model on the test side instead of training one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Save the trained model here (with a manifest recording the split).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The class the curves, ROC-AUC, PR-AUC and calibration refer to (default: the
    /// last class).
    #[arg(long)]
    pub positive: Option<String>,
    /// Write roc, pr and calibration plots into this folder.
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Plot format.
    #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
    pub plot_format: String,
    /// Permutation importance on the test side, averaged over N shuffles (0: off).
    #[arg(long, default_value_t = 0)]
    pub permutation: usize,
    /// Threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model folder (or its model.lfm).
    pub model: PathBuf,
    /// Importances listed (text format).
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The model folder.
    pub model: PathBuf,
    /// The lake of lake-derived features, when it is no longer where the manifest says.
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}
