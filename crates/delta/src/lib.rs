//! Delta Lake tables over the lake's Parquet chunks.
//!
//! A table folder of the lake (`<lake>/<chain>/<table>/`) becomes a Delta table by getting a
//! `_delta_log/` next to its chunk files: the chunks are the table's data files, referenced
//! by relative paths, so the folder stays a plain Parquet dataset for every other reader and
//! ledgerflow's own SQL, checks and loaders keep working unchanged. Spark, Trino,
//! Databricks, DuckDB (`delta_scan`), delta-rs and BigQuery (BigLake) read the same folder as
//! a Delta table.
//!
//! The log follows the chunk files: [`DeltaTable::sync`] brings it in line with the kept
//! chunks of the folder (one commit: new chunks added, rewritten chunks re-added with their
//! new size and statistics, merged or deleted chunks removed), and [`DeltaTable::commit`]
//! records the files of one exported chunk. Either way, one chunk replacement is one Delta
//! commit. Every added file carries `numRecords` and per-column bounds (see [`stats`]), so
//! readers skip chunks outside a block range.
//!
//! A chunk rewritten in place (`export --overwrite`) keeps its path: Delta versions before
//! the rewrite then see the new contents under the old path, as after a `VACUUM`; the
//! current version is always exact.

pub mod error;
pub mod runs;
pub mod stats;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, Remove, StructType};
use deltalake::operations::create::CreateBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::DeltaTableBuilder;
use ledgerflow_core::BlockRange;
use ledgerflow_lake::layout::block_column;
use ledgerflow_lake::Lake;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use serde::Serialize;

pub use error::DeltaError;
pub use runs::DeltaLogs;

/// The name of the log folder inside a table folder.
pub const LOG_DIR: &str = "_delta_log";

/// Whether a table folder holds a Delta log.
pub fn is_delta(lake: &Lake, chain: &str, table: &str) -> bool {
    lake.table_dir(chain, table).join(LOG_DIR).is_dir()
}

/// What a sync or commit did to one table.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    /// Chain folder.
    pub chain: String,
    /// Table folder.
    pub table: String,
    /// The table's version afterwards (`None`: no Delta table, nothing to add).
    pub version: Option<u64>,
    /// Whether this created the table (version 0).
    pub created: bool,
    /// Files added.
    pub added: usize,
    /// Files rewritten in place and re-added.
    pub replaced: usize,
    /// Files removed from the table.
    pub removed: usize,
}

impl SyncReport {
    /// Whether a commit was made.
    pub fn committed(&self) -> bool {
        self.created || self.added + self.replaced + self.removed > 0
    }
}

/// A data file as the log or the folder knows it: size and modification time (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    /// Bytes.
    pub size: i64,
    /// Modification time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
}

/// The actions that bring a log (`logged`) in line with a folder (`present`): file names
/// to add, to re-add (rewritten: other size or time) and to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In the folder, not in the log.
    pub add: Vec<String>,
    /// In both, with another size or modification time.
    pub replace: Vec<String>,
    /// In the log, not (or no longer as a kept chunk) in the folder.
    pub remove: Vec<String>,
}

/// Plans a sync (pure).
pub fn plan(logged: &BTreeMap<String, FileState>, present: &BTreeMap<String, FileState>) -> Plan {
    let mut p = Plan::default();
    for (name, st) in present {
        match logged.get(name) {
            None => p.add.push(name.clone()),
            Some(l) if l != st => p.replace.push(name.clone()),
            Some(_) => {}
        }
    }
    p.remove = logged
        .keys()
        .filter(|k| !present.contains_key(*k))
        .cloned()
        .collect();
    p
}

/// One lake table's Delta log.
pub struct DeltaTable {
    chain: String,
    table: String,
    dir: PathBuf,
    inner: deltalake::DeltaTable,
}

impl DeltaTable {
    /// Opens the log of a table folder (it need not exist yet: the first sync or commit
    /// creates it).
    pub async fn open(lake: &Lake, chain: &str, table: &str) -> Result<Self, DeltaError> {
        let dir = lake.table_dir(chain, table);
        std::fs::create_dir_all(&dir).map_err(|source| DeltaError::Io {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let abs = std::fs::canonicalize(&dir).map_err(|source| DeltaError::Io {
            op: "resolve",
            path: dir.clone(),
            source,
        })?;
        let url = url::Url::from_directory_path(&abs).map_err(|()| DeltaError::Io {
            op: "make a file URL of",
            path: abs.clone(),
            source: std::io::Error::other("not an absolute path"),
        })?;
        let mut inner = DeltaTableBuilder::from_url(url)
            .map_err(DeltaError::delta(&dir))?
            .build()
            .map_err(DeltaError::delta(&dir))?;
        if dir.join(LOG_DIR).is_dir() {
            inner.load().await.map_err(DeltaError::delta(&dir))?;
        }
        Ok(DeltaTable {
            chain: chain.to_string(),
            table: table.to_string(),
            dir,
            inner,
        })
    }

    /// The current version (`None` before the first commit).
    pub fn version(&self) -> Option<u64> {
        self.inner.version()
    }

    /// The table folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data files of the current version.
    pub fn files(&self) -> Result<BTreeMap<String, FileState>, DeltaError> {
        if self.inner.version().is_none() {
            return Ok(BTreeMap::new());
        }
        let snap = self
            .inner
            .snapshot()
            .map_err(DeltaError::delta(&self.dir))?;
        Ok(snap
            .log_data()
            .iter()
            .map(|f| {
                (
                    f.path().to_string(),
                    FileState {
                        size: f.size(),
                        modified_ms: f.modification_time(),
                    },
                )
            })
            .collect())
    }

    /// The kept Parquet chunks of the folder (chunks inside a larger one, left by an
    /// interrupted compaction, are not part of the table).
    pub fn folder_files(&self, lake: &Lake) -> Result<BTreeMap<String, FileState>, DeltaError> {
        let (kept, _) = lake.parquet_chunks(&self.chain, &self.table)?;
        kept.iter()
            .map(|c| Ok((file_name(&c.path), file_state(&c.path)?)))
            .collect()
    }

    /// Brings the log in line with the folder's kept chunks in one commit (none when they
    /// already agree). Creates the table when the folder has chunks and no log.
    pub async fn sync(&mut self, lake: &Lake) -> Result<SyncReport, DeltaError> {
        let present = self.folder_files(lake)?;
        let logged = self.files()?;
        let p = plan(&logged, &present);
        self.apply(p, &logged, None).await
    }

    /// Records an exported chunk: `written` files of this table (added, or re-added when a
    /// file of that name is in the log) and `superseded` files (removed from the log; the
    /// caller deletes them afterwards). Files of other folders are ignored.
    pub async fn commit(
        &mut self,
        range: BlockRange,
        written: &[PathBuf],
        superseded: &[PathBuf],
    ) -> Result<SyncReport, DeltaError> {
        let logged = self.files()?;
        let mine = |p: &&PathBuf| p.parent().is_some_and(|d| same_dir(d, &self.dir));
        let mut p = Plan::default();
        for f in written.iter().filter(mine) {
            let name = file_name(f);
            if logged.contains_key(&name) {
                p.replace.push(name);
            } else {
                p.add.push(name);
            }
        }
        for f in superseded.iter().filter(mine) {
            let name = file_name(f);
            if logged.contains_key(&name) && !p.replace.contains(&name) && !p.add.contains(&name) {
                p.remove.push(name);
            }
        }
        self.apply(p, &logged, Some(range)).await
    }

    async fn apply(
        &mut self,
        p: Plan,
        logged: &BTreeMap<String, FileState>,
        range: Option<BlockRange>,
    ) -> Result<SyncReport, DeltaError> {
        let mut report = SyncReport {
            chain: self.chain.clone(),
            table: self.table.clone(),
            version: self.version(),
            ..Default::default()
        };
        if p.add.is_empty() && p.replace.is_empty() && p.remove.is_empty() {
            return Ok(report);
        }
        let mut schema: Option<StructType> = if self.version().is_some() {
            Some(
                self.inner
                    .snapshot()
                    .map_err(DeltaError::delta(&self.dir))?
                    .schema()
                    .as_ref()
                    .clone(),
            )
        } else {
            None
        };
        let mut actions = Vec::new();
        for name in p.add.iter().chain(&p.replace) {
            let (add, file_schema) = add_action(&self.dir.join(name))?;
            match &schema {
                None => schema = Some(file_schema),
                Some(s) => {
                    same_columns(s, &file_schema).map_err(|detail| DeltaError::SchemaMismatch {
                        path: self.dir.join(name),
                        detail,
                    })?
                }
            }
            actions.push(Action::Add(add));
        }
        let now_ms = now_ms();
        for name in &p.remove {
            actions.push(Action::Remove(Remove {
                path: name.clone(),
                data_change: true,
                deletion_timestamp: Some(now_ms),
                extended_file_metadata: Some(true),
                size: logged.get(name).map(|f| f.size),
                partition_values: Some(Default::default()),
                ..Default::default()
            }));
        }
        report.added = p.add.len();
        report.replaced = p.replace.len();
        report.removed = p.remove.len();
        if self.version().is_none() {
            let Some(schema) = schema else {
                return Ok(report);
            };
            let table = CreateBuilder::new()
                .with_log_store(self.inner.log_store())
                .with_table_name(self.table.clone())
                .with_comment(format!(
                    "ledgerflow lake table {}/{}: one Parquet file per block-range chunk",
                    self.chain, self.table
                ))
                .with_columns(schema.fields().cloned())
                .with_actions(actions)
                .with_save_mode(SaveMode::ErrorIfExists)
                .await
                .map_err(DeltaError::delta(&self.dir))?;
            self.inner = table;
            report.created = true;
        } else {
            let mode = if p.replace.is_empty() && p.remove.is_empty() {
                SaveMode::Append
            } else {
                SaveMode::Overwrite
            };
            let op = DeltaOperation::Write {
                mode,
                partition_by: None,
                predicate: range.map(|r| {
                    format!(
                        "{} >= {} AND {} <= {}",
                        block_column(&self.table),
                        r.start,
                        block_column(&self.table),
                        r.end
                    )
                }),
            };
            let snapshot = self
                .inner
                .snapshot()
                .map_err(DeltaError::delta(&self.dir))?;
            CommitBuilder::from(CommitProperties::default())
                .with_actions(actions)
                .build(Some(snapshot), self.inner.log_store(), op)
                .await
                .map_err(DeltaError::delta(&self.dir))?;
            self.inner
                .update_state()
                .await
                .map_err(DeltaError::delta(&self.dir))?;
        }
        report.version = self.version();
        tracing::debug!(target: "ledgerflow::delta", chain = %self.chain, table = %self.table, version = ?report.version, added = report.added, replaced = report.replaced, removed = report.removed, "delta commit");
        Ok(report)
    }
}

/// Syncs every table of the lake (or of one chain, or the named tables) that has Parquet
/// chunks; `only_existing` limits it to folders that already hold a Delta log.
pub async fn sync_lake(
    lake: &Lake,
    chain: Option<&str>,
    tables: Option<&[String]>,
    only_existing: bool,
) -> Result<Vec<SyncReport>, DeltaError> {
    let mut out = Vec::new();
    for c in lake.chains()? {
        if chain.is_some_and(|x| x != c) {
            continue;
        }
        for t in lake.tables(&c)? {
            if tables.is_some_and(|ts| !ts.contains(&t)) {
                continue;
            }
            if only_existing && !is_delta(lake, &c, &t) {
                continue;
            }
            let mut table = DeltaTable::open(lake, &c, &t).await?;
            out.push(table.sync(lake).await?);
        }
    }
    Ok(out)
}

/// What `lake check` reports about a table's Delta log: files the log lists that are
/// missing or changed on disk, and kept chunks the log lacks.
pub async fn verify(lake: &Lake, chain: &str, table: &str) -> Result<Vec<String>, DeltaError> {
    if !is_delta(lake, chain, table) {
        return Ok(Vec::new());
    }
    let t = DeltaTable::open(lake, chain, table).await?;
    let logged = t.files()?;
    let present = t.folder_files(lake)?;
    let p = plan(&logged, &present);
    let v = t.version().unwrap_or(0);
    let mut out = Vec::new();
    for f in p.remove {
        out.push(format!(
            "the Delta log (version {v}) lists {f}, which is not a chunk of the folder; run `ledgerflow lake convert`"
        ));
    }
    for f in p.replace {
        out.push(format!(
            "the Delta log (version {v}) has another size or time for {f}; run `ledgerflow lake convert`"
        ));
    }
    for f in p.add {
        out.push(format!(
            "chunk {f} is not in the Delta log (version {v}); run `ledgerflow lake convert`"
        ));
    }
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn file_state(path: &Path) -> Result<FileState, DeltaError> {
    let m = std::fs::metadata(path).map_err(|source| DeltaError::Io {
        op: "stat",
        path: path.to_path_buf(),
        source,
    })?;
    let modified_ms = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(FileState {
        size: m.len() as i64,
        modified_ms,
    })
}

/// The `add` action of a chunk file (size, time and statistics from its footer) and the
/// Delta schema of its columns.
fn add_action(path: &Path) -> Result<(Add, StructType), DeltaError> {
    let st = file_state(path)?;
    let file = File::open(path).map_err(|source| DeltaError::Io {
        op: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let meta = ArrowReaderMetadata::load(&file, Default::default()).map_err(|source| {
        DeltaError::Parquet {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let arrow = meta
        .schema()
        .as_ref()
        .clone()
        .with_metadata(Default::default());
    let schema: StructType =
        (&arrow)
            .try_into_kernel()
            .map_err(|e| DeltaError::SchemaMismatch {
                path: path.to_path_buf(),
                detail: format!("no Delta type for a column: {e}"),
            })?;
    let stats = stats::file_stats(meta.metadata(), &arrow);
    let add = Add {
        path: file_name(path),
        size: st.size,
        modification_time: st.modified_ms,
        data_change: true,
        stats: Some(stats.to_string()),
        ..Default::default()
    };
    Ok((add, schema))
}

/// Whether two schemas have the same columns (names, types, nullability, in order).
fn same_columns(table: &StructType, file: &StructType) -> Result<(), String> {
    let a: Vec<_> = table.fields().collect();
    let b: Vec<_> = file.fields().collect();
    for (i, x) in a.iter().enumerate() {
        let Some(y) = b.get(i) else {
            return Err(format!("column {} ({}) is missing", i + 1, x.name()));
        };
        if x.name() != y.name()
            || x.data_type() != y.data_type()
            || x.is_nullable() != y.is_nullable()
        {
            return Err(format!(
                "column {} is {} {:?} in the table, {} {:?} in the file",
                i + 1,
                x.name(),
                x.data_type(),
                y.name(),
                y.data_type()
            ));
        }
    }
    if b.len() > a.len() {
        return Err(format!("the file has {} more columns", b.len() - a.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(size: i64, t: i64) -> FileState {
        FileState {
            size,
            modified_ms: t,
        }
    }

    #[test]
    fn plans_add_replace_remove() {
        let logged = BTreeMap::from([
            ("a".to_string(), st(10, 1)),
            ("b".to_string(), st(10, 1)),
            ("c".to_string(), st(10, 1)),
        ]);
        let present = BTreeMap::from([
            ("a".to_string(), st(10, 1)),
            ("b".to_string(), st(11, 2)),
            ("d".to_string(), st(10, 1)),
        ]);
        let p = plan(&logged, &present);
        assert_eq!(p.add, vec!["d"]);
        assert_eq!(p.replace, vec!["b"]);
        assert_eq!(p.remove, vec!["c"]);
        assert_eq!(plan(&present, &present), Plan::default());
    }
}
