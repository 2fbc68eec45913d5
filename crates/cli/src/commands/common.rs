//! What every export shares: argument validation, the dry-run plan, the run report and the
//! closing summary and exit code.

use std::process::ExitCode;
use std::time::Duration;

use eyre::{bail, eyre};
use ledgerflow_core::BlockRange;
use ledgerflow_lake::Format;
use ledgerflow_rpc::RpcConfig;

use crate::args::{OutputArgs, RpcTuning};
use ledgerflow_lake::runner::{ChunkPlan, ParquetLayout, RunTotals};

/// Validates the output arguments; returns the format of the chunk files (`delta` writes
/// Parquet chunks, see [`wants_delta`]).
pub fn output_format(o: &OutputArgs) -> eyre::Result<Format> {
    let format: Format = if wants_delta(o) {
        Format::Parquet
    } else {
        o.format
            .parse()
            .map_err(|e: String| eyre!("{}", e.replace("(parquet,", "(parquet, delta,")))?
    };
    if o.chunk_size == 0 {
        bail!("--chunk-size must be at least 1");
    }
    if !(1..=22).contains(&o.zstd_level) {
        bail!("--zstd-level must be between 1 and 22");
    }
    Ok(format)
}

/// Whether the run keeps a Delta Lake log in each table folder (`--format delta`).
pub fn wants_delta(o: &OutputArgs) -> bool {
    o.format.eq_ignore_ascii_case("delta")
}

/// The name of the output format in reports and plans.
pub fn format_name(o: &OutputArgs, format: Format) -> &'static str {
    if wants_delta(o) {
        "delta"
    } else {
        format.ext()
    }
}

/// Validates the RPC arguments and builds the client settings.
pub fn rpc_config(url: &str, t: &RpcTuning) -> eyre::Result<RpcConfig> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--rpc {url:?} is not an http(s) URL (WebSocket and IPC are not supported yet)");
    }
    if t.concurrency == 0 || t.chunk_concurrency == 0 || t.batch_size == 0 {
        bail!("--concurrency, --chunk-concurrency and --batch-size must be at least 1");
    }
    if !(t.timeout > 0.0 && t.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    if let Some(r) = t.rps {
        if !(r > 0.0 && r.is_finite()) {
            bail!("--rps must be a positive number");
        }
    }
    let mut rpc = RpcConfig::new(url);
    rpc.timeout = Duration::from_secs_f64(t.timeout);
    rpc.max_retries = t.retries;
    rpc.max_concurrent_requests = t.concurrency;
    rpc.batch_size = t.batch_size;
    rpc.requests_per_second = t.rps;
    Ok(rpc)
}

/// Prints the plan of a dry run.
pub fn print_plan(
    what: &str,
    range: BlockRange,
    chunks: &[ChunkPlan],
    o: &OutputArgs,
    format: Format,
    tables: &[&str],
) {
    let todo = chunks.iter().filter(|c| !c.done).count();
    println!(
        "plan: export blocks {range} ({} blocks) of {what}",
        range.len()
    );
    println!(
        "      {} chunks of up to {} blocks: {} to write, {} already in {}",
        chunks.len(),
        o.chunk_size,
        todo,
        chunks.len() - todo,
        o.output.display()
    );
    println!(
        "      format {}, tables: {}",
        format_name(o, format),
        tables.join(", ")
    );
    for c in chunks.iter().take(20) {
        println!(
            "      {} {}",
            c.range,
            if c.done { "(done, skipped)" } else { "" }
        );
    }
    if chunks.len() > 20 {
        println!("      … {} more", chunks.len() - 20);
    }
    println!();
}

/// Prints the closing summary and maps the outcome to the exit code (0 done, 1 some chunks
/// written before a failure, 2 nothing written).
pub fn finish(
    quiet: bool,
    range: BlockRange,
    chain: &str,
    totals: &RunTotals,
    report_path: &std::path::Path,
    extra: &[String],
) -> ExitCode {
    if !quiet {
        eprintln!(
            "{} blocks {range} of {chain}: {} chunks written, {} already there, {:.2} s",
            if totals.error.is_some() {
                "FAILED"
            } else {
                "exported"
            },
            totals.chunks_written,
            totals.chunks_skipped,
            totals.seconds
        );
        for (t, n) in &totals.rows {
            eprintln!("  {t:<16} {n:>10} rows");
        }
        for line in extra {
            eprintln!("  {line}");
        }
        eprintln!("  report: {}", report_path.display());
    }
    match &totals.error {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if totals.chunks_written > 0 { 1 } else { 2 })
        }
    }
}

/// Validates `--zstd-level`, `--row-group-size` and `--row-group-mb` into the chunk files'
/// Parquet layout.
pub fn parquet_layout(out: &OutputArgs) -> eyre::Result<ParquetLayout> {
    if out.row_group_size == 0 {
        bail!("--row-group-size must be at least 1");
    }
    if !(out.row_group_mb >= 0.0 && out.row_group_mb.is_finite()) {
        bail!("--row-group-mb must be 0 (no limit) or more");
    }
    Ok(ParquetLayout {
        zstd_level: out.zstd_level,
        row_group_size: out.row_group_size,
        row_group_bytes: (out.row_group_mb * 1024.0 * 1024.0) as usize,
    })
}

/// The Delta logs of a `--format delta` run (`None` otherwise).
pub async fn delta_logs(
    o: &OutputArgs,
    spec: &ledgerflow_lake::runner::RunSpec,
) -> eyre::Result<Option<ledgerflow_delta::DeltaLogs>> {
    if !wants_delta(o) {
        return Ok(None);
    }
    Ok(Some(
        ledgerflow_delta::DeltaLogs::open(&spec.lake, &spec.chain, &spec.tables).await?,
    ))
}
