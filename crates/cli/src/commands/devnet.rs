//! `ledgerflow devnet run`: a local anvil with the seeded workload.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_devnet::{find_anvil, generate, Anvil, AnvilOptions, WorkloadConfig};

use crate::args::DevnetRunArgs;

pub async fn run(a: DevnetRunArgs) -> eyre::Result<ExitCode> {
    let bin = find_anvil(a.anvil.as_deref())?;
    let anvil = Anvil::start(
        &bin,
        &AnvilOptions {
            port: a.port,
            ..Default::default()
        },
    )
    .await?;
    eprintln!("anvil listening on {}", anvil.url());
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
        "generated {} blocks, {} transactions ({} meant to fail) in {:.1} s",
        summary.head,
        summary.transactions,
        summary.failed_transactions,
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if !a.exit {
        eprintln!("serving on {} until Ctrl-C or SIGTERM", anvil.url());
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    anvil.stop().await;
    Ok(ExitCode::SUCCESS)
}
