//! The job registry: what a request's `jobId` runs, and the hashes its result is
//! delivered with. A job is deterministic: the same request, dataset and model give the
//! same result bytes on any machine, which is what `oracle verify` relies on.
//!
//! | job | `jobId` | params | result | dataset root | model hash |
//! |---|---|---|---|---|---|
//! | `sql` | `job_id("sql")` | `abi.encode(string template, bytes32 datasetRoot, bytes args)` | the template's output row, ABI-encoded | the registered dataset queried | zero |
//! | `score` | `job_id("score")` (with `requestModel`) | `abi.encode(address account)` or `abi.encode(address account, string class)` | `abi.encode(uint256 probability × 10^6)` | the lake root of the model's feature table (zero for a table not made from the lake) | the model's SHA-256 |
//! | `gnn-score` | `job_id("gnn-score")` (with `requestModel`) | as `score` | `abi.encode(uint256 probability × 10^6)` from the GNN over the graph and node table its manifest names | the Merkle root of the lake graph's chunks (zero for an edge file) | the GNN model file's SHA-256 |
//! | `train` | `job_id("train")` | `abi.encode(bytes32 datasetRoot, string algo, uint256 trees, uint256 seed)` | `abi.encode(bytes32 modelHash, uint256 trainingRows)` | the registered dataset trained on | the new model's SHA-256 (the worker registers its feature table's lake root as a dataset, then the model, before it fulfils) |
//!
//! A dataset is a chain folder of the lake and a block range, as the registry records it;
//! its root is [`ledgerflow_lake::hash::hash_blocks`] over every table's chunks wholly
//! inside the range. The `sql` job recomputes that root before it queries and refuses to
//! answer from a lake whose chunks differ. Jobs plug in through [`Job`]; the graph-learning
//! models add theirs the same way.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use alloy_primitives::{keccak256, Address, B256, U256};
use ledgerflow_evm::abi::{self, Type, Value};
use ledgerflow_lake::Lake;
use ledgerflow_ml::manifest::Manifest;
use ledgerflow_ml::model::Model;
use ledgerflow_ml::table::{self, ColumnSpec};

use crate::templates::{self, Cell, Template};

/// Why a job could not produce a result (the request stays unfulfilled; the error is
/// stored with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JobError(pub String);

impl JobError {
    fn new(m: impl Into<String>) -> Self {
        JobError(m.into())
    }
}

/// What a job computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    pub result: Vec<u8>,
    pub dataset_root: B256,
    pub model_hash: B256,
    /// What else identifies the computation (the template hash, the feature file), for
    /// the worker's records and `oracle verify`'s report.
    pub notes: BTreeMap<String, String>,
    /// Transactions that must be mined before the fulfilment can be sent (the `train`
    /// job's registrations), in order.
    pub side: Vec<SideCall>,
}

/// A transaction a result depends on, sent by the worker's transaction manager (its
/// nonces, write-ahead, resends) before the fulfilment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideCall {
    /// Names it (two results that need the same transaction share it).
    pub key: String,
    pub to: Address,
    pub data: Vec<u8>,
    /// A view call on `to` that returns `true` once the transaction's effect exists
    /// (whoever sent it): then it is not sent, or is done.
    pub check: Vec<u8>,
}

impl JobOutput {
    /// keccak256 of the result, as the contract checks it.
    pub fn result_hash(&self) -> B256 {
        keccak256(&self.result)
    }
}

/// A request as a job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub job_id: B256,
    pub model_hash: B256,
    pub params: Vec<u8>,
    pub requester: Address,
}

/// A dataset as the registry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    pub chain: String,
    pub from_block: u64,
    pub to_block: u64,
}

/// Looks up registered datasets (the registry contract, or a fixed list in tests).
pub trait Datasets: Send + Sync {
    fn dataset<'a>(
        &'a self,
        root: B256,
    ) -> Pin<Box<dyn Future<Output = Result<Option<DatasetInfo>, JobError>> + Send + 'a>>;
}

/// What jobs read: the lake, the query templates, the model folders.
#[derive(Clone)]
pub struct JobContext {
    pub lake: PathBuf,
    pub templates: Vec<Template>,
    pub models: ModelStore,
    pub datasets: Arc<dyn Datasets>,
    pub threads: usize,
    /// The registry contract (where the `train` job registers its models).
    pub registry: Address,
}

type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<JobOutput, JobError>> + Send + 'a>>;

/// A job type.
pub trait Job: Send + Sync {
    /// Its name (`jobId` is [`crate::job_id`] of it).
    fn name(&self) -> &'static str;
    /// Runs it for one request.
    fn run<'a>(&'a self, ctx: &'a JobContext, req: &'a JobRequest) -> JobFuture<'a>;
}

/// The jobs a worker serves, by id.
pub struct Registry {
    jobs: BTreeMap<B256, Box<dyn Job>>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut r = Registry {
            jobs: BTreeMap::new(),
        };
        r.add(Box::new(SqlJob::default()));
        r.add(Box::new(ScoreJob));
        r.add(Box::new(GnnScoreJob));
        r.add(Box::new(TrainJob));
        r
    }
}

impl Registry {
    /// Adds (or replaces) a job.
    pub fn add(&mut self, job: Box<dyn Job>) {
        self.jobs.insert(B256::from(crate::job_id(job.name())), job);
    }

    /// The job of `id`.
    pub fn get(&self, id: &B256) -> Option<&dyn Job> {
        self.jobs.get(id).map(|j| j.as_ref())
    }

    /// The name of job `id`.
    pub fn name(&self, id: &B256) -> Option<&'static str> {
        self.get(id).map(|j| j.name())
    }

    /// Names of every job.
    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.values().map(|j| j.name()).collect()
    }

    /// Runs the job a request names.
    pub async fn run(&self, ctx: &JobContext, req: &JobRequest) -> Result<JobOutput, JobError> {
        let job = self.get(&req.job_id).ok_or_else(|| {
            JobError::new(format!(
                "job {:#x} is not one this worker serves ({})",
                req.job_id,
                self.names().join(", ")
            ))
        })?;
        job.run(ctx, req).await
    }
}

fn hex32(b: &B256) -> String {
    format!("{b:#x}")
}

/// `params` of a `sql` request.
pub fn sql_params(template: &str, dataset_root: B256, args: &[Value]) -> Vec<u8> {
    abi::encode(&[
        Value::String(template.to_string()),
        Value::FixedBytes(dataset_root.to_vec()),
        Value::Bytes(abi::encode(args)),
    ])
}

/// `params` of a `score` request.
pub fn score_params(account: Address, class: Option<&str>) -> Vec<u8> {
    match class {
        None => abi::encode(&[Value::Address(account)]),
        Some(c) => abi::encode(&[Value::Address(account), Value::String(c.to_string())]),
    }
}

/// The `sql` job: a registered template over a registered dataset.
///
/// The query engine of a dataset is opened once and kept (at most [`SqlJob::ENGINES`]):
/// each request still re-hashes the dataset's chunks (the lake crate remembers a chunk's
/// hash while its size, times and inode stay the same) and reuses the engine only when
/// the root is the registered one, so it reads exactly the chunks that were checked.
#[derive(Default)]
pub struct SqlJob {
    engines: std::sync::Mutex<Vec<(EngineKey, Arc<ledgerflow_sql::Engine>)>>,
}

type EngineKey = (PathBuf, String, u64, u64, B256);

impl SqlJob {
    /// Engines kept open.
    pub const ENGINES: usize = 8;

    async fn engine(
        &self,
        lake: &Path,
        ds: &DatasetInfo,
        root: B256,
    ) -> Result<Arc<ledgerflow_sql::Engine>, JobError> {
        let key: EngineKey = (
            lake.to_path_buf(),
            ds.chain.clone(),
            ds.from_block,
            ds.to_block,
            root,
        );
        if let Ok(e) = self.engines.lock() {
            if let Some((_, eng)) = e.iter().find(|(k, _)| *k == key) {
                return Ok(eng.clone());
            }
        }
        let options = ledgerflow_sql::Options {
            scope: Some(ledgerflow_sql::Scope {
                chain: ds.chain.clone(),
                from: ds.from_block,
                to: ds.to_block,
                tables: Some(chain_tables()),
            }),
            // one partition: sums in one fixed order
            partitions: Some(1),
            ..Default::default()
        };
        let engine = Arc::new(
            ledgerflow_sql::Engine::open(lake, &options)
                .await
                .map_err(|e| JobError::new(e.to_string()))?,
        );
        if let Ok(mut e) = self.engines.lock() {
            if e.len() >= Self::ENGINES {
                e.remove(0);
            }
            e.push((key, engine.clone()));
        }
        Ok(engine)
    }
}

impl Job for SqlJob {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn run<'a>(&'a self, ctx: &'a JobContext, req: &'a JobRequest) -> JobFuture<'a> {
        Box::pin(async move {
            let v = abi::decode(
                &[Type::String, Type::FixedBytes(32), Type::Bytes],
                &req.params,
            )
            .map_err(|e| {
                JobError::new(format!(
                    "sql params are abi.encode(string template, bytes32 datasetRoot, bytes \
                         args): {e}"
                ))
            })?;
            let name = match &v[0] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let root = B256::from_slice(v[1].as_bytes().unwrap_or(&[0; 32]));
            let args = v[2].as_bytes().unwrap_or_default();
            let t = ctx
                .templates
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| {
                    JobError::new(format!(
                        "no query template {name:?} (templates: {})",
                        ctx.templates
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let sql = t.render(args).map_err(|e| JobError::new(e.to_string()))?;
            let ds = registered_dataset(ctx, root).await?;
            let engine = self.engine(&ctx.lake, &ds, root).await?;
            let row = query_one(&engine, &sql).await?;
            let result =
                templates::encode_row(t, &row).map_err(|e| JobError::new(e.to_string()))?;
            let mut notes = BTreeMap::new();
            notes.insert("template".into(), t.name.clone());
            notes.insert("template_hash".into(), hex32(&t.hash()));
            notes.insert("sql".into(), sql);
            notes.insert("chain".into(), ds.chain.clone());
            notes.insert(
                "blocks".into(),
                format!("{}..={}", ds.from_block, ds.to_block),
            );
            Ok(JobOutput {
                result,
                dataset_root: root,
                model_hash: B256::ZERO,
                notes,
                side: Vec::new(),
            })
        })
    }
}

/// The chain's own tables (what an export writes, EVM and Bitcoin-family): a dataset
/// covers these, not the analytics tables derived into the same folder (labels,
/// entities, graphs), which change without the chain changing.
pub fn chain_tables() -> Vec<String> {
    let mut t: Vec<String> = ledgerflow_core::tables::evm::EvmTable::ALL
        .iter()
        .map(|t| t.name().to_string())
        .chain(
            ledgerflow_core::tables::bitcoin::BtcTable::ALL
                .iter()
                .map(|t| t.name().to_string()),
        )
        .collect();
    t.sort();
    t.dedup();
    t
}

/// The registered dataset `root`, after checking that this lake's chunks of it hash to
/// that root (a job never answers from a lake that is not the dataset).
async fn registered_dataset(ctx: &JobContext, root: B256) -> Result<DatasetInfo, JobError> {
    let ds = ctx
        .datasets
        .dataset(root)
        .await?
        .ok_or_else(|| JobError::new(format!("dataset {} is not registered", hex32(&root))))?;
    let lake_root = dataset_root(&ctx.lake, &ds)?;
    if lake_root != root {
        return Err(JobError::new(format!(
            "the lake's chunks of {} blocks {}..={} hash to {}, not the registered {}: this lake \
             is not that dataset",
            ds.chain,
            ds.from_block,
            ds.to_block,
            hex32(&lake_root),
            hex32(&root)
        )));
    }
    Ok(ds)
}

/// The root of a dataset as this lake holds it: the chain tables' chunks wholly inside
/// its block range.
pub fn dataset_root(lake: &Path, ds: &DatasetInfo) -> Result<B256, JobError> {
    let h = ledgerflow_lake::hash::hash_blocks(
        &Lake::new(lake),
        &ds.chain,
        Some(&chain_tables()),
        ds.from_block,
        ds.to_block,
    )
    .map_err(|e| JobError::new(e.to_string()))?;
    if h.chunks.is_empty() {
        return Err(JobError::new(format!(
            "the lake {} has no chunk of {} inside blocks {}..={}",
            lake.display(),
            ds.chain,
            ds.from_block,
            ds.to_block
        )));
    }
    parse_b256(&h.root).ok_or_else(|| JobError::new("a lake root is not 32 bytes of hex"))
}

/// 32 bytes from hex (with or without `0x`).
pub fn parse_b256(s: &str) -> Option<B256> {
    let b = alloy_primitives::hex::decode(s.trim()).ok()?;
    (b.len() == 32).then(|| B256::from_slice(&b))
}

/// Runs `sql` on an engine scoped to a dataset's chunks; the one row it must return.
async fn query_one(engine: &ledgerflow_sql::Engine, sql: &str) -> Result<Vec<Cell>, JobError> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;
    let batches = engine
        .sql(sql)
        .await
        .map_err(|e| JobError::new(e.to_string()))?
        .collect()
        .await
        .map_err(|e| JobError::new(ledgerflow_sql::SqlError::from_datafusion(e).to_string()))?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows != 1 {
        return Err(JobError::new(format!(
            "the query returned {rows} rows; a result is exactly one"
        )));
    }
    let Some(b) = batches.iter().find(|b| b.num_rows() == 1) else {
        return Err(JobError::new("no row"));
    };
    let mut out = Vec::new();
    for c in b.columns() {
        if c.is_null(0) {
            out.push(Cell::Null);
            continue;
        }
        let cell = match c.data_type() {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                let c = arrow::compute::cast(c, &DataType::Int64)
                    .map_err(|e| JobError::new(e.to_string()))?;
                Cell::Int(i128::from(
                    c.as_primitive::<arrow::datatypes::Int64Type>().value(0),
                ))
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                let c = arrow::compute::cast(c, &DataType::UInt64)
                    .map_err(|e| JobError::new(e.to_string()))?;
                Cell::Int(i128::from(
                    c.as_primitive::<arrow::datatypes::UInt64Type>().value(0),
                ))
            }
            DataType::Decimal128(_, 0) => Cell::Int(
                c.as_primitive::<arrow::datatypes::Decimal128Type>()
                    .value(0),
            ),
            DataType::Boolean => Cell::Bool(c.as_boolean().value(0)),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Cell::Float(f64::NAN),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let c = arrow::compute::cast(c, &DataType::Utf8)
                    .map_err(|e| JobError::new(e.to_string()))?;
                Cell::Text(c.as_string::<i32>().value(0).to_string())
            }
            other => {
                return Err(JobError::new(format!(
                    "the query returned a {other} column; results are integers, booleans or text"
                )))
            }
        };
        out.push(cell);
    }
    Ok(out)
}

/// Model folders (`model.lfm` + `manifest.json`) found under a directory, by the SHA-256
/// of their model file (what the registry and requests call the model hash). Models the
/// `train` job writes land in `dir/<sha-256>/` and are found there later.
#[derive(Debug, Clone, Default)]
pub struct ModelStore {
    pub dir: Option<PathBuf>,
    pub by_hash: BTreeMap<B256, PathBuf>,
}

impl ModelStore {
    /// Indexes `dir` itself and its sub-folders (one level) that hold a model.
    pub fn open(dir: Option<&Path>) -> Result<ModelStore, JobError> {
        let mut s = ModelStore {
            dir: dir.map(Path::to_path_buf),
            by_hash: BTreeMap::new(),
        };
        let Some(dir) = dir else {
            return Ok(s);
        };
        let mut candidates = vec![dir.to_path_buf()];
        let entries =
            std::fs::read_dir(dir).map_err(|e| JobError::new(format!("{}: {e}", dir.display())))?;
        for e in entries.flatten() {
            if e.path().is_dir() {
                candidates.push(e.path());
            }
        }
        candidates.sort();
        for c in candidates {
            if let Some(h) = model_hash_of(&c) {
                s.by_hash.insert(h, c);
            }
        }
        Ok(s)
    }

    /// The folder of model `hash`: one indexed at start, or one trained since (in
    /// `dir/<sha-256>/`, its bytes checked).
    pub fn find(&self, hash: &B256) -> Option<PathBuf> {
        if let Some(p) = self.by_hash.get(hash) {
            return Some(p.clone());
        }
        let c = self
            .dir
            .as_ref()?
            .join(alloy_primitives::hex::encode(hash.as_slice()));
        (model_hash_of(&c) == Some(*hash)).then_some(c)
    }
}

/// The SHA-256 of the model file in `dir` (a tree model's `model.lfm`, else a GNN's
/// `model.lfg`), if it holds one.
fn model_hash_of(dir: &Path) -> Option<B256> {
    let bytes = std::fs::read(dir.join(ledgerflow_ml::model::MODEL_FILE))
        .or_else(|_| std::fs::read(dir.join(GNN_MODEL_FILE)))
        .ok()?;
    parse_b256(&ledgerflow_ml::model::sha256_hex(&bytes))
}

/// A GNN model folder's model file (`ledgerflow gnn train -o`).
pub const GNN_MODEL_FILE: &str = "model.lfg";

/// The `gnn-score` job's answer: a registered GNN's probability of `class` (default:
/// the last) for `account`, over the graph and node table its manifest names, both
/// checked against the hashes recorded there (an edge file's SHA-256, or the Merkle root
/// of the lake graph's chunks in `lake`); the dataset root (that Merkle root, or zero)
/// and notes.
pub fn gnn_score(
    dir: &Path,
    lake: &Path,
    account: &str,
    class: Option<&str>,
) -> Result<(u64, B256, BTreeMap<String, String>), JobError> {
    use ledgerflow_gnn::edges::{EdgeSource, SourceRecord};
    use ledgerflow_gnn::infer;
    let e = |m: String| JobError::new(format!("{}: {m}", dir.display()));
    if !dir.join(GNN_MODEL_FILE).exists() {
        return Err(e(format!(
            "no {GNN_MODEL_FILE}: a gnn-score request names a GNN model (ledgerflow gnn train)"
        )));
    }
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|x| e(format!("manifest.json: {x}")))?;
    let man: serde_json::Value =
        serde_json::from_str(&text).map_err(|x| e(format!("manifest.json: {x}")))?;
    let recorded: SourceRecord = serde_json::from_value(man["edges"].clone())
        .map_err(|x| e(format!("manifest.json edges: {x}")))?;
    let src = EdgeSource::from_record(&recorded, lake).map_err(e)?;
    let (graph, now) = src.read().map_err(|x| e(x.to_string()))?;
    if now.sha256 != recorded.sha256 {
        return Err(e(format!(
            "the graph {} changed since training ({} now, {} recorded)",
            src.describe(),
            now.sha256,
            recorded.sha256
        )));
    }
    let nodes = PathBuf::from(man["nodes"]["path"].as_str().unwrap_or_default());
    let (sha, _) = ledgerflow_lake::hash::file_sha256(&nodes).map_err(|x| e(x.to_string()))?;
    if Some(sha.as_str()) != man["nodes"]["sha256"].as_str() {
        return Err(e(format!(
            "the node table {} changed since training",
            nodes.display()
        )));
    }
    let id = man["id_column"].as_str().unwrap_or("id").to_string();
    let applied = infer::apply_to(dir, graph, &nodes, &id).map_err(|x| e(x.to_string()))?;
    let want = account.to_ascii_lowercase();
    let row = applied
        .nodes
        .iter()
        .position(|n| n.to_ascii_lowercase() == want)
        .ok_or_else(|| e(format!("{account} is not a node of the graph")))?;
    let classes = &applied.model.classes;
    let ci = match class {
        None => classes.len() - 1,
        Some(c) => classes.iter().position(|x| x == c).ok_or_else(|| {
            e(format!(
                "the model has no class {c:?} ({})",
                classes.join(", ")
            ))
        })?,
    };
    let p = applied.probs.row(row)[ci];
    let micro = (p * 1e6).round().clamp(0.0, 1e6) as u64;
    let root = if recorded.kind == "lake" {
        parse_b256(&recorded.sha256).unwrap_or_default()
    } else {
        B256::ZERO
    };
    let mut notes = BTreeMap::new();
    notes.insert("graph".into(), recorded.path.display().to_string());
    notes.insert("graph_sha256".into(), recorded.sha256.clone());
    notes.insert("nodes".into(), nodes.display().to_string());
    notes.insert("class".into(), classes[ci].clone());
    notes.insert("probability".into(), format!("{p}"));
    notes.insert("model".into(), applied.model.net.arch().name().into());
    Ok((micro, root, notes))
}

/// The `gnn-score` job (see [`gnn_score`]).
pub struct GnnScoreJob;

impl Job for GnnScoreJob {
    fn name(&self) -> &'static str {
        "gnn-score"
    }

    fn run<'a>(&'a self, ctx: &'a JobContext, req: &'a JobRequest) -> JobFuture<'a> {
        Box::pin(run_scoring(ctx, req, self.name(), gnn_score))
    }
}

/// What a scoring job computes from a model folder, the lake, an account and a class:
/// probability × 10^6, the dataset root, notes.
type Scorer =
    fn(&Path, &Path, &str, Option<&str>) -> Result<(u64, B256, BTreeMap<String, String>), JobError>;

/// The body `score` and `gnn-score` share: the params decoded, the requested model
/// found in the worker's model folders, `scorer` run off the async threads, the
/// probability × 10^6 delivered with its dataset root and model hash.
async fn run_scoring(
    ctx: &JobContext,
    req: &JobRequest,
    job: &str,
    scorer: Scorer,
) -> Result<JobOutput, JobError> {
    let (account, class) = score_args(&req.params)?;
    if req.model_hash == B256::ZERO {
        return Err(JobError::new(format!(
            "a {job} request names its model (requestModel)"
        )));
    }
    let dir = ctx.models.find(&req.model_hash).ok_or_else(|| {
        JobError::new(format!(
            "model {} is not in this worker's model folders",
            hex32(&req.model_hash)
        ))
    })?;
    let lake = ctx.lake.clone();
    let acct = format!("{account:#x}");
    let (micro, root, notes) =
        tokio::task::spawn_blocking(move || scorer(&dir, &lake, &acct, class.as_deref()))
            .await
            .map_err(|e| JobError::new(format!("the scoring task failed: {e}")))??;
    Ok(JobOutput {
        result: abi::encode(&[Value::Uint(U256::from(micro))]),
        dataset_root: root,
        model_hash: req.model_hash,
        notes,
        side: Vec::new(),
    })
}

/// `score`/`gnn-score` params: `abi.encode(address)` or `abi.encode(address, string)`.
fn score_args(params: &[u8]) -> Result<(Address, Option<String>), JobError> {
    match abi::decode(&[Type::Address], params) {
        Ok(v) => Ok((v[0].as_address().unwrap_or_default(), None)),
        Err(_) => {
            let v = abi::decode(&[Type::Address, Type::String], params).map_err(|e| {
                JobError::new(format!(
                    "score params are abi.encode(address) or abi.encode(address, string \
                     class): {e}"
                ))
            })?;
            let c = match &v[1] {
                Value::String(s) => Some(s.clone()),
                _ => None,
            };
            Ok((v[0].as_address().unwrap_or_default(), c))
        }
    }
}

/// The `score` job: a registered model's probability for an address, from the feature
/// table the model was trained on (its manifest names the file and its SHA-256).
pub struct ScoreJob;

/// The score of `account` by the model in `dir`: probability of `class` (default: the last
/// class, `1` of a 0/1 label) × 10^6, rounded; the feature file's lake root (zero when the
/// table was not made from the lake) and notes.
///
/// When the feature table was made from the lake (`ledgerflow features`), the chunks it
/// read are hashed again in `lake` and must give the root its manifest recorded.
pub fn score(
    dir: &Path,
    lake: &Path,
    account: &str,
    class: Option<&str>,
) -> Result<(u64, B256, BTreeMap<String, String>), JobError> {
    let e = |m: String| JobError::new(format!("{}: {m}", dir.display()));
    let (model, _) = Model::load(dir).map_err(|x| e(x.to_string()))?;
    let manifest = Manifest::load(dir).map_err(|x| e(x.to_string()))?;
    if let Some(l) = &manifest.lake {
        let mut here = l.clone();
        here.lake = lake.to_path_buf();
        let now = ledgerflow_ml::features::lake::lake_root(&here)
            .map_err(|x| e(format!("hashing the lake chunks the features read: {x}")))?;
        if now != l.merkle_root {
            return Err(e(format!(
                "the lake {} no longer holds the chunks the features were made from: \
                 {} blocks up to {:?} hash to 0x{now}, not the recorded 0x{}",
                lake.display(),
                l.chain,
                l.until_block,
                l.merkle_root
            )));
        }
    }
    let input = &manifest.input;
    let (sha, _) = ledgerflow_lake::hash::file_sha256(&input.path).map_err(|x| e(x.to_string()))?;
    if sha != input.sha256 {
        return Err(e(format!(
            "the feature table {} changed since training (SHA-256 {sha}, manifest {})",
            input.path.display(),
            input.sha256
        )));
    }
    let spec = ColumnSpec {
        id: manifest.id_column.clone(),
        label: None,
        exclude: Vec::new(),
        aux: Vec::new(),
        features: Some(model.features.clone()),
    };
    let t = table::load(&input.path, &spec).map_err(|x| e(x.to_string()))?;
    let want = account.to_ascii_lowercase();
    let row = t
        .ids
        .iter()
        .position(|id| id.to_ascii_lowercase() == want)
        .ok_or_else(|| {
            e(format!(
                "no row for {account} in the feature table {}",
                input.path.display()
            ))
        })?;
    let k = model.k();
    let ci = match class {
        None => k - 1,
        Some(c) => model.classes.iter().position(|x| x == c).ok_or_else(|| {
            e(format!(
                "the model has no class {c:?} ({})",
                model.classes.join(", ")
            ))
        })?,
    };
    let mut p = vec![0.0; k];
    let cols = &t.columns;
    model.proba_by(|f| cols[f][row], &mut p);
    let micro = (p[ci] * 1e6).round().clamp(0.0, 1e6) as u64;
    let root = match &manifest.lake {
        Some(l) => parse_b256(&l.merkle_root).unwrap_or_default(),
        None => B256::ZERO,
    };
    let mut notes = BTreeMap::new();
    notes.insert("features".into(), input.path.display().to_string());
    notes.insert("features_sha256".into(), input.sha256.clone());
    notes.insert("class".into(), model.classes[ci].clone());
    notes.insert("probability".into(), format!("{}", p[ci]));
    Ok((micro, root, notes))
}

impl Job for ScoreJob {
    fn name(&self) -> &'static str {
        "score"
    }

    fn run<'a>(&'a self, ctx: &'a JobContext, req: &'a JobRequest) -> JobFuture<'a> {
        Box::pin(run_scoring(ctx, req, self.name(), score))
    }
}

/// `params` of a `train` request.
pub fn train_params(dataset_root: B256, algo: &str, trees: u64, seed: u64) -> Vec<u8> {
    abi::encode(&[
        Value::FixedBytes(dataset_root.to_vec()),
        Value::String(algo.to_string()),
        Value::Uint(U256::from(trees)),
        Value::Uint(U256::from(seed)),
    ])
}

/// Most trees (or boosting rounds) a `train` request may ask for.
pub const MAX_TRAIN_TREES: u64 = 2000;

/// The `train` job: a tree model trained on a registered dataset (see
/// [`crate::train`]), written to the worker's model folder and registered (a
/// [`SideCall`] the worker sends before it fulfils).
pub struct TrainJob;

impl Job for TrainJob {
    fn name(&self) -> &'static str {
        "train"
    }

    fn run<'a>(&'a self, ctx: &'a JobContext, req: &'a JobRequest) -> JobFuture<'a> {
        Box::pin(async move {
            let v = abi::decode(
                &[
                    Type::FixedBytes(32),
                    Type::String,
                    Type::Uint(256),
                    Type::Uint(256),
                ],
                &req.params,
            )
            .map_err(|e| {
                JobError::new(format!(
                    "train params are abi.encode(bytes32 datasetRoot, string algo, uint256 \
                     trees, uint256 seed): {e}"
                ))
            })?;
            let root = B256::from_slice(v[0].as_bytes().unwrap_or(&[0; 32]));
            let algo_text = match &v[1] {
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let algo: ledgerflow_ml::params::Algo =
                algo_text.parse().map_err(|e: String| JobError::new(e))?;
            let uint = |x: &Value, what: &str, max: u64| -> Result<u64, JobError> {
                let u = x.as_uint().unwrap_or_default();
                if u > U256::from(max) {
                    return Err(JobError::new(format!("train: {what} {u} is above {max}")));
                }
                Ok(u.to::<u64>())
            };
            let trees = uint(&v[2], "trees", MAX_TRAIN_TREES)?;
            if trees == 0 {
                return Err(JobError::new("train: trees must be at least 1"));
            }
            let seed = uint(&v[3], "seed", u64::MAX)?;
            let models = ctx.models.dir.clone().ok_or_else(|| {
                JobError::new("the train job writes models: this worker has no --models folder")
            })?;
            let ds = registered_dataset(ctx, root).await?;
            let spec = crate::train::TrainSpec {
                chain: ds.chain.clone(),
                from_block: ds.from_block,
                to_block: ds.to_block,
                algo,
                trees: trees as u32,
                seed,
            };
            let lake = ctx.lake.clone();
            let threads = ctx.threads;
            let t = tokio::task::spawn_blocking(move || {
                crate::train::train(&lake, &models, &spec, threads)
            })
            .await
            .map_err(|e| JobError::new(format!("the training task failed: {e}")))?
            .map_err(JobError::new)?;
            let model_hash = parse_b256(&t.model_sha256)
                .ok_or_else(|| JobError::new("a model hash is not 32 bytes of hex"))?;
            let manifest_hash = parse_b256(&t.manifest_sha256)
                .ok_or_else(|| JobError::new("a manifest hash is not 32 bytes of hex"))?;
            let mut notes = BTreeMap::new();
            notes.insert("model_dir".into(), t.dir.display().to_string());
            notes.insert("manifest_sha256".into(), t.manifest_sha256.clone());
            notes.insert("features_root".into(), t.features_root.clone());
            notes.insert("rows".into(), t.rows.to_string());
            notes.insert("training_rows".into(), t.training_rows.to_string());
            notes.insert("classes".into(), t.classes.join(","));
            notes.insert("algo".into(), algo.to_string());
            notes.insert("chain".into(), ds.chain.clone());
            notes.insert(
                "blocks".into(),
                format!("{}..={}", ds.from_block, ds.to_block),
            );
            // the model's feature table as a dataset (what `score` fulfilments name, as
            // `oracle register model` does), then the model
            let froot = parse_b256(&t.features_root)
                .ok_or_else(|| JobError::new("a lake root is not 32 bytes of hex"))?;
            let features_ds = SideCall {
                key: format!("register-dataset:{}", hex32(&froot)),
                to: ctx.registry,
                data: abi::call(
                    "registerDataset(bytes32,string,uint64,uint64)",
                    &[
                        Value::FixedBytes(froot.to_vec()),
                        Value::String(ds.chain.clone()),
                        Value::Uint(U256::ZERO),
                        Value::Uint(U256::from(ds.to_block)),
                    ],
                ),
                check: abi::call("isDataset(bytes32)", &[Value::FixedBytes(froot.to_vec())]),
            };
            let side = SideCall {
                key: format!("register-model:{}", hex32(&model_hash)),
                to: ctx.registry,
                data: abi::call(
                    "registerModel(bytes32,bytes32,bytes32,address,uint256)",
                    &[
                        Value::FixedBytes(model_hash.to_vec()),
                        Value::FixedBytes(manifest_hash.to_vec()),
                        Value::FixedBytes(root.to_vec()),
                        Value::Address(Address::ZERO),
                        Value::Uint(U256::ZERO),
                    ],
                ),
                check: abi::call(
                    "isModel(bytes32)",
                    &[Value::FixedBytes(model_hash.to_vec())],
                ),
            };
            Ok(JobOutput {
                result: abi::encode(&[
                    Value::FixedBytes(model_hash.to_vec()),
                    Value::Uint(U256::from(t.training_rows)),
                ]),
                dataset_root: root,
                model_hash,
                notes,
                side: vec![features_ds, side],
            })
        })
    }
}

/// A fixed list of datasets (tests, and `oracle verify` given the registry's answer).
pub struct FixedDatasets(pub BTreeMap<B256, DatasetInfo>);

impl Datasets for FixedDatasets {
    fn dataset<'a>(
        &'a self,
        root: B256,
    ) -> Pin<Box<dyn Future<Output = Result<Option<DatasetInfo>, JobError>> + Send + 'a>> {
        let d = self.0.get(&root).cloned();
        Box::pin(async move { Ok(d) })
    }
}
