//! `ledgerflow stream evm`: follow a node's tip into PostgreSQL, NATS and the lake.

use std::process::ExitCode;
use std::sync::Arc;

use eyre::{bail, WrapErr};
use ledgerflow_bitcoin::source::RpcSource;
use ledgerflow_core::tables::bitcoin::BtcTable;
use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_core::ChainId;
use ledgerflow_evm::{EvmSource, RpcClient, SourceConfig, TokenBlock, TraceMode};
use ledgerflow_lake::layout::dataset_name;
use ledgerflow_lake::{Lake, WriteOptions};
use ledgerflow_sinks::{LakeOptions, NatsOptions, PgOptions};
use ledgerflow_stream::driver::{Driver, EvmNode, RowSource, StreamOptions};
use ledgerflow_stream::metrics::{self, Metrics};
use ledgerflow_stream::{BtcNode, OpenSink};
use tokio::sync::watch;

use crate::args::{StreamBitcoinArgs, StreamEvmArgs, StreamFollowArgs, StreamSinkArgs};

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

/// Stops the stream between events on SIGTERM or Ctrl-C. Called first thing, so that a
/// SIGTERM while the stream starts (connecting, opening sinks) is already a graceful stop:
/// the handler is registered before this returns.
fn shutdown_signal() -> eyre::Result<watch::Receiver<bool>> {
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .wrap_err("cannot listen for SIGTERM")?;
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(target: "ledgerflow::stream", "stop requested; finishing the current event");
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// The sinks of the arguments, for a chain folder / dataset and its tables (the one place
/// that names the concrete sinks: a new sink is one more `push` here).
fn sink_specs(
    s: &StreamSinkArgs,
    chain: &str,
    schemas: &[(&'static str, arrow::datatypes::SchemaRef)],
    utxo: bool,
    footer: Vec<(String, String)>,
) -> eyre::Result<Vec<Box<dyn OpenSink>>> {
    if s.postgres.is_none() && s.nats.is_none() && s.lake.is_none() {
        bail!("no sink: give at least one of --postgres URL, --nats URL, -o/--lake DIR");
    }
    if s.chunk_size == 0 {
        bail!("--chunk-size must be at least 1");
    }
    let mut sinks: Vec<Box<dyn OpenSink>> = Vec::new();
    if let Some(url) = &s.postgres {
        sinks.push(Box::new(PgOptions {
            url: url.clone(),
            schema: s.pg_schema.clone().unwrap_or_else(|| dataset_name(chain)),
            name: s.name.clone(),
            tables: schemas.to_vec(),
            utxo,
        }));
    }
    if let Some(url) = &s.nats {
        let mut o = NatsOptions::new(url, chain, &s.name);
        if let Some(p) = &s.nats_prefix {
            o.prefix = p.clone();
        }
        if let Some(st) = &s.nats_stream {
            o.stream = st.clone();
        }
        o.duplicate_window = s.nats_dedup_window;
        sinks.push(Box::new(o));
    }
    if let Some(dir) = &s.lake {
        let mut metadata = footer;
        metadata.push((
            "ledgerflow.version".into(),
            env!("CARGO_PKG_VERSION").to_string(),
        ));
        sinks.push(Box::new(LakeOptions {
            lake: Lake::new(dir),
            chain: chain.to_string(),
            chunk_size: s.chunk_size,
            tables: schemas.to_vec(),
            write: WriteOptions {
                zstd_level: s.zstd_level,
                metadata,
                dictionary_columns: Some(if utxo {
                    ledgerflow_core::tables::bitcoin::DICTIONARY_COLUMNS
                } else {
                    ledgerflow_core::tables::evm::DICTIONARY_COLUMNS
                }),
                ..Default::default()
            },
        }));
    }
    Ok(sinks)
}

/// Opens the sinks and follows `node` until stopped.
#[allow(clippy::too_many_arguments)]
async fn follow<S: RowSource>(
    node: S,
    wake: Option<Arc<tokio::sync::Notify>>,
    rpc: &str,
    chain: &str,
    head: u64,
    f: &StreamFollowArgs,
    s: &StreamSinkArgs,
    sinks: Vec<Box<dyn OpenSink>>,
    shutdown: watch::Receiver<bool>,
) -> eyre::Result<ExitCode> {
    if f.max_blocks_per_event == 0 {
        bail!("--max-blocks-per-event must be at least 1");
    }
    let start = start_block(&f.start, head)?;
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = &s.metrics_addr {
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
    let opts = StreamOptions {
        confirmations: f.confirmations,
        start,
        max_blocks: f.max_blocks_per_event,
        poll: f.poll_interval,
        until_head: f.until_head,
        stop_at: f.stop_at,
        max_retries: f.max_retries,
        wake,
    };
    let mut driver = Driver::open(node, sinks, opts, metrics)
        .await
        .wrap_err_with(|| format!("cannot start streaming from {rpc}"))?;
    tracing::info!(target: "ledgerflow::stream", chain = %chain, head, start, genesis = %driver.genesis(), "streaming");
    driver.run(shutdown).await?;
    for (sink, tip) in driver.positions() {
        match tip {
            Some(t) => eprintln!("{sink}: at block {} {}", t.number, t.hash),
            None => eprintln!("{sink}: nothing applied"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn evm(a: StreamEvmArgs) -> eyre::Result<ExitCode> {
    let shutdown = shutdown_signal()?;
    let mut tables = EvmTable::parse_list(&a.tables)?;
    if !tables.contains(&EvmTable::Blocks) {
        tables.insert(0, EvmTable::Blocks);
    }
    let trace_mode: TraceMode = a.traces.parse().map_err(|e: String| eyre::eyre!(e))?;
    let token_block: TokenBlock = a.token_block.parse().map_err(|e: String| eyre::eyre!(e))?;
    let rpc = crate::commands::common::rpc_config(&a.rpc, &a.rpc_tuning)?;
    let schemas: Vec<(&'static str, arrow::datatypes::SchemaRef)> =
        tables.iter().map(|t| (t.name(), t.schema())).collect();
    // arguments are checked before the node is asked anything
    sink_specs(&a.sinks, "check", &schemas, false, Vec::new())?;
    let source = EvmSource::connect(
        RpcClient::new(rpc.clone())?,
        SourceConfig {
            trace_mode,
            token_block,
            direct_token_calls: a.direct_token_calls,
            ..Default::default()
        },
    )
    .await
    .wrap_err_with(|| format!("cannot use the node at {}", a.rpc))?;
    let head = source
        .head()
        .await
        .wrap_err_with(|| format!("cannot read the head of the node at {}", a.rpc))?;
    let chain_id = source.chain_id();
    let chain = a
        .chain_name
        .clone()
        .unwrap_or_else(|| ChainId(chain_id).lake_name());
    let sinks = sink_specs(
        &a.sinks,
        &chain,
        &schemas,
        false,
        vec![(
            ledgerflow_core::tables::evm::CHAIN_ID_KEY.into(),
            chain_id.to_string(),
        )],
    )?;
    let node = EvmNode::new(RpcClient::new(rpc)?, source, tables);
    let wake = match a.ws.as_deref() {
        None => None,
        Some(ws) => {
            let url = if ws == "auto" {
                ledgerflow_stream::heads::ws_url(&a.rpc).ok_or_else(|| {
                    eyre::eyre!(
                        "--ws: cannot derive a WebSocket URL from {}; give --ws URL",
                        a.rpc
                    )
                })?
            } else {
                ws.to_string()
            };
            let n = Arc::new(tokio::sync::Notify::new());
            tokio::spawn(ledgerflow_stream::heads::subscribe_new_heads(
                url,
                n.clone(),
            ));
            Some(n)
        }
    };
    follow(
        node, wake, &a.rpc, &chain, head, &a.follow, &a.sinks, sinks, shutdown,
    )
    .await
}

pub async fn bitcoin(a: StreamBitcoinArgs) -> eyre::Result<ExitCode> {
    let shutdown = shutdown_signal()?;
    use crate::commands::export_bitcoin as eb;
    let params = eb::chain_params(&a.node.chain, &a.node.network)?;
    let mode = eb::rpc_mode(&a.node.rpc_mode, params)?;
    let mut tables = BtcTable::parse_list(&a.tables, None)?;
    if !tables.contains(&BtcTable::Blocks) {
        tables.insert(0, BtcTable::Blocks);
    }
    let schemas: Vec<(&'static str, arrow::datatypes::SchemaRef)> =
        tables.iter().map(|t| (t.name(), t.schema())).collect();
    sink_specs(&a.sinks, "check", &schemas, true, Vec::new())?;
    let cfg = eb::rpc_config(
        &a.rpc,
        a.node.rpc_cookie.as_deref(),
        a.node.rpc_user.as_deref(),
        a.node.rpc_password.as_deref(),
        &a.rpc_tuning,
    )?;
    let source = RpcSource {
        client: Arc::new(RpcClient::new(cfg)?),
        params,
        mode,
    };
    source
        .check_genesis()
        .await
        .wrap_err_with(|| format!("cannot use the node at {}", a.rpc))?;
    let head = source
        .head()
        .await
        .wrap_err_with(|| format!("cannot read the head of the node at {}", a.rpc))?;
    let chain = a.chain_name.clone().unwrap_or_else(|| params.lake_name());
    let sinks = sink_specs(
        &a.sinks,
        &chain,
        &schemas,
        true,
        vec![
            (
                ledgerflow_core::tables::bitcoin::CHAIN_KEY.into(),
                params.chain.to_string(),
            ),
            ("ledgerflow.network".into(), params.network.to_string()),
        ],
    )?;
    let node = BtcNode::new(source, tables);
    follow(
        node,
        None,
        &a.rpc,
        &chain,
        head.max(0) as u64,
        &a.follow,
        &a.sinks,
        sinks,
        shutdown,
    )
    .await
}
