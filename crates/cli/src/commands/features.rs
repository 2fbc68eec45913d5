//! `ledgerflow features`: actor features per window into a Parquet file.

use std::process::ExitCode;

use eyre::{bail, WrapErr};
use ledgerflow_ml::features::lake::{self as flake, Request};
use ledgerflow_ml::features::{evm, parse_duration, utxo, Family, Level};

use super::threads_or_cores;
use crate::args::{FeatureKind, FeatureLevel, FeaturesArgs};

/// Unix seconds of `--until`: a date means the end of that day (UTC), a date and time
/// that second, digits Unix seconds.
pub fn parse_until(s: &str) -> eyre::Result<i64> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .wrap_err_with(|| format!("--until {s:?}: not a Unix time"));
    }
    let Some(secs) = ledgerflow_ml::split::parse_date(t) else {
        bail!("--until {s:?}: write YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or Unix seconds");
    };
    let date_only = !t.contains(['T', ' ']);
    Ok(if date_only {
        secs as i64 + 86_399
    } else {
        secs.floor() as i64
    })
}

/// A feature catalog: (name, family, definition).
type Catalog = &'static [(&'static str, Family, &'static str)];

fn describe(kind: FeatureKind) {
    let lists: Vec<(&str, Catalog)> = match kind {
        FeatureKind::Utxo => vec![("UTXO chains (Bitcoin family)", utxo::UTXO)],
        FeatureKind::Evm => vec![("account chains (EVM)", evm::EVM)],
        FeatureKind::All => vec![
            ("UTXO chains (Bitcoin family)", utxo::UTXO),
            ("account chains (EVM)", evm::EVM),
        ],
    };
    println!("Columns besides the features: address (address level) or entity and");
    println!("entity_address (entity level); window_start, window_end, first_block,");
    println!("last_block; label and label_source (with address_labels). Missing values are");
    println!("nulls.\n");
    for (title, list) in lists {
        println!("# {title}: {} features", list.len());
        let mut last = None;
        for (name, fam, def) in list {
            if last != Some(*fam) {
                println!("\n## {}", fam.name());
                last = Some(*fam);
            }
            println!("{name:<34} {def}");
        }
        println!(
            "\n## neighbourhood, with labels\n{:<34} Share of its counterparties that carry a label.\n{:<34} Share of its counterparties labelled CATEGORY (one column per category).\n",
            ledgerflow_ml::features::LABELLED_SHARE,
            format!("{}CATEGORY", ledgerflow_ml::features::LABEL_SHARE_PREFIX),
        );
    }
}

pub fn run(a: FeaturesArgs, quiet: bool) -> eyre::Result<ExitCode> {
    if a.describe {
        describe(a.kind);
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(chain), Some(output)) = (a.chain.clone(), a.output.clone()) else {
        bail!("--chain and -o/--output are needed (or --describe)");
    };
    if output.extension().is_none_or(|e| e != "parquet") {
        bail!(
            "{}: the feature file is Parquet (its metadata describes every column and records \
             the lake chunks read): name it *.parquet",
            output.display()
        );
    }
    let window = parse_duration(&a.window).map_err(|e| eyre::eyre!("--window {e}"))?;
    let step = match &a.step {
        Some(s) => parse_duration(s).map_err(|e| eyre::eyre!("--step {e}"))?,
        None => window,
    };
    if a.windows == 0 {
        bail!("--windows must be at least 1");
    }
    let until = a.until.as_deref().map(parse_until).transpose()?;
    let req = Request {
        lake: a.lake.clone(),
        chain: chain.clone(),
        level: match a.level {
            FeatureLevel::Address => Level::Address,
            FeatureLevel::Entity => Level::Entity,
        },
        window,
        until,
        until_block: a.until_block.map(|b| b.min(i64::MAX as u64) as i64),
        step,
        windows: a.windows,
        labels: !a.no_labels,
        label_features: !a.no_label_features,
        threads: threads_or_cores(a.threads),
    };
    let started = std::time::Instant::now();
    let pb = crate::progress::spinner(quiet, &format!("features of {chain}"));
    let mut x = flake::extract(&req)?;
    let rows = flake::write_parquet(&mut x, &output)?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    for w in &x.meta.windows {
        tracing::info!(
            start = w.start,
            end = w.end,
            first_block = w.first_block,
            last_block = w.last_block,
            rows = w.rows,
            "window"
        );
    }
    println!(
        "{rows} rows ({} level, {} window{}) × {} features → {}",
        req.level.name(),
        x.meta.windows.len(),
        if x.meta.windows.len() == 1 { "" } else { "s" },
        x.meta.columns.len(),
        output.display()
    );
    if let (Some(f), Some(l)) = (x.meta.windows.first(), x.meta.windows.last()) {
        println!(
            "blocks {}..={} (windows ending {} .. {})",
            f.first_block.map_or("-".into(), |b| b.to_string()),
            l.last_block.map_or("-".into(), |b| b.to_string()),
            f.end,
            l.end
        );
    }
    if let Some(lab) = &x.meta.labels {
        println!(
            "labels: {} addresses in {} categories ({})",
            lab.addresses,
            lab.categories.len(),
            lab.categories.join(", ")
        );
    }
    println!(
        "lake: {} chunks of {} up to block {}, Merkle root {}",
        x.meta.lake.chunks,
        x.meta.lake.tables.join(", "),
        x.meta.lake.until_block.unwrap_or(-1),
        x.meta.lake.merkle_root
    );
    println!("{:.0} rows/s ({secs:.2} s)", rows as f64 / secs.max(1e-9));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_forms() {
        assert_eq!(parse_until("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_until("1970-01-02").unwrap(), 86_400 + 86_399);
        assert_eq!(parse_until("1970-01-02T01:00").unwrap(), 86_400 + 3600);
        assert!(parse_until("yesterday").is_err());
    }
}
