//! Test helpers shared by the crates' integration tests:
//!
//! * [`ReplayServer`]: a JSON-RPC server that answers from recorded responses (the
//!   `web3_response.<method>_<params>.json` files of ethereum-etl's test fixtures);
//! * [`FaultProxy`]: a JSON-RPC proxy in front of a real node that drops connections,
//!   delays, corrupts or fails a seeded fraction of answers;
//! * [`shared_dir`]: where the shared fixtures are (`LEDGERFLOW_SHARED`, default `../shared`
//!   relative to the workspace), or `None` with a visible skip line;
//! * [`services`]: skip-or-require for the local services and tools (PostgreSQL, NATS,
//!   anvil, litecoind, peers), and fresh PostgreSQL databases.

pub mod services;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The shared fixtures folder, or `None` (after printing a skip line) when absent.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("LEDGERFLOW_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("fixtures").is_dir() {
        Some(dir)
    } else {
        println!(
            "skipped: {test}: fixtures not found at {} (set LEDGERFLOW_SHARED)",
            dir.display()
        );
        None
    }
}

/// ethereum-etl's fixture key of a call: method and params, lower-cased, joined by `_`;
/// objects flattened as `key_value` with sorted keys.
pub fn fixture_key(method: &str, params: &Value) -> String {
    fn flat(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            Value::Object(o) => {
                let mut keys: Vec<_> = o.keys().collect();
                keys.sort();
                for k in keys {
                    out.push(k.clone());
                    flat(&o[k], out);
                }
            }
            Value::String(s) => out.push(s.clone()),
            Value::Null => out.push("none".into()),
            other => out.push(other.to_string()),
        }
    }
    let mut parts = Vec::new();
    flat(params, &mut parts);
    format!("{method}_{}", parts.join("_")).to_lowercase()
}

struct Replay {
    flavour: Flavour,
    answers: HashMap<String, Value>,
    log: Mutex<Vec<String>>,
}

/// Which recorded-response layout a [`ReplayServer`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    EthereumEtl,
    BitcoinEtl,
}

/// bitcoin-etl's fixture key: the method, then each argument as Python's `str()` writes it,
/// joined with `_`, lower-cased; `getrawtransaction`'s verbosity is not part of the key.
pub fn btc_fixture_key(method: &str, params: &Value) -> String {
    let mut key = method.to_lowercase();
    let args = params.as_array().cloned().unwrap_or_default();
    let n = if method == "getrawtransaction" {
        1
    } else {
        args.len()
    };
    for a in args.iter().take(n) {
        key.push('_');
        match a {
            Value::String(s) => key.push_str(&s.to_lowercase()),
            Value::Bool(true) => key.push_str("true"),
            Value::Bool(false) => key.push_str("false"),
            Value::Null => key.push_str("none"),
            other => key.push_str(&other.to_string()),
        }
    }
    key
}

/// A JSON-RPC server answering from recorded responses.
pub struct ReplayServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Replay>,
    task: tokio::task::JoinHandle<()>,
}

impl ReplayServer {
    /// Serves every `web3_response.*.json` in `dirs`. Unknown methods answer -32601 (so
    /// fallbacks apply), unrecorded calls of known methods -32602.
    pub async fn start(dirs: &[&Path]) -> std::io::Result<ReplayServer> {
        Self::start_flavour(dirs, Flavour::EthereumEtl).await
    }

    /// Serves bitcoin-etl's `rpc_response_<method>_<args>.json` files (each holds the
    /// `result` only), keyed as bitcoin-etl's tests key them (see [`btc_fixture_key`]).
    pub async fn start_bitcoin_etl(dirs: &[&Path]) -> std::io::Result<ReplayServer> {
        Self::start_flavour(dirs, Flavour::BitcoinEtl).await
    }

    async fn start_flavour(dirs: &[&Path], flavour: Flavour) -> std::io::Result<ReplayServer> {
        let mut answers = HashMap::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let prefix = match flavour {
                    Flavour::EthereumEtl => "web3_response.",
                    Flavour::BitcoinEtl => "rpc_response_",
                };
                if let Some(key) = name
                    .strip_prefix(prefix)
                    .and_then(|n| n.strip_suffix(".json"))
                {
                    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                    let v = match flavour {
                        Flavour::EthereumEtl => v,
                        Flavour::BitcoinEtl => json!({"jsonrpc": "2.0", "result": v}),
                    };
                    answers.insert(key.to_lowercase(), v);
                }
            }
        }
        let state = Arc::new(Replay {
            flavour,
            answers,
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/", post(replay_handler))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ReplayServer {
            url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// Keys of the calls received so far.
    pub fn calls(&self) -> Vec<String> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer_one(state: &Replay, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req
        .get("method")
        .and_then(|m| m.as_str())
        .unwrap_or_default();
    let params = req.get("params").cloned().unwrap_or(json!([]));
    let key = match state.flavour {
        Flavour::EthereumEtl => fixture_key(method, &params),
        Flavour::BitcoinEtl => btc_fixture_key(method, &params),
    };
    if let Ok(mut l) = state.log.lock() {
        l.push(key.clone());
    }
    match state.answers.get(&key) {
        Some(v) => {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("id".into(), id);
            }
            v
        }
        None if !state
            .answers
            .keys()
            .any(|k| k.starts_with(&format!("{}_", method.to_lowercase()))) =>
        {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("the method {method} does not exist/is not available")}})
        }
        None => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("no recorded response for {key}")}})
        }
    }
}

async fn replay_handler(State(state): State<Arc<Replay>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad json").into_response();
    };
    let out = match &req {
        Value::Array(items) => Value::Array(items.iter().map(|r| answer_one(&state, r)).collect()),
        one => answer_one(&state, one),
    };
    ([("content-type", "application/json")], out.to_string()).into_response()
}

/// What a [`FaultProxy`] does to a fraction of requests.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Seed of the fault schedule.
    pub seed: u64,
    /// Probability that the connection is closed without an answer.
    pub drop: f64,
    /// Probability of an HTTP 503.
    pub http_error: f64,
    /// Probability that the body is replaced by garbage.
    pub corrupt: f64,
    /// Probability that the answer is delayed by `delay`.
    pub delay_p: f64,
    /// Delay applied.
    pub delay: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 1,
            drop: 0.0,
            http_error: 0.0,
            corrupt: 0.0,
            delay_p: 0.0,
            delay: Duration::from_millis(0),
        }
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    rng: Mutex<rand_chacha::ChaCha8Rng>,
    faults: Faults,
    injected: AtomicU64,
    forwarded: AtomicU64,
}

/// A fault-injecting JSON-RPC proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream`.
    pub async fn start(upstream: &str, faults: Faults) -> std::io::Result<FaultProxy> {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(faults.seed)),
            faults,
            injected: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/", post(proxy_handler))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FaultProxy {
            url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// Number of faults injected so far.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::Relaxed)
    }

    /// Number of requests forwarded intact.
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Fault {
    None,
    Drop,
    Http,
    Corrupt,
    Delay,
}

async fn proxy_handler(State(s): State<Arc<ProxyState>>, body: Bytes) -> Response {
    let fault = {
        let mut rng = match s.rng.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        let x: f64 = rng.gen();
        let f = &s.faults;
        if x < f.drop {
            Fault::Drop
        } else if x < f.drop + f.http_error {
            Fault::Http
        } else if x < f.drop + f.http_error + f.corrupt {
            Fault::Corrupt
        } else if x < f.drop + f.http_error + f.corrupt + f.delay_p {
            Fault::Delay
        } else {
            Fault::None
        }
    };
    if !matches!(fault, Fault::None) {
        s.injected.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Fault::Drop => {
            // A hung-up connection: the handler panics, which makes hyper close it without
            // an answer. (axum catches nothing here; the task's panic is contained.)
            std::panic::resume_unwind(Box::new("fault proxy: dropping connection"));
        }
        Fault::Http => return (StatusCode::SERVICE_UNAVAILABLE, "injected 503").into_response(),
        Fault::Delay => tokio::time::sleep(s.faults.delay).await,
        _ => {}
    }
    let resp = s
        .client
        .post(&s.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let bytes = match resp {
        Ok(r) => r.bytes().await.unwrap_or_default(),
        Err(_) => return (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response(),
    };
    if matches!(fault, Fault::Corrupt) {
        let mut b = bytes.to_vec();
        let n = b.len();
        b.truncate(n / 2);
        b.extend_from_slice(b"#garbage");
        return ([("content-type", "application/json")], b).into_response();
    }
    s.forwarded.fetch_add(1, Ordering::Relaxed);
    ([("content-type", "application/json")], bytes.to_vec()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_ethereum_etl() {
        assert_eq!(
            fixture_key("eth_getBlockByNumber", &json!(["0x76250", true])),
            "eth_getblockbynumber_0x76250_true"
        );
        assert_eq!(fixture_key("eth_chainId", &json!([])), "eth_chainid_");
        assert_eq!(
            fixture_key(
                "eth_call",
                &json!([{"to": "0xAB", "data": "0x06fdde03"}, "latest"])
            ),
            "eth_call_data_0x06fdde03_to_0xab_latest"
        );
        assert_eq!(
            fixture_key(
                "debug_traceBlockByNumber",
                &json!(["0xf44f2", {"tracer": "callTracer"}])
            ),
            "debug_traceblockbynumber_0xf44f2_tracer_calltracer"
        );
    }
}
