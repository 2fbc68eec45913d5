//! `ledgerflow demo`: start anvil, generate a seeded workload, export every table, summarise;
//! then the same for a UTXO chain: litecoind regtest with the seeded UTXO workload, exported
//! (enriched) from its block files.

use std::process::ExitCode;

use clap::{Args, FromArgMatches};

use crate::args::{DemoArgs, ExportEvmArgs};

pub async fn run(a: DemoArgs, quiet: bool) -> eyre::Result<ExitCode> {
    let (anvil, summary) = crate::commands::devnet::start_with_workload(
        a.workload.anvil.as_deref(),
        0,
        a.workload.config(),
    )
    .await?;
    eprintln!("exporting every table into {}", a.output.display());
    // the export's own defaults, as `ledgerflow export evm` would get them
    let output = a.output.to_string_lossy().into_owned();
    let argv = [
        "export-evm",
        "--rpc",
        &anvil.url(),
        "--output",
        &output,
        "--overwrite",
    ];
    let export = ExportEvmArgs::from_arg_matches(
        &ExportEvmArgs::augment_args(clap::Command::new("export-evm"))
            .try_get_matches_from(argv)?,
    )?;
    let code = crate::commands::export_evm::run(export, quiet).await?;
    anvil.stop().await;
    eprintln!("actions generated:");
    for (k, n) in &summary.actions {
        eprintln!("  {k:<26} {n:>6}");
    }
    eprintln!("lake: {}/anvil/<table>/*.parquet", a.output.display());
    if code != ExitCode::SUCCESS || a.no_bitcoin {
        return Ok(code);
    }
    bitcoin_part(&a, quiet).await
}

async fn bitcoin_part(a: &DemoArgs, quiet: bool) -> eyre::Result<ExitCode> {
    use ledgerflow_devnet::litecoin::{
        find_litecoind, generate_utxo, Litecoind, UtxoWorkloadConfig,
    };
    if let Err(e) = find_litecoind(None) {
        eprintln!("skipping the Bitcoin-family part: {e}");
        return Ok(ExitCode::SUCCESS);
    }
    let tmp = tempfile::tempdir()?;
    let node = Litecoind::start(None, 0, Some(&tmp.path().join("litecoind"))).await?;
    eprintln!("started litecoind (regtest) on {}", node.url());
    let summary = generate_utxo(
        &node,
        &UtxoWorkloadConfig {
            seed: a.workload.seed,
            blocks: 30,
            txs_per_block: 20,
            entities: 30,
            ..Default::default()
        },
    )
    .await?;
    eprintln!(
        "generated blocks up to {} with {} transactions ({:?})",
        summary.head, summary.transactions, summary.actions
    );
    let datadir = node.datadir.clone();
    node.stop().await;
    let output = a.output.to_string_lossy().into_owned();
    let datadir_s = datadir.to_string_lossy().into_owned();
    eprintln!("exporting it from the node's block files into {output}");
    let argv = [
        "export-bitcoin",
        "--datadir",
        &datadir_s,
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "--output",
        &output,
        "--overwrite",
    ];
    let export = crate::args::ExportBitcoinArgs::from_arg_matches(
        &crate::args::ExportBitcoinArgs::augment_args(clap::Command::new("export-bitcoin"))
            .try_get_matches_from(argv)?,
    )?;
    let code = crate::commands::export_bitcoin::run(export, quiet).await?;
    eprintln!(
        "lake: {}/litecoin-regtest/<table>/*.parquet",
        a.output.display()
    );
    Ok(code)
}
