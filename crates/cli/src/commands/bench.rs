//! `ledgerflow bench rpc-floor`: the time a bare client needs just to fetch the raw answers
//! an export needs (blocks with transactions, block receipts, traces), with the same
//! batching and concurrency and no decoding at all. It is the floor an export is measured
//! against in `bench/`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use eyre::{bail, eyre};
use futures::StreamExt;
use ledgerflow_core::BlockSpec;

use crate::args::RpcFloorArgs;

pub async fn run(a: RpcFloorArgs) -> eyre::Result<ExitCode> {
    let spec: BlockSpec = a.blocks.parse()?;
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let head = {
        let r: serde_json::Value = http
            .post(&a.rpc)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#)
            .send()
            .await?
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b))??;
        let s = r["result"]
            .as_str()
            .ok_or_else(|| eyre!("eth_blockNumber: {r}"))?;
        u64::from_str_radix(s.trim_start_matches("0x"), 16)?
    };
    let range = spec.resolve(Some(head))?;
    if a.batch_size == 0 || a.concurrency == 0 {
        bail!("--batch-size and --concurrency must be at least 1");
    }
    let methods: Vec<(&str, &str)> = a
        .methods
        .iter()
        .map(|m| match m.as_str() {
            "blocks" => Ok(("eth_getBlockByNumber", ",true")),
            "receipts" => Ok(("eth_getBlockReceipts", "")),
            "traces" => Ok(("trace_block", "")),
            other => Err(eyre!(
                "unknown method group {other:?} (blocks, receipts, traces)"
            )),
        })
        .collect::<eyre::Result<_>>()?;
    let numbers: Vec<u64> = range.iter().collect();
    let mut bodies = Vec::new();
    for (method, extra) in &methods {
        for chunk in numbers.chunks(a.batch_size) {
            let items: Vec<String> = chunk
                .iter()
                .map(|n| format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"{method}","params":["{n:#x}"{extra}]}}"#))
                .collect();
            bodies.push(format!("[{}]", items.join(",")));
        }
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let results: Vec<eyre::Result<()>> = futures::stream::iter(bodies.into_iter().map(|body| {
        let http = http.clone();
        let url = a.rpc.clone();
        let bytes = bytes.clone();
        async move {
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            let b = r.bytes().await?;
            bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    }))
    .buffer_unordered(a.concurrency)
    .collect()
    .await;
    for r in results {
        r?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"blocks\": {}, \"methods\": {:?}, \"seconds\": {secs:.3}, \"bytes\": {}}}",
        range.len(),
        a.methods,
        bytes.load(Ordering::Relaxed)
    );
    Ok(ExitCode::SUCCESS)
}
