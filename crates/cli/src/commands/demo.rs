//! `ledgerflow demo`: start anvil, generate a seeded workload, export every table, summarise.

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
    Ok(code)
}
