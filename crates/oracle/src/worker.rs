//! The worker: follows the chain (the stream crate's reorg-safe follower), records every
//! request in PostgreSQL, runs its job and delivers the result through a transaction
//! manager.
//!
//! One pass of [`Worker::step`]:
//! 1. **Follow**: each chain event (new blocks, or a reorganisation) is applied in one
//!    database transaction together with the new window (the checkpoint): requests whose
//!    block left the chain are `dropped`, fulfilments whose block left it go back to be
//!    sent again, the new blocks' `Request`/`Fulfilled`/`Cancelled` logs (read by block
//!    hash, so they belong to exactly that block) are recorded. After downtime the
//!    follower resumes from the stored window and backfills the blocks it missed.
//! 2. **Jobs**: pending requests run their job; the result and its hashes are stored
//!    (`computed`), or the job's refusal (`failed`). Expired requests are not served.
//! 3. **Transactions**: side transactions a result needs first (the `train` job's model
//!    registration) are signed and watched the same way, ahead of the fulfilments that
//!    wait for them; computed requests are signed with the next nonce (EIP-1559 fees
//!    from the latest base fee) and stored before they are sent (the statement that
//!    stores a signed transaction also claims its nonce, so a worker killed between
//!    choosing a nonce and recording it leaves no gap); submitted ones are
//!    watched: a mined one is settled once final (`--confirmations` deep), one the node
//!    has forgotten is sent again as it was, one still waiting after `resend_after` is
//!    replaced with fees raised by `bump_percent`. A nonce, once signed for, is always
//!    used, so a dropped request's transaction still goes out (and reverts harmlessly)
//!    rather than leaving a gap that would stall every later one.
//!
//! The contract accepts one fulfilment per request, so however often a step repeats
//! after a crash, a request gets at most one valid fulfilment.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_stream::chain::{Event, Follower, Window};
use ledgerflow_stream::evm::EvmHeaders;
use serde_json::json;

use crate::events::{self, LogPlace, OracleEvent};
use crate::jobs::{JobContext, JobRequest, Registry};
use crate::keys::PrivateKey;
use crate::node::{Node, NodeError};
use crate::store::{Computed, SideTx, Store, StoreError, Stored};
use crate::tx::Eip1559;

/// A worker failure (the step is retried; nothing half-applied stays).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("following the chain: {0}")]
    Follow(String),
    #[error("block {block} log {index}: {reason}")]
    Log {
        block: u64,
        index: u64,
        reason: String,
    },
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub oracle: Address,
    /// Blocks below the tip that are final (the follower's window, and when a mined
    /// fulfilment is settled).
    pub confirmations: u64,
    /// The first block to read when there is no checkpoint (the oracle's deployment).
    pub start_block: u64,
    /// Blocks read per follower step.
    pub max_blocks: u64,
    /// A sent transaction without a receipt after this long is sent again (or replaced).
    pub resend_after: Duration,
    /// Fee increase of a replacement, percent (at least 10: nodes refuse less).
    pub bump_percent: u32,
    /// Highest max fee per gas the worker will pay (wei).
    pub max_fee_cap: u128,
    /// The code version delivered with results (bytes32).
    pub code_version: B256,
    /// A Chainlink `Operator` whose requests this worker also serves (it must be one of
    /// the Operator's authorised senders).
    pub chainlink_operator: Option<Address>,
}

/// The worker's counters (`/metrics`).
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub head: AtomicU64,
    pub tip: AtomicU64,
    pub requests: AtomicU64,
    pub computed: AtomicU64,
    pub failed: AtomicU64,
    pub sent: AtomicU64,
    pub side_sent: AtomicU64,
    pub resent: AtomicU64,
    pub bumped: AtomicU64,
    pub fulfilled: AtomicU64,
    pub confirmed: AtomicU64,
    pub dropped: AtomicU64,
    pub reorgs: AtomicU64,
    pub expired: AtomicU64,
    pub job_micros: AtomicU64,
    pub chain_micros: AtomicU64,
    pub steps: AtomicU64,
    pub errors: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl WorkerMetrics {
    fn error(&self, e: Option<String>) {
        if e.is_some() {
            self.errors.fetch_add(1, Relaxed);
        }
        if let Ok(mut l) = self.last_error.lock() {
            *l = e;
        }
    }
}

impl ledgerflow_stream::metrics::Report for WorkerMetrics {
    fn render(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let g = |o: &mut String, name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(
                o,
                "# HELP ledgerflow_oracle_{name} {help}\n# TYPE ledgerflow_oracle_{name} {kind}\nledgerflow_oracle_{name} {v}"
            );
        };
        g(
            &mut o,
            "head_block",
            "gauge",
            "The node's head block.",
            self.head.load(Relaxed),
        );
        g(
            &mut o,
            "tip_block",
            "gauge",
            "The highest block applied.",
            self.tip.load(Relaxed),
        );
        for (n, v, h) in [
            ("requests_total", &self.requests, "Requests recorded."),
            (
                "computed_total",
                &self.computed,
                "Jobs that produced a result.",
            ),
            ("failed_total", &self.failed, "Jobs or fulfilments refused."),
            (
                "sent_total",
                &self.sent,
                "Fulfilment transactions signed and sent.",
            ),
            (
                "side_sent_total",
                &self.side_sent,
                "Side transactions (model registrations) signed and sent.",
            ),
            (
                "resent_total",
                &self.resent,
                "Transactions sent again unchanged.",
            ),
            (
                "bumped_total",
                &self.bumped,
                "Transactions replaced with higher fees.",
            ),
            (
                "fulfilled_total",
                &self.fulfilled,
                "Fulfilled events applied.",
            ),
            (
                "confirmed_total",
                &self.confirmed,
                "Fulfilments that reached --confirmations blocks.",
            ),
            (
                "dropped_total",
                &self.dropped,
                "Requests whose block left the chain.",
            ),
            ("reorgs_total", &self.reorgs, "Reorganisations applied."),
            (
                "expired_total",
                &self.expired,
                "Requests expired unfulfilled.",
            ),
            ("steps_total", &self.steps, "Worker steps."),
            ("errors_total", &self.errors, "Failed steps (retried)."),
        ] {
            g(&mut o, n, "counter", h, v.load(Relaxed));
        }
        let _ = writeln!(
            o,
            "# HELP ledgerflow_oracle_seconds_total Time spent, by part.\n# TYPE ledgerflow_oracle_seconds_total counter\nledgerflow_oracle_seconds_total{{part=\"job\"}} {}\nledgerflow_oracle_seconds_total{{part=\"chain\"}} {}",
            self.job_micros.load(Relaxed) as f64 / 1e6,
            self.chain_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "ledgerflow_oracle_up 1");
        o
    }

    fn health(&self) -> (bool, serde_json::Value) {
        let last = self.last_error.lock().ok().and_then(|l| l.clone());
        let head = self.head.load(Relaxed);
        let tip = self.tip.load(Relaxed);
        (
            last.is_none(),
            json!({"ok": last.is_none(), "head": head, "tip": tip,
                   "lag_blocks": head.saturating_sub(tip), "last_error": last}),
        )
    }
}

/// A worker.
pub struct Worker {
    pub node: Node,
    pub store: Store,
    pub key: PrivateKey,
    pub jobs: Registry,
    pub ctx: JobContext,
    pub options: WorkerOptions,
    pub metrics: Arc<WorkerMetrics>,
    follower: Follower,
    chain_id: u64,
    /// Side transactions may be open (false once a look found none; set again when a
    /// result needs one): spares a query per step.
    side_hint: bool,
    /// The head up to which fulfilments were last marked confirmed.
    confirmed_head: u64,
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub events: u64,
    pub requests: u64,
    pub computed: u64,
    pub sent: u64,
    pub open: u64,
}

impl Worker {
    /// A worker resuming from the stored checkpoint (or `options.start_block`).
    pub async fn open(
        node: Node,
        store: Store,
        key: PrivateKey,
        jobs: Registry,
        ctx: JobContext,
        options: WorkerOptions,
    ) -> Result<Worker, WorkerError> {
        let window = match store.checkpoint().await? {
            Some(j) => serde_json::from_str::<Window>(&j)
                .map_err(|e| StoreError::Checkpoint(e.to_string()))?,
            None => Window::new(options.confirmations),
        };
        let follower = Follower::new(window, options.start_block, options.max_blocks);
        let chain_id = node.chain_id().await?;
        Ok(Worker {
            node,
            store,
            key,
            jobs,
            ctx,
            options,
            metrics: Arc::new(WorkerMetrics::default()),
            follower,
            chain_id,
            side_hint: true,
            confirmed_head: 0,
        })
    }

    /// One pass: follow, run jobs, send and watch transactions.
    pub async fn step(&mut self) -> Result<StepReport, WorkerError> {
        self.metrics.steps.fetch_add(1, Relaxed);
        let r = self.step_inner().await;
        self.metrics.error(r.as_ref().err().map(|e| e.to_string()));
        r
    }

    async fn step_inner(&mut self) -> Result<StepReport, WorkerError> {
        let mut report = StepReport::default();
        let t = Instant::now();
        self.follow(&mut report).await?;
        let head = self.metrics.head.load(Relaxed);
        if head > self.confirmed_head {
            let n = self.store.confirm(head, self.options.confirmations).await?;
            self.metrics.confirmed.fetch_add(n, Relaxed);
            self.confirmed_head = head;
        }
        self.add_chain(t);
        self.run_jobs(&mut report).await?;
        let t = Instant::now();
        self.transactions(&mut report).await?;
        self.add_chain(t);
        report.open = self.store.open_count().await?;
        Ok(report)
    }

    fn add_chain(&self, t: Instant) {
        self.metrics
            .chain_micros
            .fetch_add(t.elapsed().as_micros() as u64, Relaxed);
    }

    async fn follow(&mut self, report: &mut StepReport) -> Result<(), WorkerError> {
        loop {
            let headers = EvmHeaders::new(&self.node.rpc);
            let head = headers
                .head_number()
                .await
                .map_err(|e| WorkerError::Follow(e.to_string()))?;
            self.metrics.head.store(head, Relaxed);
            let Some(ev) = self
                .follower
                .next_event_at(&headers, head)
                .await
                .map_err(|e| WorkerError::Follow(e.to_string()))?
            else {
                return Ok(());
            };
            let orphaned: Vec<String> = ev.undo().iter().map(|b| b.hash.clone()).collect();
            let mut found = Vec::new();
            for b in ev.apply() {
                let mut addresses = vec![self.options.oracle];
                addresses.extend(self.options.chainlink_operator);
                for log in self.node.logs_of_block(&addresses, &b.hash).await? {
                    let place = events::place(&log).map_err(|reason| WorkerError::Log {
                        block: b.number,
                        index: 0,
                        reason,
                    })?;
                    if place.block_hash != b.hash.to_ascii_lowercase() {
                        // the node answered for another block: read it again next step
                        return Err(WorkerError::Follow(format!(
                            "logs of block {} came back for {}",
                            b.hash, place.block_hash
                        )));
                    }
                    let decoded = if Some(place.address) == self.options.chainlink_operator {
                        crate::chainlink::decode_event(&log)
                    } else {
                        events::decode(&log)
                    };
                    match decoded {
                        Ok(Some(e)) => found.push((place, e)),
                        Ok(None) => {}
                        Err(reason) => {
                            return Err(WorkerError::Log {
                                block: place.block_number,
                                index: place.log_index,
                                reason,
                            })
                        }
                    }
                }
            }
            found.sort_by_key(|(p, _)| (p.block_number, p.log_index));
            let window = self.follower.window_after(&ev);
            let window_json = serde_json::to_string(&window)
                .map_err(|e| StoreError::Checkpoint(e.to_string()))?;
            let applied = self
                .store
                .apply(&orphaned, &found, &window_json, &self.jobs)
                .await?;
            self.follower.commit(&ev);
            if let Some(t) = self.follower.window().tip() {
                self.metrics.tip.store(t.number, Relaxed);
            }
            if matches!(ev, Event::Reorged { .. } | Event::Reverted { .. }) {
                self.metrics.reorgs.fetch_add(1, Relaxed);
                self.confirmed_head = 0;
                tracing::info!(
                    undone = orphaned.len(),
                    dropped = applied.dropped,
                    unfulfilled = applied.unfulfilled,
                    "reorganisation applied"
                );
            }
            self.metrics.requests.fetch_add(applied.requests, Relaxed);
            self.metrics.fulfilled.fetch_add(applied.fulfilled, Relaxed);
            self.metrics.dropped.fetch_add(applied.dropped, Relaxed);
            report.events += 1;
            report.requests += applied.requests;
        }
    }

    async fn run_jobs(&mut self, report: &mut StepReport) -> Result<(), WorkerError> {
        let pending = self.store.in_state("pending", 64).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let (now, _) = self.node.latest_time_and_base_fee().await?;
        for r in pending {
            if now > r.expiry {
                self.store
                    .set_state(
                        &r.request_id,
                        "pending",
                        "expired",
                        Some("expired before a result"),
                    )
                    .await?;
                self.metrics.expired.fetch_add(1, Relaxed);
                continue;
            }
            let mut req = JobRequest {
                job_id: parse(&r.job_id),
                model_hash: parse(&r.model_hash),
                params: r.params.clone(),
                requester: r.requester.parse().unwrap_or_default(),
            };
            if r.kind == "chainlink" {
                // CBOR parameters → the job's ABI parameters; the model from them
                let job = self.jobs.name(&req.job_id).unwrap_or("?");
                match crate::chainlink::job_params(job, &r.params, &self.ctx.templates) {
                    Ok(p) => req.params = p,
                    Err(e) => {
                        self.store
                            .set_state(&r.request_id, "pending", "failed", Some(&e))
                            .await?;
                        self.metrics.failed.fetch_add(1, Relaxed);
                        continue;
                    }
                }
                if job == "score" || job == "gnn-score" {
                    req.model_hash = crate::chainlink::decode_params(&r.params)
                        .ok()
                        .and_then(|p| p.get("model").and_then(|m| m.as_text().map(String::from)))
                        .and_then(|m| crate::jobs::parse_b256(&m))
                        .unwrap_or_default();
                }
            }
            let t = Instant::now();
            let out = self.jobs.run(&self.ctx, &req).await;
            let secs = t.elapsed().as_secs_f64();
            self.metrics
                .job_micros
                .fetch_add((secs * 1e6) as u64, Relaxed);
            match out {
                Ok(o) => {
                    let c = Computed {
                        result: &o.result,
                        result_hash: format!("{:#x}", o.result_hash()),
                        dataset_root: format!("{:#x}", o.dataset_root),
                        model_hash: format!("{:#x}", o.model_hash),
                        code_version: format!("{:#x}", self.options.code_version),
                        notes: serde_json::to_string(&o.notes).unwrap_or_default(),
                        seconds: secs,
                        side: &o.side,
                    };
                    self.side_hint |= !o.side.is_empty();
                    if self.store.computed(&r.request_id, &c).await? {
                        self.metrics.computed.fetch_add(1, Relaxed);
                        report.computed += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(request = %r.request_id, error = %e, "job refused the request");
                    self.store
                        .set_state(&r.request_id, "pending", "failed", Some(&e.to_string()))
                        .await?;
                    self.metrics.failed.fetch_add(1, Relaxed);
                }
            }
        }
        Ok(())
    }

    /// The contract a request's answer goes to.
    fn target(&self, r: &Stored) -> Address {
        match (&r.contract, r.kind.as_str()) {
            (Some(c), "chainlink") => c.parse().unwrap_or(self.options.oracle),
            _ => self.options.oracle,
        }
    }

    fn fulfil_call(&self, r: &Stored) -> Vec<u8> {
        if r.kind == "chainlink" {
            let mut selector = [0u8; 4];
            if let Ok(b) = alloy_primitives::hex::decode(&r.selector) {
                if b.len() == 4 {
                    selector.copy_from_slice(&b);
                }
            }
            let req = crate::chainlink::OracleRequest {
                spec_id: parse(&r.job_id),
                requester: r.requester.parse().unwrap_or_default(),
                request_id: parse(&r.request_id),
                payment: U256::from_str_radix(&r.payment, 10).unwrap_or_default(),
                callback: r.callback.parse().unwrap_or_default(),
                selector,
                cancel_expiration: r.expiry,
                data_version: U256::from(2u64),
                data: Vec::new(),
            };
            return crate::chainlink::fulfil_call(&req, r.result.as_deref().unwrap_or_default());
        }
        let b = |s: &Option<String>| Value::FixedBytes(parse(s.as_deref().unwrap_or("")).to_vec());
        abi::call(
            "fulfil(bytes32,bytes,bytes32,bytes32,bytes32,bytes32)",
            &[
                Value::FixedBytes(parse(&r.request_id).to_vec()),
                Value::Bytes(r.result.clone().unwrap_or_default()),
                b(&r.result_hash),
                b(&r.dataset_root),
                b(&r.result_model_hash),
                b(&r.code_version),
            ],
        )
    }

    async fn fees(&self) -> Result<(u128, u128), WorkerError> {
        let (_, base) = self.node.latest_time_and_base_fee().await?;
        let tip = self.node.priority_fee().await;
        Ok((tip, (base * 2 + tip).min(self.options.max_fee_cap)))
    }

    /// Signs a call with `nonce`, `gas` and `fees` (tip, max); its raw bytes and hash.
    fn sign(
        &self,
        to: Address,
        data: Vec<u8>,
        nonce: u64,
        gas: u64,
        fees: (u128, u128),
    ) -> Result<(Vec<u8>, String), WorkerError> {
        let tx = Eip1559 {
            chain_id: self.chain_id,
            nonce,
            max_priority_fee_per_gas: fees.0,
            max_fee_per_gas: fees.1,
            gas,
            to: Some(to),
            value: U256::ZERO,
            data,
        };
        let signed = tx
            .sign(&self.key)
            .map_err(|e| NodeError::Sign(e.to_string()))?;
        Ok((signed.raw, format!("{:#x}", signed.hash)))
    }

    async fn sign_and_send(
        &self,
        r: &Stored,
        nonce: u64,
        gas: u64,
        fees: (u128, u128),
    ) -> Result<(), WorkerError> {
        let (raw, hash) = self.sign(self.target(r), self.fulfil_call(r), nonce, gas, fees)?;
        // write-ahead: a crash after this only repeats the send
        self.store
            .signed(
                &format!("{:#x}", self.key.address()),
                &r.request_id,
                nonce,
                &raw,
                &hash,
                fees.1,
                fees.0,
            )
            .await?;
        match self.node.send_raw(&raw).await {
            Ok(_) => {}
            Err(e) => {
                // the watcher resends it; log and go on
                tracing::warn!(request = %r.request_id, nonce, error = %e, "send failed; will retry");
            }
        }
        self.metrics.sent.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Whether a side transaction's effect is on the chain (its check view says true).
    async fn side_effect(&self, s: &SideTx) -> Result<bool, WorkerError> {
        let to: Address = s.to.parse().unwrap_or_default();
        let out = self.node.call(to, &s.check).await?;
        Ok(out.len() >= 32 && out[31] == 1)
    }

    /// Sends and watches side transactions (the `train` job's registrations): signed
    /// with the worker's nonces before the fulfilments that wait for them, stored before
    /// they are sent, resent when the node forgets them, replaced with higher fees when
    /// they wait, `mined` once in a block with its effect (the fulfilments waiting for
    /// it go then), `done` once final; a `mined` one whose block leaves the chain is
    /// watched (and resent) again.
    async fn side_transactions(
        &mut self,
        pending_nonce: &mut Option<u64>,
        report: &mut StepReport,
    ) -> Result<(), WorkerError> {
        if !self.side_hint {
            return Ok(());
        }
        let open = self.store.side_open().await?;
        if open.is_empty() {
            self.side_hint = false;
            return Ok(());
        }
        let me = self.key.address();
        let head = self.node.head().await?;
        let mined_nonce = self.node.nonce(me, "latest").await?;
        for s in open {
            let to: Address = s.to.parse().unwrap_or_default();
            if s.state == "new" {
                if self.side_effect(&s).await? {
                    self.store.side_state(&s.key, "done", None).await?;
                    continue;
                }
                let gas = match self
                    .node
                    .estimate_gas(me, Some(to), U256::ZERO, &s.data)
                    .await
                {
                    Ok(g) => g + g / 3 + 30_000,
                    Err(NodeError::Reverted { reason, .. }) => {
                        let e = format!("{} would revert: {reason}", s.key);
                        tracing::warn!(key = %s.key, %reason, "side transaction would revert");
                        self.store.side_state(&s.key, "failed", Some(&e)).await?;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let at_least = match pending_nonce {
                    Some(n) => *n,
                    None => {
                        let n = self.node.nonce(me, "pending").await?;
                        *pending_nonce = Some(n);
                        n
                    }
                };
                let nonce = self.store.next_nonce(&format!("{me:#x}"), at_least).await?;
                let fees = self.fees().await?;
                let (raw, hash) = self.sign(to, s.data.clone(), nonce, gas, fees)?;
                self.store
                    .side_signed(&format!("{me:#x}"), &s.key, nonce, &raw, &hash, fees)
                    .await?;
                if let Err(e) = self.node.send_raw(&raw).await {
                    tracing::warn!(key = %s.key, nonce, error = %e, "side send failed; will retry");
                }
                self.metrics.side_sent.fetch_add(1, Relaxed);
                report.sent += 1;
                continue;
            }
            // signed: watch it
            let nonce = s.nonce.unwrap_or(0);
            let mut receipt = None;
            for h in s.txs.iter().rev() {
                if let Some(rc) = self.node.receipt(h).await? {
                    receipt = Some(rc);
                    break;
                }
            }
            if let Some(rc) = receipt {
                let block = rc["blockNumber"]
                    .as_str()
                    .and_then(crate::node::quantity)
                    .unwrap_or(0) as u64;
                let effect = rc["status"].as_str() == Some("0x1") || self.side_effect(&s).await?;
                let final_ = head >= block + self.options.confirmations;
                match (effect, final_) {
                    // mined: the fulfilments behind it may go (their later nonces keep
                    // them after it); watched until final in case a reorg takes it
                    (true, false) if s.state == "signed" => {
                        self.store.side_state(&s.key, "mined", None).await?;
                    }
                    (true, true) => self.store.side_state(&s.key, "done", None).await?,
                    (false, true) => {
                        let e = format!(
                            "{}: transaction {} reverted in block {block}",
                            s.key,
                            rc["transactionHash"].as_str().unwrap_or("?"),
                        );
                        self.store.side_state(&s.key, "failed", Some(&e)).await?;
                    }
                    _ => {}
                }
                continue;
            }
            if s.state == "mined" {
                // its block left the chain: watched (and resent) as a sent one again
                self.store.side_state(&s.key, "signed", None).await?;
                continue;
            }
            if mined_nonce > nonce {
                let patience = 4.0 * self.options.resend_after.as_secs_f64().max(1.0);
                if s.since_send_s.unwrap_or(0.0) > patience {
                    if self.side_effect(&s).await? {
                        self.store.side_state(&s.key, "done", None).await?;
                    } else {
                        tracing::warn!(key = %s.key, nonce, "nonce used by another transaction; signing again");
                        self.store.side_state(&s.key, "new", None).await?;
                    }
                }
                continue;
            }
            if s.since_send_s.unwrap_or(f64::INFINITY) < self.options.resend_after.as_secs_f64() {
                continue;
            }
            let last = s.txs.last().cloned().unwrap_or_default();
            if !self.node.knows(&last).await? {
                if let Some(raw) = &s.raw {
                    if let Err(e) = self.node.send_raw(raw).await {
                        tracing::warn!(key = %s.key, nonce, error = %e, "side resend failed");
                    }
                    self.store.side_state(&s.key, "signed", None).await?;
                    self.metrics.resent.fetch_add(1, Relaxed);
                }
                continue;
            }
            let fees = bumped_fees(
                s.priority_fee.as_deref(),
                s.max_fee.as_deref(),
                self.fees().await?,
                self.options.bump_percent,
            );
            if fees.1 > self.options.max_fee_cap {
                continue;
            }
            let gas = self
                .node
                .estimate_gas(me, Some(to), U256::ZERO, &s.data)
                .await
                .map_or(500_000, |g| g + g / 3 + 30_000);
            let (raw, hash) = self.sign(to, s.data.clone(), nonce, gas, fees)?;
            self.store
                .side_signed(&format!("{me:#x}"), &s.key, nonce, &raw, &hash, fees)
                .await?;
            if let Err(e) = self.node.send_raw(&raw).await {
                tracing::warn!(key = %s.key, nonce, error = %e, "side replacement failed");
            }
            self.metrics.bumped.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    async fn transactions(&mut self, report: &mut StepReport) -> Result<(), WorkerError> {
        let me = self.key.address();
        let mut pending_nonce = None;
        self.side_transactions(&mut pending_nonce, report).await?;
        // new results
        let computed = self.store.in_state("computed", 256).await?;
        if !computed.is_empty() {
            let (now, _) = self.node.latest_time_and_base_fee().await?;
            let fees = self.fees().await?;
            // one look at the account per step: the store's counter runs ahead of the
            // node's pending count (next_nonce takes the larger)
            let mined = self.node.nonce(me, "latest").await?;
            let pending_nonce = match pending_nonce {
                Some(n) => n,
                None => self.node.nonce(me, "pending").await?,
            };
            let mut ready = Vec::new();
            for r in computed {
                if r.fulfil_raw.is_some() {
                    continue; // back from a reorg: the watcher resends its transaction
                }
                let mut waiting = false;
                let mut failed = None;
                for key in &r.side_keys {
                    match self.store.side(key).await? {
                        Some(s) if s.state == "done" || s.state == "mined" => {}
                        Some(s) if s.state == "failed" => {
                            failed = Some(s.error.unwrap_or_else(|| format!("{key} failed")));
                        }
                        _ => waiting = true, // not mined yet
                    }
                }
                if let Some(e) = failed {
                    self.store
                        .set_state(&r.request_id, "computed", "failed", Some(&e))
                        .await?;
                    self.metrics.failed.fetch_add(1, Relaxed);
                    continue;
                }
                if waiting {
                    continue;
                }
                if now > r.expiry {
                    self.store
                        .set_state(
                            &r.request_id,
                            "computed",
                            "expired",
                            Some("expired before it was sent"),
                        )
                        .await?;
                    self.metrics.expired.fetch_add(1, Relaxed);
                    continue;
                }
                ready.push(r);
            }
            // one batch of estimates, then each signed, stored (write-ahead) and sent
            let calls: Vec<(Address, Vec<u8>)> = ready
                .iter()
                .map(|r| (self.target(r), self.fulfil_call(r)))
                .collect();
            let estimates = self.node.estimate_gas_many(me, &calls).await;
            for ((r, _), est) in ready.iter().zip(calls).zip(estimates) {
                let gas = match est {
                    Ok(g) => g + g / 3 + 30_000,
                    Err(NodeError::Reverted { reason, .. }) => {
                        tracing::warn!(request = %r.request_id, %reason, "fulfilment would revert; not sent");
                        self.store
                            .set_state(
                                &r.request_id,
                                "computed",
                                "failed",
                                Some(&format!("the fulfilment would revert: {reason}")),
                            )
                            .await?;
                        self.metrics.failed.fetch_add(1, Relaxed);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let (nonce, fees) = match r.fulfil_nonce {
                    // a request that came back with other contents after a reorganisation
                    // (ids are requester and nonce, so a new request can take a dropped
                    // one's id): its old transaction, unless already mined, is replaced
                    // with the same nonce
                    Some(n) if n >= mined => (n, bumped(r, fees, self.options.bump_percent)),
                    _ => {
                        let n = self
                            .store
                            .next_nonce(&format!("{me:#x}"), pending_nonce)
                            .await?;
                        (n, fees)
                    }
                };
                // signed, stored (write-ahead) and sent one at a time, in nonce order
                self.sign_and_send(r, nonce, gas, fees).await?;
                report.sent += 1;
            }
        }
        // watch what was sent
        let open = self.store.signed_unsettled().await?;
        if open.is_empty() {
            return Ok(());
        }
        let head = self.node.head().await?;
        let mined_nonce = self.node.nonce(me, "latest").await?;
        // every transaction of every open request in one batch of receipts
        let hashes: Vec<String> = open.iter().flat_map(|r| r.fulfil_txs.clone()).collect();
        let mut receipts = self.node.receipts(&hashes).await?.into_iter();
        for r in open {
            // the latest of its transactions that was mined
            let mut receipt = None;
            for rc in receipts.by_ref().take(r.fulfil_txs.len()) {
                if rc.is_some() {
                    receipt = rc;
                }
            }
            let nonce = r.fulfil_nonce.unwrap_or(0);
            if let Some(rc) = receipt {
                let block = rc["blockNumber"]
                    .as_str()
                    .and_then(crate::node::quantity)
                    .unwrap_or(0) as u64;
                if head >= block + self.options.confirmations {
                    let ok = rc["status"].as_str() == Some("0x1");
                    let err = (!ok).then(|| {
                        format!(
                            "the fulfilment transaction {} reverted in block {block}",
                            rc["transactionHash"].as_str().unwrap_or("?")
                        )
                    });
                    if ok && r.state != "fulfilled" {
                        // mined and final, but its event not yet applied: wait for it
                        continue;
                    }
                    self.store.settle(&r.request_id, err.as_deref()).await?;
                }
                continue;
            }
            if mined_nonce > nonce {
                // a transaction with this nonce was mined but none of ours (receipts can
                // race the head for a moment): after a while the nonce is given up and
                // the request signed again with a new one
                let patience = 4.0 * self.options.resend_after.as_secs_f64().max(1.0);
                if r.since_send_s.unwrap_or(0.0) > patience {
                    tracing::warn!(request = %r.request_id, nonce, "nonce used by another transaction; signing again");
                    self.store.release_nonce(&r.request_id).await?;
                }
                continue;
            }
            let since = r.since_send_s.unwrap_or(f64::INFINITY);
            if since < self.options.resend_after.as_secs_f64() {
                continue;
            }
            let last = r.fulfil_txs.last().cloned().unwrap_or_default();
            let known = self.node.knows(&last).await?;
            if !known {
                if let Some(raw) = &r.fulfil_raw {
                    match self.node.send_raw(raw).await {
                        Ok(_) => tracing::info!(request = %r.request_id, nonce, "sent again"),
                        Err(e) => {
                            tracing::warn!(request = %r.request_id, nonce, error = %e, "resend failed")
                        }
                    }
                    self.store.resent(&r.request_id).await?;
                    self.metrics.resent.fetch_add(1, Relaxed);
                }
                continue;
            }
            // still waiting in the pool: replace it with higher fees
            let fees = bumped(&r, self.fees().await?, self.options.bump_percent);
            if fees.1 > self.options.max_fee_cap {
                continue;
            }
            let data = self.fulfil_call(&r);
            let gas = self
                .node
                .estimate_gas(me, Some(self.target(&r)), U256::ZERO, &data)
                .await
                .map_or(500_000, |g| g + g / 3 + 30_000);
            self.sign_and_send(&r, nonce, gas, fees).await?;
            self.metrics.bumped.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// Runs steps until `shutdown` turns true, pausing `poll` between idle steps; a
    /// failed step is logged and retried after a back-off.
    pub async fn run(
        &mut self,
        poll: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), WorkerError> {
        let mut backoff = poll;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let wait = match self.step().await {
                Ok(r) => {
                    backoff = poll;
                    if r.events > 0 || r.computed > 0 || r.sent > 0 {
                        tracing::debug!(?r, "step");
                        Duration::ZERO
                    } else {
                        poll
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "worker step failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    backoff
                }
            };
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Fees for a replacement of `r`'s transaction: the current quote, but at least the old
/// fees raised by `percent` (nodes refuse replacements below +10 %).
fn bumped(r: &Stored, quote: (u128, u128), percent: u32) -> (u128, u128) {
    bumped_fees(
        r.priority_fee.as_deref(),
        r.max_fee.as_deref(),
        quote,
        percent,
    )
}

/// The same for any transaction's stored fees (tip, max).
fn bumped_fees(
    tip: Option<&str>,
    max: Option<&str>,
    quote: (u128, u128),
    percent: u32,
) -> (u128, u128) {
    let old = |s: Option<&str>| s.and_then(|x| x.parse::<u128>().ok());
    let bump = |x: u128| x + x * u128::from(percent.max(10)) / 100 + 1;
    match (old(tip), old(max)) {
        (Some(t), Some(m)) => (quote.0.max(bump(t)), quote.1.max(bump(m))),
        _ => quote,
    }
}

fn parse(s: &str) -> B256 {
    crate::jobs::parse_b256(s).unwrap_or_default()
}

/// The code version as delivered on chain: `ledgerflow-<version>+<commit, 12 digits>`,
/// as text in a bytes32 (left-aligned, zero-padded).
pub fn code_version(version: &str, commit: Option<&str>) -> B256 {
    let mut s = format!("ledgerflow-{version}");
    if let Some(c) = commit {
        s.push('+');
        s.push_str(&c[..c.len().min(12)]);
    }
    let mut b = [0u8; 32];
    let n = s.len().min(32);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    B256::from(b)
}

/// The text of a code version word.
pub fn code_version_text(b: &B256) -> String {
    String::from_utf8_lossy(b.as_slice())
        .trim_end_matches('\0')
        .to_string()
}

/// Decodes every oracle event in `logs` (verify, status).
pub fn decode_all(logs: &[serde_json::Value]) -> Result<Vec<(LogPlace, OracleEvent)>, WorkerError> {
    let mut out = Vec::new();
    for log in logs {
        let p = events::place(log).map_err(|reason| WorkerError::Log {
            block: 0,
            index: 0,
            reason,
        })?;
        match events::decode(log) {
            Ok(Some(e)) => out.push((p, e)),
            Ok(None) => {}
            Err(reason) => {
                return Err(WorkerError::Log {
                    block: p.block_number,
                    index: p.log_index,
                    reason,
                })
            }
        }
    }
    Ok(out)
}
