//! New-head notifications over a node's WebSocket (`eth_subscribe` `newHeads`): they only
//! wake the stream early. Every decision is still made by polling the node, so a lost,
//! late or bogus notification changes nothing but the latency, and the stream keeps
//! polling while the subscription is down (it reconnects with backoff).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// The WebSocket URL of an HTTP JSON-RPC URL (`http` → `ws`, `https` → `wss`).
pub fn ws_url(rpc: &str) -> Option<String> {
    if let Some(rest) = rpc.strip_prefix("http://") {
        Some(format!("ws://{rest}"))
    } else if let Some(rest) = rpc.strip_prefix("https://") {
        Some(format!("wss://{rest}"))
    } else if rpc.starts_with("ws://") || rpc.starts_with("wss://") {
        Some(rpc.to_string())
    } else {
        None
    }
}

/// Subscribes to `newHeads` at `url` and calls `wake.notify_one()` for every new head,
/// reconnecting after failures (1 s, doubling up to 30 s), until the task is dropped.
pub async fn subscribe_new_heads(url: String, wake: Arc<Notify>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match follow(&url, &wake).await {
            Ok(()) => {
                tracing::info!(target: "ledgerflow::stream", %url, "head subscription closed; reconnecting");
            }
            Err(e) => {
                tracing::warn!(target: "ledgerflow::stream", %url, error = %e, "head subscription failed; polling meanwhile");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

async fn follow(url: &str, wake: &Notify) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| e.to_string())?;
    let req = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]});
    ws.send(Message::text(req.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(target: "ledgerflow::stream", %url, "subscribed to new heads");
    while let Some(msg) = ws.next().await {
        match msg.map_err(|e| e.to_string())? {
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if let Some(err) = v.get("error") {
                    return Err(format!("eth_subscribe: {err}"));
                }
                if v.get("method").and_then(|m| m.as_str()) == Some("eth_subscription") {
                    wake.notify_one();
                }
            }
            Message::Ping(p) => ws.send(Message::Pong(p)).await.map_err(|e| e.to_string())?,
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ws_urls() {
        assert_eq!(
            super::ws_url("http://127.0.0.1:8545").as_deref(),
            Some("ws://127.0.0.1:8545")
        );
        assert_eq!(
            super::ws_url("https://node.example/key").as_deref(),
            Some("wss://node.example/key")
        );
        assert_eq!(super::ws_url("ipc:///tmp/x"), None);
    }
}
