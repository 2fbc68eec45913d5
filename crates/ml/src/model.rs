//! A trained model: what it was trained on (classes, feature schema, parameters), its trees,
//! how it predicts and explains, and its file.
//!
//! The file (`model.lfm`) is `LFMODEL1`, a little-endian `u32` header length, the header
//! as JSON (format, version, parameters, classes, features, base margins, importances,
//! training rows per class, number of trees) and the trees in the binary layout of
//! [`Tree::encode`]. Nothing in it depends on time, paths or the thread count, so the same
//! data, parameters and seed give the same bytes; its SHA-256 is the model's identity.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bins::Binned;
use crate::error::{MlError, Result};
use crate::forest::TrainData;
use crate::params::{Algo, ClassWeight, Params};
use crate::table::{hex, FeatureTable};
use crate::tree::{packed_leaf, step, take_bytes, take_u32, Packed, Tree};

const MAGIC: &[u8; 8] = b"LFMODEL1";
/// The model file's name inside a model folder.
pub const MODEL_FILE: &str = "model.lfm";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    params: Params,
    classes: Vec<String>,
    features: Vec<String>,
    base: Vec<f64>,
    importance: Vec<f64>,
    class_rows: Vec<u64>,
    trees: u32,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub params: Params,
    /// Class names, in index order (numeric order when every name is a number).
    pub classes: Vec<String>,
    /// Feature names, in the order the trees index them.
    pub features: Vec<String>,
    /// Base margins (gbt); empty for a forest.
    pub base: Vec<f64>,
    /// Impurity (forest) or gain (gbt) importance per feature, summing to 1.
    pub importance: Vec<f64>,
    /// Training rows per class.
    pub class_rows: Vec<u64>,
    pub trees: Vec<Tree>,
    /// The trees packed for prediction (derived from `trees`).
    packed: Vec<Vec<Packed>>,
    /// The trees packed for branch-free batch prediction, with their depths.
    absorbing: Vec<(Vec<Packed>, u32)>,
}

/// Sorts class names: numerically when all are numbers, else as text.
pub fn sort_classes(classes: &mut [String]) {
    let nums: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok()).collect();
    if nums.is_some_and(|v| v.iter().all(|x| x.is_finite())) {
        classes.sort_by(|a, b| {
            let (x, y) = (
                a.parse::<f64>().unwrap_or(0.0),
                b.parse::<f64>().unwrap_or(0.0),
            );
            x.total_cmp(&y).then_with(|| a.cmp(b))
        });
    } else {
        classes.sort();
    }
}

/// The labelled rows of a table: their indices, class index per row and the classes.
pub fn labelled(table: &FeatureTable, label: &str) -> Result<(Vec<usize>, Vec<u32>, Vec<String>)> {
    let keep: Vec<usize> = (0..table.rows())
        .filter(|&i| table.labels.get(i).is_some_and(Option::is_some))
        .collect();
    if keep.is_empty() {
        return Err(MlError::table(
            &table.source.path,
            format!("the label column {label:?} has no value in any row"),
        ));
    }
    let mut classes: Vec<String> = keep
        .iter()
        .filter_map(|&i| table.labels[i].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    sort_classes(&mut classes);
    let y = keep
        .iter()
        .map(|&i| {
            let l = table.labels[i].as_deref().unwrap_or_default();
            classes.iter().position(|c| c == l).unwrap_or(0) as u32
        })
        .collect();
    Ok((keep, y, classes))
}

/// Trains a model on the labelled rows of `table`.
pub fn train(table: &FeatureTable, label: &str, params: &Params, threads: usize) -> Result<Model> {
    params.validate()?;
    let (keep, y, classes) = labelled(table, label)?;
    if classes.len() < 2 {
        return Err(MlError::Invalid(format!(
            "{}: the label column {label:?} has one class ({:?}) in its {} labelled rows; a \
             classifier needs at least two",
            table.source.path.display(),
            classes[0],
            keep.len()
        )));
    }
    let k = classes.len();
    let mut class_rows = vec![0u64; k];
    for &c in &y {
        class_rows[c as usize] += 1;
    }
    let cw: Vec<f64> = match &params.class_weight {
        ClassWeight::None => vec![1.0; k],
        ClassWeight::Balanced => class_rows
            .iter()
            .map(|&c| keep.len() as f64 / (k as f64 * c as f64))
            .collect(),
        ClassWeight::Custom(m) => {
            for (c, _) in m {
                if !classes.contains(c) {
                    return Err(MlError::Invalid(format!(
                        "--class-weight names class {c:?}, which is not in the labels ({})",
                        classes.join(", ")
                    )));
                }
            }
            classes
                .iter()
                .map(|c| m.iter().find(|(n, _)| n == c).map_or(1.0, |x| x.1))
                .collect()
        }
    };
    let columns: Vec<Vec<f64>> = if keep.len() == table.rows() {
        table.columns.clone()
    } else {
        table
            .columns
            .iter()
            .map(|c| keep.iter().map(|&i| c[i]).collect())
            .collect()
    };
    let weight: Vec<f64> = y.iter().map(|&c| cw[c as usize]).collect();
    let binned = Binned::new(&columns, params.max_bins as usize, threads);
    let d = TrainData {
        binned: &binned,
        columns: &columns,
        y: &y,
        k,
        weight: &weight,
    };
    let (base, trees, importance) = match params.algo {
        Algo::Forest => {
            let f = crate::forest::train(&d, params, threads);
            (Vec::new(), f.trees, f.importance)
        }
        Algo::Gbt => {
            let b = crate::gbt::train(&d, params, threads);
            (b.base, b.trees, b.importance)
        }
    };
    Model::assemble(
        params.clone(),
        classes,
        table.names.clone(),
        base,
        importance,
        class_rows,
        trees,
    )
    .ok_or_else(|| MlError::Invalid("a grown tree could not be packed".into()))
}

impl Model {
    /// A model from its parts; `None` when a tree cannot be packed for prediction.
    pub fn assemble(
        params: Params,
        classes: Vec<String>,
        features: Vec<String>,
        base: Vec<f64>,
        importance: Vec<f64>,
        class_rows: Vec<u64>,
        trees: Vec<Tree>,
    ) -> Option<Model> {
        let packed = trees.iter().map(Tree::packed).collect::<Option<Vec<_>>>()?;
        let absorbing = trees
            .iter()
            .map(|t| Some((t.absorbing()?, t.depth() as u32)))
            .collect::<Option<Vec<_>>>()?;
        Some(Model {
            absorbing,
            params,
            classes,
            features,
            base,
            importance,
            class_rows,
            trees,
            packed,
        })
    }

    /// Number of classes.
    pub fn k(&self) -> usize {
        self.classes.len()
    }

    /// Trees per boosting round (gbt): 1 for two classes, else one per class.
    fn per_round(&self) -> usize {
        if self.k() == 2 {
            1
        } else {
            self.k()
        }
    }

    /// Class probabilities of one row (`x(f)`: its value of feature `f`) into `out`.
    pub fn proba_by(&self, x: impl Fn(usize) -> f64 + Copy, out: &mut [f64]) {
        match self.params.algo {
            Algo::Forest => {
                out.iter_mut().for_each(|o| *o = 0.0);
                for (t, p) in self.trees.iter().zip(&self.packed) {
                    for (o, v) in out.iter_mut().zip(t.values(packed_leaf(p, x))) {
                        *o += v;
                    }
                }
                let n = self.trees.len().max(1) as f64;
                out.iter_mut().for_each(|o| *o /= n);
            }
            Algo::Gbt => {
                let m = self.per_round();
                let mut margins = self.base.clone();
                for (i, (t, p)) in self.trees.iter().zip(&self.packed).enumerate() {
                    margins[i % m] += t.value[packed_leaf(p, x)];
                }
                crate::gbt::probabilities(&margins, out);
            }
        }
    }

    /// Class probabilities of every row of `table` (loaded with this model's features),
    /// row-major (`rows × classes`).
    pub fn predict_proba(&self, table: &FeatureTable, threads: usize) -> Vec<f64> {
        let n = table.rows();
        let k = self.k();
        // Blocks of rows copied row-major, tree by tree within a block (the tree stays
        // in cache), eight rows stepped through a tree together without branches (their
        // loads overlap); each row's sums run over the trees in order, as in `proba_by`.
        // 64 rows: the block (64 × features × 8 bytes) stays in L1 (measured against 16 to
        // 1024 on the Kaggle table: docs/benchmarks.md).
        const BLOCK: usize = 64;
        const LANES: usize = 8;
        let blocks = n.div_ceil(BLOCK);
        let p = table.names.len();
        let cols = &table.columns;
        let parts = crate::pool::map(blocks, threads, |b| {
            let lo = b * BLOCK;
            let len = (lo + BLOCK).min(n) - lo;
            let mut xb = vec![0.0; len * p];
            for (f, c) in cols.iter().enumerate() {
                for r in 0..len {
                    xb[r * p + f] = c[lo + r];
                }
            }
            let m = match self.params.algo {
                Algo::Forest => k,
                Algo::Gbt => self.per_round(),
            };
            let mut acc: Vec<f64> = match self.params.algo {
                Algo::Forest => vec![0.0; len * k],
                Algo::Gbt => (0..len).flat_map(|_| self.base.iter().copied()).collect(),
            };
            for (i, (t, (nodes, depth))) in self.trees.iter().zip(&self.absorbing).enumerate() {
                let mut leaves = [0u32; LANES];
                let mut r = 0;
                while r < len {
                    let lanes = LANES.min(len - r);
                    if lanes == LANES {
                        let mut at = [0u32; LANES];
                        // the eight rows' slices once per group, not once per step
                        let xs: [&[f64]; LANES] =
                            std::array::from_fn(|j| &xb[(r + j) * p..(r + j + 1) * p]);
                        let d1 = lockstep_depth(*depth);
                        for _ in 0..d1 {
                            for (a, x) in at.iter_mut().zip(xs) {
                                *a = step(nodes, *a, x);
                            }
                        }
                        if d1 < *depth {
                            // the rows not at a leaf yet go on alone (a leaf loops on itself)
                            for (a, x) in at.iter_mut().zip(xs) {
                                while nodes[*a as usize].left != *a {
                                    *a = step(nodes, *a, x);
                                }
                            }
                        }
                        leaves = at;
                    } else {
                        for (j, l) in leaves.iter_mut().enumerate().take(lanes) {
                            let x = &xb[(r + j) * p..(r + j + 1) * p];
                            *l = packed_leaf(&self.packed[i], |f| x[f]) as u32;
                        }
                    }
                    for (j, &leaf) in leaves.iter().enumerate().take(lanes) {
                        let row = r + j;
                        match self.params.algo {
                            Algo::Forest => {
                                for (o, v) in acc[row * k..(row + 1) * k]
                                    .iter_mut()
                                    .zip(t.values(leaf as usize))
                                {
                                    *o += v;
                                }
                            }
                            Algo::Gbt => acc[row * m + i % m] += t.value[leaf as usize],
                        }
                    }
                    r += lanes;
                }
            }
            match self.params.algo {
                Algo::Forest => {
                    let nt = self.trees.len().max(1) as f64;
                    acc.iter_mut().for_each(|o| *o /= nt);
                    acc
                }
                Algo::Gbt => {
                    let mut out = vec![0.0; len * k];
                    for r in 0..len {
                        crate::gbt::probabilities(
                            &acc[r * m..(r + 1) * m],
                            &mut out[r * k..(r + 1) * k],
                        );
                    }
                    out
                }
            }
        });
        parts.concat()
    }

    /// How much each feature moved the score of `class` for `row` (forest: probability
    /// points; gbt: margin), from the trees' paths.
    pub fn contributions(&self, row: &[f64], class: usize) -> Vec<f64> {
        let p = self.features.len();
        match self.params.algo {
            Algo::Forest => {
                let k = self.k();
                let mut acc = vec![0.0; p * k];
                for t in &self.trees {
                    t.contributions(row, &mut acc);
                }
                let n = self.trees.len().max(1) as f64;
                (0..p).map(|f| acc[f * k + class] / n).collect()
            }
            Algo::Gbt => {
                let m = self.per_round();
                let mut acc = vec![0.0; p];
                let mut one = vec![0.0; p];
                for (i, t) in self.trees.iter().enumerate() {
                    let model = i % m;
                    if m == 1 || model == class {
                        one.iter_mut().for_each(|x| *x = 0.0);
                        t.contributions(row, &mut one);
                        for (a, b) in acc.iter_mut().zip(&one) {
                            *a += b;
                        }
                    }
                }
                if m == 1 && class == 0 {
                    acc.iter_mut().for_each(|x| *x = -*x);
                }
                acc
            }
        }
    }

    /// The model's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            format: "ledgerflow-model".into(),
            version: 1,
            params: self.params.clone(),
            classes: self.classes.clone(),
            features: self.features.clone(),
            base: self.base.clone(),
            importance: self.importance.clone(),
            class_rows: self.class_rows.clone(),
            trees: self.trees.len() as u32,
        };
        let json = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(json.len() + 64 * self.trees.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for t in &self.trees {
            t.encode(&mut out);
        }
        out
    }

    /// The SHA-256 (hex) of the model's bytes.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.to_bytes())
    }

    /// Reads a model from its bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Model> {
        let bad = |m: String| MlError::Model {
            path: path.to_path_buf(),
            message: m,
        };
        let mut buf = bytes;
        let magic = take_bytes(&mut buf, 8).map_err(&bad)?;
        if magic != MAGIC {
            return Err(bad("it does not start with LFMODEL1".into()));
        }
        let n = take_u32(&mut buf).map_err(&bad)? as usize;
        let json = take_bytes(&mut buf, n).map_err(&bad)?;
        let h: Header =
            serde_json::from_slice(json).map_err(|e| bad(format!("its header: {e}")))?;
        if h.format != "ledgerflow-model" || h.version != 1 {
            return Err(bad(format!("format {} version {}", h.format, h.version)));
        }
        let k = h.classes.len();
        let expect_out = match h.params.algo {
            Algo::Forest => k,
            Algo::Gbt => 1,
        };
        if k < 2 || h.importance.len() != h.features.len() {
            return Err(bad("its header is inconsistent".into()));
        }
        if h.params.algo == Algo::Gbt && h.base.len() != if k == 2 { 1 } else { k } {
            return Err(bad("its base margins do not match its classes".into()));
        }
        let mut trees = Vec::with_capacity(h.trees as usize);
        for i in 0..h.trees {
            let t = Tree::decode(&mut buf, h.features.len())
                .map_err(|e| bad(format!("tree {i}: {e}")))?;
            if t.n_out != expect_out {
                return Err(bad(format!("tree {i} has {} values per node", t.n_out)));
            }
            trees.push(t);
        }
        if !buf.is_empty() {
            return Err(bad(format!("{} bytes after the last tree", buf.len())));
        }
        Model::assemble(
            h.params,
            h.classes,
            h.features,
            h.base,
            h.importance,
            h.class_rows,
            trees,
        )
        .ok_or_else(|| bad("a tree's right child does not follow its left child".into()))
    }

    /// Reads `DIR/model.lfm` (or the file itself when `path` is one).
    pub fn load(path: &Path) -> Result<(Model, Vec<u8>)> {
        let file = if path.is_dir() {
            path.join(MODEL_FILE)
        } else {
            path.to_path_buf()
        };
        let bytes = std::fs::read(&file).map_err(|e| MlError::io(&file, e))?;
        Ok((Model::from_bytes(&bytes, &file)?, bytes))
    }

    /// Total nodes over all trees.
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(Tree::len).sum()
    }
}

/// SHA-256 (hex) of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// How many levels eight rows walk a tree together before each finishes alone: all of a
/// shallow tree (gbt's depth 6: lockstep is cheapest), three fifths of a deep one (a
/// forest's trees, ~20 levels, where most rows reach their leaf by level ~10 and walking
/// every row to the deepest level wastes steps). Measured on the Kaggle batch
/// (docs/benchmarks.md, "Batch prediction"). The leaf reached is the same either way.
fn lockstep_depth(depth: u32) -> u32 {
    if depth <= 8 {
        depth
    } else {
        (depth * 3 / 5).max(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{ColumnSpec, TableSource};

    pub(crate) fn toy(n: usize) -> FeatureTable {
        let mut cols = vec![Vec::new(), Vec::new()];
        let mut labels = Vec::new();
        for i in 0..n {
            let a = (i % 17) as f64;
            let b = if i % 5 == 0 { f64::NAN } else { (i % 7) as f64 };
            cols[0].push(a);
            cols[1].push(b);
            labels.push(Some(if a > 8.0 { "mixer" } else { "user" }.to_string()));
        }
        FeatureTable {
            source: TableSource {
                path: "toy.csv".into(),
                format: "csv".into(),
                bytes: 0,
                sha256: String::new(),
            },
            ids: (0..n).map(|i| format!("a{i}")).collect(),
            names: vec!["x".into(), "y".into()],
            columns: cols,
            labels,
            aux: Vec::new(),
            lake: None,
        }
    }

    #[test]
    fn bytes_round_trip_and_are_thread_independent() {
        let t = toy(400);
        for algo in [Algo::Forest, Algo::Gbt] {
            let mut p = Params::new(algo);
            p.trees = 10;
            p.seed = 9;
            let m1 = train(&t, "label", &p, 1).unwrap();
            let m2 = train(&t, "label", &p, 3).unwrap();
            let b = m1.to_bytes();
            assert_eq!(b, m2.to_bytes(), "{algo}");
            let back = Model::from_bytes(&b, Path::new("m")).unwrap();
            assert_eq!(back, m1);
            assert_eq!(m1.classes, vec!["mixer", "user"]);
            let probs = m1.predict_proba(&t, 2);
            assert_eq!(probs.len(), 800);
            // The branch-free batch path equals the row-by-row one, bit for bit.
            let mut one = vec![0.0; 2];
            for i in 0..400 {
                m1.proba_by(|f| t.columns[f][i], &mut one);
                assert_eq!(one, probs[2 * i..2 * i + 2], "{algo} row {i}");
            }
            let right = (0..400)
                .filter(|&i| (probs[2 * i] > 0.5) == (t.columns[0][i] > 8.0))
                .count();
            assert_eq!(right, 400, "{algo}");
            let c = m1.contributions(&[12.0, 3.0], 0);
            assert!(c[0] > 0.0 && c[0] > c[1].abs(), "{algo} {c:?}");
            let mut damaged = b.clone();
            let last = damaged.len() - 1;
            damaged.truncate(last);
            assert!(Model::from_bytes(&damaged, Path::new("m")).is_err());
            assert!(Model::from_bytes(b"LFMODEL2xxxx", Path::new("m")).is_err());
        }
    }

    #[test]
    fn deep_trees_batch_equals_row_by_row() {
        // labels from a hash: fully grown trees get deep, so rows leave the lockstep walk
        // part-way and finish alone
        let mut t = toy(3000);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for (i, l) in t.labels.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t.columns[0][i] = (x % 1000) as f64;
            t.columns[1][i] = ((x >> 20) % 997) as f64;
            *l = Some(if x >> 40 & 1 == 1 { "mixer" } else { "user" }.to_string());
        }
        let mut p = Params::new(Algo::Forest);
        p.trees = 8;
        p.seed = 3;
        let m = train(&t, "label", &p, 2).unwrap();
        let deepest = m.trees.iter().map(|t| t.depth()).max().unwrap() as u32;
        assert!(lockstep_depth(deepest) < deepest, "depth {deepest}");
        let probs = m.predict_proba(&t, 2);
        let mut one = vec![0.0; 2];
        for i in 0..3000 {
            m.proba_by(|f| t.columns[f][i], &mut one);
            assert_eq!(one, probs[2 * i..2 * i + 2], "row {i}");
        }
    }

    #[test]
    fn one_class_and_unknown_weights_are_refused() {
        let mut t = toy(50);
        let p = Params::new(Algo::Forest);
        t.labels.iter_mut().for_each(|l| *l = Some("user".into()));
        let err = train(&t, "label", &p, 1).unwrap_err().to_string();
        assert!(err.contains("one class (\"user\")"), "{err}");
        let t = toy(50);
        let mut p = Params::new(Algo::Forest);
        p.class_weight = "fraud=3".parse().unwrap();
        let err = train(&t, "label", &p, 1).unwrap_err().to_string();
        assert!(err.contains("\"fraud\""), "{err}");
        let _ = ColumnSpec::default();
    }

    #[test]
    fn numeric_classes_sort_as_numbers() {
        let mut c = vec!["10".to_string(), "9".into(), "1".into()];
        sort_classes(&mut c);
        assert_eq!(c, vec!["1", "9", "10"]);
        let mut c = vec!["b".to_string(), "a".into(), "1".into()];
        sort_classes(&mut c);
        assert_eq!(c, vec!["1", "a", "b"]);
    }
}
