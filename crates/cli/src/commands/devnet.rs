//! `ledgerflow devnet run`: a local anvil with the seeded workload.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_devnet::{
    find_anvil, generate, Anvil, AnvilOptions, WorkloadConfig, WorkloadSummary,
};

use crate::args::{DevnetLitecoinArgs, DevnetRunArgs};

/// Starts anvil (found as `find_anvil` does) on `port` (0: any free port) and generates the
/// seeded workload on it; prints what was generated.
pub async fn start_with_workload(
    anvil_bin: Option<&std::path::Path>,
    port: u16,
    cfg: WorkloadConfig,
) -> eyre::Result<(Anvil, WorkloadSummary)> {
    let bin = find_anvil(anvil_bin)?;
    let anvil = Anvil::start(
        &bin,
        &AnvilOptions {
            port,
            ..Default::default()
        },
    )
    .await?;
    eprintln!("started anvil ({}) on {}", bin.display(), anvil.url());
    let seed = cfg.seed;
    let started = std::time::Instant::now();
    let summary = generate(&anvil.url(), cfg)
        .await
        .wrap_err("generating the workload")?;
    eprintln!(
        "generated {} blocks with {} transactions ({} meant to fail) in {:.1} s (seed {seed})",
        summary.head,
        summary.transactions,
        summary.failed_transactions,
        started.elapsed().as_secs_f64()
    );
    Ok((anvil, summary))
}

pub async fn run(a: DevnetRunArgs) -> eyre::Result<ExitCode> {
    let (anvil, summary) =
        start_with_workload(a.workload.anvil.as_deref(), a.port, a.workload.config()).await?;
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

/// `ledgerflow devnet litecoin`.
pub async fn litecoin(a: DevnetLitecoinArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_devnet::litecoin::{
        generate_utxo, write_ground_truth, write_roles, Litecoind, UtxoWorkloadConfig,
    };
    let node = Litecoind::start(a.litecoind.as_deref(), a.port, a.datadir.as_deref()).await?;
    eprintln!(
        "started litecoind (regtest) on {} with data directory {}",
        node.url(),
        node.datadir.display()
    );
    let started = std::time::Instant::now();
    let cfg = UtxoWorkloadConfig {
        seed: a.seed,
        blocks: a.blocks,
        txs_per_block: a.txs_per_block,
        entities: a.entities,
        roles: a.roles,
        ..Default::default()
    };
    let summary = generate_utxo(&node, &cfg)
        .await
        .wrap_err("generating the UTXO workload")?;
    eprintln!(
        "generated blocks up to {} with {} transactions in {:.1} s (seed {})",
        summary.head,
        summary.transactions,
        started.elapsed().as_secs_f64(),
        a.seed
    );
    if let Some(p) = &a.ground_truth {
        write_ground_truth(p, &summary.ground_truth)?;
    }
    if let Some(p) = &a.roles_file {
        write_roles(p, &summary)?;
    }
    if let Some(p) = &a.actions_file {
        ledgerflow_devnet::litecoin::write_actions(p, &summary)?;
    }
    let out = serde_json::json!({
        "rpc": node.url(),
        "datadir": node.datadir,
        "head": summary.head,
        "transactions": summary.transactions,
        "actions": summary.actions,
        "addresses": summary.ground_truth.len(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    if !a.exit {
        eprintln!("serving on {} until Ctrl-C or SIGTERM", node.url());
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    node.stop().await;
    Ok(ExitCode::SUCCESS)
}
