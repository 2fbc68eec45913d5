//! The chunk runner shared by every export: plan aligned chunks, skip the ones the lake
//! already holds, fetch and write the rest with bounded concurrency, show progress, and
//! produce a run report. Sources plug in as a `fetch(range) -> [(table, batch)]` closure.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use ledgerflow_core::BlockRange;
use ledgerflow_lake::writer::TableFile;
use ledgerflow_lake::{ChunkFile, Format, Lake, LakeError};
use serde::Serialize;

/// What a run writes and where.
pub struct RunSpec {
    pub lake: Lake,
    pub chain: String,
    pub tables: Vec<&'static str>,
    pub format: Format,
    pub chunk_size: u64,
    pub overwrite: bool,
    /// Keep a Delta Lake log in each table folder (`--format delta`).
    pub delta: bool,
}

/// One chunk of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkPlan {
    pub range: BlockRange,
    /// Already in the lake for every table.
    pub done: bool,
    /// Smaller files of this chunk's blocks that writing it replaces (e.g. a head chunk
    /// `2000_2500` once `2000_2999` is written).
    #[serde(skip)]
    pub superseded: Vec<PathBuf>,
}

/// Plans the chunks of `range` (one listing of each table's folder).
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
    pub chunks_planned: usize,
    pub chunks_skipped: usize,
    pub chunks_written: usize,
    pub chunks_failed: usize,
    pub blocks_written: u64,
    pub rows: BTreeMap<String, u64>,
    pub bytes_written: u64,
    pub files: Vec<PathBuf>,
    pub error: Option<String>,
    pub seconds: f64,
}

fn bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} blocks ({per_sec}, eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Renames a chunk's table files into place; returns them by table.
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

/// The Delta logs of a run's tables (`--format delta`).
pub struct DeltaLogs {
    tables: Vec<ledgerflow_delta::DeltaTable>,
}

impl DeltaLogs {
    /// For a `--format delta` run (`None` otherwise): opens the log of every table of the
    /// run and brings it in line with the folder first (chunks written by an interrupted
    /// run, before its log commit, are added).
    pub async fn for_run(spec: &RunSpec) -> eyre::Result<Option<Self>> {
        if !spec.delta {
            return Ok(None);
        }
        let mut tables = Vec::new();
        for t in &spec.tables {
            let mut d = ledgerflow_delta::DeltaTable::open(&spec.lake, &spec.chain, t).await?;
            let r = d.sync(&spec.lake).await?;
            if r.committed() {
                tracing::info!(target: "ledgerflow::export", table = t, version = ?r.version, added = r.added, replaced = r.replaced, removed = r.removed, "Delta log brought in line with the folder");
            }
            tables.push(d);
        }
        Ok(Some(DeltaLogs { tables }))
    }

    /// One Delta commit per table: the chunk's file added (re-added when rewritten), the
    /// files it supersedes removed.
    async fn commit(&mut self, plan: &ChunkPlan, written: &[PathBuf]) -> eyre::Result<()> {
        for t in &mut self.tables {
            t.commit(plan.range, written, &plan.superseded).await?;
        }
        Ok(())
    }

    /// The tables' versions after the run, as `table=version`.
    pub fn versions(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|t| {
                format!(
                    "{}: Delta version {}",
                    t.dir()
                        .file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default(),
                    t.version()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into())
                )
            })
            .collect()
    }
}

/// Runs the plan: fetches chunks (up to `concurrency` at once) and writes each as it comes.
/// Stops scheduling new chunks at the first failure.
pub async fn run<F, Fut>(
    chunks: &[ChunkPlan],
    concurrency: usize,
    quiet: bool,
    mut delta: Option<&mut DeltaLogs>,
    fetch: F,
) -> RunTotals
where
    F: Fn(BlockRange) -> Fut,
    Fut: Future<Output = eyre::Result<Vec<(&'static str, TableFile)>>>,
{
    let started = Instant::now();
    let mut totals = RunTotals {
        chunks_planned: chunks.len(),
        ..Default::default()
    };
    let todo: Vec<&ChunkPlan> = chunks.iter().filter(|c| !c.done).collect();
    totals.chunks_skipped = chunks.len() - todo.len();
    let pb = bar(quiet, todo.iter().map(|c| c.range.len()).sum());
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
        match result {
            None => {}
            Some(Ok(files)) => {
                // files in place, then the Delta commit, then the superseded files go:
                // a Delta reader never sees a log entry without its file
                let mut done = tokio::task::block_in_place(|| rename_chunk(files, &mut totals))
                    .map_err(eyre::Report::new);
                if let (Ok(written), Some(d)) = (&done, delta.as_deref_mut()) {
                    if let Err(e) = d.commit(plan, written).await {
                        done = Err(e.wrap_err("Delta commit"));
                    }
                }
                let done = done.and_then(|_| {
                    tokio::task::block_in_place(|| remove_superseded(plan))
                        .map_err(eyre::Report::new)
                });
                match done {
                    Ok(()) => {
                        totals.chunks_written += 1;
                        totals.blocks_written += range.len();
                        pb.inc(range.len());
                        tracing::debug!(target: "ledgerflow::export", %range, "chunk written");
                    }
                    Err(e) => {
                        failed.set(true);
                        totals.chunks_failed += 1;
                        totals
                            .error
                            .get_or_insert_with(|| format!("chunk {range}: {}", chain(&e)));
                    }
                }
            }
            Some(Err(e)) => {
                failed.set(true);
                totals.chunks_failed += 1;
                totals
                    .error
                    .get_or_insert_with(|| format!("chunk {range}: {}", chain(&e)));
            }
        }
    }
    pb.finish_and_clear();
    totals.seconds = started.elapsed().as_secs_f64();
    totals
}

/// An error and its causes on one line.
pub fn chain(e: &eyre::Report) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Writes a JSON report atomically.
pub fn write_report(path: &Path, report: &impl Serialize) -> eyre::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    ledgerflow_lake::writer::write_bytes_atomic(path, text.as_bytes())?;
    Ok(())
}
