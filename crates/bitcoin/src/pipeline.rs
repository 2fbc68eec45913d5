//! The export pipeline of a Bitcoin-family chain: chunks of blocks fetched concurrently but
//! transformed strictly in height order, every input enriched with the output it spends.
//!
//! Each chunk of a run takes a ticket (its place in height order). Its first groups of
//! blocks are fetched at once; then it waits for its turn before it spends outputs from
//! (and adds outputs to) the shared spent-output index, so the index always holds exactly
//! the outputs created before the block being transformed. A chunk that fails (or is
//! dropped) poisons the queue: no later chunk waits forever or writes rows enriched from
//! an incomplete index. Rows go to the chunk's [`RowWriter`] on a blocking thread while
//! the next groups (and the next chunk) are transformed.
//!
//! Over RPC, outputs created before the exported range come from `getrawtransaction`
//! (needs `txindex=1`); from block files, the blocks before the range (or chunks skipped
//! because they are already exported) are read and indexed first.
//!
//! ```text
//! Pipeline::new(source, options, chunks)
//! pipeline.chunk(range, writer) ─► task: prefetch groups ─► wait for the ticket
//!     ─► catch up the index ─► per group: [prevouts] ─► block_rows ─► writer (thread)
//!     ─► next ticket ─► writer handed back
//! ```

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use ledgerflow_core::tables::bitcoin::{
    BtcBlockRow, BtcInputRow, BtcOutputRow, BtcTable, BtcTransactionRow,
};
use ledgerflow_core::BlockRange;
use tokio::sync::{watch, Mutex};

use crate::error::BtcError;
use crate::etl::{self, EtlStyle};
use crate::model::Block;
use crate::source::{RpcSource, Source};
use crate::transform::{block_rows, BtcRows, EnrichStats, Want};
use crate::utxo::UtxoIndex;

/// Any error of a row writer (its causes are kept).
pub use ledgerflow_core::error::BoxError;
use ledgerflow_core::error::Transparent;

/// Groups of blocks fetched ahead of the one being transformed (the first ones before the
/// chunk's turn comes).
const PREFETCH: usize = 3;

/// How the pipeline runs.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// The tables to build rows for.
    pub want: Want,
    /// Enrich inputs from the spent-output index.
    pub enrich: bool,
    /// Blocks fetched and transformed together.
    pub group_blocks: u64,
}

/// Where a chunk's rows go, group by group, on a blocking thread.
pub trait RowWriter: Send + 'static {
    /// Writes the rows of one group of blocks.
    fn write(&mut self, rows: &BtcRows) -> Result<(), BoxError>;
}

/// A pipeline failure.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The source (node or block files).
    #[error(transparent)]
    Source(#[from] BtcError),
    /// An earlier chunk failed, so this one cannot be enriched.
    #[error("an earlier chunk failed; this chunk was not enriched")]
    EarlierChunkFailed,
    /// The chunk's row writer.
    #[error(transparent)]
    Write(Transparent),
    /// A task of the pipeline died (a bug: please report).
    #[error("internal error: {0} (please report)")]
    Internal(String),
}

impl PipelineError {
    fn write(e: BoxError) -> Self {
        PipelineError::Write(Transparent(e))
    }
}

/// What enrichment did over a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnrichReport {
    /// Inputs whose spent output was found, and those left without values.
    pub stats: EnrichStats,
    /// Spent outputs fetched with `getrawtransaction` (RPC source).
    pub prevouts_fetched: u64,
    /// Unspent outputs in the index at the end.
    pub unspent: usize,
    /// The index's heap bytes at the end.
    pub heap_bytes: usize,
    /// The index's largest heap size.
    pub peak_heap_bytes: usize,
    /// The index's largest number of unspent outputs.
    pub peak_unspent: usize,
}

/// The spent-output index and how far it has been applied.
struct EnrichState {
    /// The next height whose outputs the index has not seen.
    next: i64,
    index: UtxoIndex,
    report: EnrichReport,
}

/// Tickets that make chunks take their turn in height order.
struct Turns {
    tx: watch::Sender<usize>,
    poisoned: AtomicBool,
}

/// A chunk's place in the queue; dropped before [`TurnGuard::finish`], it poisons it.
struct TurnGuard {
    turns: Arc<Turns>,
    ticket: usize,
    done: bool,
}

impl TurnGuard {
    async fn wait(&self) -> Result<(), PipelineError> {
        let mut rx = self.turns.tx.subscribe();
        loop {
            if self.turns.poisoned.load(Ordering::SeqCst) {
                return Err(PipelineError::EarlierChunkFailed);
            }
            if *rx.borrow_and_update() == self.ticket {
                return Ok(());
            }
            rx.changed()
                .await
                .map_err(|_| PipelineError::Internal("chunk queue closed".into()))?;
        }
    }

    fn finish(mut self) {
        self.done = true;
        self.turns.tx.send_replace(self.ticket + 1);
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        if !self.done {
            self.turns.poisoned.store(true, Ordering::SeqCst);
            self.turns.tx.send_replace(self.ticket + 1);
        }
    }
}

/// One export run of a Bitcoin-family source.
pub struct Pipeline {
    source: Source,
    opts: PipelineOptions,
    tickets: Arc<HashMap<u64, usize>>,
    turns: Arc<Turns>,
    state: Arc<Mutex<EnrichState>>,
}

impl Pipeline {
    /// A pipeline for the chunks `chunks` of a run (the ones to write, in height order);
    /// each must then be passed to [`Pipeline::chunk`] exactly once, in this order or any
    /// other (they wait for their turn).
    pub fn new(source: Source, opts: PipelineOptions, chunks: &[BlockRange]) -> Self {
        Pipeline {
            source,
            opts,
            tickets: Arc::new(
                chunks
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.start, i))
                    .collect(),
            ),
            turns: Arc::new(Turns {
                tx: watch::channel(0usize).0,
                poisoned: AtomicBool::new(false),
            }),
            state: Arc::new(Mutex::new(EnrichState {
                next: 0,
                index: UtxoIndex::new(),
                report: EnrichReport::default(),
            })),
        }
    }

    /// The source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Starts the chunk `range` at once (its first groups are fetched while earlier chunks
    /// are transformed) and returns its completion: the writer back, having received every
    /// group's rows in height order. The writer is made by `writer` inside the chunk's
    /// task, so that a writer that cannot be made (a chunk file that cannot be created)
    /// fails this chunk and poisons the queue like any other failure, instead of leaving
    /// the chunks after it waiting for a turn that never comes.
    pub fn chunk<W, F>(
        &self,
        range: BlockRange,
        writer: F,
    ) -> impl Future<Output = Result<W, PipelineError>> + Send + 'static
    where
        W: RowWriter,
        F: FnOnce() -> Result<W, BoxError> + Send + 'static,
    {
        let ticket = self.tickets.get(&range.start).copied();
        let task = tokio::spawn(run_chunk(
            self.source.clone(),
            self.opts,
            self.turns.clone(),
            ticket,
            self.state.clone(),
            range,
            writer,
        ));
        async move {
            task.await
                .map_err(|e| PipelineError::Internal(format!("chunk task failed: {e}")))?
        }
    }

    /// What enrichment did so far (the whole run once every chunk is done).
    pub async fn report(&self) -> EnrichReport {
        let st = self.state.lock().await;
        EnrichReport {
            unspent: st.index.len(),
            heap_bytes: st.index.heap_bytes(),
            ..st.report
        }
    }
}

async fn run_chunk<W: RowWriter, F: FnOnce() -> Result<W, BoxError>>(
    source: Source,
    opts: PipelineOptions,
    turns: Arc<Turns>,
    ticket: Option<usize>,
    state: Arc<Mutex<EnrichState>>,
    r: BlockRange,
    make_writer: F,
) -> Result<W, PipelineError> {
    let ticket =
        ticket.ok_or_else(|| PipelineError::Internal(format!("chunk {r} has no ticket")))?;
    let guard = TurnGuard {
        turns,
        ticket,
        done: false,
    };
    // a writer that cannot be made drops the guard unfinished: the queue is poisoned
    let mut writer = make_writer().map_err(PipelineError::write)?;
    let group = opts.group_blocks.max(1);
    let groups: Vec<(i64, i64)> = (r.start..=r.end)
        .step_by(group as usize)
        .map(|s| (s as i64, (s + group - 1).min(r.end) as i64))
        .collect();
    let fetch = |(s, e): (i64, i64)| {
        let source = source.clone();
        tokio::spawn(async move { source.blocks(s, e).await })
    };
    let mut next_fetch: VecDeque<_> = groups.iter().take(PREFETCH).map(|g| fetch(*g)).collect();
    // the chunk's rows are written by a blocking thread while the next groups (and the
    // next chunk) are transformed
    let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<BtcRows>(2);
    let write_task = tokio::task::spawn_blocking(move || -> Result<W, PipelineError> {
        for rows in rows_rx {
            writer.write(&rows).map_err(PipelineError::write)?;
        }
        Ok(writer)
    });
    guard.wait().await?;
    let mut st = state.lock().await;
    if opts.enrich {
        catch_up(&source, &mut st, r.start as i64, group as i64).await?;
    }
    let mut writer_failed = false;
    for gi in 0..groups.len() {
        let blocks: Vec<Block> = match next_fetch.pop_front() {
            Some(h) => h
                .await
                .map_err(|e| PipelineError::Internal(format!("fetch task: {e}")))??,
            None => Vec::new(),
        };
        if let Some(g) = groups.get(gi + PREFETCH) {
            next_fetch.push_back(fetch(*g));
        }
        if opts.enrich {
            if let Source::Rpc(rpc) = &source {
                fetch_missing_prevouts(rpc, &mut st, &blocks).await?;
            }
        }
        let rows = tokio::task::block_in_place(|| {
            let mut rows = BtcRows::default();
            for b in &blocks {
                let s = block_rows(
                    b,
                    source.params(),
                    opts.want,
                    opts.enrich.then_some(&mut st.index),
                    &mut rows,
                );
                st.report.stats.resolved += s.resolved;
                st.report.stats.unresolved += s.unresolved;
            }
            rows
        });
        if let Some(last) = blocks.last() {
            st.next = last.height + 1;
        }
        let heap = st.index.heap_bytes();
        st.report.peak_heap_bytes = st.report.peak_heap_bytes.max(heap);
        st.report.peak_unspent = st.report.peak_unspent.max(st.index.len());
        // a full channel waits for the writer (bounded memory)
        if tokio::task::block_in_place(|| rows_tx.send(rows)).is_err() {
            // the writer failed (its error is reported below) and the rest of the chunk
            // was not indexed
            writer_failed = true;
            break;
        }
    }
    drop(st);
    if writer_failed {
        // unfinished: no later chunk is enriched from this incomplete index
        drop(guard);
    } else {
        guard.finish();
    }
    drop(rows_tx);
    match write_task.await {
        Ok(Ok(_)) if writer_failed => Err(PipelineError::Internal(
            "the row writer stopped without an error".into(),
        )),
        Ok(done) => done,
        Err(e) => Err(PipelineError::Internal(format!("writer task: {e}"))),
    }
}

/// Brings the index up to `start` (file source: reads and indexes the blocks before the
/// chunk, e.g. from genesis, or skipped chunks that are already in the lake). Over RPC the
/// blocks before are not fetched: their outputs come from `getrawtransaction` as needed.
async fn catch_up(
    source: &Source,
    st: &mut EnrichState,
    start: i64,
    group: i64,
) -> Result<(), PipelineError> {
    if st.next >= start {
        return Ok(());
    }
    match source {
        Source::Rpc(_) => {
            st.next = start;
        }
        Source::Files(_) => {
            tracing::info!(target: "ledgerflow::export", from = st.next, to = start - 1, "indexing the outputs of earlier blocks for enrichment");
            let mut h = st.next;
            while h < start {
                let e = (h + group - 1).min(start - 1);
                let blocks = source.blocks(h, e).await?;
                tokio::task::block_in_place(|| {
                    let mut sink = BtcRows::default();
                    let none = Want {
                        blocks: false,
                        transactions: false,
                        inputs: false,
                        outputs: false,
                    };
                    for b in &blocks {
                        block_rows(b, source.params(), none, Some(&mut st.index), &mut sink);
                    }
                });
                h = e + 1;
            }
            st.next = start;
        }
    }
    Ok(())
}

/// Over RPC: the outputs spent by `blocks` that neither the index nor the blocks themselves
/// hold (created before the exported range) are fetched with `getrawtransaction`.
async fn fetch_missing_prevouts(
    rpc: &RpcSource,
    st: &mut EnrichState,
    blocks: &[Block],
) -> Result<(), PipelineError> {
    st.report.prevouts_fetched += rpc.load_missing_prevouts(&mut st.index, blocks).await?;
    Ok(())
}

/// The tables of a list as the transform's switches.
pub fn want_of(tables: &[BtcTable]) -> Want {
    Want {
        blocks: tables.contains(&BtcTable::Blocks),
        transactions: tables.contains(&BtcTable::Transactions),
        inputs: tables.contains(&BtcTable::Inputs),
        outputs: tables.contains(&BtcTable::Outputs),
    }
}

/// The form of a table's rows in its chunk files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// Arrow record batches (Parquet files).
    Arrow,
    /// bitcoin-etl's CSV lines.
    EtlCsv(EtlStyle),
    /// bitcoin-etl's JSON lines.
    EtlJson(EtlStyle),
}

/// One table's rows of a group, encoded.
#[derive(Debug)]
pub enum Encoded {
    /// A record batch (possibly empty).
    Batch(RecordBatch),
    /// Rendered lines holding `rows` rows (bitcoin-etl has no flat input/output files:
    /// empty for those tables).
    Text {
        /// The lines.
        text: String,
        /// Rows in them.
        rows: u64,
    },
}

/// Encodes `table`'s rows of a group in `format` (pure).
pub fn encode(rows: &BtcRows, table: BtcTable, format: RowFormat) -> Result<Encoded, ArrowError> {
    let (csv, style) = match format {
        RowFormat::Arrow => {
            return Ok(Encoded::Batch(match table {
                BtcTable::Blocks => BtcBlockRow::to_batch(&rows.blocks),
                BtcTable::Transactions => BtcTransactionRow::to_batch(&rows.transactions),
                BtcTable::Inputs => BtcInputRow::to_batch(&rows.inputs),
                BtcTable::Outputs => BtcOutputRow::to_batch(&rows.outputs),
            }?))
        }
        RowFormat::EtlCsv(style) => (true, style),
        RowFormat::EtlJson(style) => (false, style),
    };
    let mut text = String::new();
    let n = match table {
        BtcTable::Blocks => {
            for b in &rows.blocks {
                if csv {
                    text.push_str(&etl::block_csv(b));
                } else {
                    text.push_str(&etl::block_json(b, style));
                    text.push('\n');
                }
            }
            rows.blocks.len()
        }
        BtcTable::Transactions => {
            for x in &rows.transactions {
                if csv {
                    text.push_str(&etl::transaction_csv(x, style));
                } else {
                    text.push_str(&etl::transaction_json(x, style));
                    text.push('\n');
                }
            }
            rows.transactions.len()
        }
        BtcTable::Inputs | BtcTable::Outputs => 0,
    };
    Ok(Encoded::Text {
        text,
        rows: n as u64,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn want_follows_the_tables() {
        let w = want_of(&[BtcTable::Blocks, BtcTable::Outputs]);
        assert!(w.blocks && w.outputs && !w.transactions && !w.inputs);
    }

    #[test]
    fn encodes_each_format() {
        let rows = BtcRows::default();
        match encode(&rows, BtcTable::Inputs, RowFormat::Arrow).unwrap() {
            Encoded::Batch(b) => {
                assert_eq!(b.num_rows(), 0);
                assert_eq!(b.schema(), BtcTable::Inputs.schema());
            }
            Encoded::Text { .. } => panic!("a batch expected"),
        }
        let style = EtlStyle::default();
        match encode(&rows, BtcTable::Outputs, RowFormat::EtlJson(style)).unwrap() {
            Encoded::Text { text, rows } => assert!(text.is_empty() && rows == 0),
            Encoded::Batch(_) => panic!("text expected"),
        }
    }

    #[test]
    fn errors_read_like_their_cause() {
        let e = PipelineError::EarlierChunkFailed;
        assert_eq!(
            e.to_string(),
            "an earlier chunk failed; this chunk was not enriched"
        );
        let inner: BoxError = "disk full".into();
        assert_eq!(PipelineError::write(inner).to_string(), "disk full");
    }
}
