//! `ledgerflow lake …`: lake maintenance.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_lake::Lake;

use crate::args::LakeCheckArgs;

pub fn check(a: LakeCheckArgs) -> eyre::Result<ExitCode> {
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    let report = ledgerflow_lake::check::check(&lake, a.chain.as_deref())
        .wrap_err_with(|| format!("checking the lake {}", a.lake.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.findings {
            let at = f
                .path
                .as_ref()
                .map(|p| format!(" ({})", p.display()))
                .unwrap_or_default();
            println!("{}/{}: {}{at}", f.chain, f.table, f.message);
        }
        println!(
            "{}: {} chains, {} tables, {} chunks, {} rows, {} count comparisons, {} problems",
            if report.findings.is_empty() {
                "ok"
            } else {
                "FAILED"
            },
            report.chains,
            report.tables,
            report.chunks,
            report.rows,
            report.comparisons,
            report.findings.len()
        );
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
