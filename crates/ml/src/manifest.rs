//! The training manifest (`manifest.json` beside `model.lfm`): what a run read (the
//! feature file's path, size and SHA-256; the columns it used), the feature schema, the
//! parameters and seed, the rows it trained on (all labelled rows, or the training side
//! of a recorded split), the code version and the model's SHA-256. Nothing in it depends
//! on time or the thread count. [`verify`] re-derives the model from it and compares the
//! bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::model::{labelled, sha256_hex, Model, MODEL_FILE};
use crate::params::Params;
use crate::split::Split;
use crate::table::{self, ColumnSpec, FeatureTable, TableSource};

/// The manifest's file name in a model folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The code that trained a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeVersion {
    pub ledgerflow: String,
    pub commit: Option<String>,
}

impl CodeVersion {
    /// This build's version.
    pub fn current() -> CodeVersion {
        CodeVersion {
            ledgerflow: env!("CARGO_PKG_VERSION").to_string(),
            commit: option_env!("LEDGERFLOW_GIT_COMMIT").map(String::from),
        }
    }
}

/// A class and its training rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRows {
    pub class: String,
    pub rows: u64,
}

/// The split whose training side a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SplitRecord {
    Time {
        col: String,
        cutoff: f64,
    },
    Group {
        col: String,
        test_fraction: f64,
        seed: u64,
    },
}

impl From<&Split> for SplitRecord {
    fn from(s: &Split) -> Self {
        match s {
            Split::Time { col, cutoff } => SplitRecord::Time {
                col: col.clone(),
                cutoff: *cutoff,
            },
            Split::Group {
                col,
                test_fraction,
                seed,
            } => SplitRecord::Group {
                col: col.clone(),
                test_fraction: *test_fraction,
                seed: *seed,
            },
        }
    }
}

impl SplitRecord {
    pub fn to_split(&self) -> Split {
        match self {
            SplitRecord::Time { col, cutoff } => Split::Time {
                col: col.clone(),
                cutoff: *cutoff,
            },
            SplitRecord::Group {
                col,
                test_fraction,
                seed,
            } => Split::Group {
                col: col.clone(),
                test_fraction: *test_fraction,
                seed: *seed,
            },
        }
    }

    fn column(&self) -> &str {
        match self {
            SplitRecord::Time { col, .. } | SplitRecord::Group { col, .. } => col,
        }
    }
}

pub use crate::table::LakeInput;

/// A training manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub code: CodeVersion,
    pub model_file: String,
    pub model_sha256: String,
    pub model_bytes: u64,
    pub input: TableSource,
    pub id_column: String,
    pub label_column: String,
    pub excluded: Vec<String>,
    /// Feature columns, in model order (all read as 64-bit floats).
    pub features: Vec<String>,
    pub params: Params,
    pub classes: Vec<ClassRows>,
    pub training_rows: u64,
    pub unlabelled_rows: u64,
    /// Trained on the training side of this split (`model evaluate -o`), or on every
    /// labelled row.
    pub split: Option<SplitRecord>,
    pub lake: Option<LakeInput>,
    /// Columns joined to the feature table by id (`--with-embeddings`: GNN embeddings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joined: Vec<TableSource>,
}

impl Manifest {
    /// The manifest of `model`, trained on `table` (its rows `rows`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: &Model,
        model_bytes: &[u8],
        table: &FeatureTable,
        id: &str,
        label: &str,
        excluded: &[String],
        split: Option<&Split>,
        training_rows: u64,
        unlabelled_rows: u64,
    ) -> Manifest {
        let mut input = table.source.clone();
        if let Ok(abs) = std::fs::canonicalize(&input.path) {
            input.path = abs;
        }
        Manifest {
            format: "ledgerflow-model-manifest".into(),
            version: 1,
            code: CodeVersion::current(),
            model_file: MODEL_FILE.into(),
            model_sha256: sha256_hex(model_bytes),
            model_bytes: model_bytes.len() as u64,
            input,
            id_column: id.into(),
            label_column: label.into(),
            excluded: excluded.to_vec(),
            features: model.features.clone(),
            params: model.params.clone(),
            classes: model
                .classes
                .iter()
                .zip(&model.class_rows)
                .map(|(c, &n)| ClassRows {
                    class: c.clone(),
                    rows: n,
                })
                .collect(),
            training_rows,
            unlabelled_rows,
            split: split.map(SplitRecord::from),
            lake: table.lake.clone(),
            joined: Vec::new(),
        }
    }

    /// The manifest as pretty JSON (stable key order: the struct's).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads `DIR/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let p = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| MlError::io(&p, e))?;
        serde_json::from_str(&text)
            .map_err(|e| MlError::table(&p, format!("not a training manifest: {e}")))
    }

    /// The column spec that reloads the training table exactly.
    pub fn spec(&self) -> ColumnSpec {
        ColumnSpec {
            id: self.id_column.clone(),
            label: Some(self.label_column.clone()),
            exclude: Vec::new(),
            aux: self
                .split
                .as_ref()
                .map(|s| vec![s.column().to_string()])
                .unwrap_or_default(),
            features: Some(self.features.clone()),
        }
    }
}

/// Writes a model folder: `model.lfm` and `manifest.json`, each atomically.
pub fn write_model_dir(dir: &Path, model_bytes: &[u8], manifest: &Manifest) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| MlError::io(dir, e))?;
    ledgerflow_lake::writer::write_bytes_atomic(&dir.join(MODEL_FILE), model_bytes)?;
    ledgerflow_lake::writer::write_bytes_atomic(
        &dir.join(MANIFEST_FILE),
        manifest.to_json().as_bytes(),
    )?;
    Ok(())
}

/// The rows a manifest's model was trained on.
pub fn training_rows(table: &FeatureTable, m: &Manifest) -> Result<Vec<usize>> {
    let (keep, _, _) = labelled(table, &m.label_column)?;
    match &m.split {
        None => Ok(keep),
        Some(s) => Ok(crate::split::split(table, &keep, &s.to_split())?.train),
    }
}

/// Re-derives the Merkle root of a lake-derived input.
pub type LakeRoot<'a> = &'a dyn Fn(&LakeInput) -> Result<String>;

/// One check of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Re-derives the model of a model folder from its manifest and compares: the model file
/// against the recorded hash, the input file against its recorded hash, and the model
/// trained again from the input with the recorded parameters against the file, byte for
/// byte. `lake_root` re-derives the Merkle root of lake-derived inputs (None: not
/// checked here).
pub fn verify(dir: &Path, threads: usize, lake_root: Option<LakeRoot<'_>>) -> Result<Verification> {
    let m = Manifest::load(dir)?;
    let mut checks = Vec::new();
    let model_path = dir.join(&m.model_file);
    let bytes = std::fs::read(&model_path).map_err(|e| MlError::io(&model_path, e))?;
    let file_sha = sha256_hex(&bytes);
    checks.push(Check {
        what: "model file".into(),
        ok: file_sha == m.model_sha256,
        detail: if file_sha == m.model_sha256 {
            format!("{} matches the manifest", m.model_file)
        } else {
            format!(
                "{} has SHA-256 {file_sha}, the manifest records {}: the file changed",
                m.model_file, m.model_sha256
            )
        },
    });
    if let (Some(lake), Some(root)) = (&m.lake, lake_root) {
        let now = root(lake)?;
        checks.push(Check {
            what: "lake chunks".into(),
            ok: now == lake.merkle_root,
            detail: if now == lake.merkle_root {
                format!("Merkle root {now} over {} chunks matches", lake.chunks)
            } else {
                format!(
                    "the lake's Merkle root is now {now}, the manifest records {}: a chunk \
                     changed",
                    lake.merkle_root
                )
            },
        });
    }
    let input = &m.input.path;
    let (sha, size) = match table::file_sha256(input) {
        Ok(x) => x,
        Err(e) => {
            checks.push(Check {
                what: "input".into(),
                ok: false,
                detail: e.to_string(),
            });
            return Ok(Verification { ok: false, checks });
        }
    };
    let input_ok = sha == m.input.sha256;
    checks.push(Check {
        what: "input".into(),
        ok: input_ok,
        detail: if input_ok {
            format!("{} ({size} bytes) matches the manifest", input.display())
        } else {
            format!(
                "{} has SHA-256 {sha}, the manifest records {}: the input changed",
                input.display(),
                m.input.sha256
            )
        },
    });
    if !input_ok {
        return Ok(Verification { ok: false, checks });
    }
    let table = table::load(input, &m.spec())?;
    let rows = training_rows(&table, &m)?;
    let sub = table.select(&rows);
    let model = crate::model::train(&sub, &m.label_column, &m.params, threads)?;
    let again = model.to_bytes();
    let same = again == bytes;
    checks.push(Check {
        what: "re-derived model".into(),
        ok: same,
        detail: if same {
            format!(
                "trained again from the input: {} bytes, SHA-256 {}, identical",
                again.len(),
                sha256_hex(&again)
            )
        } else {
            format!(
                "trained again from the input: SHA-256 {}, differs from the file{}",
                sha256_hex(&again),
                if m.code != CodeVersion::current() {
                    format!(
                        " (the model was made by ledgerflow {} {}, this is {} {})",
                        m.code.ledgerflow,
                        m.code.commit.as_deref().unwrap_or("?"),
                        CodeVersion::current().ledgerflow,
                        CodeVersion::current().commit.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                }
            )
        },
    });
    Ok(Verification {
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

/// The labelled and unlabelled row counts of a table.
pub fn label_counts(table: &FeatureTable) -> (u64, u64) {
    let l = table.labels.iter().filter(|l| l.is_some()).count() as u64;
    (l, table.rows() as u64 - l)
}

/// Convenience for callers: train, hash and record in one go.
pub struct Trained {
    pub model: Model,
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

/// Trains on `rows` of `table` (all labelled rows when `split` is None) and builds the
/// manifest.
#[allow(clippy::too_many_arguments)]
pub fn train_recorded(
    table: &FeatureTable,
    rows: Option<&[usize]>,
    id: &str,
    label: &str,
    excluded: &[String],
    split: Option<&Split>,
    params: &Params,
    threads: usize,
) -> Result<Trained> {
    let sub;
    let t = match rows {
        Some(r) => {
            sub = table.select(r);
            &sub
        }
        None => table,
    };
    let model = crate::model::train(t, label, params, threads)?;
    let bytes = model.to_bytes();
    let (l, u) = label_counts(t);
    let manifest = Manifest::new(&model, &bytes, table, id, label, excluded, split, l, u);
    Ok(Trained {
        model,
        bytes,
        manifest,
    })
}
