//! `ledgerflow demo`: start anvil, generate a seeded workload, export every table, summarise;
//! then the same for a UTXO chain: litecoind regtest with the seeded UTXO workload, exported
//! (enriched) from its block files.

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
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let code = if a.no_bitcoin {
        code
    } else {
        bitcoin_part(&a, quiet).await?
    };
    if code == ExitCode::SUCCESS {
        sql_summary(&a.output).await?;
    }
    Ok(code)
}

/// What SQL over the new lake shows: rows per dataset and the largest balances from the
/// double-entry book, with the commands to go further.
async fn sql_summary(lake: &std::path::Path) -> eyre::Result<()> {
    let engine = ledgerflow_sql::Engine::open(lake, &ledgerflow_sql::Options::default()).await?;
    eprintln!(
        "\nSQL over the lake (ledgerflow sql -l {}):",
        lake.display()
    );
    for d in engine.datasets() {
        let q = format!(
            "SELECT (SELECT count(*) FROM {0}.blocks) AS blocks, \
             (SELECT count(*) FROM {0}.transactions) AS transactions",
            d.name
        );
        let rows = ledgerflow_sql::output::rows_as_text(engine.sql(&q).await?).await?;
        let (b, t) = rows
            .first()
            .and_then(|r| r.split_once('|'))
            .unwrap_or(("?", "?"));
        eprintln!("  {}: {b} blocks, {t} transactions; top balances:", d.name);
        if engine
            .relations()
            .iter()
            .any(|r| r.name == format!("{}.balances", d.name))
        {
            let unit = if d.family == ledgerflow_sql::catalog::Family::Evm {
                "wei_to_eth"
            } else {
                "sat_to_coin"
            };
            let q = format!(
                "SELECT address, CAST({unit}(balance) AS VARCHAR) FROM {}.balances \
                 ORDER BY balance DESC, address LIMIT 3",
                d.name
            );
            for r in ledgerflow_sql::output::rows_as_text(engine.sql(&q).await?).await? {
                let (addr, bal) = r.split_once('|').unwrap_or((&r, ""));
                eprintln!("    {addr:<46} {bal}");
            }
        }
    }
    eprintln!(
        "try: ledgerflow shell -l {0}    or    ledgerflow sql -l {0} -F docs/queries/03_top_ether_balances.sql",
        lake.display()
    );
    Ok(())
}

async fn bitcoin_part(a: &DemoArgs, quiet: bool) -> eyre::Result<ExitCode> {
    use ledgerflow_devnet::litecoin::{
        find_litecoind, generate_utxo, Litecoind, UtxoWorkloadConfig,
    };
    if let Err(e) = find_litecoind(None) {
        eprintln!("skipping the Bitcoin-family part: {e}");
        return Ok(ExitCode::SUCCESS);
    }
    let tmp = tempfile::tempdir()?;
    let node = Litecoind::start(None, 0, Some(&tmp.path().join("litecoind"))).await?;
    eprintln!("started litecoind (regtest) on {}", node.url());
    let summary = generate_utxo(
        &node,
        &UtxoWorkloadConfig {
            seed: a.workload.seed,
            blocks: 30,
            txs_per_block: 20,
            entities: 30,
            ..Default::default()
        },
    )
    .await?;
    eprintln!(
        "generated blocks up to {} with {} transactions ({:?})",
        summary.head, summary.transactions, summary.actions
    );
    let datadir = node.datadir.clone();
    node.stop().await;
    let output = a.output.to_string_lossy().into_owned();
    let datadir_s = datadir.to_string_lossy().into_owned();
    eprintln!("exporting it from the node's block files into {output}");
    let argv = [
        "export-bitcoin",
        "--datadir",
        &datadir_s,
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "--output",
        &output,
        "--overwrite",
    ];
    let export = crate::args::ExportBitcoinArgs::from_arg_matches(
        &crate::args::ExportBitcoinArgs::augment_args(clap::Command::new("export-bitcoin"))
            .try_get_matches_from(argv)?,
    )?;
    let code = crate::commands::export_bitcoin::run(export, quiet).await?;
    eprintln!(
        "lake: {}/litecoin-regtest/<table>/*.parquet",
        a.output.display()
    );
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    entities_part(&a.output).await?;
    Ok(code)
}

/// Clusters the Litecoin chain, ranks its entities and traces a taint through it.
async fn entities_part(output: &std::path::Path) -> eyre::Result<()> {
    use crate::args::{
        GraphArgs, GraphBuildArgs, LevelArg, ModelArg, PagerankArgs, TaintArgs, TaintFormat,
    };
    let chain = "litecoin-regtest".to_string();
    let lake = ledgerflow_lake::Lake::new(output);
    eprintln!("clustering its addresses into entities (multi-input, CoinJoins excluded)");
    let r = ledgerflow_entities::build(
        &lake,
        &chain,
        &ledgerflow_entities::Options::default(),
        true,
    )?;
    eprintln!(
        "{} addresses -> {} entities ({} with several addresses, largest {}), {} CoinJoins detected",
        r.addresses, r.entities, r.multi_address_entities, r.largest_entity, r.coinjoins
    );
    crate::commands::graph::build(GraphBuildArgs {
        lake: output.to_path_buf(),
        chain: chain.clone(),
        token: None,
        no_ether: false,
    })
    .await?;
    eprintln!("PageRank of the entity graph, top 10:");
    crate::commands::graph::pagerank(PagerankArgs {
        g: GraphArgs {
            lake: output.to_path_buf(),
            chain: chain.clone(),
            level: LevelArg::Entity,
            json: false,
        },
        alpha: 0.85,
        tol: 1e-10,
        max_iter: 200,
        top: 10,
        threads: 0,
    })
    .await?;
    // the first payment of the workload as the seed
    let l = ledgerflow_entities::Ledger::load(&lake, &chain, None, Default::default())?;
    let Some(t) = (0..l.txs.len() as u32).find(|&t| !l.txs[t as usize].coinbase) else {
        return Ok(());
    };
    let seed = format!("{}:0", l.tx_hex(t));
    let plot = output.join("litecoin-taint.svg");
    eprintln!("haircut taint from {seed} (plot: {}):", plot.display());
    crate::commands::taint::run(TaintArgs {
        lake: output.to_path_buf(),
        chain: chain.clone(),
        seeds: vec![seed],
        model: ModelArg::Haircut,
        max_height: None,
        min_value: 0,
        no_fee: false,
        format: TaintFormat::Text,
        token: None,
        plot: Some(plot),
    })
    .await?;
    eprintln!(
        "try: ledgerflow entities why -l {0} --chain {chain} A B    or    ledgerflow sql -l {0} \"SELECT * FROM crypto_litecoin_regtest.entities ORDER BY address_count DESC LIMIT 10\"",
        output.display()
    );
    Ok(())
}
