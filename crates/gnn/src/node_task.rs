//! `ledgerflow gnn train --task node`: an edge list and a node table (features, labels)
//! in, a trained GCN or GraphSAGE out, with its test metrics and a manifest of what it
//! read.
//!
//! The labelled nodes are split with a seeded shuffle (the node-classification protocol
//! of the GCN/PyG literature): `test_fraction` of them for the test metrics,
//! `val_fraction` for early stopping, the rest to train on. Features are standardised
//! with the training nodes' means and deviations (recorded in the manifest).

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::dense::Mat;
use crate::edges::{self, EdgeSource, SourceRecord};
use crate::file::GnnModel;
use crate::nodes::{self, JoinReport};
use crate::train::{self, Arch, Inputs, TrainOptions};

/// What to train.
#[derive(Debug, Clone)]
pub struct NodeTask {
    pub edges: EdgeSource,
    pub features: PathBuf,
    pub id: String,
    pub label: String,
    pub exclude: Vec<String>,
    pub arch: Arch,
    pub train: TrainOptions,
    pub test_fraction: f64,
    pub val_fraction: f64,
    /// A node-table column that gives the split (`train`, `val`, `test`; other values
    /// and empty cells: unused) instead of the seeded shuffle.
    pub split_column: Option<String>,
    /// Neighbour-sampled mini-batches instead of full-batch steps.
    pub batch: Option<crate::sample::BatchOptions>,
}

/// A failure, naming its cause.
#[derive(Debug, thiserror::Error)]
pub enum GnnError {
    #[error(transparent)]
    Edges(#[from] edges::EdgeError),
    #[error(transparent)]
    Nodes(#[from] nodes::NodeError),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
}

/// A file read, by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

/// A file's path, SHA-256 and size, for a manifest.
pub fn input_file(path: &Path) -> Result<InputFile, GnnError> {
    input(path)
}

fn input(path: &Path) -> Result<InputFile, GnnError> {
    let (sha256, bytes) = ledgerflow_lake::hash::file_sha256(path).map_err(|e| GnnError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(InputFile {
        path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        sha256,
        bytes,
    })
}

/// Test-side metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeMetrics {
    pub accuracy: f64,
    pub f1_macro: f64,
    /// ROC-AUC of the last class (two classes only).
    pub auc: Option<f64>,
    pub test_nodes: usize,
}

/// What a run read and did (`manifest.json` beside the model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GnnManifest {
    pub format: String,
    pub version: u32,
    pub code: ledgerflow_ml::manifest::CodeVersion,
    pub task: String,
    pub model: String,
    pub model_sha256: String,
    pub edges: SourceRecord,
    pub nodes: InputFile,
    pub id_column: String,
    pub label_column: String,
    pub excluded: Vec<String>,
    /// Training settings (the seed among them).
    pub params: TrainOptions,
    pub test_fraction: f64,
    pub val_fraction: f64,
    /// The node-table column the split came from (else the seeded shuffle).
    pub split_column: Option<String>,
    /// Mini-batch size and fan-outs (absent: full batch).
    pub batch: Option<crate::sample::BatchOptions>,
    pub split: [usize; 3],
    /// Standardisation of each feature (mean, deviation) from the training nodes.
    pub scaling: Vec<(f64, f64)>,
    pub join: JoinSummary,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub metrics: NodeMetrics,
}

impl GnnManifest {
    /// Pretty JSON (field order fixed by the struct).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// [`JoinReport`] for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinSummary {
    pub nodes: usize,
    pub edges: usize,
    pub without_features: usize,
    pub isolated: usize,
    pub filled_cells: usize,
    pub labelled: usize,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct NodeRun {
    pub model: GnnModel,
    pub bytes: Vec<u8>,
    pub manifest: GnnManifest,
    /// Wall seconds of training (every epoch's step and validation), not in the manifest.
    pub train_seconds: f64,
}

/// Trains and evaluates as the module documents.
pub fn run(t: &NodeTask) -> Result<NodeRun, GnnError> {
    for (f, name) in [
        (t.test_fraction, "--test-fraction"),
        (t.val_fraction, "--val-fraction"),
    ] {
        if !(0.0..1.0).contains(&f) {
            return Err(GnnError::Invalid(format!("{name} must be in [0, 1)")));
        }
    }
    if t.test_fraction + t.val_fraction >= 0.9 {
        return Err(GnnError::Invalid(
            "--test-fraction and --val-fraction leave under 10 % to train on".into(),
        ));
    }
    let (mut el, source) = t.edges.read()?;
    let spec = ledgerflow_ml::table::ColumnSpec {
        id: t.id.clone(),
        label: Some(t.label.clone()),
        exclude: t.exclude.clone(),
        aux: t.split_column.iter().cloned().collect(),
        ..ledgerflow_ml::table::ColumnSpec::default()
    };
    let nd = nodes::join_spec(&mut el, &t.features, &spec)?;
    let n = nd.nodes.len();
    let d = nd.dim();
    // the split: labelled nodes shuffled with the seed
    let mut labelled: Vec<usize> = (0..n).filter(|&i| nd.labels[i].is_some()).collect();
    let (test, val, tr): (Vec<usize>, Vec<usize>, Vec<usize>) = if t.split_column.is_some() {
        let side = |w: &str| -> Vec<usize> {
            labelled
                .iter()
                .copied()
                .filter(|&i| nd.aux.get(i).and_then(|a| a.as_deref()).map(str::trim) == Some(w))
                .collect()
        };
        (side("test"), side("val"), side("train"))
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(t.train.seed ^ SPLIT_SALT);
        labelled.shuffle(&mut rng);
        let n_test = (labelled.len() as f64 * t.test_fraction).round() as usize;
        let n_val = (labelled.len() as f64 * t.val_fraction).round() as usize;
        let (test, rest) = labelled.split_at(n_test);
        let (val, tr) = rest.split_at(n_val.min(rest.len()));
        (test.to_vec(), val.to_vec(), tr.to_vec())
    };
    let (test, val, tr) = (&test[..], &val[..], &tr[..]);
    if tr.is_empty() || test.is_empty() {
        return Err(GnnError::Invalid(format!(
            "{} labelled nodes leave {} to train on and {} to test: label more nodes or \
             change --test-fraction",
            labelled.len(),
            tr.len(),
            test.len()
        )));
    }
    let mut train_mask = vec![false; n];
    let mut val_mask = vec![false; n];
    tr.iter().for_each(|&i| train_mask[i] = true);
    val.iter().for_each(|&i| val_mask[i] = true);
    // standardise with the training nodes' statistics
    let raw = Mat::from_vec(n, d, nd.x.clone());
    let scaling = crate::dense::column_scaling(&raw, tr);
    let x = crate::dense::standardise(&raw, &scaling);
    let inp = Inputs::new(t.arch, n, &el.src, &el.dst, x);
    let k = nd.classes.len();
    let t0 = std::time::Instant::now();
    let trained = match &t.batch {
        None => train::train(
            &inp,
            t.arch,
            &nd.labels,
            k,
            &train_mask,
            &val_mask,
            &t.train,
        ),
        Some(b) => crate::sample::train_batches(
            t.arch,
            n,
            &el.src,
            &el.dst,
            &inp.x,
            &nd.labels,
            k,
            &train_mask,
            &val_mask,
            &t.train,
            b,
        ),
    };
    let train_seconds = t0.elapsed().as_secs_f64();
    let probs = train::predict(&trained.model, &inp);
    let y: Vec<u32> = test.iter().filter_map(|&i| nd.labels[i]).collect();
    let p: Vec<f64> = test.iter().flat_map(|&i| probs.row(i).to_vec()).collect();
    let report = ledgerflow_ml::metrics::evaluate(&y, &p, &nd.classes, k - 1);
    let model = GnnModel {
        net: trained.model.clone(),
        classes: nd.classes.clone(),
        features: nd.names.clone(),
        scaling: scaling.clone(),
    };
    let bytes = model.to_bytes();
    let manifest = GnnManifest {
        format: "ledgerflow-gnn-manifest".into(),
        version: 1,
        code: ledgerflow_ml::manifest::CodeVersion::current(),
        task: "node".into(),
        model: t.arch.name().into(),
        model_sha256: ledgerflow_ml::model::sha256_hex(&bytes),
        edges: source,
        nodes: input(&t.features)?,
        id_column: t.id.clone(),
        label_column: t.label.clone(),
        excluded: t.exclude.clone(),
        params: t.train.clone(),
        test_fraction: t.test_fraction,
        val_fraction: t.val_fraction,
        split_column: t.split_column.clone(),
        batch: t.batch.clone(),
        split: [tr.len(), val.len(), test.len()],
        scaling,
        join: summary(&nd.report, n, el.len()),
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        metrics: NodeMetrics {
            accuracy: report.accuracy,
            f1_macro: report.macro_f1,
            auc: if k == 2 { report.roc_auc } else { None },
            test_nodes: test.len(),
        },
    };
    Ok(NodeRun {
        model,
        bytes,
        manifest,
        train_seconds,
    })
}

fn summary(r: &JoinReport, nodes: usize, edges: usize) -> JoinSummary {
    JoinSummary {
        nodes,
        edges,
        without_features: r.without_features,
        isolated: r.isolated,
        filled_cells: r.filled_cells,
        labelled: r.labelled,
    }
}

/// The split stream's salt (kept apart from the training stream of the same seed).
const SPLIT_SALT: u64 = 0x5eed_5b11_7000_0001;
