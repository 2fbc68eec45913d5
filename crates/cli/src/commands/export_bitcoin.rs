//! `ledgerflow export bitcoin`: blk*.dat files or node RPC → the `crypto_bitcoin` tables,
//! inputs enriched in the pipeline (`ledgerflow_bitcoin::pipeline`: chunks fetched
//! concurrently, transformed in height order); chunks planned, committed and reported by
//! `ledgerflow_lake::runner`. This module validates the arguments and wires them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{bail, eyre, WrapErr};
use ledgerflow_bitcoin::blkfiles::DataDir;
use ledgerflow_bitcoin::chain::ChainParams;
use ledgerflow_bitcoin::etl::{self, EtlStyle};
use ledgerflow_bitcoin::pipeline::{
    self, Encoded, Pipeline, PipelineOptions, RowFormat, RowWriter,
};
use ledgerflow_bitcoin::source::{RpcMode, RpcSource, Source};
use ledgerflow_bitcoin::BtcRows;
use ledgerflow_core::tables::bitcoin::*;
use ledgerflow_core::{BlockRange, BlockSpec};
use ledgerflow_lake::runner::{self, BoxError, RunSpec, RunTotals};
use ledgerflow_lake::writer::TableFile;
use ledgerflow_lake::{Format, Lake};
use ledgerflow_rpc::RpcClient;
use serde::Serialize;

use crate::args::ExportBitcoinArgs;
use crate::commands::common;
use crate::progress::BlocksBar;

/// A chunk's files; the pipeline hands it each group's rows.
struct ChunkFiles {
    files: Vec<(BtcTable, TableFile)>,
    format: RowFormat,
}

impl RowWriter for ChunkFiles {
    fn write(&mut self, rows: &BtcRows) -> Result<(), BoxError> {
        for (t, f) in self.files.iter_mut() {
            match pipeline::encode(rows, *t, self.format).map_err(|source| {
                ledgerflow_lake::LakeError::Arrow {
                    path: f.path().to_path_buf(),
                    source,
                }
            })? {
                Encoded::Batch(b) => {
                    if b.num_rows() > 0 {
                        f.write(&b)?;
                    }
                }
                Encoded::Text { text, rows } => f.write_text(&text, rows)?,
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct Report<'a> {
    ledgerflow_version: &'static str,
    command: &'static str,
    source: String,
    chain: &'a str,
    network: &'a str,
    lake_chain: &'a str,
    rpc_mode: Option<&'static str>,
    blocks: BlockRange,
    tables: Vec<&'static str>,
    format: &'static str,
    chunk_size: u64,
    enrich: bool,
    inputs_enriched: u64,
    inputs_unresolved: u64,
    prevouts_fetched_by_rpc: u64,
    utxo_unspent_at_end: usize,
    utxo_index_bytes_at_end: usize,
    utxo_bytes_per_unspent: Option<f64>,
    utxo_index_peak_bytes: usize,
    started_unix: u64,
    #[serde(flatten)]
    totals: &'a RunTotals,
}

fn mode_name(m: RpcMode) -> &'static str {
    match m {
        RpcMode::Raw => "raw",
        RpcMode::Verbose => "verbose",
    }
}

pub async fn run(a: ExportBitcoinArgs, quiet: bool) -> eyre::Result<ExitCode> {
    // --- validation: everything before any I/O
    let spec: BlockSpec = a.blocks.parse()?;
    if !spec.needs_head() {
        spec.resolve(None)?;
    }
    let format = common::output_format(&a.out)?;
    let layout = common::parquet_layout(&a.out)?;
    let tables =
        BtcTable::parse_list(&a.tables, (format != Format::Parquet).then(|| format.ext()))?;
    let params = chain_params(&a.node.chain, &a.node.network)?;
    if a.group_blocks == 0 {
        bail!("--group-blocks must be at least 1");
    }
    let rpc_mode = rpc_mode(&a.node.rpc_mode, params)?;
    let rpc_cfg = match &a.rpc {
        Some(url) => Some(rpc_config(
            url,
            a.node.rpc_cookie.as_deref(),
            a.node.rpc_user.as_deref(),
            a.node.rpc_password.as_deref(),
            &a.rpc_tuning,
        )?),
        None => {
            if !params.raw_decodable {
                bail!("{} blocks can only be read over RPC (--rpc)", params.chain);
            }
            None
        }
    };
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    // --- the source
    let (source, source_desc) = match (&rpc_cfg, &a.datadir) {
        (Some(cfg), _) => {
            let client = RpcClient::new(cfg.clone())?;
            let src = RpcSource {
                client: Arc::new(client),
                params,
                mode: rpc_mode,
            };
            src.check_genesis()
                .await
                .wrap_err_with(|| format!("cannot use the node at {}", cfg.url))?;
            (Source::Rpc(src), cfg.url.clone())
        }
        (None, Some(dir)) => {
            let dir2 = dir.clone();
            let d = tokio::task::spawn_blocking(move || DataDir::open(&dir2, params))
                .await
                .map_err(|e| eyre!("internal error: {e}"))??;
            tracing::info!(target: "ledgerflow::export", files = d.files.len(), records = d.stats.records, stale = d.stats.stale, tip = d.tip(), "block files scanned");
            (Source::Files(Arc::new(d)), dir.display().to_string())
        }
        (None, None) => bail!("give --rpc URL or --datadir DIR"),
    };
    let head = if spec.needs_head() || matches!(source, Source::Files(_)) {
        Some(source.head().await?.max(0) as u64)
    } else {
        None
    };
    let range = spec.resolve(head)?;
    let chain = a
        .out
        .chain_name
        .clone()
        .unwrap_or_else(|| params.lake_name());
    let lake = Lake::new(&a.out.output);
    let table_names: Vec<&'static str> = tables.iter().map(|t| t.name()).collect();
    let run_spec = RunSpec {
        lake: lake.clone(),
        chain: chain.clone(),
        tables: table_names.clone(),
        format,
        chunk_size: a.out.chunk_size,
        overwrite: a.out.overwrite,
    };
    let chunks = runner::plan(&run_spec, range)?;
    if a.out.dry_run {
        common::print_plan(
            &format!("{params} from {source_desc}"),
            range,
            &chunks,
            &a.out,
            format,
            &table_names,
        );
        for t in &tables {
            print!("{}", t.describe());
        }
        return Ok(ExitCode::SUCCESS);
    }

    // --- the pipeline
    let enrich = !a.no_enrich;
    let todo: Vec<BlockRange> = chunks.iter().filter(|c| !c.done).map(|c| c.range).collect();
    let style = EtlStyle {
        stream: false,
        null_index: params.old_api,
    };
    let row_format = match format {
        Format::Parquet => RowFormat::Arrow,
        Format::Csv => RowFormat::EtlCsv(style),
        Format::Json => RowFormat::EtlJson(style),
    };
    let pipe = Pipeline::new(
        source,
        PipelineOptions {
            want: pipeline::want_of(&tables),
            enrich,
            group_blocks: a.group_blocks,
        },
        &todo,
    );
    // opens the chunk file of one table (temporary name until the runner commits it)
    let lake_for_files = lake.clone();
    let chain_for_files = chain.clone();
    let open = Arc::new(
        move |t: BtcTable, r: BlockRange| -> Result<TableFile, ledgerflow_lake::LakeError> {
            let path = lake_for_files.chunk_path(&chain_for_files, t.name(), r, format.ext());
            match format {
                Format::Parquet => {
                    let opts = runner::chunk_options(
                        layout,
                        t.name(),
                        &[
                            (CHAIN_KEY, params.chain.to_string()),
                            ("ledgerflow.network", params.network.to_string()),
                        ],
                        Some(DICTIONARY_COLUMNS),
                    );
                    TableFile::parquet(&path, t.schema(), &opts)
                }
                Format::Csv => TableFile::lines(
                    &path,
                    Some(match t {
                        BtcTable::Blocks => etl::BLOCK_CSV_HEADER,
                        _ => etl::TRANSACTION_CSV_HEADER,
                    }),
                ),
                Format::Json => TableFile::lines(&path, None),
            }
        },
    );
    tracing::info!(target: "ledgerflow::export", %range, chain = %chain, chunks = chunks.len(), todo = todo.len(), enrich, "export starting");
    let mut delta = common::delta_logs(&a.out, &run_spec).await?;
    let bar = BlocksBar::new(quiet);
    let totals = runner::run(
        &chunks,
        a.rpc_tuning.chunk_concurrency,
        &bar,
        delta.as_mut().map(|d| d as _),
        |r| {
            let open = open.clone();
            let tables = tables.clone();
            // the chunk's files are opened inside its task (a failure poisons the queue)
            let done = pipe.chunk(r, move || {
                let files = tables
                    .iter()
                    .map(|t| open(*t, r).map(|f| (*t, f)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ChunkFiles {
                    files,
                    format: row_format,
                })
            });
            async move {
                let w = done.await?;
                Ok::<_, BoxError>(
                    w.files
                        .into_iter()
                        .map(|(t, f)| (t.name(), f))
                        .collect::<Vec<_>>(),
                )
            }
        },
    )
    .await;

    let st = pipe.report().await;
    let unspent = st.unspent;
    let heap = st.heap_bytes;
    let report = Report {
        ledgerflow_version: env!("CARGO_PKG_VERSION"),
        command: "export bitcoin",
        source: source_desc,
        chain: params.chain,
        network: params.network,
        lake_chain: &chain,
        rpc_mode: matches!(pipe.source(), Source::Rpc(_)).then(|| mode_name(rpc_mode)),
        blocks: range,
        tables: table_names.clone(),
        format: common::format_name(&a.out, format),
        chunk_size: a.out.chunk_size,
        enrich,
        inputs_enriched: st.stats.resolved,
        inputs_unresolved: st.stats.unresolved,
        prevouts_fetched_by_rpc: st.prevouts_fetched,
        utxo_unspent_at_end: unspent,
        utxo_index_bytes_at_end: heap,
        utxo_bytes_per_unspent: (unspent > 0).then(|| heap as f64 / unspent as f64),
        utxo_index_peak_bytes: st.peak_heap_bytes,
        started_unix,
        totals: &totals,
    };
    let report_path = a.out.report.clone().unwrap_or_else(|| {
        lake.runs_dir(&chain).join(format!(
            "export-bitcoin-{started_unix}-{}-{}.json",
            range.start, range.end
        ))
    });
    runner::write_report(&report_path, &report)?;
    let mut extra = delta.map(|d| d.versions()).unwrap_or_default();
    if enrich {
        extra.push(format!(
            "inputs enriched {} (unresolved {}), spent-output index: {} unspent, {:.1} MB{}",
            st.stats.resolved,
            st.stats.unresolved,
            unspent,
            heap as f64 / 1e6,
            if unspent > 0 {
                format!(
                    " ({:.1} bytes per unspent output)",
                    heap as f64 / unspent as f64
                )
            } else {
                String::new()
            }
        ));
    }
    Ok(common::finish(
        quiet,
        range,
        &chain,
        &totals,
        &report_path,
        &extra,
    ))
}

/// `--chain`/`--network`.
pub fn chain_params(chain: &str, network: &str) -> eyre::Result<&'static ChainParams> {
    ChainParams::find(chain, network).ok_or_else(|| {
        eyre!(
            "unknown chain/network {chain:?}/{network:?} (chains: bitcoin, litecoin, bitcoin_cash, dogecoin, dash, zcash; networks: main, test, signet, regtest)"
        )
    })
}

/// `--rpc-mode`.
pub fn rpc_mode(mode: &str, params: &ChainParams) -> eyre::Result<RpcMode> {
    Ok(match mode {
        "auto" => RpcMode::auto(params),
        "raw" => {
            if !params.raw_decodable {
                bail!(
                    "--rpc-mode raw: ledgerflow does not decode {} blocks itself; use verbose",
                    params.chain
                );
            }
            RpcMode::Raw
        }
        "verbose" => RpcMode::Verbose,
        other => bail!("--rpc-mode {other:?}: expected auto, raw or verbose"),
    })
}

/// A node's RPC settings with cookie or user/password auth.
pub fn rpc_config(
    url: &str,
    cookie: Option<&std::path::Path>,
    user: Option<&str>,
    password: Option<&str>,
    tuning: &crate::args::RpcTuning,
) -> eyre::Result<ledgerflow_rpc::RpcConfig> {
    let mut cfg = common::rpc_config(url, tuning)?;
    if let Some(cookie) = cookie {
        cfg.auth = Some(
            ledgerflow_rpc::read_cookie(cookie)
                .wrap_err_with(|| format!("--rpc-cookie {}", cookie.display()))?,
        );
    } else if let Some(user) = user {
        cfg.auth = Some((user.to_string(), password.unwrap_or_default().to_string()));
    }
    Ok(cfg)
}
