//! The lake sink: final blocks go into immutable chunk files (the lake's usual layout,
//! `<chain>/<table>/<table>__<start>_<end>.parquet`, aligned to the chunk size); the rows
//! of blocks above the last chunk live in the tip area `<chain>/_tip/`, as one Parquet
//! file per table and event ("segments"), rewritten from the lowest changed block on a
//! reorganisation.
//!
//! `_tip/state.json` is the commit point: it names the segments, the last block in chunks
//! and the checkpoint (the window). An event writes its new files first, then the state
//! (atomically, temp file + rename), then removes the files the state no longer names.
//! Opening the sink removes what an interrupted event left: tip files the state does not
//! name, and chunk files above the state's last chunk (a fold the state does not record).
//! Readers of the lake (SQL, `load`, DuckDB, Spark) see final blocks only; the tip files are
//! plain Parquet too.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use ledgerflow_core::BlockRange;
use ledgerflow_lake::layout::block_column;
use ledgerflow_lake::writer::{write_bytes_atomic, write_parquet};
use ledgerflow_lake::{Lake, LakeError, WriteOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use ledgerflow_stream::chain::{BlockRef, Event, Window};
use ledgerflow_stream::sink::{Checkpoint, OpenSink, Sink, SinkError};

/// The tip area's folder inside a chain's folder.
pub const TIP_DIR: &str = "_tip";

/// Where and how the lake sink writes.
#[derive(Debug, Clone)]
pub struct LakeOptions {
    /// The lake.
    pub lake: Lake,
    /// The chain folder.
    pub chain: String,
    /// Blocks per chunk file (chunks end at multiples of it, as `export` writes them).
    pub chunk_size: u64,
    /// Every table the stream writes, with its schema (`blocks` among them).
    pub tables: Vec<(&'static str, SchemaRef)>,
    /// Parquet settings (the table name is added to the footer metadata).
    pub write: WriteOptions,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TipState {
    version: u32,
    /// Events applied.
    seq: u64,
    genesis: Option<String>,
    window: Vec<BlockRef>,
    /// The last block in chunk files (everything above it is in segments).
    chunk_end: Option<u64>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Segment {
    from: u64,
    to: u64,
    /// File stem: `_tip/<table>/<id>.parquet` for each table.
    id: String,
}

/// The lake sink.
pub struct LakeSink {
    opts: LakeOptions,
    state: TipState,
    /// The lake's last block in chunks when the tip area was empty (backfill-then-follow):
    /// the final anchor every new block must descend from.
    anchor: Option<BlockRef>,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LakeError {
    let path = path.to_path_buf();
    move |source| LakeError::Io { op, path, source }
}

impl LakeSink {
    /// Opens the tip area (creating nothing yet), and removes what an interrupted event
    /// left behind. Without a tip area, the stream continues after the lake's last
    /// `blocks` chunk (backfill-then-follow), anchored at that block's hash.
    pub fn open(opts: LakeOptions) -> Result<Self, SinkError> {
        if !opts.tables.iter().any(|(t, _)| *t == "blocks") {
            return Err(SinkError::Checkpoint {
                sink: format!("lake {}", opts.lake.root().display()),
                reason: "the lake sink needs the blocks table".into(),
            });
        }
        let tip = opts.lake.root().join(&opts.chain).join(TIP_DIR);
        let state_path = tip.join("state.json");
        let state: Option<TipState> = match std::fs::read(&state_path) {
            Ok(bytes) => {
                Some(
                    serde_json::from_slice(&bytes).map_err(|e| SinkError::Checkpoint {
                        sink: format!("lake tip {}", state_path.display()),
                        reason: e.to_string(),
                    })?,
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(SinkError::store(io("read", &state_path)(e))),
        };
        let mut me = LakeSink {
            opts,
            state: TipState::default(),
            anchor: None,
        };
        for (t, _) in &me.opts.tables {
            me.opts
                .lake
                .remove_temp_files(&me.opts.chain, t)
                .map_err(SinkError::store)?;
        }
        match state {
            Some(s) => {
                me.state = s;
                me.clean()?;
            }
            None => {
                let chunks = me
                    .opts
                    .lake
                    .parquet_chunks(&me.opts.chain, "blocks")
                    .map_err(SinkError::store)?
                    .0;
                if let Some(last) = chunks.last() {
                    let end = last.range.end;
                    me.anchor = Some(block_in_file(&last.path, end)?);
                    me.state.chunk_end = Some(end);
                }
            }
        }
        Ok(me)
    }

    /// Where the sink writes, for messages.
    pub fn describe(&self) -> String {
        format!(
            "lake {} (chain {})",
            self.opts.lake.root().display(),
            self.opts.chain
        )
    }

    fn tip_dir(&self) -> PathBuf {
        self.opts.lake.root().join(&self.opts.chain).join(TIP_DIR)
    }

    fn segment_path(&self, table: &str, id: &str) -> PathBuf {
        self.tip_dir().join(table).join(format!("{id}.parquet"))
    }

    /// Removes tip files the state does not name and chunk files above its last chunk.
    fn clean(&self) -> Result<(), SinkError> {
        let named: BTreeSet<&str> = self.state.segments.iter().map(|s| s.id.as_str()).collect();
        for (table, _) in &self.opts.tables {
            let dir = self.tip_dir().join(table);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(SinkError::store(io("list", &dir)(e))),
            };
            for entry in entries {
                let entry = entry.map_err(io("list", &dir)).map_err(SinkError::store)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let keep = name
                    .strip_suffix(".parquet")
                    .is_some_and(|stem| named.contains(stem));
                if !keep {
                    std::fs::remove_file(entry.path())
                        .map_err(io("remove", &entry.path()))
                        .map_err(SinkError::store)?;
                }
            }
            for c in self
                .opts
                .lake
                .chunks(&self.opts.chain, table)
                .map_err(SinkError::store)?
            {
                let above = match self.state.chunk_end {
                    Some(end) => c.range.end > end,
                    None => true,
                };
                // only files the stream itself would have folded (at or above the first
                // segment) are removed
                let ours = self
                    .state
                    .segments
                    .first()
                    .is_some_and(|s| c.range.start >= s.from);
                if above && ours {
                    tracing::warn!(target: "ledgerflow::stream", file = %c.path.display(), "removing a chunk of an interrupted fold");
                    std::fs::remove_file(&c.path)
                        .map_err(io("remove", &c.path))
                        .map_err(SinkError::store)?;
                }
            }
        }
        Ok(())
    }

    /// The checkpoint (the lake's last chunked block as the anchor when the tip area is
    /// new).
    pub fn checkpoint(&self, confirmations: u64) -> Checkpoint {
        let blocks = if self.state.window.is_empty() {
            self.anchor.iter().cloned().collect()
        } else {
            self.state.window.clone()
        };
        Checkpoint {
            window: Window::restore(confirmations, blocks),
            genesis: self.state.genesis.clone(),
            pending: None,
        }
    }

    /// The last block in chunk files.
    pub fn chunk_end(&self) -> Option<u64> {
        self.state.chunk_end
    }

    /// Applies an event: segments at or above its lowest block are dropped or cut, its
    /// rows become a new segment, blocks that became final are folded into chunks up to
    /// the last chunk boundary, and the state is written.
    pub fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError> {
        let seq = self.state.seq + 1;
        let low = event.lowest();
        if let (Some(low), Some(end)) = (low, self.state.chunk_end) {
            if low <= end {
                return Err(SinkError::Checkpoint {
                    sink: self.describe(),
                    reason: format!(
                        "block {low} is already in an immutable chunk (up to {end}); \
                         a reorganisation deeper than --confirmations"
                    ),
                });
            }
        }
        let mut segments = Vec::new();
        let mut obsolete: Vec<String> = Vec::new();
        for s in &self.state.segments {
            match low {
                Some(low) if s.to >= low => {
                    obsolete.push(s.id.clone());
                    if s.from < low {
                        // cut: keep the blocks below `low`
                        let cut = Segment {
                            from: s.from,
                            to: low - 1,
                            id: format!("{}-{}-{seq}c", s.from, low - 1),
                        };
                        self.rewrite(s, &cut, |n| n < low)?;
                        segments.push(cut);
                    }
                }
                _ => segments.push(s.clone()),
            }
        }
        if let (Some(first), Some(last)) = (event.apply().first(), event.apply().last()) {
            let seg = Segment {
                from: first.number,
                to: last.number,
                id: format!("{}-{}-{seq}", first.number, last.number),
            };
            for (table, schema) in &self.opts.tables {
                let batches: Vec<RecordBatch> = rows
                    .iter()
                    .filter(|(t, _)| t == table)
                    .map(|(_, b)| b.clone())
                    .collect();
                self.write(&self.segment_path(table, &seg.id), schema, table, &batches)?;
            }
            segments.push(seg);
        }
        segments.sort_by_key(|s| s.from);
        // fold what became final, chunk by chunk
        let mut chunk_end = self.state.chunk_end;
        if let Some(f) = after.final_number() {
            while let Some(start) = chunk_end
                .map(|e| e + 1)
                .or_else(|| segments.first().map(|s| s.from))
            {
                let size = self.opts.chunk_size.max(1);
                let end = (start / size + 1) * size - 1;
                if end > f || segments.first().is_none_or(|s| s.from > start) {
                    break;
                }
                self.fold(
                    BlockRange::new(start, end),
                    &mut segments,
                    &mut obsolete,
                    seq,
                )?;
                chunk_end = Some(end);
            }
        }
        let state = TipState {
            version: 1,
            seq,
            genesis: Some(genesis.to_string()),
            window: after.blocks().cloned().collect(),
            chunk_end,
            segments,
        };
        let path = self.tip_dir().join("state.json");
        let bytes = serde_json::to_vec_pretty(&state).map_err(|e| SinkError::Checkpoint {
            sink: self.describe(),
            reason: e.to_string(),
        })?;
        write_bytes_atomic(&path, &bytes).map_err(SinkError::store)?;
        self.state = state;
        for id in obsolete {
            for (table, _) in &self.opts.tables {
                let p = self.segment_path(table, &id);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(SinkError::store(io("remove", &p)(e))),
                }
            }
        }
        Ok(())
    }

    /// Writes the chunk files of `range` from the segments holding its blocks; segments
    /// inside it become obsolete, one reaching above it is cut.
    fn fold(
        &self,
        range: BlockRange,
        segments: &mut Vec<Segment>,
        obsolete: &mut Vec<String>,
        seq: u64,
    ) -> Result<(), SinkError> {
        let inside: Vec<Segment> = segments
            .iter()
            .filter(|s| s.from <= range.end)
            .cloned()
            .collect();
        for (table, schema) in &self.opts.tables {
            let mut batches = Vec::new();
            for s in &inside {
                for b in read(&self.segment_path(table, &s.id))? {
                    batches.push(keep_blocks(&b, table, |n| n <= range.end)?);
                }
            }
            let path = self
                .opts
                .lake
                .chunk_path(&self.opts.chain, table, range, "parquet");
            self.write(&path, schema, table, &batches)?;
        }
        let mut rest = Vec::new();
        for s in segments.drain(..) {
            if s.from > range.end {
                rest.push(s);
            } else if s.to > range.end {
                let cut = Segment {
                    from: range.end + 1,
                    to: s.to,
                    id: format!("{}-{}-{seq}f", range.end + 1, s.to),
                };
                self.rewrite(&s, &cut, |n| n > range.end)?;
                obsolete.push(s.id);
                rest.push(cut);
            } else {
                obsolete.push(s.id);
            }
        }
        rest.sort_by_key(|s| s.from);
        *segments = rest;
        Ok(())
    }

    /// Writes `to` with the rows of `from` whose block passes `keep`.
    fn rewrite(
        &self,
        from: &Segment,
        to: &Segment,
        keep: impl Fn(u64) -> bool + Copy,
    ) -> Result<(), SinkError> {
        for (table, schema) in &self.opts.tables {
            let batches = read(&self.segment_path(table, &from.id))?
                .iter()
                .map(|b| keep_blocks(b, table, keep))
                .collect::<Result<Vec<_>, _>>()?;
            self.write(&self.segment_path(table, &to.id), schema, table, &batches)?;
        }
        Ok(())
    }

    fn write(
        &self,
        path: &Path,
        schema: &SchemaRef,
        table: &str,
        batches: &[RecordBatch],
    ) -> Result<(), SinkError> {
        let mut opts = self.opts.write.clone();
        opts.metadata
            .insert(0, ("ledgerflow.table".to_string(), table.to_string()));
        let nonempty: Vec<RecordBatch> = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .cloned()
            .collect();
        if nonempty.is_empty() {
            write_parquet(path, &[RecordBatch::new_empty(schema.clone())], &opts)
                .map_err(SinkError::store)?;
        } else {
            write_parquet(path, &nonempty, &opts).map_err(SinkError::store)?;
        }
        Ok(())
    }
}

/// Every batch of a Parquet file.
fn read(path: &Path) -> Result<Vec<RecordBatch>, SinkError> {
    let file = File::open(path)
        .map_err(io("open", path))
        .map_err(SinkError::store)?;
    let perr = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(perr)
        .map_err(SinkError::store)?
        .build()
        .map_err(perr)
        .map_err(SinkError::store)?;
    reader
        .map(|b| {
            b.map_err(|source| {
                SinkError::store(LakeError::Arrow {
                    path: path.to_path_buf(),
                    source,
                })
            })
        })
        .collect()
}

/// The rows of `batch` whose block number passes `keep`.
fn keep_blocks(
    batch: &RecordBatch,
    table: &str,
    keep: impl Fn(u64) -> bool,
) -> Result<RecordBatch, SinkError> {
    let col = block_column(table);
    let numbers = batch
        .column_by_name(col)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| SinkError::Encode {
            table: table.to_string(),
            reason: format!("no Int64 column {col}"),
        })?;
    let mask: BooleanArray = numbers
        .iter()
        .map(|n| Some(n.is_some_and(|n| keep(n as u64))))
        .collect();
    arrow::compute::filter_record_batch(batch, &mask).map_err(|e| SinkError::Encode {
        table: table.to_string(),
        reason: e.to_string(),
    })
}

/// The (number, hash) of block `number` in a `blocks` chunk file.
fn block_in_file(path: &Path, number: u64) -> Result<BlockRef, SinkError> {
    for b in read(path)? {
        let numbers = b
            .column_by_name("number")
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>());
        let hashes = b
            .column_by_name("hash")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let (Some(numbers), Some(hashes)) = (numbers, hashes) else {
            break;
        };
        for i in 0..b.num_rows() {
            if numbers.value(i) as u64 == number {
                return Ok(BlockRef {
                    number,
                    hash: hashes.value(i).to_string(),
                    parent_hash: String::new(),
                });
            }
        }
    }
    Err(SinkError::Checkpoint {
        sink: format!("lake chunk {}", path.display()),
        reason: format!("block {number} is not in the file"),
    })
}

#[async_trait::async_trait]
impl Sink for LakeSink {
    fn kind(&self) -> &'static str {
        "lake"
    }

    fn describe(&self) -> String {
        LakeSink::describe(self)
    }

    async fn checkpoint(&mut self, confirmations: u64) -> Result<Checkpoint, SinkError> {
        Ok(LakeSink::checkpoint(self, confirmations))
    }

    async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        _tables: &[&str],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError> {
        LakeSink::apply(self, event, rows, after, genesis)
    }
}

#[async_trait::async_trait]
impl OpenSink for LakeOptions {
    fn kind(&self) -> &'static str {
        "lake"
    }

    async fn open(&self) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(LakeSink::open(self.clone())?))
    }
}
