//! `ledgerflow stream evm`: follow a node's tip into PostgreSQL, NATS and the lake.

use std::process::ExitCode;
use std::sync::Arc;

use eyre::{bail, WrapErr};
use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_core::ChainId;
use ledgerflow_evm::{EvmSource, RpcClient, SourceConfig, TokenBlock, TraceMode};
use ledgerflow_lake::layout::dataset_name;
use ledgerflow_lake::{Lake, WriteOptions};
use ledgerflow_stream::driver::{Driver, EvmNode, SinkSpec, StreamOptions};
use ledgerflow_stream::lake::LakeOptions;
use ledgerflow_stream::metrics::{self, Metrics};
use ledgerflow_stream::nats::NatsOptions;
use tokio::sync::watch;

use crate::args::StreamEvmArgs;

/// `--start`: a number, `-N` below the head, or `latest`.
fn start_block(spec: &str, head: u64) -> eyre::Result<u64> {
    let s = spec.trim();
    if s.eq_ignore_ascii_case("latest") {
        return Ok(head);
    }
    if let Some(n) = s.strip_prefix('-') {
        let n: u64 = n
            .parse()
            .wrap_err_with(|| format!("--start {spec:?}: expected N, -N or latest"))?;
        return Ok(head.saturating_sub(n));
    }
    s.parse()
        .wrap_err_with(|| format!("--start {spec:?}: expected N, -N or latest"))
}

/// Stops the stream between events on SIGTERM or Ctrl-C.
fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(target: "ledgerflow::stream", "stop requested; finishing the current event");
        let _ = tx.send(true);
    });
    rx
}

pub async fn evm(a: StreamEvmArgs) -> eyre::Result<ExitCode> {
    let mut tables = crate::commands::export_evm::parse_tables(&a.tables)?;
    if !tables.contains(&EvmTable::Blocks) {
        tables.insert(0, EvmTable::Blocks);
    }
    if a.postgres.is_none() && a.nats.is_none() && a.lake.is_none() {
        bail!("no sink: give at least one of --postgres URL, --nats URL, -o/--lake DIR");
    }
    if a.max_blocks_per_event == 0 || a.chunk_size == 0 {
        bail!("--max-blocks-per-event and --chunk-size must be at least 1");
    }
    let trace_mode: TraceMode = a.traces.parse().map_err(|e: String| eyre::eyre!(e))?;
    let token_block: TokenBlock = a.token_block.parse().map_err(|e: String| eyre::eyre!(e))?;
    let rpc = crate::commands::common::rpc_config(&a.rpc, &a.rpc_tuning)?;
    let source = EvmSource::connect(
        RpcClient::new(rpc.clone())?,
        SourceConfig {
            trace_mode,
            token_block,
            ..Default::default()
        },
    )
    .await
    .wrap_err_with(|| format!("cannot use the node at {}", a.rpc))?;
    let head = source
        .head()
        .await
        .wrap_err_with(|| format!("cannot read the head of the node at {}", a.rpc))?;
    let start = start_block(&a.start, head)?;
    let chain_id = source.chain_id();
    let chain = a
        .chain_name
        .clone()
        .unwrap_or_else(|| ChainId(chain_id).lake_name());
    let dataset = dataset_name(&chain);
    let schemas: Vec<(&'static str, arrow::datatypes::SchemaRef)> =
        tables.iter().map(|t| (t.name(), t.schema())).collect();

    let mut sinks = Vec::new();
    if let Some(url) = &a.postgres {
        sinks.push(SinkSpec::Postgres {
            url: url.clone(),
            schema: a.pg_schema.clone().unwrap_or_else(|| dataset.clone()),
            name: a.name.clone(),
            tables: schemas.clone(),
            utxo: false,
        });
    }
    if let Some(url) = &a.nats {
        let mut o = NatsOptions::new(url, &chain, &a.name);
        if let Some(p) = &a.nats_prefix {
            o.prefix = p.clone();
        }
        if let Some(s) = &a.nats_stream {
            o.stream = s.clone();
        }
        o.duplicate_window = a.nats_dedup_window;
        sinks.push(SinkSpec::Nats(o));
    }
    if let Some(dir) = &a.lake {
        sinks.push(SinkSpec::Lake(LakeOptions {
            lake: Lake::new(dir),
            chain: chain.clone(),
            chunk_size: a.chunk_size,
            tables: schemas.clone(),
            write: WriteOptions {
                zstd_level: a.zstd_level,
                metadata: vec![
                    ("ledgerflow.chain_id".into(), chain_id.to_string()),
                    (
                        "ledgerflow.version".into(),
                        env!("CARGO_PKG_VERSION").to_string(),
                    ),
                ],
                ..Default::default()
            },
        }));
    }

    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = &a.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .wrap_err_with(|| format!("cannot listen on --metrics-addr {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(target: "ledgerflow::stream", %local, "serving /metrics and /health");
        let m = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(listener, m).await {
                tracing::error!(target: "ledgerflow::stream", error = %e, "metrics server stopped");
            }
        });
    }
    let shutdown = shutdown_signal();
    let node = EvmNode::new(RpcClient::new(rpc)?, source, tables);
    let opts = StreamOptions {
        confirmations: a.confirmations,
        start,
        max_blocks: a.max_blocks_per_event,
        poll: a.poll_interval,
        until_head: a.until_head,
        stop_at: a.stop_at,
        max_retries: a.max_retries,
    };
    let mut driver = Driver::open(node, sinks, opts, metrics)
        .await
        .wrap_err_with(|| format!("cannot start streaming from {}", a.rpc))?;
    tracing::info!(target: "ledgerflow::stream", chain = %chain, chain_id, head, start, genesis = %driver.genesis(), "streaming");
    driver.run(shutdown).await?;
    for (sink, tip) in driver.positions() {
        match tip {
            Some(t) => eprintln!("{sink}: at block {} {}", t.number, t.hash),
            None => eprintln!("{sink}: nothing applied"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
