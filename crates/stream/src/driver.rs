//! The streaming loop: one node, several sinks, each with its own checkpoint.
//!
//! Every sink has a [`Follower`] restored from its checkpoint. A step groups the sinks whose
//! windows are equal (normally all of them), asks the node once per group for the next
//! event, fetches the event's rows once, and applies them to each sink of the group with
//! the window after the event. A sink that fails is reopened from its checkpoint on the
//! next step (its store is atomic, so it holds the whole event or none of it); node
//! failures are retried with backoff. The loop ends on a shutdown request between events,
//! never in the middle of one.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_evm::EvmSource;
use ledgerflow_rpc::RpcClient;
use tokio::sync::watch;

use crate::chain::{BlockRef, ChainError, Event, Follower, Headers};
use crate::evm::{fetch_rows, EvmHeaders, StreamError};
use crate::metrics::Metrics;
use crate::sink::{OpenSink, Sink, SinkError};

/// An event's rows, fetched once for every sink.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Each table's rows, in block order.
    pub tables: Vec<(&'static str, RecordBatch)>,
    /// The timestamp (unix seconds) of the last block.
    pub tip_timestamp: Option<i64>,
}

/// A node the stream follows: headers, and the rows of resolved blocks.
pub trait RowSource: Headers<Error = StreamError> {
    /// The tables it fetches (with `blocks`).
    fn tables(&self) -> Vec<&'static str>;
    /// The rows of `blocks` (linked, in height order), checked to belong to them.
    fn fetch(&self, blocks: &[BlockRef]) -> impl Future<Output = Result<Fetched, StreamError>>;
}

/// An EVM node.
pub struct EvmNode {
    client: RpcClient,
    source: EvmSource,
    tables: Vec<EvmTable>,
}

impl EvmNode {
    /// Headers through `client`, rows through `source`.
    pub fn new(client: RpcClient, source: EvmSource, tables: Vec<EvmTable>) -> Self {
        EvmNode {
            client,
            source,
            tables,
        }
    }
}

impl Headers for EvmNode {
    type Error = StreamError;
    async fn header(&self, number: u64) -> Result<Option<BlockRef>, StreamError> {
        EvmHeaders::new(&self.client).header(number).await
    }
    async fn head(&self) -> Result<u64, StreamError> {
        EvmHeaders::new(&self.client).head_number().await
    }
}

impl RowSource for EvmNode {
    fn tables(&self) -> Vec<&'static str> {
        self.tables.iter().map(|t| t.name()).collect()
    }

    async fn fetch(&self, blocks: &[BlockRef]) -> Result<Fetched, StreamError> {
        let rows = fetch_rows(&self.source, blocks, &self.tables).await?;
        let tip_timestamp = rows
            .tables
            .iter()
            .rev()
            .find(|(t, b)| *t == EvmTable::Blocks && b.num_rows() > 0)
            .and_then(|(_, b)| last_timestamp(b));
        Ok(Fetched {
            tables: rows
                .tables
                .into_iter()
                .map(|(t, b)| (t.name(), b))
                .collect(),
            tip_timestamp,
        })
    }
}

/// The last row's `timestamp` of a blocks batch, in unix seconds.
pub fn last_timestamp(batch: &RecordBatch) -> Option<i64> {
    let col = batch.column_by_name("timestamp")?;
    let i = batch.num_rows().checked_sub(1)?;
    if let Some(a) = col.as_any().downcast_ref::<TimestampMicrosecondArray>() {
        return Some(a.value(i) / 1_000_000);
    }
    col.as_any()
        .downcast_ref::<Int64Array>()
        .map(|a| a.value(i))
}

/// How the stream runs.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Blocks deeper than this below the tip are final.
    pub confirmations: u64,
    /// The first block of a sink without a checkpoint.
    pub start: u64,
    /// At most this many new blocks per event (catch-up steps).
    pub max_blocks: u64,
    /// Wait between polls at the tip.
    pub poll: Duration,
    /// Stop once every sink is at the node's head.
    pub until_head: bool,
    /// Stop once every sink holds this block.
    pub stop_at: Option<u64>,
    /// Stop with the error after this many consecutive failed steps (`None`: retry forever).
    pub max_retries: Option<u64>,
    /// Notified on a new head (a node subscription): the wait between polls ends early.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

/// A stream failure.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The node, or the chain's shape.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A sink.
    #[error("sink {sink}")]
    Sink {
        /// The sink.
        sink: String,
        /// Cause.
        #[source]
        source: SinkError,
    },
    /// A sink holds another chain's rows.
    #[error(
        "the node is on another chain than {sink}: its genesis block is {node}, the sink's \
         rows come from a chain with genesis {stored}; nothing was written"
    )]
    WrongChain {
        /// The sink.
        sink: String,
        /// The stored genesis hash.
        stored: String,
        /// The node's genesis hash.
        node: String,
    },
    /// Steps kept failing.
    #[error("giving up after {attempts} failed attempts in a row")]
    GaveUp {
        /// Attempts.
        attempts: u64,
        /// The last failure.
        #[source]
        source: Box<DriverError>,
    },
}

impl DriverError {
    /// Whether retrying can help (a node or sink outage, the node changing branch), as
    /// opposed to a wrong chain or a reorganisation below the final depth.
    pub fn transient(&self) -> bool {
        match self {
            DriverError::Stream(StreamError::Chain(ChainError::BelowFinal { .. })) => false,
            DriverError::Stream(_) => true,
            DriverError::Sink { source, .. } => !matches!(source, SinkError::Checkpoint { .. }),
            DriverError::WrongChain { .. } | DriverError::GaveUp { .. } => false,
        }
    }
}

struct Slot {
    spec: Box<dyn OpenSink>,
    label: String,
    sink: Option<Box<dyn Sink>>,
    follower: Follower,
}

/// A sink just opened, with its description and restored follower.
struct Opened {
    label: String,
    sink: Option<Box<dyn Sink>>,
    follower: Follower,
}

/// The stream: a node and its sinks.
pub struct Driver<S> {
    source: S,
    slots: Vec<Slot>,
    opts: StreamOptions,
    metrics: Arc<Metrics>,
    genesis: String,
    tables: Vec<&'static str>,
}

impl<S: RowSource> Driver<S> {
    /// Opens every sink, checks that its rows come from the node's chain, completes an
    /// interrupted event, and restores its follower from its checkpoint. A sink that fails
    /// later is opened again through its [`OpenSink`].
    pub async fn open(
        source: S,
        sinks: Vec<Box<dyn OpenSink>>,
        opts: StreamOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Self, DriverError> {
        let genesis =
            source
                .header(0)
                .await?
                .map(|b| b.hash)
                .ok_or_else(|| StreamError::Answer {
                    what: "block 0".into(),
                    reason: "the node has no genesis block".into(),
                })?;
        let tables = source.tables();
        let mut me = Driver {
            source,
            slots: Vec::new(),
            opts,
            metrics,
            genesis,
            tables,
        };
        for spec in sinks {
            let o = me.load(spec.as_ref()).await?;
            me.slots.push(Slot {
                spec,
                label: o.label,
                sink: o.sink,
                follower: o.follower,
            });
        }
        me.update_tip();
        Ok(me)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The node's genesis hash.
    pub fn genesis(&self) -> &str {
        &self.genesis
    }

    /// Each sink's description and tip.
    pub fn positions(&self) -> Vec<(String, Option<BlockRef>)> {
        self.slots
            .iter()
            .map(|s| (s.label.clone(), s.follower.window().tip().cloned()))
            .collect()
    }

    /// Opens the sink of `spec` and restores its follower (see [`Driver::open`]).
    async fn load(&self, spec: &dyn OpenSink) -> Result<Opened, DriverError> {
        let mut slot = Opened {
            label: String::new(),
            sink: None,
            follower: Follower::new(Default::default(), 0, 1),
        };
        let wrap = |label: &str| {
            let label = label.to_string();
            move |source| DriverError::Sink {
                sink: label,
                source,
            }
        };
        let mut sink = spec.open().await.map_err(wrap(spec.kind()))?;
        slot.label = sink.describe();
        let cp = sink
            .checkpoint(self.opts.confirmations)
            .await
            .map_err(wrap(&slot.label))?;
        if let Some(stored) = &cp.genesis {
            if *stored != self.genesis {
                return Err(DriverError::WrongChain {
                    sink: slot.label.clone(),
                    stored: stored.clone(),
                    node: self.genesis.clone(),
                });
            }
        }
        if let Some(pending) = &cp.pending {
            // an interrupted event: publish it again, with the rows of its blocks that are
            // still the node's. Those form a prefix (a fork replaces a suffix); they stay
            // in the window, so their rows must be complete (some may have gone out before
            // the interruption: the same ids again are dropped as duplicates), while the
            // blocks above them are undone and left out of the window.
            let mut canonical = 0;
            for b in pending.apply() {
                if self.source.header(b.number).await?.as_ref() != Some(b) {
                    break;
                }
                canonical += 1;
            }
            let rows = if canonical > 0 {
                // a block that moves meanwhile fails the fetch (`Moved`, transient): the
                // sink is opened again later
                Some(
                    self.source
                        .fetch(&pending.apply()[..canonical])
                        .await?
                        .tables,
                )
            } else {
                None
            };
            tracing::info!(target: "ledgerflow::stream", sink = %slot.label, blocks = pending.apply().len(), with_rows = rows.is_some(), "completing an interrupted event");
            sink.recover(
                rows.as_deref(),
                canonical,
                &self.tables,
                self.opts.confirmations,
            )
            .await
            .map_err(wrap(&slot.label))?;
        }
        let cp = if cp.pending.is_some() {
            sink.checkpoint(self.opts.confirmations)
                .await
                .map_err(wrap(&slot.label))?
        } else {
            cp
        };
        tracing::info!(target: "ledgerflow::stream", sink = %slot.label, tip = ?cp.window.tip().map(|b| b.number), "sink opened");
        slot.follower = Follower::new(cp.window, self.opts.start, self.opts.max_blocks);
        slot.sink = Some(sink);
        Ok(slot)
    }

    fn update_tip(&self) {
        let tip = self
            .slots
            .iter()
            .map(|s| s.follower.window().tip().map_or(0, |b| b.number))
            .min();
        if let Some(t) = tip {
            self.metrics.tip.store(t, Relaxed);
        }
    }

    fn reached_stop(&self) -> bool {
        self.opts.stop_at.is_some_and(|stop| {
            self.slots
                .iter()
                .all(|s| s.follower.window().tip().is_some_and(|t| t.number >= stop))
        })
    }

    /// One step: every group of sinks gets the node's next event. `Ok(true)` when
    /// something was applied.
    pub async fn step(&mut self) -> Result<bool, DriverError> {
        // sinks that failed earlier come back from their checkpoints
        for i in 0..self.slots.len() {
            if self.slots[i].sink.is_none() {
                let o = self.load(self.slots[i].spec.as_ref()).await?;
                let slot = &mut self.slots[i];
                slot.label = o.label;
                slot.sink = o.sink;
                slot.follower = o.follower;
            }
        }
        let head = self.source.head().await?;
        self.metrics.head.store(head, Relaxed);
        let mut grouped = vec![false; self.slots.len()];
        let mut progressed = false;
        for i in 0..self.slots.len() {
            if grouped[i] {
                continue;
            }
            let group: Vec<usize> = (i..self.slots.len())
                .filter(|&j| {
                    !grouped[j]
                        && self.slots[j].follower.window() == self.slots[i].follower.window()
                })
                .collect();
            for &j in &group {
                grouped[j] = true;
            }
            let Some(event) = self.slots[i]
                .follower
                .next_event_at(&self.source, head)
                .await?
            else {
                continue;
            };
            let Some(event) = self.bounded(event) else {
                continue;
            };
            let t0 = Instant::now();
            let rows = self.source.fetch(event.apply()).await.inspect_err(|e| {
                if matches!(e, StreamError::Moved { .. }) {
                    self.metrics.moved.fetch_add(1, Relaxed);
                }
            })?;
            for &j in &group {
                let slot = &mut self.slots[j];
                let after = slot.follower.window_after(&event);
                let Some(sink) = slot.sink.as_mut() else {
                    continue;
                };
                if let Err(source) = sink
                    .apply(&event, &rows.tables, &self.tables, &after, &self.genesis)
                    .await
                {
                    self.metrics.sink_errors.fetch_add(1, Relaxed);
                    slot.sink = None;
                    return Err(DriverError::Sink {
                        sink: slot.label.clone(),
                        source,
                    });
                }
                slot.follower.commit(&event);
                for (t, b) in &rows.tables {
                    self.metrics.rows(sink.kind(), t, b.num_rows() as u64);
                }
            }
            self.record(&event, &rows, t0.elapsed());
            progressed = true;
        }
        self.update_tip();
        Ok(progressed)
    }

    /// The event cut at `--stop-at`.
    fn bounded(&self, event: Event) -> Option<Event> {
        let Some(stop) = self.opts.stop_at else {
            return Some(event);
        };
        match event {
            Event::Committed { mut new } => {
                new.retain(|b| b.number <= stop);
                (!new.is_empty()).then_some(Event::Committed { new })
            }
            Event::Reorged { old, mut new } => {
                new.retain(|b| b.number <= stop);
                Some(if new.is_empty() {
                    Event::Reverted { old }
                } else {
                    Event::Reorged { old, new }
                })
            }
            e @ Event::Reverted { .. } => Some(e),
        }
    }

    fn record(&self, event: &Event, rows: &Fetched, took: Duration) {
        let m = &self.metrics;
        let (kind, counter) = match event {
            Event::Committed { .. } => ("committed", &m.committed),
            Event::Reorged { .. } => ("reorged", &m.reorged),
            Event::Reverted { .. } => ("reverted", &m.reverted),
        };
        counter.fetch_add(1, Relaxed);
        if !event.undo().is_empty() {
            m.reorg(event.undo().len() as u64);
        }
        m.blocks_applied
            .fetch_add(event.apply().len() as u64, Relaxed);
        m.applied(took.as_secs_f64());
        if let Some(ts) = rows.tip_timestamp {
            m.tip_timestamp.store(ts, Relaxed);
        }
        let nrows: usize = rows.tables.iter().map(|(_, b)| b.num_rows()).sum();
        tracing::info!(
            target: "ledgerflow::stream",
            event = kind,
            first = event.apply().first().map(|b| b.number),
            last = event.apply().last().map(|b| b.number),
            last_hash = event.apply().last().map(|b| b.hash.as_str()),
            undone = event.undo().len(),
            rows = nrows,
            ms = took.as_secs_f64() * 1e3,
            "event applied"
        );
    }

    /// Runs until `shutdown` turns true (checked between events), the stop condition is
    /// met, or a failure that retrying cannot fix.
    pub async fn run(&mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), DriverError> {
        let mut failures = 0u64;
        loop {
            if *shutdown.borrow() {
                tracing::info!(target: "ledgerflow::stream", "shutting down between events");
                return Ok(());
            }
            if self.reached_stop() {
                return Ok(());
            }
            let wait = match self.step().await {
                Ok(progressed) => {
                    failures = 0;
                    self.metrics.outcome(None);
                    if progressed {
                        continue;
                    }
                    if self.opts.until_head {
                        return Ok(());
                    }
                    self.opts.poll
                }
                Err(e) if !e.transient() => return Err(e),
                Err(e) => {
                    failures += 1;
                    if let DriverError::Stream(_) = e {
                        self.metrics.rpc_errors.fetch_add(1, Relaxed);
                    }
                    let msg = error_chain(&e);
                    tracing::warn!(target: "ledgerflow::stream", attempt = failures, error = %msg, "step failed; retrying");
                    self.metrics.outcome(Some(msg));
                    if self.opts.max_retries.is_some_and(|m| failures > m) {
                        return Err(DriverError::GaveUp {
                            attempts: failures,
                            source: Box::new(e),
                        });
                    }
                    let exp = failures.min(8) as u32;
                    (self.opts.poll.max(Duration::from_millis(50)) * 2u32.pow(exp))
                        .min(Duration::from_secs(30))
                }
            };
            let woken = async {
                match &self.opts.wake {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
                _ = woken, if failures == 0 => {}
            }
        }
    }
}

pub use ledgerflow_core::error::error_chain;
