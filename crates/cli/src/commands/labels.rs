//! `ledgerflow labels import`.

use std::process::ExitCode;

use eyre::bail;
use ledgerflow_lake::Lake;

use crate::args::LabelsImportArgs;

pub fn import(a: LabelsImportArgs) -> eyre::Result<ExitCode> {
    let chain = match &a.chain {
        Some(c) => c.clone(),
        None => {
            let chains = Lake::new(&a.lake).chains()?;
            match chains.as_slice() {
                [one] => one.clone(),
                [] => bail!("{}: the lake has no chain", a.lake.display()),
                many => bail!(
                    "{}: the lake has several chains ({}): pick one with --chain",
                    a.lake.display(),
                    many.join(", ")
                ),
            }
        }
    };
    let r = ledgerflow_ml::labels::import(&a.lake, &chain, &a.files, a.replace)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} labels read from {} file{}; address_labels of {chain}: {} rows, {} addresses",
        r.read,
        r.files.len(),
        if r.files.len() == 1 { "" } else { "s" },
        r.rows,
        r.addresses
    );
    let cats: Vec<String> = r
        .categories
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    println!("categories: {}", cats.join(", "));
    if r.unknown > 0 {
        println!(
            "unknown: {} labelled addresses do not appear on the chain (kept, known = false), e.g. {}",
            r.unknown,
            r.unknown_examples.join(", ")
        );
    }
    if r.address_conflicts > 0 {
        println!(
            "conflicts: {} addresses carry more than one category (the most frequent wins)",
            r.address_conflicts
        );
    }
    if r.entities > 0 {
        println!(
            "entities: {} labelled, {} with conflicting labels{}",
            r.entities,
            r.entity_conflicts,
            if r.entity_conflict_examples.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.entity_conflict_examples.join("; "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
