//! `ledgerflow lake …`: lake maintenance.

use std::process::ExitCode;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eyre::WrapErr;
use ledgerflow_core::BlockRange;
use ledgerflow_lake::Lake;

use crate::args::{LakeCheckArgs, LakeCompactArgs, LakeConvertArgs};

pub async fn check(a: LakeCheckArgs) -> eyre::Result<ExitCode> {
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    let mut report = ledgerflow_lake::check::check(&lake, a.chain.as_deref())
        .wrap_err_with(|| format!("checking the lake {}", a.lake.display()))?;
    // Delta logs agree with the chunk files
    for chain in lake.chains()? {
        if a.chain.as_ref().is_some_and(|c| *c != chain) {
            continue;
        }
        for table in lake.tables(&chain)? {
            for message in ledgerflow_delta::verify(&lake, &chain, &table).await? {
                report.findings.push(ledgerflow_lake::check::Finding {
                    chain: chain.clone(),
                    table: table.clone(),
                    path: Some(
                        lake.table_dir(&chain, &table)
                            .join(ledgerflow_delta::LOG_DIR),
                    ),
                    message,
                });
            }
        }
    }
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

pub async fn compact(a: LakeCompactArgs) -> eyre::Result<ExitCode> {
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
    // Delta tables: the log first catches up with the folder, then each merge is one
    // commit (merged file added, the files it replaces removed) before they are deleted
    let mut logs: BTreeMap<(String, String), ledgerflow_delta::DeltaTable> = BTreeMap::new();
    if !a.dry_run {
        let tables = a.table.clone().map(|t| vec![t]);
        for r in
            ledgerflow_delta::sync_lake(&lake, a.chain.as_deref(), tables.as_deref(), true).await?
        {
            logs.insert(
                (r.chain.clone(), r.table.clone()),
                ledgerflow_delta::DeltaTable::open(&lake, &r.chain, &r.table).await?,
            );
        }
    }
    let handle = tokio::runtime::Handle::current();
    let mut record = |chain: &str,
                      table: &str,
                      range: BlockRange,
                      merged: &Path,
                      replaced: &[PathBuf]|
     -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(d) = logs.get_mut(&(chain.to_string(), table.to_string())) {
            handle.block_on(d.commit(range, &[merged.to_path_buf()], replaced))?;
        }
        Ok(())
    };
    let report = tokio::task::block_in_place(|| {
        ledgerflow_lake::compact::compact_with(&lake, &opts, &mut record)
    })
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

pub async fn convert(a: LakeConvertArgs) -> eyre::Result<ExitCode> {
    if !a.to.eq_ignore_ascii_case("delta") {
        eyre::bail!("--to {:?}: the table format to convert to is delta", a.to);
    }
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    if let Some(c) = &a.chain {
        if !lake.chains()?.contains(c) {
            eyre::bail!(
                "no chain folder {c:?} in {} (chains: {})",
                a.lake.display(),
                lake.chains()?.join(", ")
            );
        }
    }
    let tables = (!a.table.is_empty()).then_some(a.table.as_slice());
    let reports = ledgerflow_delta::sync_lake(&lake, a.chain.as_deref(), tables, false)
        .await
        .wrap_err_with(|| format!("converting the lake {}", a.lake.display()))?;
    if let Some(ts) = tables {
        for t in ts {
            if !reports.iter().any(|r| r.table == *t) {
                eyre::bail!("no table {t:?} in the lake {}", a.lake.display());
            }
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut commits = 0;
    for r in &reports {
        let what = match (r.version, r.committed()) {
            (None, _) => "no chunks, no Delta table".to_string(),
            (Some(v), false) => format!("up to date (version {v})"),
            (Some(v), true) => {
                commits += 1;
                format!(
                    "{} version {v}: {} files added, {} re-added, {} removed",
                    if r.created { "created," } else { "committed" },
                    r.added,
                    r.replaced,
                    r.removed
                )
            }
        };
        println!("{}/{}: {what}", r.chain, r.table);
    }
    println!("{} tables, {commits} commits", reports.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn hash(a: crate::args::LakeHashArgs) -> eyre::Result<ExitCode> {
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    if !lake.chains()?.contains(&a.chain) {
        eyre::bail!(
            "no chain {:?} in the lake {} (chains: {})",
            a.chain,
            a.lake.display(),
            lake.chains()?.join(", ")
        );
    }
    let tables = (!a.table.is_empty()).then_some(a.table.as_slice());
    if let Some(t) = tables {
        let have = lake.tables(&a.chain)?;
        for x in t {
            if !have.contains(x) {
                eyre::bail!(
                    "no table {x:?} in chain {} (tables: {})",
                    a.chain,
                    have.join(", ")
                );
            }
        }
    }
    let h = ledgerflow_lake::hash::hash_chain(&lake, &a.chain, tables, a.until)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&h)?);
    } else {
        for c in &h.chunks {
            println!(
                "{}  {}/{} {}..{}",
                c.sha256, c.chain, c.table, c.start, c.end
            );
        }
        println!("merkle root {} over {} chunks", h.root, h.chunks.len());
    }
    Ok(ExitCode::SUCCESS)
}
