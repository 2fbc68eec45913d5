//! `ledgerflow demo`: start anvil, generate a seeded workload, export every table, summarise.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_devnet::{find_anvil, generate, Anvil, AnvilOptions, WorkloadConfig};

use crate::args::{DemoArgs, ExportEvmArgs};

pub async fn run(a: DemoArgs, quiet: bool) -> eyre::Result<ExitCode> {
    let bin = find_anvil(a.anvil.as_deref())?;
    let anvil = Anvil::start(&bin, &AnvilOptions::default()).await?;
    eprintln!("1/3 started anvil ({}) on {}", bin.display(), anvil.url());
    let cfg = WorkloadConfig {
        seed: a.seed,
        blocks: a.blocks,
        txs_per_block: a.txs_per_block,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let summary = generate(&anvil.url(), cfg)
        .await
        .wrap_err("generating the workload")?;
    eprintln!(
        "2/3 generated {} blocks with {} transactions ({} meant to fail) in {:.1} s (seed {})",
        summary.head,
        summary.transactions,
        summary.failed_transactions,
        started.elapsed().as_secs_f64(),
        a.seed
    );
    eprintln!("3/3 exporting every table into {}", a.output.display());
    let export = ExportEvmArgs {
        rpc: anvil.url(),
        blocks: "0:latest".into(),
        tables: vec!["all".into()],
        traces: "auto".into(),
        token_block: "chunk-end".into(),
        chain_id: None,
        per_tx_receipts: false,
        output: a.output.clone(),
        format: "parquet".into(),
        etl_version: "2.4".into(),
        chain_name: None,
        all_token_standards: false,
        chunk_size: 1000,
        overwrite: true,
        zstd_level: 1,
        report: None,
        dry_run: false,
        concurrency: 8,
        chunk_concurrency: 2,
        batch_size: 50,
        group_blocks: 100,
        groups_in_flight: 3,
        rps: None,
        timeout: 30.0,
        retries: 5,
    };
    let code = crate::commands::export_evm::run(export, quiet).await?;
    anvil.stop().await;
    eprintln!("actions generated:");
    for (k, n) in &summary.actions {
        eprintln!("  {k:<26} {n:>6}");
    }
    eprintln!("lake: {}/anvil/<table>/*.parquet", a.output.display());
    Ok(code)
}
