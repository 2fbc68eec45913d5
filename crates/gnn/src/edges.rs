//! Edge lists a user brings: CSV (with or without a header row) or Parquet, with source,
//! target and optional weight, sign and time columns.
//!
//! **Which column is what.** A [`ColumnSpec`] lists roles, comma-separated, in one of two
//! forms (`--columns`):
//! - positional: `source,target,weight,time`, the file's columns in order (`_` skips
//!   one; columns after the list are ignored);
//! - by name: `source=from,target=to,sign=rating,time=ts`, names from the header row (or
//!   the Parquet schema).
//!
//! Without a spec, a file with a header is read by its column names (`source`/`src`/
//! `from`, `target`/`dst`/`to`, `weight`/`rating`/`value`, `sign`, `time`/`timestamp`);
//! one without is read as `source,target[,weight[,time]]` (the SNAP layout of the
//! Bitcoin-OTC and Bitcoin-Alpha files).
//!
//! **Header or not.** A first row whose weight, sign or time cell (or, when all those
//! are absent, any cell) does not parse as a number is a header; [`Header`] forces either
//! way (ids that are not numbers, e.g. addresses, in a file without a header need
//! [`Header::Absent`]).
//!
//! **Node ids** are text; they are numbered `0..n` in order of first appearance (source
//! before target, row by row), so the same file always gives the same numbering.
//!
//! **Bad rows** stop the read with the file and line (CSV) or row (Parquet): a missing
//! column, an empty id, a weight, sign or time that is not a number. The sign of a
//! [`EdgeList::sign`] is `+1`/`-1`: from the sign column, else from the weight's sign (a
//! weight of 0 has no sign and is refused when signs are asked for).

use std::path::{Path, PathBuf};

use ledgerflow_graph::csr::{Csr, Edge};
use rustc_hash::FxHashMap;

/// What an edge-list column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Source,
    Target,
    Weight,
    Sign,
    Time,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "source" | "src" | "from" => Role::Source,
            "target" | "dst" | "to" => Role::Target,
            "weight" | "rating" | "value" => Role::Weight,
            "sign" => Role::Sign,
            "time" | "timestamp" | "ts" => Role::Time,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
            Role::Weight => "weight",
            Role::Sign => "sign",
            Role::Time => "time",
        }
    }
}

/// Where each role's column is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ColumnSpec {
    /// By the header's names (or the SNAP order without a header).
    #[default]
    Auto,
    /// The file's columns in order (`None`: skipped).
    Positional(Vec<Option<Role>>),
    /// Role → column name.
    Named(Vec<(Role, String)>),
}

impl std::str::FromStr for ColumnSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<ColumnSpec, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = |p: &str| {
            format!(
                "--columns: {p:?} is not a role (source, target, weight, sign, time, or _ to \
                 skip a column; ROLE=NAME to pick a header column)"
            )
        };
        let spec = if parts.iter().any(|p| p.contains('=')) {
            let mut v = Vec::new();
            for p in &parts {
                let (r, n) = p.split_once('=').ok_or_else(|| {
                    format!("--columns: mix of positional and ROLE=NAME entries ({p:?})")
                })?;
                v.push((Role::parse(r).ok_or_else(|| bad(r))?, n.trim().to_string()));
            }
            ColumnSpec::Named(v)
        } else {
            let mut v = Vec::new();
            for p in &parts {
                v.push(if *p == "_" {
                    None
                } else {
                    Some(Role::parse(p).ok_or_else(|| bad(p))?)
                });
            }
            ColumnSpec::Positional(v)
        };
        let roles: Vec<Role> = match &spec {
            ColumnSpec::Positional(v) => v.iter().flatten().copied().collect(),
            ColumnSpec::Named(v) => v.iter().map(|x| x.0).collect(),
            ColumnSpec::Auto => Vec::new(),
        };
        for r in [Role::Source, Role::Target] {
            if !roles.contains(&r) {
                return Err(format!("--columns {s:?} names no {} column", r.name()));
            }
        }
        for (i, r) in roles.iter().enumerate() {
            if roles[..i].contains(r) {
                return Err(format!("--columns {s:?} names {} twice", r.name()));
            }
        }
        Ok(spec)
    }
}

impl ColumnSpec {
    /// The `--columns` text that parses back to this (`None` for [`ColumnSpec::Auto`]).
    pub fn to_text(&self) -> Option<String> {
        match self {
            ColumnSpec::Auto => None,
            ColumnSpec::Positional(v) => Some(
                v.iter()
                    .map(|r| r.map_or("_", Role::name))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ColumnSpec::Named(v) => Some(
                v.iter()
                    .map(|(r, n)| format!("{}={n}", r.name()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
}

/// Whether the CSV file starts with a header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// Decided from the first row (see the module notes).
    #[default]
    Detect,
    Present,
    Absent,
}

/// How to read an edge list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub columns: ColumnSpec,
    pub header: Header,
    /// Every edge needs a sign (`--signed`): from the sign column or the weight's sign.
    pub signed: bool,
}

/// An edge-list read failure, naming the file and where.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path} line {line}: {message}")]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path} row {row}: {message}")]
    Row {
        path: PathBuf,
        row: u64,
        message: String,
    },
}

/// Edges with dense node ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeList {
    /// Node id text, by node number.
    pub nodes: Vec<String>,
    pub src: Vec<u32>,
    pub dst: Vec<u32>,
    /// Weights (1 without a weight column).
    pub weight: Vec<f64>,
    /// `+1`/`-1` per edge when the file has signs or `signed` was asked.
    pub sign: Option<Vec<i8>>,
    /// Time per edge (Unix seconds or whatever unit the file uses).
    pub time: Option<Vec<i64>>,
    /// Whether a header row was read.
    pub header: bool,
}

impl EdgeList {
    /// The number of each node id.
    pub fn index(&self) -> FxHashMap<&str, u32> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect()
    }

    /// Edge count.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// No edges.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The directed graph (parallel edges' weights summed, as [`Csr`] does).
    pub fn to_csr(&self) -> Csr {
        let edges: Vec<Edge> = (0..self.len())
            .map(|i| Edge {
                src: self.src[i],
                dst: self.dst[i],
                weight: self.weight[i],
            })
            .collect();
        Csr::from_edges(self.nodes.len(), &edges)
    }
}

/// Builds an [`EdgeList`] row by row.
struct Builder {
    list: EdgeList,
    ids: FxHashMap<String, u32>,
    signs: Vec<i8>,
    times: Vec<i64>,
    has_sign: bool,
    has_time: bool,
    signed: bool,
}

/// One row's cells by role.
#[derive(Default)]
struct Cells<'a> {
    source: Option<&'a str>,
    target: Option<&'a str>,
    weight: Option<&'a str>,
    sign: Option<&'a str>,
    time: Option<&'a str>,
}

impl Builder {
    fn node(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.ids.get(id) {
            return i;
        }
        let i = self.list.nodes.len() as u32;
        self.list.nodes.push(id.to_string());
        self.ids.insert(id.to_string(), i);
        i
    }

    fn add(&mut self, c: &Cells<'_>) -> Result<(), String> {
        let id = |v: Option<&str>, what: &str| -> Result<String, String> {
            let v = v.map(str::trim).unwrap_or("");
            if v.is_empty() {
                return Err(format!("no {what} id"));
            }
            Ok(v.to_string())
        };
        let (s, t) = (id(c.source, "source")?, id(c.target, "target")?);
        let num = |v: Option<&str>, what: &str| -> Result<Option<f64>, String> {
            match v.map(str::trim) {
                None => Ok(None),
                Some(x) => x
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or_else(|| format!("{what} {x:?} is not a number")),
            }
        };
        let w = num(c.weight, "weight")?.unwrap_or(1.0);
        let sign = match num(c.sign, "sign")? {
            Some(x) if x > 0.0 => Some(1i8),
            Some(x) if x < 0.0 => Some(-1),
            Some(_) => return Err("sign 0 is neither + nor -".into()),
            None if self.signed => match w {
                x if x > 0.0 => Some(1),
                x if x < 0.0 => Some(-1),
                _ => return Err("weight 0 has no sign (and --signed asks for one)".into()),
            },
            None => None,
        };
        let time = match c.time.map(str::trim) {
            None => None,
            Some(x) => Some(
                x.parse::<i64>()
                    .or_else(|_| {
                        x.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite())
                            .map(|f| f as i64)
                            .ok_or(())
                    })
                    .map_err(|_| format!("time {x:?} is not a number"))?,
            ),
        };
        let (a, b) = (self.node(&s), self.node(&t));
        self.list.src.push(a);
        self.list.dst.push(b);
        self.list.weight.push(w);
        if let Some(x) = sign {
            self.signs.push(x);
        }
        if let Some(x) = time {
            self.times.push(x);
        }
        Ok(())
    }

    fn finish(mut self) -> EdgeList {
        if self.has_sign || self.signed {
            self.list.sign = Some(self.signs);
        }
        if self.has_time {
            self.list.time = Some(self.times);
        }
        self.list
    }
}

fn auto_roles(header: &[String]) -> Vec<Option<Role>> {
    header.iter().map(|h| Role::parse(h)).collect()
}

/// The column of each role, from a spec and (when present) the header.
fn positions(
    spec: &ColumnSpec,
    header: Option<&[String]>,
    width: usize,
) -> Result<Vec<(Role, usize)>, String> {
    let mut out = Vec::new();
    match (spec, header) {
        (ColumnSpec::Positional(v), _) => {
            for (i, r) in v.iter().enumerate() {
                if let Some(r) = r {
                    out.push((*r, i));
                }
            }
        }
        (ColumnSpec::Named(v), Some(h)) => {
            for (r, name) in v {
                let i = h.iter().position(|x| x.trim() == name).ok_or_else(|| {
                    format!(
                        "no column {name:?} for {} (columns: {})",
                        r.name(),
                        h.join(", ")
                    )
                })?;
                out.push((*r, i));
            }
        }
        (ColumnSpec::Named(_), None) => {
            return Err("--columns ROLE=NAME needs a header row (or positional --columns)".into())
        }
        (ColumnSpec::Auto, Some(h)) => {
            for (i, r) in auto_roles(h).into_iter().enumerate() {
                if let Some(r) = r {
                    if !out.iter().any(|(x, _)| *x == r) {
                        out.push((r, i));
                    }
                }
            }
        }
        (ColumnSpec::Auto, None) => {
            let order = [Role::Source, Role::Target, Role::Weight, Role::Time];
            for (i, r) in order.iter().enumerate().take(width.max(2)) {
                out.push((*r, i));
            }
        }
    }
    for r in [Role::Source, Role::Target] {
        if !out.iter().any(|(x, _)| *x == r) {
            let hint = match (spec, header) {
                (ColumnSpec::Auto, Some(h)) => format!(
                    "; the first row ({}) was taken for a header: name the columns with \
                     --columns, or say the file has no header row",
                    h.join(",")
                ),
                _ => String::new(),
            };
            return Err(format!(
                "no {} column (name it with --columns, e.g. source=from,target=to){hint}",
                r.name()
            ));
        }
    }
    Ok(out)
}

/// Whether a first CSV row is a header: a cell that should hold a number (weight, sign,
/// time under the spec, or any cell without one) does not.
fn looks_like_header(row: &[String], spec: &ColumnSpec) -> bool {
    let numeric_roles: Vec<usize> = match spec {
        ColumnSpec::Positional(v) => v
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Some(Role::Weight | Role::Sign | Role::Time)))
            .map(|(i, _)| i)
            .collect(),
        _ => Vec::new(),
    };
    let is_num = |s: &String| s.trim().parse::<f64>().is_ok();
    if matches!(spec, ColumnSpec::Named(_)) {
        return true;
    }
    if numeric_roles.is_empty() {
        !row.iter().all(is_num)
    } else {
        numeric_roles
            .iter()
            .any(|&i| row.get(i).is_some_and(|c| !is_num(c)))
    }
}

/// Reads an edge list: Parquet when the name ends in `.parquet`, CSV otherwise.
pub fn read(path: &Path, o: &ReadOptions) -> Result<EdgeList, EdgeError> {
    if path.extension().is_some_and(|e| e == "parquet") {
        read_parquet(path, o)
    } else {
        read_csv(path, o)
    }
}

fn builder(o: &ReadOptions, roles: &[(Role, usize)]) -> Builder {
    Builder {
        list: EdgeList::default(),
        ids: FxHashMap::default(),
        signs: Vec::new(),
        times: Vec::new(),
        has_sign: roles.iter().any(|r| r.0 == Role::Sign),
        has_time: roles.iter().any(|r| r.0 == Role::Time),
        signed: o.signed,
    }
}

/// Reads a CSV edge list (CRLF or LF line ends).
pub fn read_csv(path: &Path, o: &ReadOptions) -> Result<EdgeList, EdgeError> {
    let file_err = |m: String| EdgeError::File {
        path: path.to_path_buf(),
        message: m,
    };
    let data = std::fs::read(path).map_err(|e| file_err(e.to_string()))?;
    // the line an error names, counted in the file itself (blank lines included)
    // (computed only for an error: the record's start may sit on blank lines before it)
    let line_at = |byte: u64| {
        let mut b = (byte as usize).min(data.len());
        while b < data.len() && (data[b] == b'\n' || data[b] == b'\r') {
            b += 1;
        }
        1 + data[..b].iter().filter(|&&c| c == b'\n').count() as u64
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&data[..]);
    let mut records = r.records();
    let first = match records.next() {
        None => return Err(file_err("the file is empty".into())),
        Some(rec) => rec.map_err(|e| file_err(e.to_string()))?,
    };
    let first: Vec<String> = first.iter().map(str::to_string).collect();
    let header = match o.header {
        Header::Present => true,
        Header::Absent => false,
        Header::Detect => looks_like_header(&first, &o.columns),
    };
    let roles =
        positions(&o.columns, header.then_some(&first[..]), first.len()).map_err(file_err)?;
    let mut b = builder(o, &roles);
    b.list.header = header;
    let add = |rec: &[String], byte: u64, b: &mut Builder| -> Result<(), EdgeError> {
        let mut c = Cells::default();
        for (role, i) in &roles {
            let v = rec.get(*i).map(String::as_str);
            if v.is_none() {
                return Err(EdgeError::Line {
                    path: path.to_path_buf(),
                    line: line_at(byte),
                    message: format!(
                        "{} cells, but the {} column is number {}",
                        rec.len(),
                        role.name(),
                        i + 1
                    ),
                });
            }
            match role {
                Role::Source => c.source = v,
                Role::Target => c.target = v,
                Role::Weight => c.weight = v,
                Role::Sign => c.sign = v,
                Role::Time => c.time = v,
            }
        }
        b.add(&c).map_err(|message| EdgeError::Line {
            path: path.to_path_buf(),
            line: line_at(byte),
            message,
        })
    };
    if !header {
        add(&first, 0, &mut b)?;
    }
    for rec in records {
        let rec = rec.map_err(|e| file_err(e.to_string()))?;
        let byte = rec.position().map_or(0, |p| p.byte());
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue; // a blank line
        }
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        add(&cells, byte, &mut b)?;
    }
    let list = b.finish();
    if list.is_empty() {
        return Err(file_err("no edges".into()));
    }
    Ok(list)
}

/// Reads a Parquet edge list (columns by name; integer, float or text ids).
pub fn read_parquet(path: &Path, o: &ReadOptions) -> Result<EdgeList, EdgeError> {
    use arrow::array::Array;
    use arrow::datatypes::DataType;
    let file_err = |m: String| EdgeError::File {
        path: path.to_path_buf(),
        message: m,
    };
    let f = std::fs::File::open(path).map_err(|e| file_err(e.to_string()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| file_err(format!("not a Parquet file: {e}")))?;
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let spec = match &o.columns {
        ColumnSpec::Positional(_) => {
            return Err(file_err(
                "a Parquet edge list names its columns: use --columns ROLE=NAME".into(),
            ))
        }
        s => s.clone(),
    };
    let roles = positions(&spec, Some(&names), names.len()).map_err(file_err)?;
    let mut b = builder(o, &roles);
    b.list.header = true;
    let mut row = 0u64;
    for batch in reader.build().map_err(|e| file_err(e.to_string()))? {
        let batch = batch.map_err(|e| file_err(e.to_string()))?;
        let mut cols = Vec::new();
        for (role, i) in &roles {
            let c = arrow::compute::cast(batch.column(*i), &DataType::Utf8).map_err(|e| {
                file_err(format!(
                    "the {} column cannot be read as text: {e}",
                    role.name()
                ))
            })?;
            cols.push((*role, c));
        }
        for r in 0..batch.num_rows() {
            row += 1;
            let mut c = Cells::default();
            for (role, col) in &cols {
                let s = col
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .filter(|a| !a.is_null(r))
                    .map(|a| a.value(r));
                match role {
                    Role::Source => c.source = s,
                    Role::Target => c.target = s,
                    Role::Weight => c.weight = s,
                    Role::Sign => c.sign = s,
                    Role::Time => c.time = s,
                }
            }
            for (role, col) in &cols {
                if col.is_null(r) {
                    return Err(EdgeError::Row {
                        path: path.to_path_buf(),
                        row,
                        message: format!("no {} (null)", role.name()),
                    });
                }
            }
            b.add(&c).map_err(|message| EdgeError::Row {
                path: path.to_path_buf(),
                row,
                message,
            })?;
        }
    }
    let list = b.finish();
    if list.is_empty() {
        return Err(file_err("no edges".into()));
    }
    Ok(list)
}

/// A graph `ledgerflow graph build` wrote into the lake (`<level>_graph`): nodes named
/// by address (an entity by its smallest address), weight = value moved, time = the
/// first block's time (Unix seconds). Also the content root of the chunks it read
/// (the lake's Merkle root over them), for manifests.
pub fn from_lake(
    lake: &Path,
    chain: &str,
    level: ledgerflow_graph::store::Level,
) -> Result<(EdgeList, ledgerflow_lake::hash::LakeHash), EdgeError> {
    let l = ledgerflow_lake::Lake::new(lake);
    let table = level.table("graph");
    let bad = |m: String| EdgeError::File {
        path: l.table_dir(chain, &table),
        message: m,
    };
    let g = ledgerflow_graph::store::LakeGraph::load(&l, chain, level)
        .map_err(|e| bad(e.to_string()))?;
    let hash =
        ledgerflow_lake::hash::hash_chain(&l, chain, Some(std::slice::from_ref(&table)), None)
            .map_err(|e| bad(e.to_string()))?;
    let index: FxHashMap<&str, u32> = g
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut el = EdgeList {
        nodes: g.names.clone(),
        time: Some(Vec::with_capacity(g.edges.len())),
        ..EdgeList::default()
    };
    for e in &g.edges {
        let (Some(&a), Some(&b)) = (index.get(e.src.as_str()), index.get(e.dst.as_str())) else {
            return Err(bad(format!(
                "edge {} → {} names an unknown node",
                e.src, e.dst
            )));
        };
        el.src.push(a);
        el.dst.push(b);
        el.weight.push(e.value);
        if let Some(t) = el.time.as_mut() {
            t.push(e.first_seen.0);
        }
    }
    Ok((el, hash))
}

/// The record of a graph read from the lake table in `dir`: the Merkle root of the chunks
/// read and their block range.
fn lake_record(
    dir: PathBuf,
    chain: &str,
    level: &str,
    h: ledgerflow_lake::hash::LakeHash,
) -> SourceRecord {
    SourceRecord {
        path: dir,
        bytes: h.chunks.iter().map(|c| c.bytes).sum(),
        blocks: h
            .chunks
            .iter()
            .map(|c| c.start)
            .min()
            .zip(h.chunks.iter().map(|c| c.end).max()),
        sha256: h.root,
        kind: "lake".into(),
        columns: None,
        header: "yes".into(),
        chain: Some(chain.to_string()),
        level: Some(level.to_string()),
    }
}

/// Where a graph comes from: an edge file, or a graph table in the lake.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeSource {
    File {
        path: PathBuf,
        read: ReadOptions,
    },
    Lake {
        lake: PathBuf,
        chain: String,
        level: ledgerflow_graph::store::Level,
    },
    /// The transaction graph of a UTXO chain's `transactions` table ([`crate::txgraph`]):
    /// it comes with each transaction's shape features.
    Transactions {
        lake: PathBuf,
        chain: String,
    },
}

/// Node features that come with a graph (the transaction graph's shape features).
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinFeatures {
    pub names: Vec<String>,
    /// `nodes × names.len()`, numbered as the edge list.
    pub x: crate::dense::Mat,
    /// The transaction graph's CoinJoin and peeling-chain marks, numbered as the edge
    /// list.
    pub typology: Option<crate::txgraph::Typology>,
}

/// What a graph was read from, by content (for manifests): the file and its SHA-256,
/// or the lake table's folder and the Merkle root of its chunks; enough to read it
/// again ([`EdgeSource::from_record`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceRecord {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// `file`, or `lake` (then `sha256` is the chunks' Merkle root).
    pub kind: String,
    /// `--columns` as given (`None`: by the header or the SNAP order).
    pub columns: Option<String>,
    /// `--header`: `auto`, `yes` or `no`.
    pub header: String,
    /// The lake's chain and graph level (`address` or `entity`).
    pub chain: Option<String>,
    pub level: Option<String>,
    /// The lake graph's chunks' first and last block (a dataset as the oracle's
    /// registry names it: chain, block range, root).
    #[serde(default)]
    pub blocks: Option<(u64, u64)>,
}

impl EdgeSource {
    /// Reads the graph and records where from.
    pub fn read(&self) -> Result<(EdgeList, SourceRecord), EdgeError> {
        self.read_with_features().map(|(el, r, _)| (el, r))
    }

    /// [`EdgeSource::read`], with the node features the source carries (the transaction
    /// graph's; `None` for edge files and address or entity graphs).
    pub fn read_with_features(
        &self,
    ) -> Result<(EdgeList, SourceRecord, Option<BuiltinFeatures>), EdgeError> {
        match self {
            EdgeSource::File { path, read: o } => {
                let el = read(path, o)?;
                let (sha256, bytes) =
                    ledgerflow_lake::hash::file_sha256(path).map_err(|e| EdgeError::File {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                let record = SourceRecord {
                    path: std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
                    sha256,
                    bytes,
                    kind: "file".into(),
                    columns: o.columns.to_text(),
                    header: match o.header {
                        Header::Detect => "auto",
                        Header::Present => "yes",
                        Header::Absent => "no",
                    }
                    .into(),
                    chain: None,
                    level: None,
                    blocks: None,
                };
                Ok((el, record, None))
            }
            EdgeSource::Lake { lake, chain, level } => {
                let (el, h) = from_lake(lake, chain, *level)?;
                let l = ledgerflow_lake::Lake::new(lake);
                let dir = l.table_dir(chain, &level.table("graph"));
                Ok((el, lake_record(dir, chain, level.name(), h), None))
            }
            EdgeSource::Transactions { lake, chain } => {
                let l = ledgerflow_lake::Lake::new(lake);
                let dir = l.table_dir(chain, "transactions");
                let bad = |m: String| EdgeError::File {
                    path: dir.clone(),
                    message: m,
                };
                let ledger = ledgerflow_entities::ledger::Ledger::load(
                    &l,
                    chain,
                    None,
                    ledgerflow_entities::ledger::AddressBook::default(),
                )
                .map_err(|e| bad(e.to_string()))?;
                let h = ledgerflow_lake::hash::hash_chain(
                    &l,
                    chain,
                    Some(&["transactions".into()]),
                    None,
                )
                .map_err(|e| bad(e.to_string()))?;
                let g = crate::txgraph::build(&ledger);
                drop(ledger);
                if g.nodes.is_empty() {
                    return Err(bad("no transactions".into()));
                }
                let f = BuiltinFeatures {
                    names: crate::txgraph::FEATURES
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    x: g.x,
                    typology: Some(g.typology),
                };
                let el = EdgeList {
                    nodes: g.nodes,
                    src: g.src,
                    dst: g.dst,
                    weight: g.weight,
                    sign: None,
                    time: Some(g.time),
                    header: true,
                };
                Ok((el, lake_record(dir, chain, "transaction", h), Some(f)))
            }
        }
    }

    /// The source a record names: its file, or its graph in `lake` (the lake at hand,
    /// which may sit elsewhere than where the record was made).
    pub fn from_record(r: &SourceRecord, lake: &Path) -> Result<EdgeSource, String> {
        match r.kind.as_str() {
            "file" => Ok(EdgeSource::File {
                path: r.path.clone(),
                read: ReadOptions {
                    columns: match &r.columns {
                        Some(c) => c.parse()?,
                        None => ColumnSpec::Auto,
                    },
                    header: match r.header.as_str() {
                        "yes" => Header::Present,
                        "no" => Header::Absent,
                        _ => Header::Detect,
                    },
                    signed: false,
                },
            }),
            "lake" if r.level.as_deref() == Some("transaction") => Ok(EdgeSource::Transactions {
                lake: lake.to_path_buf(),
                chain: r.chain.clone().ok_or("a lake source without its chain")?,
            }),
            "lake" => Ok(EdgeSource::Lake {
                lake: lake.to_path_buf(),
                chain: r.chain.clone().ok_or("a lake source without its chain")?,
                level: match r.level.as_deref() {
                    Some("entity") => ledgerflow_graph::store::Level::Entity,
                    _ => ledgerflow_graph::store::Level::Address,
                },
            }),
            k => Err(format!("unknown edge source kind {k:?}")),
        }
    }

    /// A short name for messages.
    pub fn describe(&self) -> String {
        match self {
            EdgeSource::File { path, .. } => path.display().to_string(),
            EdgeSource::Lake { lake, chain, level } => {
                format!("{} {chain} {}", lake.display(), level.table("graph"))
            }
            EdgeSource::Transactions { lake, chain } => {
                format!("{} {chain} transaction graph", lake.display())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_specs_print_as_they_parse() {
        for text in [
            "source,target,weight,time",
            "_,source,target,sign",
            "source=from,target=to,time=ts",
        ] {
            let spec: ColumnSpec = text.parse().unwrap();
            assert_eq!(spec.to_text().as_deref(), Some(text));
            assert_eq!(spec.to_text().unwrap().parse::<ColumnSpec>().unwrap(), spec);
        }
        assert_eq!(ColumnSpec::Auto.to_text(), None);
    }
}
