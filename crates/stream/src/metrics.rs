//! What a running stream reports: counters and gauges rendered in the Prometheus text
//! format (`/metrics`), and its health (`/health`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Reorg depth histogram bucket bounds.
const DEPTH_BUCKETS: [u64; 7] = [1, 2, 3, 5, 10, 20, 50];
/// Event apply time histogram bucket bounds (seconds).
const APPLY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The stream's counters (shared with the HTTP endpoint).
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// The node's head height at the last poll.
    pub head: AtomicU64,
    /// The lowest tip over the sinks (`u64::MAX`: none yet).
    pub tip: AtomicU64,
    /// The tip block's timestamp (unix seconds; 0: unknown).
    pub tip_timestamp: AtomicI64,
    /// Events applied, by kind.
    pub committed: AtomicU64,
    /// `Reorged` events.
    pub reorged: AtomicU64,
    /// `Reverted` events.
    pub reverted: AtomicU64,
    /// Blocks undone by reorgs and rollbacks.
    pub blocks_undone: AtomicU64,
    /// Blocks applied.
    pub blocks_applied: AtomicU64,
    depth_buckets: [AtomicU64; DEPTH_BUCKETS.len() + 1],
    depth_sum: AtomicU64,
    apply_buckets: [AtomicU64; APPLY_BUCKETS.len() + 1],
    apply_sum_micros: AtomicU64,
    /// Failed node calls (polls and row fetches).
    pub rpc_errors: AtomicU64,
    /// Failed sink writes (each retried).
    pub sink_errors: AtomicU64,
    /// Fetches that found the node on another branch than the one resolved (retried).
    pub moved: AtomicU64,
    /// Consecutive failed steps (0: healthy).
    pub failing: AtomicU64,
    rows: Mutex<BTreeMap<(String, String), u64>>,
    last_error: Mutex<Option<String>>,
    last_progress: Mutex<Instant>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            head: AtomicU64::new(0),
            tip: AtomicU64::new(u64::MAX),
            tip_timestamp: AtomicI64::new(0),
            committed: AtomicU64::new(0),
            reorged: AtomicU64::new(0),
            reverted: AtomicU64::new(0),
            blocks_undone: AtomicU64::new(0),
            blocks_applied: AtomicU64::new(0),
            depth_buckets: Default::default(),
            depth_sum: AtomicU64::new(0),
            apply_buckets: Default::default(),
            apply_sum_micros: AtomicU64::new(0),
            rpc_errors: AtomicU64::new(0),
            sink_errors: AtomicU64::new(0),
            moved: AtomicU64::new(0),
            failing: AtomicU64::new(0),
            rows: Mutex::new(BTreeMap::new()),
            last_error: Mutex::new(None),
            last_progress: Mutex::new(Instant::now()),
        }
    }
}

impl Metrics {
    /// Records a reorganisation of `depth` blocks.
    pub fn reorg(&self, depth: u64) {
        let i = DEPTH_BUCKETS
            .iter()
            .position(|b| depth <= *b)
            .unwrap_or(DEPTH_BUCKETS.len());
        self.depth_buckets[i].fetch_add(1, Relaxed);
        self.depth_sum.fetch_add(depth, Relaxed);
        self.blocks_undone.fetch_add(depth, Relaxed);
    }

    /// Records the time one event took to apply to every sink.
    pub fn applied(&self, seconds: f64) {
        let i = APPLY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(APPLY_BUCKETS.len());
        self.apply_buckets[i].fetch_add(1, Relaxed);
        self.apply_sum_micros
            .fetch_add((seconds * 1e6) as u64, Relaxed);
        if let Ok(mut p) = self.last_progress.lock() {
            *p = Instant::now();
        }
    }

    /// Adds rows written to a sink's table.
    pub fn rows(&self, sink: &str, table: &str, n: u64) {
        if let Ok(mut m) = self.rows.lock() {
            *m.entry((sink.to_string(), table.to_string())).or_default() += n;
        }
    }

    /// Records a failed step (`None`: a step succeeded).
    pub fn outcome(&self, error: Option<String>) {
        match error {
            Some(e) => {
                self.failing.fetch_add(1, Relaxed);
                if let Ok(mut l) = self.last_error.lock() {
                    *l = Some(e);
                }
            }
            None => self.failing.store(0, Relaxed),
        }
    }

    fn lag(&self) -> (Option<u64>, Option<i64>) {
        let tip = self.tip.load(Relaxed);
        if tip == u64::MAX {
            return (None, None);
        }
        let blocks = self.head.load(Relaxed).saturating_sub(tip);
        let ts = self.tip_timestamp.load(Relaxed);
        let secs = (ts > 0).then(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            (now - ts).max(0)
        });
        (Some(blocks), secs)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut gauge = |name: &str, help: &str, kind: &str, v: String| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let (lag_blocks, lag_secs) = self.lag();
        gauge(
            "ledgerflow_stream_head_block",
            "The node's head height at the last poll.",
            "gauge",
            self.head.load(Relaxed).to_string(),
        );
        if let Some(b) = lag_blocks {
            gauge(
                "ledgerflow_stream_tip_block",
                "The lowest block applied by every sink.",
                "gauge",
                self.tip.load(Relaxed).to_string(),
            );
            gauge(
                "ledgerflow_stream_head_lag_blocks",
                "Blocks between the node's head and the sinks' tip.",
                "gauge",
                b.to_string(),
            );
        }
        if let Some(s) = lag_secs {
            gauge(
                "ledgerflow_stream_head_lag_seconds",
                "Seconds between now and the timestamp of the sinks' tip block.",
                "gauge",
                s.to_string(),
            );
        }
        let _ = writeln!(
            o,
            "# HELP ledgerflow_stream_events_total Events applied, by kind.\n\
             # TYPE ledgerflow_stream_events_total counter"
        );
        for (kind, v) in [
            ("committed", &self.committed),
            ("reorged", &self.reorged),
            ("reverted", &self.reverted),
        ] {
            let _ = writeln!(
                o,
                "ledgerflow_stream_events_total{{kind=\"{kind}\"}} {}",
                v.load(Relaxed)
            );
        }
        let mut counter = |name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                o,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        };
        counter(
            "ledgerflow_stream_blocks_applied_total",
            "Blocks applied.",
            &self.blocks_applied,
        );
        counter(
            "ledgerflow_stream_blocks_undone_total",
            "Blocks undone by reorganisations and rollbacks.",
            &self.blocks_undone,
        );
        counter(
            "ledgerflow_stream_rpc_errors_total",
            "Failed node calls (retried).",
            &self.rpc_errors,
        );
        counter(
            "ledgerflow_stream_sink_errors_total",
            "Failed sink writes (retried after reopening the sink).",
            &self.sink_errors,
        );
        counter(
            "ledgerflow_stream_branch_changes_total",
            "Row fetches that found the node on another branch (resolved again).",
            &self.moved,
        );
        histogram(
            &mut o,
            "ledgerflow_stream_reorg_depth_blocks",
            "Depth of reorganisations and rollbacks, in blocks.",
            &DEPTH_BUCKETS.map(|b| b.to_string()),
            &self.depth_buckets,
            self.depth_sum.load(Relaxed).to_string(),
        );
        histogram(
            &mut o,
            "ledgerflow_stream_apply_seconds",
            "Time to fetch an event's rows and apply it to every sink.",
            &APPLY_BUCKETS.map(|b| b.to_string()),
            &self.apply_buckets,
            format!("{}", self.apply_sum_micros.load(Relaxed) as f64 / 1e6),
        );
        let _ = writeln!(
            o,
            "# HELP ledgerflow_stream_rows_total Rows written, by sink and table.\n\
             # TYPE ledgerflow_stream_rows_total counter"
        );
        if let Ok(m) = self.rows.lock() {
            for ((sink, table), n) in m.iter() {
                let _ = writeln!(
                    o,
                    "ledgerflow_stream_rows_total{{sink=\"{sink}\",table=\"{table}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            o,
            "# HELP ledgerflow_stream_up 1 while the last step succeeded.\n\
             # TYPE ledgerflow_stream_up gauge\nledgerflow_stream_up {}",
            u8::from(self.failing.load(Relaxed) == 0)
        );
        let _ = writeln!(
            o,
            "# HELP ledgerflow_stream_uptime_seconds Seconds since the stream started.\n\
             # TYPE ledgerflow_stream_uptime_seconds gauge\nledgerflow_stream_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        o
    }

    /// Health: `(healthy, JSON body)`. Unhealthy while steps keep failing.
    pub fn health(&self) -> (bool, serde_json::Value) {
        let failing = self.failing.load(Relaxed);
        let (lag_blocks, lag_secs) = self.lag();
        let tip = self.tip.load(Relaxed);
        let since = self
            .last_progress
            .lock()
            .map(|p| p.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let body = serde_json::json!({
            "status": if failing == 0 { "ok" } else { "failing" },
            "head": self.head.load(Relaxed),
            "tip": (tip != u64::MAX).then_some(tip),
            "lag_blocks": lag_blocks,
            "lag_seconds": lag_secs,
            "consecutive_failures": failing,
            "last_error": self.last_error.lock().ok().and_then(|l| l.clone()),
            "seconds_since_last_event": since,
        });
        (failing == 0, body)
    }
}

fn histogram(
    o: &mut String,
    name: &str,
    help: &str,
    bounds: &[String],
    buckets: &[AtomicU64],
    sum: String,
) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut acc = 0;
    for (i, b) in buckets.iter().enumerate() {
        acc += b.load(Relaxed);
        let le = bounds.get(i).map_or("+Inf", |s| s.as_str());
        let _ = writeln!(o, "{name}_bucket{{le=\"{le}\"}} {acc}");
    }
    let _ = writeln!(o, "{name}_sum {sum}\n{name}_count {acc}");
}

/// What `/metrics` and `/health` report: the stream's [`Metrics`], the oracle worker's.
pub trait Report: Send + Sync + 'static {
    /// Prometheus text.
    fn render(&self) -> String;
    /// Healthy or not, and a JSON body saying why.
    fn health(&self) -> (bool, serde_json::Value);
}

impl Report for Metrics {
    fn render(&self) -> String {
        Metrics::render(self)
    }

    fn health(&self) -> (bool, serde_json::Value) {
        Metrics::health(self)
    }
}

/// Serves `/metrics` and `/health` on `listener` until the process ends.
pub async fn serve<M: Report>(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<M>,
) -> std::io::Result<()> {
    use axum::http::{header, StatusCode};
    use axum::routing::get;
    let m1 = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m1.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        m.render(),
                    )
                }
            }),
        )
        .route(
            "/health",
            get(move || {
                let m = metrics.clone();
                async move {
                    let (ok, body) = m.health();
                    let code = if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (code, axum::Json(body))
                }
            }),
        );
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.head.store(120, Relaxed);
        m.tip.store(118, Relaxed);
        m.committed.fetch_add(3, Relaxed);
        m.reorg(2);
        m.reorg(12);
        m.applied(0.03);
        m.rows("postgres", "logs", 7);
        let t = m.render();
        assert!(t.contains("ledgerflow_stream_head_lag_blocks 2\n"), "{t}");
        assert!(t.contains("ledgerflow_stream_events_total{kind=\"committed\"} 3\n"));
        assert!(t.contains("ledgerflow_stream_reorg_depth_blocks_bucket{le=\"2\"} 1\n"));
        assert!(t.contains("ledgerflow_stream_reorg_depth_blocks_bucket{le=\"10\"} 1\n"));
        assert!(t.contains("ledgerflow_stream_reorg_depth_blocks_bucket{le=\"20\"} 2\n"));
        assert!(t.contains("ledgerflow_stream_reorg_depth_blocks_count 2\n"));
        assert!(t.contains("ledgerflow_stream_reorg_depth_blocks_sum 14\n"));
        assert!(t.contains("ledgerflow_stream_apply_seconds_bucket{le=\"0.025\"} 0\n"));
        assert!(t.contains("ledgerflow_stream_apply_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(t.contains("ledgerflow_stream_rows_total{sink=\"postgres\",table=\"logs\"} 7\n"));
        assert!(t.contains("ledgerflow_stream_up 1\n"));
        m.outcome(Some("node down".into()));
        let (ok, body) = m.health();
        assert!(!ok);
        assert_eq!(body["last_error"], "node down");
        assert_eq!(body["lag_blocks"], 2);
        m.outcome(None);
        assert!(m.health().0);
    }
}
