//! `ledgerflow entities build|why`.

use std::process::ExitCode;
use std::time::Instant;

use eyre::WrapErr;
use ledgerflow_entities::change::{ChangeSpec, Combine};
use ledgerflow_entities::{CoinJoinMode, Options};
use ledgerflow_lake::Lake;

use crate::args::{CoinJoinArg, CombineArg, EntitiesBuildArgs, EntitiesWhyArgs, WhyFormat};

fn lake_of(path: &std::path::Path) -> eyre::Result<Lake> {
    if !path.is_dir() {
        eyre::bail!("no such lake folder: {}", path.display());
    }
    Ok(Lake::new(path))
}

/// The clustering options of the flags (validated before any I/O).
pub fn options(a: &EntitiesBuildArgs) -> eyre::Result<Options> {
    let combine = match a.change_combine {
        CombineArg::All => Combine::All,
        CombineArg::Any => Combine::Any,
    };
    let change = ChangeSpec::parse(&a.change, combine).map_err(|e| eyre::eyre!("--change: {e}"))?;
    if !(0.0..=1.0).contains(&a.change_min_confidence) {
        eyre::bail!(
            "--change-min-confidence {} must lie between 0 and 1",
            a.change_min_confidence
        );
    }
    Ok(Options {
        coinjoin: match a.coinjoin {
            CoinJoinArg::Exclude => CoinJoinMode::Exclude,
            CoinJoinArg::Include => CoinJoinMode::Include,
            CoinJoinArg::Flag => CoinJoinMode::Flag,
        },
        change,
        guard_size: a.guard_size,
        min_confidence: a.change_min_confidence,
        labels: None,
    })
}

pub async fn build(a: EntitiesBuildArgs, quiet: bool) -> eyre::Result<ExitCode> {
    let mut opts = options(&a)?;
    let lake = lake_of(&a.lake)?;
    ledgerflow_entities::ledger::check_chain(&lake, &a.chain)?;
    if a.guard_labels {
        let rows = ledgerflow_entities::labels::read_table(&lake, &a.chain)?;
        if rows.is_empty() {
            eyre::bail!(
                "--guard-labels: {} has no address_labels (import some with `ledgerflow labels import`)",
                a.chain
            );
        }
        let (cats, _) = ledgerflow_entities::labels::address_categories(&rows);
        opts.labels = Some(std::sync::Arc::new(cats));
    }
    if !ledgerflow_entities::ledger::is_utxo(&lake, &a.chain)? {
        return build_evm(a, lake).await;
    }
    if a.deposit || a.token.is_some() {
        eyre::bail!(
            "--deposit and --token are for account (EVM) chains; {} is a UTXO chain",
            a.chain
        );
    }
    let started = Instant::now();
    let spinner = crate::progress::spinner(quiet, &format!("clustering {}", a.chain));
    let chain = a.chain.clone();
    let rebuild = a.rebuild;
    let report = tokio::task::spawn_blocking(move || {
        ledgerflow_entities::build(&lake, &chain, &opts, rebuild)
    })
    .await
    .wrap_err("the clustering task failed")?
    .wrap_err_with(|| format!("entities build for chain {}", a.chain))?;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["seconds"] = serde_json::json!(secs);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: blocks {}..={}, {} transactions ({} clustered now, {}), {} inputs, {} addresses \
             -> {} entities ({} with several addresses, largest {}); {} merges, {} refused by \
             the guard, {} refused for confidence, {} CoinJoins, {} change outputs; {:.2} s",
            report.chain,
            report.first_block,
            report.last_block,
            report.transactions,
            report.clustered,
            report.mode,
            report.inputs,
            report.addresses,
            report.entities,
            report.multi_address_entities,
            report.largest_entity,
            report.merges,
            report.refused_guard,
            report.refused_confidence,
            report.coinjoins,
            report.change_outputs,
            secs
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn build_evm(a: EntitiesBuildArgs, lake: Lake) -> eyre::Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.deposit_min_share) {
        eyre::bail!(
            "--deposit-min-share {} must lie between 0 and 1",
            a.deposit_min_share
        );
    }
    let o = ledgerflow_entities::deposit::DepositOptions {
        max_delay: a.deposit_max_delay,
        min_share: a.deposit_min_share,
        min_deposits: a.deposit_min_count.max(1),
        token: a.token.as_ref().map(|t| t.to_lowercase()),
    };
    let chain = a.chain.clone();
    let deposit = a.deposit;
    let r = tokio::task::spawn_blocking(move || {
        ledgerflow_entities::deposit::build_evm(&lake, &chain, deposit.then_some(&o))
    })
    .await
    .wrap_err("the entities task failed")?
    .wrap_err_with(|| format!("entities build for chain {}", a.chain))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{}: {} transfers, {} addresses -> {} entities; {} deposit addresses joined to {} hot wallets",
            r.chain, r.transfers, r.addresses, r.entities, r.deposits, r.hot_wallets
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn why(a: EntitiesWhyArgs) -> eyre::Result<ExitCode> {
    let lake = lake_of(&a.lake)?;
    let (x, y) = (&a.addresses[0], &a.addresses[1]);
    let e = ledgerflow_entities::why::why(&lake, &a.chain, x, y)
        .wrap_err_with(|| format!("entities why {x} {y}"))?;
    match a.format {
        WhyFormat::Json => println!("{}", serde_json::to_string_pretty(&e)?),
        WhyFormat::Text => print!("{}", ledgerflow_entities::why::render(&e)),
    }
    Ok(ExitCode::SUCCESS)
}
