//! The chunk runner every export shares: plan aligned chunks, skip the ones the lake
//! already holds, fetch and write the rest with bounded concurrency, commit each chunk
//! (files renamed into place, then the [`CommitHook`], e.g. a Delta log, then the files it
//! supersedes removed) and total the run.
//!
//! Sources plug in as a `fetch(range) -> [(table, TableFile)]` closure that writes a
//! chunk's files under their temporary names; the runner commits them. It reports
//! progress to an [`Observer`] (the binary draws a progress bar) and never decides what a
//! failure means for the process: the totals say what was written and the first error.
//!
//! ```text
//! plan(spec, range) ─► [ChunkPlan]      one listing of each table folder
//! run(chunks, …, fetch)                 up to `concurrency` chunks fetched at once,
//!   fetch(range) ─► [(table, TableFile)]    committed in chunk order:
//!   TableFile::commit ─► hook.commit ─► remove superseded ─► observer.chunk_written
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::future::BoxFuture;
use futures::StreamExt;
use ledgerflow_core::error::error_chain;
use ledgerflow_core::BlockRange;
use serde::Serialize;

use crate::error::LakeError;
use crate::layout::{ChunkFile, Lake};
use crate::writer::{write_bytes_atomic, Format, TableFile, WriteOptions};

/// Any error of a chunk's fetch or of a commit hook (its causes are kept for the report).
pub use ledgerflow_core::error::BoxError;

/// What a run writes and where.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The lake.
    pub lake: Lake,
    /// The chain folder.
    pub chain: String,
    /// The tables every chunk writes.
    pub tables: Vec<&'static str>,
    /// The chunk files' format.
    pub format: Format,
    /// Blocks per chunk (chunks are aligned to multiples of it).
    pub chunk_size: u64,
    /// Rewrite chunks that are already there.
    pub overwrite: bool,
}

/// One chunk of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkPlan {
    /// Its blocks.
    pub range: BlockRange,
    /// Already in the lake for every table.
    pub done: bool,
    /// Smaller files of this chunk's blocks that writing it replaces (e.g. a head chunk
    /// `2000_2500` once `2000_2999` is written).
    #[serde(skip)]
    pub superseded: Vec<PathBuf>,
}

/// Plans the chunks of `range` (one listing of each table's folder; temporary files of an
/// interrupted run are removed).
pub fn plan(spec: &RunSpec, range: BlockRange) -> Result<Vec<ChunkPlan>, LakeError> {
    let mut existing: BTreeMap<&str, Vec<ChunkFile>> = BTreeMap::new();
    for t in &spec.tables {
        let stale = spec.lake.remove_temp_files(&spec.chain, t)?;
        if stale > 0 {
            tracing::info!(target: "ledgerflow::export", table = t, stale, "removed temporary files of an interrupted run");
        }
        let files = spec.lake.chunks(&spec.chain, t)?;
        existing.insert(
            t,
            files
                .into_iter()
                .filter(|c| c.ext == spec.format.ext())
                .collect(),
        );
    }
    Ok(range
        .aligned_chunks(spec.chunk_size)
        .into_iter()
        .map(|r| {
            let done = !spec.overwrite
                && spec.tables.iter().all(|t| {
                    existing[t]
                        .iter()
                        .any(|e| e.range.start <= r.start && e.range.end >= r.end)
                });
            let superseded = existing
                .values()
                .flatten()
                .filter(|e| e.range.start >= r.start && e.range.end <= r.end && e.range != r)
                .map(|e| e.path.clone())
                .collect();
            ChunkPlan {
                range: r,
                done,
                superseded,
            }
        })
        .collect())
}

/// Totals of a run.
#[derive(Debug, Default, Serialize)]
pub struct RunTotals {
    /// Chunks of the plan.
    pub chunks_planned: usize,
    /// Chunks already in the lake.
    pub chunks_skipped: usize,
    /// Chunks written and committed.
    pub chunks_written: usize,
    /// Chunks that failed (the run stops scheduling after the first).
    pub chunks_failed: usize,
    /// Blocks of the written chunks.
    pub blocks_written: u64,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Bytes of the committed files.
    pub bytes_written: u64,
    /// The committed files.
    pub files: Vec<PathBuf>,
    /// The first failure: `chunk <range>: <error and its causes>`.
    pub error: Option<String>,
    /// Wall time of the run.
    pub seconds: f64,
}

/// Called once a chunk's files are in place and before the files it supersedes are
/// removed, so a table log (Delta) never names a missing file. A failure fails the chunk.
pub trait CommitHook: Send {
    /// Records the chunk `plan` whose files are now `written`.
    fn commit<'a>(
        &'a mut self,
        plan: &'a ChunkPlan,
        written: &'a [PathBuf],
    ) -> BoxFuture<'a, Result<(), BoxError>>;

    /// What the hook calls itself in errors (`Delta commit`).
    fn name(&self) -> &'static str;
}

/// Progress of a run (the binary draws a progress bar from it). Every method defaults to
/// doing nothing.
pub trait Observer: Sync {
    /// The run starts with `blocks` blocks to write.
    fn started(&self, _blocks: u64) {}
    /// A chunk was committed.
    fn chunk_written(&self, _range: BlockRange) {}
    /// The run ended (after its last chunk or its first failure).
    fn finished(&self) {}
}

/// An observer that watches nothing.
impl Observer for () {}

/// Renames a chunk's table files into place; returns their paths.
fn rename_chunk(
    files: Vec<(&'static str, TableFile)>,
    totals: &mut RunTotals,
) -> Result<Vec<PathBuf>, LakeError> {
    let mut written = Vec::with_capacity(files.len());
    for (table, file) in files {
        let rows = file.rows();
        let path = file.path().to_path_buf();
        totals.bytes_written += file.commit()?;
        *totals.rows.entry(table.to_string()).or_default() += rows;
        totals.files.push(path.clone());
        written.push(path);
    }
    Ok(written)
}

/// Removes the files a written chunk supersedes.
fn remove_superseded(plan: &ChunkPlan) -> Result<(), LakeError> {
    for old in &plan.superseded {
        std::fs::remove_file(old).map_err(|e| LakeError::Io {
            op: "remove superseded chunk",
            path: old.clone(),
            source: e,
        })?;
    }
    Ok(())
}

/// Commits one fetched chunk: its files, the hook, then the superseded files.
async fn commit_chunk(
    plan: &ChunkPlan,
    files: Vec<(&'static str, TableFile)>,
    hook: Option<&mut (dyn CommitHook + '_)>,
    totals: &mut RunTotals,
) -> Result<(), String> {
    let written =
        tokio::task::block_in_place(|| rename_chunk(files, totals)).map_err(|e| error_chain(&e))?;
    if let Some(h) = hook {
        h.commit(plan, &written)
            .await
            .map_err(|e| format!("{}: {}", h.name(), error_chain(e.as_ref())))?;
    }
    tokio::task::block_in_place(|| remove_superseded(plan)).map_err(|e| error_chain(&e))
}

/// Runs the plan: fetches chunks (up to `concurrency` at once, each started by `fetch`)
/// and commits each in chunk order as it completes. After the first failure no new
/// chunk is started (`fetch` is not called again) and the chunks in flight are still
/// committed when they succeed. Must run on a multi-threaded tokio runtime (commits use
/// `block_in_place`).
pub async fn run<F, Fut>(
    chunks: &[ChunkPlan],
    concurrency: usize,
    observer: &dyn Observer,
    mut hook: Option<&mut (dyn CommitHook + '_)>,
    fetch: F,
) -> RunTotals
where
    F: Fn(BlockRange) -> Fut,
    Fut: Future<Output = Result<Vec<(&'static str, TableFile)>, BoxError>>,
{
    let started = Instant::now();
    let mut totals = RunTotals {
        chunks_planned: chunks.len(),
        ..Default::default()
    };
    let todo: Vec<&ChunkPlan> = chunks.iter().filter(|c| !c.done).collect();
    totals.chunks_skipped = chunks.len() - todo.len();
    observer.started(todo.iter().map(|c| c.range.len()).sum());
    let failed = std::cell::Cell::new(false);
    // after a failure no new chunk is started (fetch is not even called)
    let mut stream = futures::stream::iter(todo.into_iter().map(|c| {
        let fut = (!failed.get()).then(|| fetch(c.range));
        async move {
            match fut {
                Some(f) => (c, Some(f.await)),
                None => (c, None),
            }
        }
    }))
    .buffered(concurrency.max(1));
    while let Some((plan, result)) = stream.next().await {
        let range = plan.range;
        let outcome = match result {
            None => continue,
            Some(Ok(files)) => commit_chunk(plan, files, hook.as_deref_mut(), &mut totals).await,
            Some(Err(e)) => Err(error_chain(e.as_ref())),
        };
        match outcome {
            Ok(()) => {
                totals.chunks_written += 1;
                totals.blocks_written += range.len();
                observer.chunk_written(range);
                tracing::debug!(target: "ledgerflow::export", %range, "chunk written");
            }
            Err(e) => {
                failed.set(true);
                totals.chunks_failed += 1;
                totals
                    .error
                    .get_or_insert_with(|| format!("chunk {range}: {e}"));
            }
        }
    }
    observer.finished();
    totals.seconds = started.elapsed().as_secs_f64();
    totals
}

/// Writes a run report (pretty JSON) atomically.
pub fn write_report(path: &Path, report: &impl Serialize) -> Result<(), LakeError> {
    let text = serde_json::to_string_pretty(report).map_err(|e| LakeError::Io {
        op: "serialize the report for",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    write_bytes_atomic(path, text.as_bytes())
}

/// The Parquet layout of an export's chunk files (`--zstd-level`, `--row-group-size`,
/// `--row-group-mb`).
#[derive(Debug, Clone, Copy)]
pub struct ParquetLayout {
    /// zstd level (1–22).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_size: usize,
    /// Buffered bytes that close a row group early (0: no limit).
    pub row_group_bytes: usize,
}

/// The Parquet settings of one table's chunk files: `layout`, the footer entries
/// `ledgerflow.table`, the source's own (`source_meta`) and `ledgerflow.version`, and the
/// table family's dictionary columns.
pub fn chunk_options(
    layout: ParquetLayout,
    table: &str,
    source_meta: &[(&str, String)],
    dictionary_columns: Option<&'static [&'static str]>,
) -> WriteOptions {
    let mut metadata = vec![("ledgerflow.table".to_string(), table.to_string())];
    metadata.extend(source_meta.iter().map(|(k, v)| (k.to_string(), v.clone())));
    metadata.push((
        "ledgerflow.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    ));
    WriteOptions {
        zstd_level: layout.zstd_level,
        row_group_size: layout.row_group_size,
        row_group_bytes: layout.row_group_bytes,
        metadata,
        dictionary_columns,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use ledgerflow_core::tables::evm::BlockRow;

    use super::*;

    fn spec(dir: &Path) -> RunSpec {
        RunSpec {
            lake: Lake::new(dir),
            chain: "c".into(),
            tables: vec!["blocks"],
            format: Format::Parquet,
            chunk_size: 10,
            overwrite: false,
        }
    }

    fn chunk(spec: &RunSpec, r: BlockRange) -> Result<Vec<(&'static str, TableFile)>, BoxError> {
        let path = spec.lake.chunk_path(&spec.chain, "blocks", r, "parquet");
        let mut f = TableFile::parquet(&path, BlockRow::schema(), &WriteOptions::default())?;
        let rows: Vec<BlockRow> = (r.start..=r.end)
            .map(|n| BlockRow {
                number: n as i64,
                hash: format!("0x{n:02x}"),
                ..Default::default()
            })
            .collect();
        f.write(&BlockRow::to_batch(&rows)?)?;
        Ok(vec![("blocks", f)])
    }

    #[derive(Default)]
    struct Seen {
        started: AtomicU64,
        written: Mutex<Vec<BlockRange>>,
    }
    impl Observer for Seen {
        fn started(&self, blocks: u64) {
            self.started.store(blocks, Ordering::SeqCst);
        }
        fn chunk_written(&self, range: BlockRange) {
            self.written.lock().unwrap().push(range);
        }
    }

    struct Log(Vec<(BlockRange, usize, bool)>, bool);
    impl CommitHook for Log {
        fn commit<'a>(
            &'a mut self,
            plan: &'a ChunkPlan,
            written: &'a [PathBuf],
        ) -> BoxFuture<'a, Result<(), BoxError>> {
            Box::pin(async move {
                // the files are in place when the hook runs
                let all_there = written.iter().all(|p| p.exists());
                self.0.push((plan.range, written.len(), all_there));
                if self.1 && plan.range.start == 10 {
                    return Err("log full".into());
                }
                Ok(())
            })
        }
        fn name(&self) -> &'static str {
            "test log"
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plans_commits_skips_and_supersedes() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path());
        // a head chunk 20..=24 that the full chunk 20..=29 supersedes
        let head = BlockRange::new(20, 24);
        chunk(&s, head).unwrap().pop().unwrap().1.commit().unwrap();
        let range = BlockRange::new(0, 29);
        let chunks = plan(&s, range).unwrap();
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| !c.done));
        assert_eq!(chunks[2].superseded.len(), 1);
        let seen = Seen::default();
        let mut log = Log(Vec::new(), false);
        let t = run(&chunks, 2, &seen, Some(&mut log), |r| {
            let s = s.clone();
            async move { chunk(&s, r) }
        })
        .await;
        assert_eq!(t.error, None);
        assert_eq!((t.chunks_written, t.blocks_written), (3, 30));
        assert_eq!(t.rows["blocks"], 30);
        assert_eq!(seen.started.load(Ordering::SeqCst), 30);
        assert_eq!(seen.written.lock().unwrap().len(), 3);
        assert_eq!(log.0.len(), 3);
        assert!(log.0.iter().all(|(_, n, there)| *n == 1 && *there));
        assert!(!s.lake.chunk_path("c", "blocks", head, "parquet").exists());
        // a rerun skips everything and calls nothing
        let again = plan(&s, range).unwrap();
        assert!(again.iter().all(|c| c.done));
        let t = run(&again, 2, &(), None, |_| async {
            Err::<Vec<_>, BoxError>("must not be called".into())
        })
        .await;
        assert_eq!((t.chunks_skipped, t.chunks_written, t.error), (3, 0, None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_stops_scheduling_and_names_the_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path());
        let chunks = plan(&s, BlockRange::new(0, 59)).unwrap();
        let calls = AtomicU64::new(0);
        let t = run(&chunks, 1, &(), None, |r| {
            calls.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            async move {
                if r.start == 20 {
                    let inner: BoxError = "node went away".into();
                    return Err(Box::new(LakeError::Io {
                        op: "fetch",
                        path: "x".into(),
                        source: std::io::Error::other(inner),
                    }) as BoxError);
                }
                chunk(&s, r)
            }
        })
        .await;
        assert_eq!(t.chunks_written, 2);
        assert_eq!(t.chunks_failed, 1);
        let e = t.error.unwrap();
        assert!(e.starts_with("chunk 20:29: "), "{e}");
        assert!(e.ends_with(": node went away"), "{e}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "no chunk started after the failure"
        );
        // the hook's failure fails its chunk, with the hook's name
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path());
        let chunks = plan(&s, BlockRange::new(0, 29)).unwrap();
        let mut log = Log(Vec::new(), true);
        let t = run(&chunks, 1, &(), Some(&mut log), |r| {
            let s = s.clone();
            async move { chunk(&s, r) }
        })
        .await;
        assert_eq!(t.error.as_deref(), Some("chunk 10:19: test log: log full"));
        assert_eq!(t.chunks_written, 1);
    }

    #[test]
    fn chunk_options_name_the_table_source_and_version() {
        let o = chunk_options(
            ParquetLayout {
                zstd_level: 5,
                row_group_size: 7,
                row_group_bytes: 9,
            },
            "logs",
            &[("ledgerflow.chain_id", "1".into())],
            None,
        );
        assert_eq!(
            (o.zstd_level, o.row_group_size, o.row_group_bytes),
            (5, 7, 9)
        );
        let keys: Vec<&str> = o.metadata.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ledgerflow.table",
                "ledgerflow.chain_id",
                "ledgerflow.version"
            ]
        );
    }
}
