//! `ledgerflow export evm`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{bail, eyre, WrapErr};
use ledgerflow_core::compat::{etl_columns, EtlVersion};
use ledgerflow_core::tables::evm::*;
use ledgerflow_core::{BlockRange, BlockSpec, ChainId};
use ledgerflow_evm::{EvmSource, RpcClient, RpcConfig, SourceConfig, TokenBlock, TraceMode, Want};
use ledgerflow_lake::runner::{self, BoxError, RunSpec, RunTotals};
use ledgerflow_lake::writer::TableFile;
use ledgerflow_lake::{Format, Lake};
use serde::Serialize;

use crate::args::ExportEvmArgs;
use crate::progress::BlocksBar;

/// Validated settings of an export.
pub struct ExportConfig {
    pub spec: BlockSpec,
    pub tables: Vec<EvmTable>,
    pub format: Format,
    pub etl_version: EtlVersion,
    pub rpc: RpcConfig,
    pub source: SourceConfig,
    pub layout: runner::ParquetLayout,
}

pub fn validate(a: &ExportEvmArgs) -> eyre::Result<ExportConfig> {
    let spec: BlockSpec = a.blocks.parse()?;
    if !spec.needs_head() {
        spec.resolve(None)?;
    }
    let tables = EvmTable::parse_list(&a.tables)?;
    let format = crate::commands::common::output_format(&a.out)?;
    let layout = crate::commands::common::parquet_layout(&a.out)?;
    let etl_version: EtlVersion = a.etl_version.parse().map_err(|e: String| eyre!(e))?;
    let trace_mode: TraceMode = a.traces.parse().map_err(|e: String| eyre!(e))?;
    let token_block: TokenBlock = a.token_block.parse().map_err(|e: String| eyre!(e))?;
    if a.group_blocks == 0 || a.groups_in_flight == 0 {
        bail!("--group-blocks and --groups-in-flight must be at least 1");
    }
    let rpc = crate::commands::common::rpc_config(&a.rpc, &a.rpc_tuning)?;
    Ok(ExportConfig {
        spec,
        tables,
        format,
        etl_version,
        rpc,
        source: SourceConfig {
            chain_id: a.chain_id,
            trace_mode,
            token_block,
            per_tx_receipts: a.per_tx_receipts,
            group_blocks: a.group_blocks,
            groups_in_flight: a.groups_in_flight,
            direct_token_calls: a.direct_token_calls,
        },
        layout,
    })
}

#[derive(Serialize)]
struct Report<'a> {
    ledgerflow_version: &'static str,
    command: &'static str,
    rpc: &'a str,
    chain_id: u64,
    chain: &'a str,
    blocks: BlockRange,
    tables: Vec<&'static str>,
    format: &'static str,
    chunk_size: u64,
    trace_api: Option<&'static str>,
    receipts_api: Option<&'static str>,
    rpc_http_requests: u64,
    rpc_calls: u64,
    rpc_retries: u64,
    rpc_bytes_received: u64,
    started_unix: u64,
    #[serde(flatten)]
    totals: &'a RunTotals,
}

pub async fn run(a: ExportEvmArgs, quiet: bool) -> eyre::Result<ExitCode> {
    let cfg = validate(&a)?;
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let client = RpcClient::new(cfg.rpc.clone())?;
    let source = EvmSource::connect(client, cfg.source.clone())
        .await
        .wrap_err_with(|| format!("cannot use the node at {}", a.rpc))?;
    let head = if cfg.spec.needs_head() || !a.out.dry_run {
        Some(source.head().await?)
    } else {
        None
    };
    let range = cfg.spec.resolve(head)?;
    let chain = a
        .out
        .chain_name
        .clone()
        .unwrap_or_else(|| ChainId(source.chain_id()).lake_name());
    let lake = Lake::new(&a.out.output);
    let spec = RunSpec {
        lake: lake.clone(),
        chain: chain.clone(),
        tables: cfg.tables.iter().map(|t| t.name()).collect(),
        format: cfg.format,
        chunk_size: a.out.chunk_size,
        overwrite: a.out.overwrite,
    };
    let chunks = runner::plan(&spec, range)?;
    let todo = chunks.iter().filter(|c| !c.done).count();

    if a.out.dry_run {
        crate::commands::common::print_plan(
            &format!("chain {chain} (id {}) from {}", source.chain_id(), a.rpc),
            range,
            &chunks,
            &a.out,
            cfg.format,
            &spec.tables,
        );
        for t in &cfg.tables {
            print!("{}", t.describe());
        }
        return Ok(ExitCode::SUCCESS);
    }

    let chain_id = source.chain_id();
    let want = Want::of_tables(&cfg.tables);
    let tables = cfg.tables.clone();
    let format = cfg.format;
    let etl_version = cfg.etl_version;
    let layout = cfg.layout;
    let all_standards = a.all_token_standards;
    // opens the chunk file of one table (temporary name until the runner commits it)
    let lake_for_files = lake.clone();
    let chain_for_files = chain.clone();
    let open = Arc::new(
        move |t: EvmTable, r: BlockRange| -> Result<TableFile, ledgerflow_lake::LakeError> {
            let path = lake_for_files.chunk_path(&chain_for_files, t.name(), r, format.ext());
            match format {
                Format::Parquet => {
                    let opts = runner::chunk_options(
                        layout,
                        t.name(),
                        &[(
                            ledgerflow_core::tables::evm::CHAIN_ID_KEY,
                            chain_id.to_string(),
                        )],
                        Some(ledgerflow_core::tables::evm::DICTIONARY_COLUMNS),
                    );
                    TableFile::parquet(&path, t.schema(), &opts)
                }
                Format::Csv | Format::Json => {
                    TableFile::etl(&path, t.name(), etl_columns(t, etl_version), format)
                }
            }
        },
    );
    tracing::info!(target: "ledgerflow::export", %range, chain = %chain, chunks = chunks.len(), todo, "export starting");
    let source = Arc::new(source);
    let mut delta = crate::commands::common::delta_logs(&a.out, &spec).await?;
    let bar = BlocksBar::new(quiet);
    let totals = runner::run(
        &chunks,
        a.rpc_tuning.chunk_concurrency,
        &bar,
        delta.as_mut().map(|d| d as _),
        |r| {
            let tables = tables.clone();
            let source = source.clone();
            let open = open.clone();
            // a task per chunk: fetching, decoding and encoding proceed while the runner
            // commits other chunks
            let task = tokio::spawn(async move {
                let mut files: Vec<(EvmTable, TableFile)> = tables
                    .iter()
                    .map(|t| open(*t, r).map(|f| (*t, f)))
                    .collect::<Result<_, _>>()?;
                source
                    .fetch_into(r, &want, &tables, |t, batch| {
                        let Some((_, file)) = files.iter_mut().find(|(ft, _)| *ft == t) else {
                            return Ok(());
                        };
                        if t == EvmTable::TokenTransfers
                            && format != Format::Parquet
                            && !all_standards
                        {
                            let etl_rows = ledgerflow_lake::etl::etl_token_transfers(batch)
                                .map_err(|source| ledgerflow_lake::LakeError::Arrow {
                                    path: file.path().to_path_buf(),
                                    source,
                                })?;
                            file.write(&etl_rows)
                        } else {
                            file.write(batch)
                        }
                    })
                    .await?;
                Ok::<_, BoxError>(
                    files
                        .into_iter()
                        .map(|(t, f)| (t.name(), f))
                        .collect::<Vec<_>>(),
                )
            });
            async move {
                task.await.map_err(|e| -> BoxError {
                    format!("internal error: chunk task failed: {e} (please report)").into()
                })?
            }
        },
    )
    .await;

    let stats = source.client().stats();
    use std::sync::atomic::Ordering::Relaxed;
    let report = Report {
        ledgerflow_version: env!("CARGO_PKG_VERSION"),
        command: "export evm",
        rpc: &a.rpc,
        chain_id,
        chain: &chain,
        blocks: range,
        tables: spec.tables.clone(),
        format: crate::commands::common::format_name(&a.out, cfg.format),
        chunk_size: a.out.chunk_size,
        trace_api: source.trace_api(),
        receipts_api: source.receipts_api(),
        rpc_http_requests: stats.http_requests.load(Relaxed),
        rpc_calls: stats.calls.load(Relaxed),
        rpc_retries: stats.retries.load(Relaxed),
        rpc_bytes_received: stats.bytes_received.load(Relaxed),
        started_unix,
        totals: &totals,
    };
    let report_path = a.out.report.clone().unwrap_or_else(|| {
        lake.runs_dir(&chain).join(format!(
            "export-evm-{started_unix}-{}-{}.json",
            range.start, range.end
        ))
    });
    runner::write_report(&report_path, &report)?;

    Ok(crate::commands::common::finish(
        quiet,
        range,
        &chain,
        &totals,
        &report_path,
        &delta.map(|d| d.versions()).unwrap_or_default(),
    ))
}
