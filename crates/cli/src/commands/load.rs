//! `ledgerflow load postgres`.

use std::process::ExitCode;

use eyre::WrapErr;
use indicatif::{ProgressBar, ProgressStyle};
use ledgerflow_lake::Lake;
use ledgerflow_postgres::{load::redact, LoadOptions};

use crate::args::LoadPostgresArgs;

pub async fn postgres(a: LoadPostgresArgs, quiet: bool) -> eyre::Result<ExitCode> {
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    let opts = LoadOptions {
        url: a.url.clone(),
        chains: a.chain.clone(),
        tables: a.tables.clone(),
        force: a.force,
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {pos} chunks {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    };
    let report = ledgerflow_postgres::load(&lake, &opts, |c| {
        bar.inc(1);
        bar.set_message(format!("{} {}", c.table, c.file));
        tracing::debug!(table = %c.table, file = %c.file, rows = c.rows, skipped = c.skipped, "chunk");
    })
    .await
    .wrap_err_with(|| format!("loading {} into {}", a.lake.display(), redact(&a.url)))?;
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !quiet {
        for (t, rows) in &report.tables {
            println!("  {t:<44} {rows:>10} rows");
        }
        println!(
            "loaded {} chunks ({} rows, {:.1} MB of COPY data) in {:.2} s; {} chunks unchanged",
            report.loaded,
            report.rows,
            report.bytes as f64 / 1e6,
            report.seconds,
            report.skipped
        );
    }
    Ok(ExitCode::SUCCESS)
}
