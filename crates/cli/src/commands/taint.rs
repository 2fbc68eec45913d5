//! `ledgerflow taint`.

use std::process::ExitCode;

use eyre::WrapErr;
use ledgerflow_entities::taint::{Model, TaintOptions};
use ledgerflow_entities::taint_run::{self, SeedSpec};
use ledgerflow_lake::Lake;

use crate::args::{ModelArg, TaintArgs, TaintFormat};

pub async fn run(a: TaintArgs) -> eyre::Result<ExitCode> {
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
            v["seconds"] = serde_json::json!(secs);
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
