//! `ledgerflow lake …`: lake maintenance.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_lake::Lake;

use crate::args::{LakeCheckArgs, LakeCompactArgs};

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

pub fn compact(a: LakeCompactArgs) -> eyre::Result<ExitCode> {
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    if a.target_blocks < 2 {
        eyre::bail!("--target-blocks must be at least 2");
    }
    let lake = Lake::new(&a.lake);
    let opts = ledgerflow_lake::compact::CompactOptions {
        chain: a.chain.clone(),
        table: a.table.clone(),
        target_blocks: a.target_blocks,
        dry_run: a.dry_run,
    };
    let report = ledgerflow_lake::compact::compact(&lake, &opts)
        .wrap_err_with(|| format!("compacting the lake {}", a.lake.display()))?;
    for m in &report.merges {
        if a.dry_run {
            println!(
                "would merge {} files of {} into {}",
                m.files, m.table, m.into
            );
        } else {
            println!(
                "merged {} files of {} into {} ({} rows)",
                m.files, m.table, m.into, m.rows
            );
        }
    }
    let files: usize = report.merges.iter().map(|m| m.files).sum();
    println!(
        "{}{} merges of {files} files; {} leftover files of an interrupted compaction {}",
        if a.dry_run { "dry run: " } else { "" },
        report.merges.len(),
        report.leftovers_removed,
        if a.dry_run { "to remove" } else { "removed" }
    );
    Ok(ExitCode::SUCCESS)
}
