//! `ledgerflow export bitcoin`: blk*.dat files or node RPC → the `crypto_bitcoin` tables,
//! inputs enriched in the pipeline.
//!
//! Chunks are fetched concurrently but transformed strictly in height order: each chunk
//! takes a ticket and waits for its turn before it spends outputs from (and adds outputs
//! to) the shared spent-output index. A chunk that fails poisons the queue so that no later
//! chunk waits forever or writes rows enriched from an incomplete index.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{bail, eyre, WrapErr};
use ledgerflow_bitcoin::blkfiles::DataDir;
use ledgerflow_bitcoin::chain::ChainParams;
use ledgerflow_bitcoin::etl::{self, EtlStyle};
use ledgerflow_bitcoin::model::Block;
use ledgerflow_bitcoin::source::{RpcMode, RpcSource, Source};
use ledgerflow_bitcoin::transform::{block_rows, BtcRows, EnrichStats, Want};
use ledgerflow_bitcoin::utxo::UtxoIndex;
use ledgerflow_core::tables::bitcoin::*;
use ledgerflow_core::{BlockRange, BlockSpec};
use ledgerflow_lake::writer::TableFile;
use ledgerflow_lake::{Format, Lake};
use ledgerflow_rpc::RpcClient;
use serde::Serialize;
use tokio::sync::{watch, Mutex};

use crate::args::ExportBitcoinArgs;
use crate::commands::common;
use crate::runner::{self, RunSpec, RunTotals};

fn want_of(tables: &[BtcTable]) -> Want {
    Want {
        blocks: tables.contains(&BtcTable::Blocks),
        transactions: tables.contains(&BtcTable::Transactions),
        inputs: tables.contains(&BtcTable::Inputs),
        outputs: tables.contains(&BtcTable::Outputs),
    }
}

/// The spent-output index and how far it has been applied.
struct EnrichState {
    /// The next height whose outputs the index has not seen.
    next: i64,
    index: UtxoIndex,
    stats: EnrichStats,
    prevouts_fetched: u64,
    peak_heap_bytes: usize,
    peak_unspent: usize,
}

/// Tickets that make chunks take their turn in height order.
struct Turns {
    tx: watch::Sender<usize>,
    poisoned: AtomicBool,
}

struct TurnGuard {
    turns: Arc<Turns>,
    ticket: usize,
    done: bool,
}

impl TurnGuard {
    async fn wait(&self) -> eyre::Result<()> {
        let mut rx = self.turns.tx.subscribe();
        loop {
            if self.turns.poisoned.load(Ordering::SeqCst) {
                bail!("an earlier chunk failed; this chunk was not enriched");
            }
            if *rx.borrow_and_update() == self.ticket {
                return Ok(());
            }
            rx.changed()
                .await
                .map_err(|_| eyre!("internal error: chunk queue closed"))?;
        }
    }

    fn finish(mut self) {
        self.done = true;
        self.turns.tx.send_replace(self.ticket + 1);
    }
}

impl Drop for TurnGuard {
    fn drop(&mut self) {
        if !self.done {
            self.turns.poisoned.store(true, Ordering::SeqCst);
            self.turns.tx.send_replace(self.ticket + 1);
        }
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
    let layout = common::ParquetLayout::of(&a.out)?;
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
        delta: common::wants_delta(&a.out),
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
    let want = want_of(&tables);
    let todo: Vec<BlockRange> = chunks.iter().filter(|c| !c.done).map(|c| c.range).collect();
    let tickets: Arc<HashMap<u64, usize>> =
        Arc::new(todo.iter().enumerate().map(|(i, r)| (r.start, i)).collect());
    let turns = Arc::new(Turns {
        tx: watch::channel(0usize).0,
        poisoned: AtomicBool::new(false),
    });
    let state = Arc::new(Mutex::new(EnrichState {
        next: 0,
        index: UtxoIndex::new(),
        stats: EnrichStats::default(),
        prevouts_fetched: 0,
        peak_heap_bytes: 0,
        peak_unspent: 0,
    }));
    let style = EtlStyle {
        stream: false,
        null_index: params.old_api,
    };
    let group = a.group_blocks;
    let lake_for_files = lake.clone();
    let chain_for_files = chain.clone();
    let open = Arc::new(
        move |t: BtcTable, r: BlockRange| -> Result<TableFile, ledgerflow_lake::LakeError> {
            let path = lake_for_files.chunk_path(&chain_for_files, t.name(), r, format.ext());
            match format {
                Format::Parquet => {
                    let opts = common::parquet_options(
                        layout,
                        t.name(),
                        &[
                            (
                                ledgerflow_core::tables::bitcoin::CHAIN_KEY,
                                params.chain.to_string(),
                            ),
                            ("ledgerflow.network", params.network.to_string()),
                        ],
                        Some(ledgerflow_core::tables::bitcoin::DICTIONARY_COLUMNS),
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
    let mut delta = runner::DeltaLogs::for_run(&run_spec).await?;
    let totals = runner::run(
        &chunks,
        a.rpc_tuning.chunk_concurrency,
        quiet,
        delta.as_mut(),
        |r| {
            let source = source.clone();
            let state = state.clone();
            let turns = turns.clone();
            let ticket = tickets.get(&r.start).copied();
            let open = open.clone();
            let tables = tables.clone();
            let task = tokio::spawn(async move {
                let ticket =
                    ticket.ok_or_else(|| eyre!("internal error: chunk {r} has no ticket"))?;
                let guard = TurnGuard {
                    turns,
                    ticket,
                    done: false,
                };
                let files: Vec<(BtcTable, TableFile)> = tables
                    .iter()
                    .map(|t| open(*t, r).map(|f| (*t, f)))
                    .collect::<Result<_, _>>()?;
                let groups: Vec<(i64, i64)> = (r.start..=r.end)
                    .step_by(group as usize)
                    .map(|s| (s as i64, (s + group - 1).min(r.end) as i64))
                    .collect();
                // the first group is fetched before this chunk's turn comes
                let fetch = |(s, e): (i64, i64)| {
                    let source = source.clone();
                    tokio::spawn(async move { source.blocks(s, e).await })
                };
                // groups are fetched up to PREFETCH ahead of the one being transformed (the
                // first ones before this chunk's turn comes)
                const PREFETCH: usize = 3;
                let mut next_fetch: std::collections::VecDeque<_> =
                    groups.iter().take(PREFETCH).map(|g| fetch(*g)).collect();
                // the chunk's files are encoded by a writer thread while the next groups (and
                // the next chunk) are transformed
                let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<BtcRows>(2);
                let writer = tokio::task::spawn_blocking(
                    move || -> eyre::Result<Vec<(BtcTable, TableFile)>> {
                        let mut files = files;
                        for rows in rows_rx {
                            write_rows(&mut files, &rows, format, style)?;
                        }
                        Ok(files)
                    },
                );
                guard.wait().await?;
                let mut st = state.lock().await;
                if enrich {
                    catch_up(&source, &mut st, r.start as i64, group as i64).await?;
                }
                for (gi, _) in groups.iter().enumerate() {
                    let blocks: Vec<Block> = match next_fetch.pop_front() {
                        Some(h) => h
                            .await
                            .map_err(|e| eyre!("internal error: fetch task: {e}"))??,
                        None => Vec::new(),
                    };
                    if let Some(g) = groups.get(gi + PREFETCH) {
                        next_fetch.push_back(fetch(*g));
                    }
                    if enrich {
                        if let Source::Rpc(rpc) = &source {
                            fetch_missing_prevouts(rpc, &mut st, &blocks).await?;
                        }
                    }
                    let rows = tokio::task::block_in_place(|| {
                        let mut rows = BtcRows::default();
                        for b in &blocks {
                            let s = block_rows(
                                b,
                                source.params(),
                                want,
                                enrich.then_some(&mut st.index),
                                &mut rows,
                            );
                            st.stats.resolved += s.resolved;
                            st.stats.unresolved += s.unresolved;
                        }
                        rows
                    });
                    if let Some(last) = blocks.last() {
                        st.next = last.height + 1;
                    }
                    let heap = st.index.heap_bytes();
                    if heap > st.peak_heap_bytes {
                        st.peak_heap_bytes = heap;
                    }
                    st.peak_unspent = st.peak_unspent.max(st.index.len());
                    // a full channel waits for the writer (bounded memory)
                    let sent = tokio::task::block_in_place(|| rows_tx.send(rows));
                    if sent.is_err() {
                        break; // the writer failed: its error is reported below
                    }
                }
                drop(st);
                guard.finish();
                drop(rows_tx);
                let files = writer
                    .await
                    .map_err(|e| eyre!("internal error: writer task: {e}"))??;
                eyre::Ok(
                    files
                        .into_iter()
                        .map(|(t, f)| (t.name(), f))
                        .collect::<Vec<_>>(),
                )
            });
            async move {
                task.await
                    .map_err(|e| eyre!("internal error: chunk task failed: {e} (please report)"))?
            }
        },
    )
    .await;

    let st = state.lock().await;
    let unspent = st.index.len();
    let heap = st.index.heap_bytes();
    let report = Report {
        ledgerflow_version: env!("CARGO_PKG_VERSION"),
        command: "export bitcoin",
        source: source_desc,
        chain: params.chain,
        network: params.network,
        lake_chain: &chain,
        rpc_mode: matches!(source, Source::Rpc(_)).then(|| mode_name(rpc_mode)),
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

/// Brings the index up to `start` (file source: reads and indexes the blocks before the
/// chunk, e.g. from genesis, or skipped chunks that are already in the lake). Over RPC the
/// blocks before are not fetched: their outputs come from `getrawtransaction` as needed.
async fn catch_up(
    source: &Source,
    st: &mut EnrichState,
    start: i64,
    group: i64,
) -> eyre::Result<()> {
    if st.next >= start {
        return Ok(());
    }
    match source {
        Source::Rpc(_) => {
            st.next = start;
        }
        Source::Files(_) => {
            tracing::info!(target: "ledgerflow::export", from = st.next, to = start - 1, "indexing the outputs of earlier blocks for enrichment");
            let mut h = st.next;
            while h < start {
                let e = (h + group - 1).min(start - 1);
                let blocks = source.blocks(h, e).await?;
                tokio::task::block_in_place(|| {
                    let mut sink = BtcRows::default();
                    let none = Want {
                        blocks: false,
                        transactions: false,
                        inputs: false,
                        outputs: false,
                    };
                    for b in &blocks {
                        block_rows(b, source.params(), none, Some(&mut st.index), &mut sink);
                    }
                });
                h = e + 1;
            }
            st.next = start;
        }
    }
    Ok(())
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

/// Over RPC: the outputs spent by `blocks` that neither the index nor the blocks themselves
/// hold (created before the exported range) are fetched with `getrawtransaction`.
async fn fetch_missing_prevouts(
    rpc: &RpcSource,
    st: &mut EnrichState,
    blocks: &[Block],
) -> eyre::Result<()> {
    st.prevouts_fetched += rpc.load_missing_prevouts(&mut st.index, blocks).await?;
    Ok(())
}

fn write_rows(
    files: &mut [(BtcTable, TableFile)],
    rows: &BtcRows,
    format: Format,
    style: EtlStyle,
) -> eyre::Result<()> {
    for (t, f) in files.iter_mut() {
        match format {
            Format::Parquet => {
                let batch = match t {
                    BtcTable::Blocks => BtcBlockRow::to_batch(&rows.blocks),
                    BtcTable::Transactions => BtcTransactionRow::to_batch(&rows.transactions),
                    BtcTable::Inputs => BtcInputRow::to_batch(&rows.inputs),
                    BtcTable::Outputs => BtcOutputRow::to_batch(&rows.outputs),
                }?;
                if batch.num_rows() > 0 {
                    f.write(&batch)?;
                }
            }
            Format::Csv | Format::Json => {
                let mut text = String::new();
                let n = match t {
                    BtcTable::Blocks => {
                        for b in &rows.blocks {
                            if format == Format::Csv {
                                text.push_str(&etl::block_csv(b));
                            } else {
                                text.push_str(&etl::block_json(b, style));
                                text.push('\n');
                            }
                        }
                        rows.blocks.len()
                    }
                    BtcTable::Transactions => {
                        for x in &rows.transactions {
                            if format == Format::Csv {
                                text.push_str(&etl::transaction_csv(x, style));
                            } else {
                                text.push_str(&etl::transaction_json(x, style));
                                text.push('\n');
                            }
                        }
                        rows.transactions.len()
                    }
                    BtcTable::Inputs | BtcTable::Outputs => 0,
                };
                f.write_text(&text, n as u64)?;
            }
        }
    }
    Ok(())
}
