//! A JSON-RPC client over HTTP for EVM and Bitcoin-family nodes: batching, bounded concurrency, a
//! requests-per-second limit, timeouts and retries with exponential backoff.
//!
//! One place decides what is retried: [`RpcError::class`]. A batch that fails as a whole
//! (timeout, dropped connection, HTTP 5xx, unparsable body) is resent whole; inside a batch
//! only the items that failed with a transient node error are resent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{Mutex, Semaphore};

use ledgerflow_core::ErrorClass;

/// Settings of an [`RpcClient`].
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// HTTP(S) endpoint.
    pub url: String,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// How many times a transient failure is retried before giving up.
    pub max_retries: u32,
    /// First backoff delay; doubled after each retry up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Largest backoff delay.
    pub max_backoff: Duration,
    /// HTTP requests in flight at once.
    pub max_concurrent_requests: usize,
    /// JSON-RPC calls per second (each call in a batch counts), unlimited when `None`.
    pub requests_per_second: Option<f64>,
    /// Largest number of calls sent in one HTTP request (1 disables batching).
    pub batch_size: usize,
    /// HTTP basic authentication (user, password): Bitcoin Core's `rpcuser`/`rpcpassword`
    /// or its cookie file. Taken from the URL (`http://user:pass@host`) by [`RpcConfig::new`].
    pub auth: Option<(String, String)>,
}

impl RpcConfig {
    /// Defaults suited to a local node.
    /// Credentials in the URL (`http://user:pass@host:port`) move to [`RpcConfig::auth`]
    /// and out of the URL, so that errors and logs never show them.
    pub fn new(url: impl Into<String>) -> Self {
        let (url, auth) = split_credentials(&url.into());
        RpcConfig {
            url,
            auth,
            timeout: Duration::from_secs(30),
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_concurrent_requests: 8,
            requests_per_second: None,
            batch_size: 50,
        }
    }
}

/// Splits `scheme://user:pass@rest` into (`scheme://rest`, Some((user, pass))).
pub fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &rest[..at];
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (
        format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        Some((percent_decode(user), percent_decode(pass))),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a Bitcoin Core cookie file (`<datadir>/.cookie`: `__cookie__:<password>`).
pub fn read_cookie(path: &std::path::Path) -> std::io::Result<(String, String)> {
    let text = std::fs::read_to_string(path)?;
    let line = text.trim();
    match line.split_once(':') {
        Some((u, p)) => Ok((u.to_string(), p.to_string())),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: not a cookie file (expected user:password)",
                path.display()
            ),
        )),
    }
}

/// One JSON-RPC call.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method name.
    pub method: &'static str,
    /// Positional parameters.
    pub params: serde_json::Value,
}

impl Request {
    /// A call of `method` with `params` (a JSON array).
    pub fn new(method: &'static str, params: serde_json::Value) -> Self {
        Request { method, params }
    }
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct Response<T> {
    #[serde(default)]
    id: serde_json::Value,
    result: Option<T>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// One answer of [`RpcClient::batch_as`].
#[derive(Debug)]
pub enum Answer<T> {
    /// Decoded while the HTTP answer was read (`None`: the node answered `null`).
    Value(Option<T>),
    /// The answer as sent: some answer of its HTTP batch did not decode as `T`, so the
    /// caller decodes this one itself (and can say where a bad answer went wrong).
    Raw(Box<RawValue>),
}

#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    async fn acquire(&self, n: usize) {
        let wait_until = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            if *next < now {
                *next = now;
            }
            let at = *next;
            *next += self.interval * n as u32;
            at
        };
        tokio::time::sleep_until(wait_until.into()).await;
    }
}

/// Counters of what the client did (for run reports).
#[derive(Debug, Default)]
pub struct RpcStats {
    /// HTTP requests sent (including retries).
    pub http_requests: AtomicU64,
    /// JSON-RPC calls sent (including retries).
    pub calls: AtomicU64,
    /// Retries after transient failures.
    pub retries: AtomicU64,
    /// Bytes of response bodies received.
    pub bytes_received: AtomicU64,
}

/// A JSON-RPC client. Cheap to clone; clones share the connection pool, limits and stats.
#[derive(Debug, Clone)]
pub struct RpcClient {
    http: reqwest::Client,
    cfg: Arc<RpcConfig>,
    permits: Arc<Semaphore>,
    limiter: Option<Arc<RateLimiter>>,
    next_id: Arc<AtomicU64>,
    stats: Arc<RpcStats>,
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("`null` is valid JSON")
}

impl RpcClient {
    /// Creates a client. Fails only when the HTTP client cannot be built (TLS setup).
    pub fn new(cfg: RpcConfig) -> Result<Self, RpcError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .pool_max_idle_per_host(cfg.max_concurrent_requests.max(1))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| RpcError::Connection {
                method: "(client setup)".into(),
                url: cfg.url.clone(),
                source: e,
            })?;
        let limiter = cfg.requests_per_second.filter(|r| *r > 0.0).map(|rps| {
            Arc::new(RateLimiter {
                interval: Duration::from_secs_f64(1.0 / rps),
                next: Mutex::new(Instant::now()),
            })
        });
        Ok(RpcClient {
            http,
            permits: Arc::new(Semaphore::new(cfg.max_concurrent_requests.max(1))),
            cfg: Arc::new(cfg),
            limiter,
            next_id: Arc::new(AtomicU64::new(1)),
            stats: Arc::new(RpcStats::default()),
        })
    }

    /// The client's settings.
    pub fn config(&self) -> &RpcConfig {
        &self.cfg
    }

    /// Counters of what the client sent and received.
    pub fn stats(&self) -> &RpcStats {
        &self.stats
    }

    /// One call, with retries.
    pub async fn call(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<Box<RawValue>, RpcError> {
        let mut out = self.batch(vec![Request::new(method, params)]).await;
        out.pop().unwrap_or_else(|| {
            Err(RpcError::Malformed {
                method: method.into(),
                reason: "no answer".into(),
            })
        })
    }

    /// Many calls: split into HTTP batches of at most `batch_size`, sent concurrently (within
    /// the concurrency limit), each retried as needed. Answers come back in request order.
    pub async fn batch(&self, requests: Vec<Request>) -> Vec<Result<Box<RawValue>, RpcError>> {
        self.batch_as::<Box<RawValue>>(requests)
            .await
            .into_iter()
            .map(|a| {
                a.map(|a| match a {
                    Answer::Value(Some(v)) | Answer::Raw(v) => v,
                    Answer::Value(None) => null(),
                })
            })
            .collect()
    }

    /// Like [`batch`](Self::batch), but each answer is decoded as `T` in the same pass
    /// that reads the HTTP answer (no copy of the raw JSON, no second parse). Where an
    /// answer does not decode, the answers of that HTTP batch come back [`Answer::Raw`].
    pub async fn batch_as<T: serde::de::DeserializeOwned + Send>(
        &self,
        requests: Vec<Request>,
    ) -> Vec<Result<Answer<T>, RpcError>> {
        if requests.is_empty() {
            return Vec::new();
        }
        let size = self.cfg.batch_size.max(1);
        let groups: Vec<Vec<Request>> = requests.chunks(size).map(|c| c.to_vec()).collect();
        let futs = groups.into_iter().map(|g| self.batch_with_retry(g));
        futures::future::join_all(futs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn batch_with_retry<T: serde::de::DeserializeOwned + Send>(
        &self,
        requests: Vec<Request>,
    ) -> Vec<Result<Answer<T>, RpcError>> {
        let n = requests.len();
        let mut results: Vec<Option<Result<Answer<T>, RpcError>>> = (0..n).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..n).collect();
        let mut attempt = 0u32;
        let mut backoff = self.cfg.initial_backoff;
        loop {
            let batch: Vec<&Request> = pending.iter().map(|&i| &requests[i]).collect();
            let outcome = self.send_once::<T>(&batch).await;
            let mut retry = Vec::new();
            match outcome {
                Ok(answers) => {
                    for (&i, answer) in pending.iter().zip(answers) {
                        match answer {
                            Err(e)
                                if e.class().is_retryable() && attempt < self.cfg.max_retries =>
                            {
                                retry.push(i)
                            }
                            other => results[i] = Some(other),
                        }
                    }
                }
                Err(e) => {
                    if e.class().is_retryable() && attempt < self.cfg.max_retries {
                        retry = pending.clone();
                        tracing::debug!(target: "ledgerflow::rpc", error = %e, attempt, "transient failure, retrying batch");
                    } else {
                        let msg = e.to_string();
                        let mut first = Some(e);
                        for &i in &pending {
                            let err = first
                                .take()
                                .unwrap_or_else(|| clone_error(&msg, &requests[i], &self.cfg.url));
                            results[i] = Some(Err(err));
                        }
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            attempt += 1;
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.cfg.max_backoff);
            pending = retry;
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    Err(RpcError::Malformed {
                        method: requests[i].method.into(),
                        reason: "no answer".into(),
                    })
                })
            })
            .collect()
    }

    async fn send_once<T: serde::de::DeserializeOwned>(
        &self,
        requests: &[&Request],
    ) -> Result<Vec<Result<Answer<T>, RpcError>>, RpcError> {
        let method = requests
            .first()
            .map(|r| r.method)
            .unwrap_or("(empty batch)");
        if let Some(l) = &self.limiter {
            l.acquire(requests.len()).await;
        }
        let first_id = self
            .next_id
            .fetch_add(requests.len() as u64, Ordering::Relaxed);
        let single = requests.len() == 1;
        let body = encode(requests, first_id, single);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| RpcError::Malformed {
                method: method.into(),
                reason: "client is shutting down".into(),
            })?;
        self.stats.http_requests.fetch_add(1, Ordering::Relaxed);
        self.stats
            .calls
            .fetch_add(requests.len() as u64, Ordering::Relaxed);
        let mut req = self
            .http
            .post(&self.cfg.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some((user, pass)) = &self.cfg.auth {
            req = req.basic_auth(user, Some(pass));
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        drop(_permit);
        self.stats
            .bytes_received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if !status.is_success() {
            // Bitcoin Core answers a failed single call with HTTP 500 and a JSON-RPC error
            // object: report the node's error, not the status.
            if status.as_u16() == 500 {
                if let Ok(answers) = decode_as::<T>(&bytes, requests, first_id) {
                    return Ok(answers);
                }
            }
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(RpcError::Http {
                method: method.into(),
                url: self.cfg.url.clone(),
                status: status.as_u16(),
                body: text,
            });
        }
        decode_as::<T>(&bytes, requests, first_id)
    }

    fn transport_error(&self, method: &str, e: reqwest::Error) -> RpcError {
        if e.is_timeout() {
            RpcError::Timeout {
                method: method.into(),
                url: self.cfg.url.clone(),
                timeout_ms: self.cfg.timeout.as_millis() as u64,
            }
        } else {
            RpcError::Connection {
                method: method.into(),
                url: self.cfg.url.clone(),
                source: e,
            }
        }
    }
}

fn clone_error(msg: &str, req: &Request, _url: &str) -> RpcError {
    RpcError::Malformed {
        method: req.method.into(),
        reason: format!("batch failed: {msg}"),
    }
}

fn encode(requests: &[&Request], first_id: u64, single: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * requests.len());
    if !single {
        out.push(b'[');
    }
    for (k, r) in requests.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        out.extend_from_slice((first_id + k as u64).to_string().as_bytes());
        out.extend_from_slice(b",\"method\":\"");
        out.extend_from_slice(r.method.as_bytes());
        out.extend_from_slice(b"\",\"params\":");
        out.extend_from_slice(r.params.to_string().as_bytes());
        out.push(b'}');
    }
    if !single {
        out.push(b']');
    }
    out
}

/// Decodes an HTTP answer: as `T` in one pass, or (when some answer is no `T`) as raw
/// JSON values.
fn decode_as<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    requests: &[&Request],
    first_id: u64,
) -> Result<Vec<Result<Answer<T>, RpcError>>, RpcError> {
    match decode::<T>(bytes, requests, first_id) {
        Ok(answers) => Ok(answers.into_iter().map(|a| a.map(Answer::Value)).collect()),
        // bad JSON or a bad answer: the raw pass tells which
        Err(RpcError::Malformed { .. }) => Ok(decode::<Box<RawValue>>(bytes, requests, first_id)?
            .into_iter()
            .map(|a| a.map(|v| Answer::Raw(v.unwrap_or_else(null))))
            .collect()),
        Err(e) => Err(e),
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    requests: &[&Request],
    first_id: u64,
) -> Result<Vec<Result<Option<T>, RpcError>>, RpcError> {
    let method = requests.first().map(|r| r.method).unwrap_or("");
    let malformed = |reason: String| RpcError::Malformed {
        method: method.into(),
        reason,
    };
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|p| bytes[p]);
    // UTF-8 checked once for the whole answer (fast on ASCII), then parsed as text: that
    // spares serde_json a check per string
    let text = || {
        std::str::from_utf8(bytes).map_err(|e| malformed(format!("invalid JSON: not UTF-8 ({e})")))
    };
    let responses: Vec<Response<T>> = match trimmed {
        Some(b'[') => {
            serde_json::from_str(text()?).map_err(|e| malformed(format!("invalid JSON: {e}")))?
        }
        Some(b'{') => {
            let r: Response<T> = serde_json::from_str(text()?)
                .map_err(|e| malformed(format!("invalid JSON: {e}")))?;
            if requests.len() > 1 {
                // A single answer to a batch: the server rejected the batch as a whole.
                if let Some(err) = r.error {
                    return Err(RpcError::Node {
                        method: method.into(),
                        code: err.code,
                        message: err.message,
                    });
                }
                return Err(malformed("a single answer to a batch request".into()));
            }
            vec![r]
        }
        _ => {
            return Err(malformed(format!(
                "not JSON: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
            )))
        }
    };
    let mut by_id: HashMap<u64, Response<T>> = HashMap::with_capacity(responses.len());
    for r in responses {
        let id = match &r.id {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match id {
            Some(id) => {
                by_id.insert(id, r);
            }
            None if requests.len() == 1 => {
                by_id.insert(first_id, r);
            }
            None => return Err(malformed(format!("answer without a usable id: {}", r.id))),
        }
    }
    let mut out = Vec::with_capacity(requests.len());
    for (k, req) in requests.iter().enumerate() {
        let id = first_id + k as u64;
        let item = match by_id.remove(&id) {
            None => {
                return Err(malformed(format!(
                    "no answer for request id {id} ({})",
                    req.method
                )))
            }
            Some(Response {
                error: Some(err), ..
            }) => Err(RpcError::Node {
                method: req.method.into(),
                code: err.code,
                message: err.message,
            }),
            Some(Response { result, .. }) => Ok(result),
        };
        out.push(item);
    }
    Ok(out)
}

/// A failed JSON-RPC exchange.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The request did not complete within the timeout.
    #[error("{method}: no answer from {url} within {timeout_ms} ms")]
    Timeout {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// Timeout that elapsed.
        timeout_ms: u64,
    },
    /// The connection failed or was dropped.
    #[error("{method}: connection to {url} failed")]
    Connection {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an HTTP error status.
    #[error("{method}: HTTP {status} from {url}: {body}")]
    Http {
        /// JSON-RPC method.
        method: String,
        /// Endpoint.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The answer is not a valid JSON-RPC response.
    #[error("{method}: malformed JSON-RPC answer: {reason}")]
    Malformed {
        /// JSON-RPC method.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// The node answered with a JSON-RPC error object.
    #[error("{method}: node error {code}: {message}")]
    Node {
        /// JSON-RPC method.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Error message.
        message: String,
    },
}

impl RpcError {
    /// Retry or not: timeouts, dropped connections, 429/5xx, unparsable bodies and the
    /// server-side JSON-RPC codes (-32603, -32000..-32099 except "method not found"-like
    /// messages) are transient; everything else is not.
    pub fn class(&self) -> ErrorClass {
        match self {
            RpcError::Timeout { .. } | RpcError::Connection { .. } => ErrorClass::Transient,
            RpcError::Http { status, .. } => {
                if *status == 429 || *status >= 500 {
                    ErrorClass::Transient
                } else {
                    ErrorClass::External
                }
            }
            RpcError::Malformed { .. } => ErrorClass::Transient,
            RpcError::Node { code, message, .. } => {
                if is_unsupported(*code, message) || is_execution_failure(*code, message) {
                    ErrorClass::External
                } else if *code == -32603
                    // Bitcoin Core: RPC_IN_WARMUP (loading the block index)
                    || *code == -28
                    || *code == -32005
                    || (-32099..=-32000).contains(code)
                    || *code == 429
                {
                    ErrorClass::Transient
                } else {
                    ErrorClass::External
                }
            }
        }
    }

    /// Whether the node says it does not know the method (so a fallback applies).
    pub fn is_unsupported_method(&self) -> bool {
        match self {
            RpcError::Node { code, message, .. } => is_unsupported(*code, message),
            RpcError::Http { status, .. } => *status == 404 || *status == 405,
            _ => false,
        }
    }
}

/// An `eth_call` (or `eth_estimateGas`) that failed inside the EVM: a revert, out of gas,
/// an invalid opcode. Nodes report these with server-side codes (anvil -32603 "EVM error
/// InvalidFEOpcode", geth -32000 "out of gas"), but asking again gives the same answer.
fn is_execution_failure(code: i64, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == 3
        || [
            "execution reverted",
            "evm error",
            "out of gas",
            "invalid opcode",
            "invalidfeopcode",
            "opcode not found",
            "stack underflow",
            "stack overflow",
            "stack limit reached",
            "invalid jump",
            "bad jump destination",
            "write protection",
            "vm execution error",
            "max code size exceeded",
        ]
        .iter()
        .any(|k| m.contains(k))
}

fn is_unsupported(code: i64, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == -32601
        || m.contains("method not found")
        || m.contains("does not exist")
        || m.contains("not supported")
        || m.contains("unsupported method")
        || m.contains("not available")
        || m.contains("method not allowed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_failures_are_not_retried() {
        let node = |code: i64, message: &str| RpcError::Node {
            method: "eth_call".into(),
            code,
            message: message.into(),
        };
        for (code, message) in [
            (-32603, "EVM error InvalidFEOpcode"),
            (-32000, "out of gas"),
            (-32000, "invalid opcode: INVALID"),
            (3, "execution reverted: no name"),
            (-32015, "VM execution error."),
        ] {
            assert_eq!(
                node(code, message).class(),
                ErrorClass::External,
                "{message}"
            );
        }
        for (code, message) in [
            (-32603, "internal error"),
            (-32000, "header not found"),
            (-32005, "limit exceeded"),
        ] {
            assert_eq!(
                node(code, message).class(),
                ErrorClass::Transient,
                "{message}"
            );
        }
    }

    #[test]
    fn credentials_leave_the_url() {
        let (u, a) = split_credentials("http://alice:p%40ss@127.0.0.1:8332/wallet/x");
        assert_eq!(u, "http://127.0.0.1:8332/wallet/x");
        assert_eq!(a, Some(("alice".into(), "p@ss".into())));
        let (u, a) = split_credentials("http://127.0.0.1:8545");
        assert_eq!(u, "http://127.0.0.1:8545");
        assert_eq!(a, None);
    }

    /// The raw answers, as [`RpcClient::batch`] gives them.
    #[allow(clippy::type_complexity)]
    fn decode(
        bytes: &[u8],
        requests: &[&Request],
        first_id: u64,
    ) -> Result<Vec<Result<Box<RawValue>, RpcError>>, RpcError> {
        Ok(decode_as::<Box<RawValue>>(bytes, requests, first_id)?
            .into_iter()
            .map(|a| {
                a.map(|a| match a {
                    Answer::Value(Some(v)) | Answer::Raw(v) => v,
                    Answer::Value(None) => null(),
                })
            })
            .collect())
    }

    #[test]
    fn decodes_typed_answers_in_one_pass_and_falls_back_to_raw() {
        let r = reqs(3);
        let refs: Vec<&Request> = r.iter().collect();
        let body = br#"[{"id":1,"result":[1,2]},{"id":2,"result":null},{"id":3,"error":{"code":-32000,"message":"header not found"}}]"#;
        let out = decode_as::<Vec<u8>>(body, &refs, 1).unwrap();
        assert!(matches!(&out[0], Ok(Answer::Value(Some(v))) if v == &[1, 2]));
        assert!(matches!(&out[1], Ok(Answer::Value(None))));
        assert!(matches!(&out[2], Err(RpcError::Node { code: -32000, .. })));
        // one answer that is no Vec<u8>: every answer of the batch comes back raw
        let body = br#"[{"id":1,"result":[1,2]},{"id":2,"result":[1,"x"]},{"id":3,"result":null}]"#;
        let out = decode_as::<Vec<u8>>(body, &refs, 1).unwrap();
        assert!(matches!(&out[0], Ok(Answer::Raw(v)) if v.get() == "[1,2]"));
        assert!(matches!(&out[1], Ok(Answer::Raw(v)) if v.get() == r#"[1,"x"]"#));
        assert!(matches!(&out[2], Ok(Answer::Raw(v)) if v.get() == "null"));
        // bytes that are no UTF-8 inside a string: an error of the whole batch
        assert!(matches!(
            decode_as::<Vec<String>>(b"[{\"id\":1,\"result\":[\"\xff\"]}]", &refs, 1),
            Err(RpcError::Malformed { reason, .. }) if reason.contains("UTF-8")
        ));
        // JSON that is broken for any type stays an error of the whole batch
        assert!(matches!(
            decode_as::<Vec<u8>>(br#"[{"id":1,"result":[1"#, &refs, 1),
            Err(RpcError::Malformed { .. })
        ));
    }

    fn reqs(n: usize) -> Vec<Request> {
        (0..n)
            .map(|i| Request::new("eth_test", serde_json::json!([i])))
            .collect()
    }

    #[test]
    fn decodes_out_of_order_batch() {
        let r = reqs(2);
        let refs: Vec<&Request> = r.iter().collect();
        let body = br#"[{"jsonrpc":"2.0","id":11,"result":"0x2"},{"jsonrpc":"2.0","id":10,"result":"0x1"}]"#;
        let out = decode(body, &refs, 10).unwrap();
        assert_eq!(out[0].as_ref().unwrap().get(), "\"0x1\"");
        assert_eq!(out[1].as_ref().unwrap().get(), "\"0x2\"");
    }

    #[test]
    fn decodes_errors_and_nulls() {
        let r = reqs(2);
        let refs: Vec<&Request> = r.iter().collect();
        let body = br#"[{"id":1,"error":{"code":-32601,"message":"the method eth_test does not exist"}},{"id":2,"result":null}]"#;
        let out = decode(body, &refs, 1).unwrap();
        let e = out[0].as_ref().unwrap_err();
        assert!(e.is_unsupported_method());
        assert_eq!(out[1].as_ref().unwrap().get(), "null");
    }

    #[test]
    fn rejects_garbage_and_missing_answers() {
        let r = reqs(2);
        let refs: Vec<&Request> = r.iter().collect();
        assert!(matches!(
            decode(b"<html>", &refs, 1),
            Err(RpcError::Malformed { .. })
        ));
        assert!(matches!(
            decode(br#"[{"id":1,"result":1}]"#, &refs, 1),
            Err(RpcError::Malformed { .. })
        ));
        let whole = decode(
            br#"{"id":null,"error":{"code":-32600,"message":"batch too large"}}"#,
            &refs,
            1,
        );
        assert!(matches!(whole, Err(RpcError::Node { code: -32600, .. })));
    }

    #[test]
    fn encodes_single_and_batch() {
        let r = reqs(2);
        let refs: Vec<&Request> = r.iter().collect();
        let b = String::from_utf8(encode(&refs, 5, false)).unwrap();
        assert_eq!(
            b,
            r#"[{"jsonrpc":"2.0","id":5,"method":"eth_test","params":[0]},{"jsonrpc":"2.0","id":6,"method":"eth_test","params":[1]}]"#
        );
        let s = String::from_utf8(encode(&refs[..1], 7, true)).unwrap();
        assert!(s.starts_with('{'));
    }

    #[test]
    fn classifies_errors() {
        let node = |code, m: &str| RpcError::Node {
            method: "m".into(),
            code,
            message: m.into(),
        };
        assert!(node(-32000, "header not found").class().is_retryable());
        assert!(node(-32603, "internal").class().is_retryable());
        assert!(!node(-32602, "invalid params").class().is_retryable());
        assert!(!node(-32601, "Method not found").class().is_retryable());
        assert!(node(
            -32000,
            "the method trace_block does not exist/is not available"
        )
        .is_unsupported_method());
    }
}
