//! `ledgerflow gnn predict` and `gnn embed`: a trained model file applied to a graph
//! and a node table: class probabilities and the hidden layer (the embeddings) of every
//! node, the new graph's nodes included (a GNN is inductive over its features and
//! neighbourhoods).
//!
//! The node table must hold the model's feature columns (by name; others are ignored);
//! nodes without a row get the table's column means and `has_features = 0` as in
//! training, and the model's own standardisation is applied.

use std::path::{Path, PathBuf};

use ledgerflow_ml::table::ColumnSpec;

use crate::dense::Mat;
use crate::edges::{EdgeList, EdgeSource};
use crate::file::GnnModel;
use crate::node_task::GnnError;
use crate::nodes::{self, JoinReport};
use crate::train::{self, Inputs};

/// What to score.
#[derive(Debug, Clone)]
pub struct Apply {
    pub model: PathBuf,
    pub edges: EdgeSource,
    pub features: PathBuf,
    pub id: String,
}

/// Every node's class probabilities and embedding.
#[derive(Debug, Clone)]
pub struct Applied {
    pub model: GnnModel,
    pub model_sha256: String,
    pub nodes: Vec<String>,
    /// `nodes × classes`.
    pub probs: Mat,
    /// `nodes × hidden`.
    pub embedding: Mat,
    pub report: JoinReport,
    pub edges: usize,
}

/// Reads a model file, or `model.lfg` in a folder.
pub fn load_model(path: &Path) -> Result<(GnnModel, String), GnnError> {
    let file = if path.is_dir() {
        path.join("model.lfg")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| GnnError::Io {
        path: file.clone(),
        message: e.to_string(),
    })?;
    let model = GnnModel::from_bytes(&bytes).map_err(|m| GnnError::Io {
        path: file.clone(),
        message: m,
    })?;
    Ok((model, ledgerflow_ml::model::sha256_hex(&bytes)))
}

/// Applies the model as the module documents.
pub fn apply(a: &Apply) -> Result<Applied, GnnError> {
    let (el, _) = a.edges.read()?;
    apply_to(&a.model, el, &a.features, &a.id)
}

/// [`apply`] to a graph already read (by a caller that also checked where it came from).
pub fn apply_to(
    model: &Path,
    mut el: EdgeList,
    features: &Path,
    id: &str,
) -> Result<Applied, GnnError> {
    let (model, model_sha256) = load_model(model)?;
    // the model's inputs are the table's features plus has_features, last
    let wanted: Vec<String> = match model.features.split_last() {
        Some((last, rest)) if last == "has_features" => rest.to_vec(),
        _ => model.features.clone(),
    };
    let spec = ColumnSpec {
        id: id.to_string(),
        label: None,
        features: Some(wanted),
        ..ColumnSpec::default()
    };
    let nd = nodes::join_spec(&mut el, features, &spec)?;
    if nd.names != model.features {
        return Err(GnnError::Invalid(format!(
            "{}: the model reads {:?}, the table gives {:?}",
            features.display(),
            model.features,
            nd.names
        )));
    }
    let n = nd.nodes.len();
    let raw = Mat::from_vec(n, nd.dim(), nd.x.clone());
    let x = model.scale(&raw);
    let inp = Inputs::new(model.net.arch(), n, &el.src, &el.dst, x);
    let probs = train::predict(&model.net, &inp);
    let embedding = model.net.embed(&inp);
    Ok(Applied {
        model,
        model_sha256,
        nodes: nd.nodes,
        probs,
        embedding,
        report: nd.report,
        edges: el.len(),
    })
}
