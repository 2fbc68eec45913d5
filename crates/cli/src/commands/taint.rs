//! `ledgerflow taint`.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_entities::taint::{Model, TaintOptions};
use ledgerflow_entities::taint_run::{self, SeedSpec};
use ledgerflow_lake::Lake;

use crate::args::{ModelArg, TaintArgs, TaintFormat};

async fn run_evm(a: TaintArgs, lake: Lake) -> eyre::Result<ExitCode> {
    use ledgerflow_entities::evm_taint::{run_evm, write_accounts, AccountModel};
    let model = match a.model {
        ModelArg::Haircut => AccountModel::Haircut,
        ModelArg::Fifo => AccountModel::Fifo,
        m => eyre::bail!(
            "--model {m:?}: account chains support haircut (share of the balance) and fifo"
        ),
    };
    let name = if model == AccountModel::Haircut {
        "haircut"
    } else {
        "fifo"
    };
    let chain = a.chain.clone();
    let seeds = a.seeds.clone();
    let token = a.token.as_ref().map(|t| t.to_lowercase());
    let max = a.max_height;
    let out_lake = lake.clone();
    let r = tokio::task::spawn_blocking(move || run_evm(&lake, &chain, &seeds, model, token, max))
        .await
        .wrap_err("the taint task failed")?
        .wrap_err_with(|| format!("taint on chain {}", a.chain))?;
    let hi = a.max_height.unwrap_or(i64::MAX).clamp(0, i64::MAX) as u64;
    let (chunks, _) = out_lake.parquet_chunks(&a.chain, "transactions")?;
    let last = chunks.last().map(|c| c.range.end).unwrap_or(0).min(hi);
    write_accounts(
        &out_lake,
        &a.chain,
        name,
        &r,
        ledgerflow_core::BlockRange::new(0, last),
    )?;
    let ether = &r[0];
    let v = serde_json::json!({
        "model": name, "seeds": a.seeds, "total_tainted": ether.total_tainted,
        "outputs": 0, "addresses": ether.accounts.len(), "entities": ether.accounts.len(),
        "max_hops": ether.max_hops, "assets": r,
    });
    match a.format {
        TaintFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        TaintFormat::Text => {
            for x in &r {
                println!(
                    "{name} {}: seed value {}, {} held at the end by {} accounts, up to {} hops",
                    x.asset,
                    x.seed_value,
                    x.total_tainted,
                    x.accounts.len(),
                    x.max_hops
                );
                for acc in x.accounts.iter().take(10) {
                    println!("  {:>28}  {}", acc.held, acc.address);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(a: TaintArgs) -> eyre::Result<ExitCode> {
    if a.lake.is_dir() {
        let lake = Lake::new(&a.lake);
        if lake.root().join(&a.chain).is_dir()
            && !ledgerflow_entities::ledger::is_utxo(&lake, &a.chain)?
        {
            if a.plot.is_some() {
                eyre::bail!("--plot is drawn for UTXO chains only");
            }
            return run_evm(a, lake).await;
        }
    }
    if a.token.is_some() {
        eyre::bail!(
            "--token is for account (EVM) chains; {} is a UTXO chain",
            a.chain
        );
    }
    let seeds = a
        .seeds
        .iter()
        .map(|s| SeedSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(p) = &a.plot {
        crate::plot::check_path(p)?;
    }
    if !a.lake.is_dir() {
        eyre::bail!("no such lake folder: {}", a.lake.display());
    }
    let lake = Lake::new(&a.lake);
    let o = TaintOptions {
        model: match a.model {
            ModelArg::Poison => Model::Poison,
            ModelArg::Haircut => Model::Haircut,
            ModelArg::Fifo => Model::Fifo,
            ModelArg::Lifo => Model::Lifo,
            ModelArg::Tiho => Model::Tiho,
        },
        max_height: a.max_height,
        min_value: a.min_value,
        no_fee: a.no_fee,
    };
    let chain = a.chain.clone();
    let started = std::time::Instant::now();
    let r = tokio::task::spawn_blocking(move || taint_run::run(&lake, &chain, &seeds, &o))
        .await
        .wrap_err("the taint task failed")?
        .wrap_err_with(|| format!("taint on chain {}", a.chain))?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(p) = &a.plot {
        let f = &r.families[0];
        let hops: Vec<(String, f64)> = f
            .by_hop
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.parse::<f64>().unwrap_or(0.0)))
            .collect();
        let ents: Vec<(String, f64)> = f
            .top_entities
            .iter()
            .map(|(e, v)| {
                (
                    e.chars().take(10).collect(),
                    v.parse::<f64>().unwrap_or(0.0),
                )
            })
            .collect();
        crate::plot::taint(
            p,
            &format!("{} taint of {} on {}", r.model, f.family, a.chain),
            &hops,
            &ents,
        )?;
    }
    match a.format {
        TaintFormat::Json => {
            let mut v = serde_json::to_value(&r)?;
            v["seconds"]["total"] = serde_json::json!(secs);
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        TaintFormat::Text => {
            for f in &r.families {
                println!(
                    "{} {}: seeds {} ({} base units): {} tainted outputs, {} addresses, {} entities, up to {} hops; {} held unspent at block {}, {} paid as fees, {} cut off",
                    r.model,
                    f.family,
                    f.seeds.join(","),
                    f.seed_value,
                    f.outputs,
                    f.addresses,
                    f.entities,
                    f.max_hops,
                    f.total_tainted,
                    r.max_height,
                    f.fee_taint,
                    f.cut_off
                );
                for (e, v) in &f.top_entities {
                    println!("  {v:>20}  {e}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
