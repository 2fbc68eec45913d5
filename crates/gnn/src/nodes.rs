//! Node features and labels joined to an edge list, with every mismatch handled the same
//! documented way:
//!
//! - **a graph node without a feature row** (an id of the edge file the feature table
//!   does not know): its features are the column means, and the added feature
//!   `has_features` is 0 for it (1 for the others), so a model can tell;
//! - **a feature row for an id without edges**: the node joins the graph as an isolated
//!   node (GCN's self-loop then gives it its own features only);
//! - **a missing cell** (empty, `NA`, …) in a feature row: the column's mean over the rows
//!   that have it (0 for a column with no value at all);
//! - **labels**: the label column's text, classes sorted; an unlabelled node is not
//!   trained or evaluated on; labels of one class only are refused (node classification
//!   needs two).
//!
//! Duplicate ids in the feature table are refused (the id and both line positions named
//! by the table loader's row numbers).

use std::path::Path;

use ledgerflow_ml::table::{self, ColumnSpec};
use rustc_hash::FxHashMap;

use crate::edges::EdgeList;

/// What joining changed, for the report (and the user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinReport {
    /// Graph nodes given mean features (no row in the table).
    pub without_features: usize,
    /// Table rows that became isolated nodes (no edge).
    pub isolated: usize,
    /// Missing cells filled with their column's mean.
    pub filled_cells: usize,
    /// Labelled nodes.
    pub labelled: usize,
}

/// Nodes with features (row-major) and labels, numbered as the edge list numbers them
/// (isolated nodes after, in table order).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeData {
    pub nodes: Vec<String>,
    /// Feature names (the table's, then `has_features`).
    pub names: Vec<String>,
    /// `nodes.len() × names.len()`, row-major.
    pub x: Vec<f64>,
    /// Class index per node (`None`: unlabelled).
    pub labels: Vec<Option<u32>>,
    pub classes: Vec<String>,
    /// The first auxiliary column's text per node (empty unless the spec asked for one):
    /// a given split, say.
    pub aux: Vec<Option<String>>,
    pub report: JoinReport,
}

impl NodeData {
    /// Feature count.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// The features of node `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.dim();
        &self.x[i * d..(i + 1) * d]
    }
}

/// Why features and labels cannot be joined.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Table(#[from] ledgerflow_ml::MlError),
    #[error("{path}: {message}")]
    Invalid {
        path: std::path::PathBuf,
        message: String,
    },
}

/// Reads `path` (CSV or Parquet: `id` column, numeric features, optionally `label`) and
/// joins it to `edges` (isolated nodes are appended to `edges.nodes` too, so the two stay
/// numbered alike).
pub fn join(
    edges: &mut EdgeList,
    path: &Path,
    id: &str,
    label: Option<&str>,
    exclude: &[String],
) -> Result<NodeData, NodeError> {
    let spec = ColumnSpec {
        id: id.to_string(),
        label: label.map(str::to_string),
        exclude: exclude.to_vec(),
        ..ColumnSpec::default()
    };
    join_spec(edges, path, &spec)
}

/// [`join`] of the ids and labels only (no feature column is read): for graphs that
/// bring their own node features (the transaction graph).
pub fn join_labels(
    edges: &mut EdgeList,
    path: &Path,
    id: &str,
    label: Option<&str>,
) -> Result<NodeData, NodeError> {
    let spec = ColumnSpec {
        id: id.to_string(),
        label: label.map(str::to_string),
        features: Some(Vec::new()),
        ..ColumnSpec::default()
    };
    join_spec(edges, path, &spec)
}

/// [`join`] with the table's columns chosen by `spec` (scoring: exactly the model's
/// features, in its order).
pub fn join_spec(
    edges: &mut EdgeList,
    path: &Path,
    spec: &ColumnSpec,
) -> Result<NodeData, NodeError> {
    let label = spec.label.as_deref();
    let t = table::load(path, spec)?;
    let bad = |m: String| NodeError::Invalid {
        path: path.to_path_buf(),
        message: m,
    };
    let mut row_of: FxHashMap<&str, usize> = FxHashMap::default();
    for (r, i) in t.ids.iter().enumerate() {
        if let Some(prev) = row_of.insert(i.as_str(), r) {
            return Err(bad(format!(
                "id {i:?} appears twice (data rows {} and {})",
                prev + 1,
                r + 1
            )));
        }
    }
    let mut report = JoinReport::default();
    // isolated nodes: table ids the edges never name
    {
        let known: FxHashMap<&str, ()> = edges.nodes.iter().map(|n| (n.as_str(), ())).collect();
        let extra: Vec<String> = t
            .ids
            .iter()
            .filter(|i| !known.contains_key(i.as_str()))
            .cloned()
            .collect();
        report.isolated = extra.len();
        edges.nodes.extend(extra);
    }
    let p = t.names.len();
    let means: Vec<f64> = t
        .columns
        .iter()
        .map(|c| {
            let (s, n) = c
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n == 0 {
                0.0
            } else {
                s / n as f64
            }
        })
        .collect();
    let d = p + 1;
    let n = edges.nodes.len();
    let mut x = vec![0.0; n * d];
    let mut label_text: Vec<Option<&str>> = vec![None; n];
    let aux_col = spec.aux.first().and_then(|a| t.aux(a));
    let mut aux: Vec<Option<String>> = if aux_col.is_some() {
        vec![None; n]
    } else {
        Vec::new()
    };
    for (v, name) in edges.nodes.iter().enumerate() {
        let out = &mut x[v * d..(v + 1) * d];
        match row_of.get(name.as_str()) {
            Some(&r) => {
                for f in 0..p {
                    let c = t.columns[f][r];
                    out[f] = if c.is_nan() {
                        report.filled_cells += 1;
                        means[f]
                    } else {
                        c
                    };
                }
                out[p] = 1.0;
                label_text[v] = t.labels.get(r).and_then(|l| l.as_deref());
                if let Some(c) = aux_col {
                    aux[v] = c.text[r].clone();
                }
            }
            None => {
                report.without_features += 1;
                out[..p].copy_from_slice(&means);
                out[p] = 0.0;
            }
        }
    }
    let mut classes: Vec<String> = label_text.iter().flatten().map(|s| s.to_string()).collect();
    classes.sort();
    classes.dedup();
    if label.is_some() {
        match classes.len() {
            0 => return Err(bad("no node has a label".into())),
            1 => {
                return Err(bad(format!(
                    "every label is {:?}: node classification needs two classes or more",
                    classes[0]
                )))
            }
            _ => {}
        }
    }
    let labels: Vec<Option<u32>> = label_text
        .iter()
        .map(|l| {
            l.and_then(|s| {
                classes
                    .binary_search_by(|c| c.as_str().cmp(s))
                    .ok()
                    .map(|i| i as u32)
            })
        })
        .collect();
    report.labelled = labels.iter().filter(|l| l.is_some()).count();
    let mut names = t.names.clone();
    names.push("has_features".into());
    Ok(NodeData {
        aux,
        nodes: edges.nodes.clone(),
        names,
        x,
        labels,
        classes,
        report,
    })
}
