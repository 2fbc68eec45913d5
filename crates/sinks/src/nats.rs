//! The NATS JetStream sink: one subject per table (`<prefix>.<table>`), one message per
//! row (the row as a JSON object) and one explicit undo message per table for every block
//! a reorganisation removes. Every message carries the chain, the block number and hash,
//! the operation and a de-duplication id (`Nats-Msg-Id`).
//!
//! Exactly once without transactions: before publishing an event the sink writes its
//! intent (the event and its sequence number) to its checkpoint (the last message of its
//! subject in a checkpoint stream, which keeps one message per subject, like a key-value
//! bucket), then publishes, waits for every acknowledgement, and writes the new checkpoint.
//! A restart that finds an intent publishes the event again with the same ids, which the
//! stream's de-duplication window drops ([`ledgerflow_stream::driver`] does it before following on). If
//! the intent's blocks left the canonical chain meanwhile, only its undo messages are
//! repeated and the follower's next event undoes the intent's blocks.
//!
//! Ids carry the event's sequence number (`<chain>.<table>.<block hash>.<seq>.<row>`), so a
//! block that is undone and later applied again (A → B → A) is published again under new
//! ids instead of being dropped as a duplicate.

use std::collections::HashMap;
use std::time::Duration;

use arrow_array::{Array, Int64Array, RecordBatch};
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use ledgerflow_stream::chain::{BlockRef, Event, Window};
use ledgerflow_stream::sink::{Checkpoint, OpenSink, Sink, SinkError};

/// Acknowledgements awaited in batches of this many (below the client's limit).
const ACKS_IN_FLIGHT: usize = 1024;

/// Header names of every message.
pub mod headers {
    /// JetStream's de-duplication id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// `apply` (a row) or `undo` (revert every row of the block on this subject).
    pub const OP: &str = "Ledgerflow-Op";
    /// The chain (lake name, e.g. `ethereum`, `anvil`, `litecoin_regtest`).
    pub const CHAIN: &str = "Ledgerflow-Chain";
    /// The table.
    pub const TABLE: &str = "Ledgerflow-Table";
    /// Block height.
    pub const BLOCK_NUMBER: &str = "Ledgerflow-Block-Number";
    /// Block hash.
    pub const BLOCK_HASH: &str = "Ledgerflow-Block-Hash";
    /// The sink's event sequence number.
    pub const SEQ: &str = "Ledgerflow-Seq";
}

/// Where and how the sink publishes.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// Server URL (`nats://127.0.0.1:4222`).
    pub url: String,
    /// JetStream stream name (created when missing).
    pub stream: String,
    /// Subject prefix; table `t` goes to `<prefix>.<t>`.
    pub prefix: String,
    /// The stream's de-duplication window (when the sink creates the stream).
    pub duplicate_window: Duration,
    /// The stream holding the checkpoints (the last message of each subject is kept, as in
    /// a key-value bucket; created when missing).
    pub checkpoints: String,
    /// This sink's checkpoint subject.
    pub key: String,
    /// The chain, in every message.
    pub chain: String,
}

impl NatsOptions {
    /// Defaults for a chain: stream `LEDGERFLOW_<CHAIN>`, subjects `ledgerflow.<chain>.<table>`,
    /// a 10-minute de-duplication window, checkpoints in stream `LEDGERFLOW_CHECKPOINTS`
    /// under subject `ledgerflow_checkpoint.<chain>.<name>`.
    pub fn new(url: &str, chain: &str, name: &str) -> Self {
        let safe: String = chain
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        NatsOptions {
            url: url.to_string(),
            stream: format!("LEDGERFLOW_{}", safe.to_ascii_uppercase()),
            prefix: format!("ledgerflow.{safe}"),
            duplicate_window: Duration::from_secs(600),
            checkpoints: "LEDGERFLOW_CHECKPOINTS".into(),
            key: format!("ledgerflow_checkpoint.{safe}.{name}"),
            chain: chain.to_string(),
        }
    }
}

/// The checkpoint stored in the checkpoint stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    /// Sequence number of the last event published completely.
    seq: u64,
    genesis: Option<String>,
    window: Vec<BlockRef>,
    /// An event being published (its sequence number is `seq + 1`) and the window after it.
    pending: Option<Pending>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    event: Event,
    after: Vec<BlockRef>,
}

/// The JetStream sink.
pub struct NatsSink {
    js: jetstream::Context,
    opts: NatsOptions,
    stored: Stored,
    /// Messages the server dropped as duplicates (repeated after a restart).
    pub duplicates: u64,
    /// Messages published.
    pub published: u64,
}

fn nats_err(what: impl Into<String>) -> impl FnOnce(async_nats::Error) -> SinkError {
    let what = what.into();
    move |source| SinkError::Context { what, source }
}

fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> async_nats::Error {
    Box::new(e)
}

impl NatsSink {
    /// Connects, creates the stream and the checkpoint bucket when missing, and reads the
    /// checkpoint.
    pub async fn open(opts: NatsOptions) -> Result<Self, SinkError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(opts.url.as_str())
            .await
            .map_err(|e| nats_err(format!("connecting to NATS at {}", opts.url))(boxed(e)))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: opts.stream.clone(),
            subjects: vec![format!("{}.>", opts.prefix)],
            duplicate_window: opts.duplicate_window,
            description: Some(format!("ledgerflow stream of {}", opts.chain)),
            ..Default::default()
        })
        .await
        .map_err(|e| nats_err(format!("creating JetStream stream {}", opts.stream))(boxed(e)))?;
        let checkpoints = js
            .get_or_create_stream(stream::Config {
                name: opts.checkpoints.clone(),
                subjects: vec!["ledgerflow_checkpoint.>".into()],
                max_messages_per_subject: 1,
                description: Some("ledgerflow stream checkpoints".into()),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                nats_err(format!("creating checkpoint stream {}", opts.checkpoints))(boxed(e))
            })?;
        let stored = match checkpoints.get_last_raw_message_by_subject(&opts.key).await {
            Ok(m) => serde_json::from_slice(&m.payload).map_err(|e| SinkError::Checkpoint {
                sink: format!("nats {}/{}", opts.checkpoints, opts.key),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
                Stored::default()
            }
            Err(e) => {
                return Err(nats_err(format!("reading checkpoint {}", opts.key))(boxed(
                    e,
                )))
            }
        };
        Ok(NatsSink {
            js,
            opts,
            stored,
            duplicates: 0,
            published: 0,
        })
    }

    /// Where the sink publishes, for messages.
    pub fn describe(&self) -> String {
        format!(
            "nats stream {} ({}.*) at {}",
            self.opts.stream, self.opts.prefix, self.opts.url
        )
    }

    /// The checkpoint: the window of the last event published completely, and an event
    /// whose publishing may have been interrupted.
    pub fn checkpoint(&self, confirmations: u64) -> Checkpoint {
        Checkpoint {
            window: Window::restore(confirmations, self.stored.window.clone()),
            genesis: self.stored.genesis.clone(),
            pending: self.stored.pending.as_ref().map(|p| p.event.clone()),
        }
    }

    async fn save(&mut self, stored: Stored) -> Result<(), SinkError> {
        let bytes = serde_json::to_vec(&stored).map_err(|e| SinkError::Checkpoint {
            sink: self.describe(),
            reason: e.to_string(),
        })?;
        let what = format!("writing checkpoint {}", self.opts.key);
        self.js
            .publish(self.opts.key.clone(), Bytes::from(bytes))
            .await
            .map_err(|e| nats_err(what.clone())(boxed(e)))?
            .await
            .map_err(|e| nats_err(what)(boxed(e)))?;
        self.stored = stored;
        Ok(())
    }

    /// Undo messages for `blocks` in every table, with ids `chain.table.undo.hash.seq` and
    /// `suffix`.
    async fn undo_messages(
        &mut self,
        blocks: &[BlockRef],
        tables: &[&str],
        seq: u64,
        suffix: &str,
        acks: &mut Vec<jetstream::context::PublishAckFuture>,
    ) -> Result<(), SinkError> {
        let chain = self.opts.chain.clone();
        for b in blocks {
            for table in tables {
                let mut h = self.headers("undo", table, b.number, &b.hash, seq);
                h.insert(
                    headers::MSG_ID,
                    format!("{chain}.{table}.undo.{}.{seq}{suffix}", b.hash).as_str(),
                );
                let body = serde_json::json!({
                    "op": "undo", "chain": chain, "table": table,
                    "block_number": b.number, "block_hash": b.hash,
                });
                acks.push(self.send(table, h, Bytes::from(body.to_string())).await?);
                self.drain(acks, ACKS_IN_FLIGHT).await?;
            }
        }
        Ok(())
    }

    async fn finish(&mut self, after: &Window) -> Result<(), SinkError> {
        let done = Stored {
            seq: self.stored.seq + 1,
            genesis: self.stored.genesis.clone(),
            window: after.blocks().cloned().collect(),
            pending: None,
        };
        self.save(done).await
    }

    async fn publish(
        &mut self,
        event: &Event,
        rows: Option<&[(&str, RecordBatch)]>,
        tables: &[&str],
    ) -> Result<(), SinkError> {
        let seq = self.stored.seq + 1;
        let chain = self.opts.chain.clone();
        let mut acks = Vec::new();
        self.undo_messages(event.undo(), tables, seq, "", &mut acks)
            .await?;
        if let Some(rows) = rows {
            let hashes: HashMap<u64, &str> = event
                .apply()
                .iter()
                .map(|b| (b.number, b.hash.as_str()))
                .collect();
            let mut index: HashMap<(&str, u64), u64> = HashMap::new();
            for (table, batch) in rows {
                let numbers = block_numbers(table, batch)?;
                let lines = json_rows(batch).map_err(|e| SinkError::Encode {
                    table: table.to_string(),
                    reason: e.to_string(),
                })?;
                for (i, line) in lines.into_iter().enumerate() {
                    let n = numbers.value(i) as u64;
                    let hash = hashes.get(&n).copied().unwrap_or_default();
                    let k = index.entry((table, n)).or_default();
                    let mut h = self.headers("apply", table, n, hash, seq);
                    h.insert(
                        headers::MSG_ID,
                        format!("{chain}.{table}.{hash}.{seq}.{k}").as_str(),
                    );
                    *k += 1;
                    acks.push(self.send(table, h, line).await?);
                    self.drain(&mut acks, ACKS_IN_FLIGHT).await?;
                }
            }
        }
        self.drain(&mut acks, 0).await
    }

    /// Waits for the acknowledgements once more than `keep` are outstanding (the client
    /// allows a bounded number in flight).
    async fn drain(
        &mut self,
        acks: &mut Vec<jetstream::context::PublishAckFuture>,
        keep: usize,
    ) -> Result<(), SinkError> {
        if acks.len() <= keep {
            return Ok(());
        }
        for ack in acks.drain(..) {
            let ack = ack
                .await
                .map_err(|e| nats_err("waiting for a JetStream acknowledgement")(boxed(e)))?;
            self.published += 1;
            if ack.duplicate {
                self.duplicates += 1;
            }
        }
        Ok(())
    }

    fn headers(&self, op: &str, table: &str, number: u64, hash: &str, seq: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(headers::OP, op);
        h.insert(headers::CHAIN, self.opts.chain.as_str());
        h.insert(headers::TABLE, table);
        h.insert(headers::BLOCK_NUMBER, number.to_string().as_str());
        h.insert(headers::BLOCK_HASH, hash);
        h.insert(headers::SEQ, seq.to_string().as_str());
        h
    }

    async fn send(
        &self,
        table: &str,
        h: HeaderMap,
        payload: Bytes,
    ) -> Result<jetstream::context::PublishAckFuture, SinkError> {
        self.js
            .publish_with_headers(format!("{}.{table}", self.opts.prefix), h, payload)
            .await
            .map_err(|e| nats_err(format!("publishing to {}.{table}", self.opts.prefix))(boxed(e)))
    }
}

/// The block-number column of a table's rows.
fn block_numbers<'a>(table: &str, batch: &'a RecordBatch) -> Result<&'a Int64Array, SinkError> {
    let col = ledgerflow_lake::layout::block_column(table);
    batch
        .column_by_name(col)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| SinkError::Encode {
            table: table.to_string(),
            reason: format!("no Int64 column {col}"),
        })
}

/// Each row of a batch as one JSON object (nulls written out).
fn json_rows(batch: &RecordBatch) -> Result<Vec<Bytes>, arrow_schema::ArrowError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
        w.write(batch)?;
        w.finish()?;
    }
    let buf = Bytes::from(buf);
    let mut out = Vec::with_capacity(batch.num_rows());
    let mut start = 0;
    for (i, b) in buf.iter().enumerate() {
        if *b == b'\n' {
            out.push(buf.slice(start..i));
            start = i + 1;
        }
    }
    if out.len() != batch.num_rows() {
        return Err(arrow_schema::ArrowError::JsonError(format!(
            "{} JSON lines for {} rows",
            out.len(),
            batch.num_rows()
        )));
    }
    Ok(out)
}

#[async_trait::async_trait]
impl Sink for NatsSink {
    fn kind(&self) -> &'static str {
        "nats"
    }

    fn describe(&self) -> String {
        NatsSink::describe(self)
    }

    async fn checkpoint(&mut self, confirmations: u64) -> Result<Checkpoint, SinkError> {
        Ok(NatsSink::checkpoint(self, confirmations))
    }

    /// Publishes an event: its intent is saved first, then the undo messages and the rows,
    /// then (every message acknowledged) the checkpoint `after`.
    async fn apply(
        &mut self,
        event: &Event,
        rows: &[(&str, RecordBatch)],
        tables: &[&str],
        after: &Window,
        genesis: &str,
    ) -> Result<(), SinkError> {
        let mut intent = self.stored.clone();
        intent.genesis = Some(genesis.to_string());
        intent.pending = Some(Pending {
            event: event.clone(),
            after: after.blocks().cloned().collect(),
        });
        self.save(intent).await?;
        self.publish(event, Some(rows), tables).await?;
        self.finish(after).await
    }

    /// Completes an interrupted event (the intent of the checkpoint): publishes it again
    /// under the same ids (duplicates are dropped by the stream), with the rows of the
    /// first `canonical` blocks it applied, those still on the node's chain (`rows`;
    /// `None` when there are none). Its other blocks left the chain, but some of their rows
    /// may have gone out before the interruption: they get undo messages and are left out
    /// of the checkpoint's window, so the next event applies whatever the chain has there
    /// now (even the same block again).
    async fn recover(
        &mut self,
        rows: Option<&[(&str, RecordBatch)]>,
        canonical: usize,
        tables: &[&str],
        confirmations: u64,
    ) -> Result<(), SinkError> {
        let Some(p) = self.stored.pending.clone() else {
            return Ok(());
        };
        self.publish(&p.event, rows, tables).await?;
        let applied = p.event.apply();
        let gone = &applied[canonical.min(applied.len())..];
        let mut after = p.after;
        if let Some(first) = gone.first() {
            let seq = self.stored.seq + 1;
            let mut acks = Vec::new();
            self.undo_messages(gone, tables, seq, ".recovered", &mut acks)
                .await?;
            self.drain(&mut acks, 0).await?;
            after.retain(|b| b.number < first.number);
        }
        self.finish(&Window::restore(confirmations, after)).await
    }
}

#[async_trait::async_trait]
impl OpenSink for NatsOptions {
    fn kind(&self) -> &'static str {
        "nats"
    }

    async fn open(&self) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(NatsSink::open(self.clone()).await?))
    }
}
