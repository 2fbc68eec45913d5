//! Feature tables a user brings (or ledgerflow writes): Parquet or CSV with an id column,
//! an optional label column and numeric feature columns.
//!
//! Every column that is not the id, the label, an auxiliary column (a time or group column
//! a split needs) or excluded must be numeric: integers, floats, booleans, decimals,
//! timestamps (seconds) or dates (seconds at midnight). Empty cells, `NA`, `NaN` and
//! `null` are missing values, which the trees handle. A non-numeric column is refused with
//! its name, the first row that is not a number and a hint to `--exclude` it.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use sha2::{Digest, Sha256};

use crate::error::{MlError, Result};

/// Which columns to take and how.
#[derive(Debug, Clone, Default)]
pub struct ColumnSpec {
    /// The id column (an actor: an address, an entity id).
    pub id: String,
    /// The label column, when training or evaluating.
    pub label: Option<String>,
    /// Columns that are not features (dropped).
    pub exclude: Vec<String>,
    /// Columns kept beside the features, not used as features (a time or group column).
    pub aux: Vec<String>,
    /// The exact feature columns to take, in this order (a model's schema); other
    /// columns are then ignored, numeric or not.
    pub features: Option<Vec<String>>,
}

/// A column kept beside the features: its text and, where it reads as one, its number.
#[derive(Debug, Clone)]
pub struct AuxColumn {
    pub name: String,
    pub text: Vec<Option<String>>,
    pub number: Vec<Option<f64>>,
}

/// What a table was read from: enough to find out later whether it changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableSource {
    pub path: PathBuf,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Lake chunks behind a lake-derived feature table (`ledgerflow features`): the Merkle
/// root over the content hashes of the chunks it read (see `ledgerflow_lake::hash`),
/// which tables and up to which block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LakeInput {
    pub lake: PathBuf,
    pub chain: String,
    pub merkle_root: String,
    pub chunks: u64,
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub until_block: Option<i64>,
}

/// A loaded feature table, column-major.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub source: TableSource,
    pub ids: Vec<String>,
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// One vector per feature; `NaN` is a missing value.
    pub columns: Vec<Vec<f64>>,
    /// The label of each row (`None`: unlabelled), empty when no label was asked for.
    pub labels: Vec<Option<String>>,
    /// The auxiliary columns, in the order asked for.
    pub aux: Vec<AuxColumn>,
    /// For a file `ledgerflow features` wrote: the lake chunks it was derived from.
    pub lake: Option<LakeInput>,
}

impl FeatureTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    /// The auxiliary column called `name`.
    pub fn aux(&self, name: &str) -> Option<&AuxColumn> {
        self.aux.iter().find(|a| a.name == name)
    }

    /// The rows in `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> FeatureTable {
        FeatureTable {
            source: self.source.clone(),
            ids: keep.iter().map(|&i| self.ids[i].clone()).collect(),
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| keep.iter().map(|&i| c[i]).collect())
                .collect(),
            labels: if self.labels.is_empty() {
                Vec::new()
            } else {
                keep.iter().map(|&i| self.labels[i].clone()).collect()
            },
            aux: self
                .aux
                .iter()
                .map(|a| AuxColumn {
                    name: a.name.clone(),
                    text: keep.iter().map(|&i| a.text[i].clone()).collect(),
                    number: keep.iter().map(|&i| a.number[i]).collect(),
                })
                .collect(),
            lake: self.lake.clone(),
        }
    }

    /// The value of feature `f` in row `r`.
    pub fn get(&self, r: usize, f: usize) -> f64 {
        self.columns[f][r]
    }

    /// Appends `other`'s feature columns (node embeddings, say), matched on the id;
    /// rows `other` lacks get `NaN` (missing). A name both tables have is an error, as
    /// is an id twice in `other`. Returns how many rows matched.
    pub fn append_by_id(&mut self, other: &FeatureTable) -> Result<usize> {
        if let Some(dup) = other.names.iter().find(|n| self.names.contains(n)) {
            return Err(MlError::Invalid(format!(
                "{}: column {dup:?} is already a feature of {}",
                other.source.path.display(),
                self.source.path.display()
            )));
        }
        let mut row_of: std::collections::HashMap<&str, usize> = Default::default();
        for (r, id) in other.ids.iter().enumerate() {
            if row_of.insert(id.as_str(), r).is_some() {
                return Err(MlError::Invalid(format!(
                    "{}: id {id:?} appears twice",
                    other.source.path.display()
                )));
            }
        }
        let rows: Vec<Option<usize>> = self
            .ids
            .iter()
            .map(|i| row_of.get(i.as_str()).copied())
            .collect();
        for (name, col) in other.names.iter().zip(&other.columns) {
            self.names.push(name.clone());
            self.columns.push(
                rows.iter()
                    .map(|r| r.map_or(f64::NAN, |r| col[r]))
                    .collect(),
            );
        }
        Ok(rows.iter().filter(|r| r.is_some()).count())
    }
}

/// Reads a feature table: Parquet when the file ends in `.parquet` (or starts with
/// Parquet's magic), CSV otherwise.
pub fn load(path: &Path, spec: &ColumnSpec) -> Result<FeatureTable> {
    let mut head = [0u8; 4];
    let is_parquet = path.extension().is_some_and(|e| e == "parquet") || {
        let mut f = File::open(path).map_err(|e| MlError::io(path, e))?;
        f.read(&mut head).map_err(|e| MlError::io(path, e))? == 4 && &head == b"PAR1"
    };
    if is_parquet {
        load_parquet(path, spec)
    } else {
        load_csv(path, spec)
    }
}

/// Parses one cell as a number: `Some(NaN)` for a missing value, `None` for text.
pub fn parse_cell(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "" | "NA" | "NaN" | "nan" | "null" | "NULL" | "None" | "N/A" => Some(f64::NAN),
        "true" | "TRUE" | "True" => Some(1.0),
        "false" | "FALSE" | "False" => Some(0.0),
        _ => t.parse::<f64>().ok(),
    }
}

/// What each column of the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    Label,
    Aux(usize),
    Feature(usize),
    Skip,
}

/// Finds `wanted` among `names`: exactly, else by trimmed, case-insensitive name when that
/// is unique (exported tables often carry stray spaces in their headers).
pub fn resolve(names: &[String], wanted: &str, path: &Path, what: &str) -> Result<usize> {
    if let Some(i) = names.iter().position(|n| n == wanted) {
        return Ok(i);
    }
    let w = wanted.trim().to_lowercase();
    let hits: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.trim().to_lowercase() == w)
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => {
            let shown: Vec<String> = names.iter().take(30).map(|n| format!("{n:?}")).collect();
            let more = if names.len() > 30 { ", ..." } else { "" };
            Err(MlError::table(
                path,
                format!(
                    "no {what} column {wanted:?} (columns: {}{more})",
                    shown.join(", ")
                ),
            ))
        }
        _ => Err(MlError::table(
            path,
            format!("{what} column {wanted:?} matches several columns; give its exact name"),
        )),
    }
}

/// Decides every column's role; `names` are the file's headers.
fn roles(
    names: &[String],
    spec: &ColumnSpec,
    path: &Path,
    not_features: &[String],
) -> Result<(Vec<Role>, Vec<String>)> {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n.as_str()) {
            return Err(MlError::table(path, format!("column {n:?} appears twice")));
        }
    }
    let mut roles = vec![Role::Skip; names.len()];
    if spec.features.is_none() {
        for (i, r) in roles.iter_mut().enumerate() {
            *r = Role::Feature(i);
        }
    }
    let claim = |roles: &mut [Role], i: usize, role: Role, what: &str| -> Result<()> {
        if matches!(roles[i], Role::Id | Role::Label | Role::Aux(_)) && roles[i] != role {
            return Err(MlError::table(
                path,
                format!(
                    "column {:?} cannot be the {what} column and another role",
                    names[i]
                ),
            ));
        }
        roles[i] = role;
        Ok(())
    };
    let id = resolve(names, &spec.id, path, "id")?;
    claim(&mut roles, id, Role::Id, "id")?;
    if let Some(l) = &spec.label {
        let i = resolve(names, l, path, "label")?;
        claim(&mut roles, i, Role::Label, "label")?;
    }
    for (k, a) in spec.aux.iter().enumerate() {
        let i = resolve(names, a, path, "auxiliary")?;
        if roles[i] == Role::Id || roles[i] == Role::Label {
            // The id or the label doubles as the group (one row per actor): keep it as
            // an auxiliary copy too.
            continue;
        }
        claim(&mut roles, i, Role::Aux(k), "auxiliary")?;
    }
    for e in &spec.exclude {
        let i = resolve(names, e, path, "excluded")?;
        if matches!(roles[i], Role::Id | Role::Label | Role::Aux(_)) {
            return Err(MlError::table(
                path,
                format!("--exclude {e:?} names the id, label or a split column"),
            ));
        }
        roles[i] = Role::Skip;
    }
    // Columns the file itself marks as not features (windows, labels of `ledgerflow
    // features`).
    for n in not_features {
        if let Some(i) = names.iter().position(|x| x == n) {
            if matches!(roles[i], Role::Feature(_)) {
                roles[i] = Role::Skip;
            }
        }
    }
    let mut features = Vec::new();
    if let Some(want) = &spec.features {
        let mut missing = Vec::new();
        for f in want {
            match names.iter().position(|n| n == f) {
                Some(i) if matches!(roles[i], Role::Skip) => {
                    roles[i] = Role::Feature(features.len());
                    features.push(f.clone());
                }
                Some(_) => {
                    return Err(MlError::table(
                        path,
                        format!(
                            "the model's feature {f:?} is the id, label or a split column here"
                        ),
                    ))
                }
                None => missing.push(format!("{f:?}")),
            }
        }
        if !missing.is_empty() {
            return Err(MlError::table(
                path,
                format!(
                    "the feature table does not match the model: {} of its {} features are \
                     missing ({})",
                    missing.len(),
                    want.len(),
                    abbreviate(&missing, 10)
                ),
            ));
        }
    } else {
        let mut next = 0;
        for (i, r) in roles.iter_mut().enumerate() {
            if let Role::Feature(_) = r {
                *r = Role::Feature(next);
                features.push(names[i].clone());
                next += 1;
            }
        }
    }
    // (an explicit empty list asks for ids, labels and auxiliary columns only)
    if features.is_empty() && spec.features.is_none() {
        return Err(MlError::table(path, "no feature column is left"));
    }
    Ok((roles, features))
}

fn abbreviate(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(&format!(", and {} more", items.len() - n));
    }
    s
}

/// The first cell of a non-numeric column: (column, row shown to the user, value).
type BadCell = (String, String, String);

fn non_numeric_error(path: &Path, bad: &[BadCell]) -> MlError {
    let shown: Vec<String> = bad
        .iter()
        .map(|(c, row, v)| format!("{c:?} ({row}: {v:?})"))
        .collect();
    MlError::table(
        path,
        format!(
            "non-numeric column{} {}: exclude {} with --exclude, or turn {} into numbers",
            if bad.len() == 1 { "" } else { "s" },
            abbreviate(&shown, 8),
            if bad.len() == 1 { "it" } else { "them" },
            if bad.len() == 1 { "it" } else { "them" },
        ),
    )
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The SHA-256 (hex) and size of a file.
pub fn file_sha256(path: &Path) -> Result<(String, u64)> {
    let f = File::open(path).map_err(|e| MlError::io(path, e))?;
    let mut h = Hashing {
        inner: BufReader::with_capacity(1 << 20, f),
        hash: Sha256::new(),
        bytes: 0,
    };
    std::io::copy(&mut h, &mut std::io::sink()).map_err(|e| MlError::io(path, e))?;
    Ok((hex(&h.hash.finalize()), h.bytes))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

struct Builder {
    ids: Vec<String>,
    columns: Vec<Vec<f64>>,
    labels: Vec<Option<String>>,
    aux: Vec<AuxColumn>,
    bad: Vec<Option<BadCell>>,
}

impl Builder {
    fn new(features: &[String], spec: &ColumnSpec) -> Self {
        Builder {
            ids: Vec::new(),
            columns: vec![Vec::new(); features.len()],
            labels: Vec::new(),
            aux: spec
                .aux
                .iter()
                .map(|a| AuxColumn {
                    name: a.clone(),
                    text: Vec::new(),
                    number: Vec::new(),
                })
                .collect(),
            bad: vec![None; features.len()],
        }
    }

    fn finish(
        mut self,
        path: &Path,
        names: &[String],
        features: Vec<String>,
        spec: &ColumnSpec,
        source: TableSource,
    ) -> Result<FeatureTable> {
        let bad: Vec<BadCell> = self.bad.iter().flatten().cloned().collect();
        if !bad.is_empty() {
            return Err(non_numeric_error(path, &bad));
        }
        if self.ids.is_empty() {
            return Err(MlError::table(path, "the table has no rows"));
        }
        // An auxiliary column that is the id or the label: copy it.
        for a in self.aux.iter_mut() {
            if a.text.is_empty() {
                let i = resolve(names, &a.name, path, "auxiliary")?;
                let id = resolve(names, &spec.id, path, "id")?;
                let text: Vec<Option<String>> = if i == id {
                    self.ids.iter().map(|s| Some(s.clone())).collect()
                } else {
                    self.labels.clone()
                };
                a.number = text
                    .iter()
                    .map(|t| t.as_deref().and_then(parse_cell))
                    .map(|v| v.filter(|x| !x.is_nan()))
                    .collect();
                a.text = text;
            }
        }
        Ok(FeatureTable {
            source,
            ids: self.ids,
            names: features,
            columns: self.columns,
            labels: self.labels,
            aux: self.aux,
            lake: None,
        })
    }
}

fn load_csv(path: &Path, spec: &ColumnSpec) -> Result<FeatureTable> {
    let f = File::open(path).map_err(|e| MlError::io(path, e))?;
    let mut hashing = Hashing {
        inner: BufReader::with_capacity(1 << 20, f),
        hash: Sha256::new(),
        bytes: 0,
    };
    let (names, features, b) = {
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(&mut hashing);
        let names: Vec<String> = rd
            .headers()
            .map_err(|e| MlError::table(path, format!("cannot read the CSV header: {e}")))?
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .collect();
        if names.is_empty() || names.iter().all(|n| n.is_empty()) {
            return Err(MlError::table(path, "the file is empty (no CSV header)"));
        }
        let (roles, features) = roles(&names, spec, path, &[])?;
        let mut b = Builder::new(&features, spec);
        let mut rec = csv::StringRecord::new();
        let mut line = 1u64;
        loop {
            match rd.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(MlError::table(path, format!("CSV: {e}"))),
            }
            line = rec.position().map_or(line + 1, |p| p.line());
            for (i, cell) in rec.iter().enumerate() {
                match roles[i] {
                    Role::Id => {
                        if cell.is_empty() {
                            return Err(MlError::table(path, format!("line {line}: empty id")));
                        }
                        b.ids.push(cell.to_string());
                    }
                    Role::Label => b
                        .labels
                        .push((!cell.trim().is_empty()).then(|| cell.trim().to_string())),
                    Role::Aux(k) => {
                        let a = &mut b.aux[k];
                        a.number.push(parse_cell(cell).filter(|x| !x.is_nan()));
                        a.text.push((!cell.is_empty()).then(|| cell.to_string()));
                    }
                    Role::Feature(k) => {
                        let v = match parse_cell(cell) {
                            Some(v) => v,
                            None => {
                                if b.bad[k].is_none() {
                                    b.bad[k] = Some((
                                        names[i].clone(),
                                        format!("line {line}"),
                                        cell.into(),
                                    ));
                                }
                                f64::NAN
                            }
                        };
                        b.columns[k].push(v);
                    }
                    Role::Skip => {}
                }
            }
        }
        (names, features, b)
    };
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|e| MlError::io(path, e))?;
    let source = TableSource {
        path: path.to_path_buf(),
        format: "csv".into(),
        bytes: hashing.bytes,
        sha256: hex(&hashing.hash.finalize()),
    };
    b.finish(path, &names, features, spec, source)
}

/// A column of a Parquet batch as numbers (`None`: the type is not numeric).
fn numbers(a: &ArrayRef) -> Option<Vec<f64>> {
    let dt = a.data_type();
    let scale = match dt {
        DataType::Timestamp(TimeUnit::Second, _) => Some(1.0),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some(1e3),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some(1e6),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Some(1e9),
        _ => None,
    };
    if let Some(scale) = scale {
        let ints = arrow::compute::cast(a, &DataType::Int64).ok()?;
        let ints = ints.as_primitive::<Int64Type>();
        return Some(
            (0..ints.len())
                .map(|i| {
                    if ints.is_null(i) {
                        f64::NAN
                    } else {
                        ints.value(i) as f64 / scale
                    }
                })
                .collect(),
        );
    }
    if matches!(dt, DataType::Date32) {
        let ints = arrow::compute::cast(a, &DataType::Int32).ok()?;
        let ints = ints.as_primitive::<arrow::datatypes::Int32Type>();
        return Some(
            (0..ints.len())
                .map(|i| {
                    if ints.is_null(i) {
                        f64::NAN
                    } else {
                        f64::from(ints.value(i)) * 86_400.0
                    }
                })
                .collect(),
        );
    }
    let numeric = dt.is_numeric() || matches!(dt, DataType::Boolean);
    if !numeric {
        return None;
    }
    let f = arrow::compute::cast(a, &DataType::Float64).ok()?;
    let f = f.as_primitive::<Float64Type>();
    Some(
        (0..f.len())
            .map(|i| if f.is_null(i) { f64::NAN } else { f.value(i) })
            .collect(),
    )
}

/// A column of a Parquet batch as text.
fn texts(a: &ArrayRef, path: &Path, name: &str) -> Result<Vec<Option<String>>> {
    let s = arrow::compute::cast(a, &DataType::Utf8).map_err(|e| {
        MlError::table(path, format!("column {name:?} cannot be read as text: {e}"))
    })?;
    let s = s.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect())
}

fn load_parquet(path: &Path, spec: &ColumnSpec) -> Result<FeatureTable> {
    let (sha256, bytes) = file_sha256(path)?;
    let f = File::open(path).map_err(|e| MlError::io(path, e))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| MlError::table(path, format!("not a readable Parquet file: {e}")))?;
    let schema = Arc::clone(builder.schema());
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let meta = features_meta(
        builder.metadata().file_metadata().key_value_metadata(),
        path,
    )?;
    let not_features = meta.as_ref().map(|m| m.1.clone()).unwrap_or_default();
    let (roles, features) = roles(&names, spec, path, &not_features)?;
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(|e| MlError::table(path, format!("not a readable Parquet file: {e}")))?;
    let mut b = Builder::new(&features, spec);
    let mut row0 = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| MlError::table(path, format!("Parquet: {e}")))?;
        for (i, role) in roles.iter().enumerate() {
            let col = batch.column(i);
            match *role {
                Role::Id => {
                    for (r, t) in texts(col, path, &names[i])?.into_iter().enumerate() {
                        match t {
                            Some(t) => b.ids.push(t),
                            None => {
                                return Err(MlError::table(
                                    path,
                                    format!("row {}: empty id", row0 + r),
                                ))
                            }
                        }
                    }
                }
                Role::Label => b.labels.extend(texts(col, path, &names[i])?),
                Role::Aux(k) => {
                    let t = texts(col, path, &names[i])?;
                    let n: Vec<Option<f64>> = match numbers(col) {
                        Some(v) => v.into_iter().map(|x| (!x.is_nan()).then_some(x)).collect(),
                        None => t
                            .iter()
                            .map(|s| s.as_deref().and_then(parse_cell))
                            .map(|v| v.filter(|x| !x.is_nan()))
                            .collect(),
                    };
                    b.aux[k].text.extend(t);
                    b.aux[k].number.extend(n);
                }
                Role::Feature(k) => match numbers(col) {
                    Some(v) => b.columns[k].extend(v),
                    None => {
                        // Text: numbers written as text are taken, anything else refused.
                        let t = texts(col, path, &names[i])?;
                        for (r, s) in t.iter().enumerate() {
                            let v = match s.as_deref().map(parse_cell) {
                                None => f64::NAN,
                                Some(Some(v)) => v,
                                Some(None) => {
                                    if b.bad[k].is_none() {
                                        b.bad[k] = Some((
                                            names[i].clone(),
                                            format!("row {}", row0 + r),
                                            s.clone().unwrap_or_default(),
                                        ));
                                    }
                                    f64::NAN
                                }
                            };
                            b.columns[k].push(v);
                        }
                    }
                },
                Role::Skip => {}
            }
        }
        row0 += batch.num_rows();
    }
    let source = TableSource {
        path: path.to_path_buf(),
        format: "parquet".into(),
        bytes,
        sha256,
    };
    let mut t = b.finish(path, &names, features, spec, source)?;
    t.lake = meta.and_then(|m| m.0);
    Ok(t)
}

/// The key of `ledgerflow features` metadata in a Parquet footer.
pub const FEATURES_META_KEY: &str = "ledgerflow.features";

/// The lake input and the non-feature columns recorded by `ledgerflow features`.
fn features_meta(
    kv: Option<&Vec<parquet::file::metadata::KeyValue>>,
    path: &Path,
) -> Result<Option<(Option<LakeInput>, Vec<String>)>> {
    let Some(v) = kv
        .and_then(|kv| kv.iter().find(|k| k.key == FEATURES_META_KEY))
        .and_then(|k| k.value.as_deref())
    else {
        return Ok(None);
    };
    let j: serde_json::Value = serde_json::from_str(v)
        .map_err(|e| MlError::table(path, format!("{FEATURES_META_KEY} metadata: {e}")))?;
    let lake = match j.get("lake") {
        Some(l) => Some(
            serde_json::from_value::<LakeInput>(l.clone())
                .map_err(|e| MlError::table(path, format!("{FEATURES_META_KEY} lake: {e}")))?,
        ),
        None => None,
    };
    let nf = j
        .get("non_features")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Some((lake, nf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn spec(id: &str, label: Option<&str>) -> ColumnSpec {
        ColumnSpec {
            id: id.into(),
            label: label.map(String::from),
            ..ColumnSpec::default()
        }
    }

    #[test]
    fn csv_with_missing_values_and_trimmed_names() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "t.csv",
            "addr, a ,b,flag\nx,1,,1\ny,2.5,NaN,0\nz,true,3,\n",
        );
        let t = load(&p, &spec("addr", Some("FLAG"))).unwrap();
        assert_eq!(t.names, vec![" a ", "b"]);
        assert_eq!(t.ids, vec!["x", "y", "z"]);
        assert_eq!(t.columns[0], vec![1.0, 2.5, 1.0]);
        assert!(t.columns[1][0].is_nan() && t.columns[1][1].is_nan());
        assert_eq!(t.columns[1][2], 3.0);
        assert_eq!(t.labels, vec![Some("1".into()), Some("0".into()), None]);
        assert_eq!(t.source.format, "csv");
        assert_eq!(t.source.sha256, file_sha256(&p).unwrap().0);
    }

    #[test]
    fn non_numeric_columns_are_named_and_can_be_excluded() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "t.csv", "id,a,tok,y\n1,1,USDT,0\n2,2,DAI,1\n");
        let err = load(&p, &spec("id", Some("y"))).unwrap_err().to_string();
        assert!(
            err.contains("non-numeric column \"tok\" (line 2: \"USDT\")"),
            "{err}"
        );
        assert!(err.contains("--exclude"), "{err}");
        let mut s = spec("id", Some("y"));
        s.exclude = vec!["tok".into()];
        let t = load(&p, &s).unwrap();
        assert_eq!(t.names, vec!["a"]);
    }

    #[test]
    fn model_schema_is_enforced() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "t.csv", "id,b,a,tok\n1,1,2,x\n");
        let mut s = spec("id", None);
        s.features = Some(vec!["a".into(), "b".into()]);
        let t = load(&p, &s).unwrap();
        assert_eq!(t.names, vec!["a", "b"]);
        assert_eq!(t.columns, vec![vec![2.0], vec![1.0]]);
        s.features = Some(vec!["a".into(), "c".into()]);
        let err = load(&p, &s).unwrap_err().to_string();
        assert!(
            err.contains("does not match the model") && err.contains("\"c\""),
            "{err}"
        );
    }

    #[test]
    fn empty_files_and_missing_columns() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "e.csv", "");
        assert!(load(&p, &spec("id", None))
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let p = write(d.path(), "h.csv", "id,a\n");
        assert!(load(&p, &spec("id", None))
            .unwrap_err()
            .to_string()
            .contains("no rows"));
        let p = write(d.path(), "m.csv", "id,a\n1,2\n");
        let err = load(&p, &spec("address", None)).unwrap_err().to_string();
        assert!(err.contains("no id column \"address\""), "{err}");
    }

    #[test]
    fn parquet_types_become_numbers() {
        use arrow::array::{BooleanArray, Int64Array, StringArray};
        use arrow::record_batch::RecordBatch;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.parquet");
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(3), None])) as ArrayRef,
            ),
            (
                "f",
                Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef,
            ),
            ("label", Arc::new(Int64Array::from(vec![1, 0])) as ArrayRef),
        ])
        .unwrap();
        let file = File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let t = load(&p, &spec("id", Some("label"))).unwrap();
        assert_eq!(t.names, vec!["n", "f"]);
        assert_eq!(t.columns[0][0], 3.0);
        assert!(t.columns[0][1].is_nan());
        assert_eq!(t.columns[1], vec![1.0, 0.0]);
        assert_eq!(t.labels, vec![Some("1".into()), Some("0".into())]);
        assert_eq!(t.source.format, "parquet");
    }
}
