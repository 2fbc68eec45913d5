//! The JSON-RPC client against a local server: rate limit, timeouts, retries, batches.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ledgerflow_evm::rpc::Request;
use ledgerflow_evm::{RpcClient, RpcConfig, RpcError};
use ledgerflow_testkit::{FaultProxy, Faults, ReplayServer};
use serde_json::json;

async fn server() -> (tempfile::TempDir, ReplayServer) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("web3_response.eth_chainId_.json"),
        r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#,
    )
    .unwrap();
    for n in 0..50 {
        std::fs::write(
            dir.path()
                .join(format!("web3_response.eth_getBalance_{n:#x}.json")),
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":"{n:#x}"}}"#),
        )
        .unwrap();
    }
    let s = ReplayServer::start(&[dir.path()]).await.unwrap();
    (dir, s)
}

#[tokio::test]
async fn requests_per_second_limit_is_respected() {
    let (_d, s) = server().await;
    let mut cfg = RpcConfig::new(&s.url);
    cfg.requests_per_second = Some(50.0);
    cfg.batch_size = 5;
    let c = RpcClient::new(cfg).unwrap();
    let started = Instant::now();
    let reqs = (0..40)
        .map(|n| Request::new("eth_getBalance", json!([format!("{n:#x}")])))
        .collect();
    let out = c.batch(reqs).await;
    assert!(out.iter().all(|r| r.is_ok()));
    // 40 calls at 50/s: the last batch of 5 may start after 35 calls' worth of time (0.7 s)
    assert!(
        started.elapsed() >= Duration::from_millis(650),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        c.stats().calls.load(std::sync::atomic::Ordering::Relaxed),
        40
    );
    assert_eq!(
        c.stats()
            .http_requests
            .load(std::sync::atomic::Ordering::Relaxed),
        8
    );
}

#[tokio::test]
async fn answers_come_back_in_request_order_across_batches() {
    let (_d, s) = server().await;
    let mut cfg = RpcConfig::new(&s.url);
    cfg.batch_size = 7;
    let c = RpcClient::new(cfg).unwrap();
    let reqs = (0..50)
        .map(|n| Request::new("eth_getBalance", json!([format!("{n:#x}")])))
        .collect();
    let out = c.batch(reqs).await;
    for (n, r) in out.into_iter().enumerate() {
        assert_eq!(r.unwrap().get(), format!("\"{n:#x}\""));
    }
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let (_d, s) = server().await;
    let proxy = FaultProxy::start(
        &s.url,
        Faults {
            delay_p: 1.0,
            delay: Duration::from_secs(3),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut cfg = RpcConfig::new(&proxy.url);
    cfg.timeout = Duration::from_millis(200);
    cfg.max_retries = 2;
    cfg.initial_backoff = Duration::from_millis(10);
    let c = RpcClient::new(cfg).unwrap();
    let e = c.call("eth_chainId", json!([])).await.unwrap_err();
    assert!(matches!(e, RpcError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("eth_chainId: no answer"), "{e}");
    assert_eq!(
        c.stats().retries.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn http_errors_and_dropped_connections_are_retried() {
    let (_d, s) = server().await;
    let proxy = FaultProxy::start(
        &s.url,
        Faults {
            seed: 3,
            drop: 0.3,
            http_error: 0.3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut cfg = RpcConfig::new(&proxy.url);
    cfg.max_retries = 20;
    cfg.initial_backoff = Duration::from_millis(1);
    cfg.max_backoff = Duration::from_millis(5);
    cfg.batch_size = 1;
    let c = RpcClient::new(cfg).unwrap();
    let reqs = (0..30)
        .map(|n| Request::new("eth_getBalance", json!([format!("{n:#x}")])))
        .collect();
    let out = c.batch(reqs).await;
    for (n, r) in out.into_iter().enumerate() {
        assert_eq!(r.unwrap().get(), format!("\"{n:#x}\""));
    }
    assert!(proxy.injected() > 5);
}

#[tokio::test]
async fn node_errors_are_not_retried() {
    let (_d, s) = server().await;
    let c = RpcClient::new(RpcConfig::new(&s.url)).unwrap();
    let e = c
        .call("eth_getBalance", json!(["0xfff"]))
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Node { code: -32602, .. }), "{e}");
    let e = c.call("eth_unknownMethod", json!([])).await.unwrap_err();
    assert!(e.is_unsupported_method(), "{e}");
    assert_eq!(
        c.stats().retries.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}
