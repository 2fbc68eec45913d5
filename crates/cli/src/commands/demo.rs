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
    if code == ExitCode::SUCCESS {
        if let Err(e) = oracle_part(&anvil.url(), &a.output).await {
            anvil.stop().await;
            return Err(e.wrap_err("demo: the oracle part failed"));
        }
    }
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
        let roles = a.output.join(ROLES_FILE);
        if !a.no_bitcoin && roles.exists() {
            lookalike_part(&a.output, &roles).await?;
        }
    }
    Ok(code)
}

/// The label file of the Litecoin workload's roles, written into the demo's lake folder.
const ROLES_FILE: &str = "litecoin-roles.csv";

/// Runs `ledgerflow ARGV…` in this process, through the command line's own dispatch.
pub(crate) async fn run_argv(argv: &[&str]) -> eyre::Result<()> {
    use clap::Parser;
    let cli = crate::args::Cli::try_parse_from(
        std::iter::once("ledgerflow").chain(argv.iter().copied()),
    )?;
    let code = Box::pin(crate::commands::run(cli)).await?;
    if code != ExitCode::SUCCESS {
        eyre::bail!("ledgerflow {} failed", argv.join(" "));
    }
    Ok(())
}

/// Look-alikes of the Litecoin workload's roles: half the owners of each role keep their
/// labels, a forest trained on entity features finds the rest.
async fn lookalike_part(output: &std::path::Path, roles: &std::path::Path) -> eyre::Result<()> {
    use std::collections::{BTreeMap, BTreeSet};
    let chain = "litecoin-regtest";
    let all = ledgerflow_entities::labels::read_file(roles)?;
    let mut owners: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &all {
        owners.entry(&l.category).or_default().insert(&l.source);
    }
    let hidden: BTreeSet<&str> = owners
        .values()
        .flat_map(|o| {
            o.iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, o)| *o)
        })
        .collect();
    let partial = output.join("litecoin-roles-partial.csv");
    let mut csv = String::from("address,category,source\n");
    for l in all.iter().filter(|l| !hidden.contains(l.source.as_str())) {
        csv.push_str(&format!("{},{},{}\n", l.address, l.category, l.source));
    }
    ledgerflow_lake::writer::write_bytes_atomic(&partial, csv.as_bytes())?;
    let rep = ledgerflow_ml::labels::import(output, chain, std::slice::from_ref(&partial), true)?;
    eprintln!(
        "\nLook-alikes: labels of {} addresses imported (the owners of every other position in \
         each role hidden: {} of {}), entity features, a forest on the labelled entities:",
        rep.addresses,
        hidden.len(),
        owners.values().map(BTreeSet::len).sum::<usize>()
    );
    let lake = output.to_string_lossy().into_owned();
    let features = output.join("litecoin-features.parquet");
    let f = features.to_string_lossy().into_owned();
    let model = output.join("litecoin-model");
    let m = model.to_string_lossy().into_owned();
    let top = output.join("litecoin-lookalikes.csv");
    let t = top.to_string_lossy().into_owned();
    let steps: [Vec<&str>; 3] = [
        vec![
            "-q",
            "features",
            "--lake",
            &lake,
            "--chain",
            chain,
            "--level",
            "entity",
            "--window",
            "3650d",
            "--no-label-features",
            "-o",
            &f,
        ],
        vec![
            "model",
            "train",
            "--features",
            &f,
            "--id",
            "entity",
            "--label",
            "label",
            "--trees",
            "100",
            "--seed",
            "1",
            "-o",
            &m,
        ],
        vec![
            "model",
            "predict",
            "--model",
            &m,
            "--features",
            &f,
            "--id",
            "entity",
            "--class",
            "exchange",
            "--top",
            "10",
            "--unlabelled",
            "label",
            "--keep",
            "entity_address",
            "-o",
            &t,
        ],
    ];
    for argv in &steps {
        eprintln!("  ledgerflow {}", argv.join(" "));
        run_argv(argv).await?;
    }
    let role: BTreeMap<&str, &str> = all
        .iter()
        .map(|l| (l.address.as_str(), l.category.as_str()))
        .collect();
    let mut r = csv::Reader::from_path(&top)?;
    let head = r.headers()?.clone();
    let col = |n: &str| head.iter().position(|h| h == n);
    let (Some(ie), Some(ip), Some(ia), Some(it)) = (
        col("entity"),
        col("p_exchange"),
        col("entity_address"),
        col("top_features"),
    ) else {
        eyre::bail!("{}: unexpected columns", top.display());
    };
    println!("top 10 look-alikes of an exchange among the unlabelled entities (true role from the workload):");
    println!(
        "{:>4} {:>8} {:>10} {:>9}  why",
        "rank", "entity", "p_exchange", "true role"
    );
    let mut hits = 0;
    for (k, rec) in r.records().enumerate() {
        let rec = rec?;
        let truth = role.get(rec.get(ia).unwrap_or("")).copied().unwrap_or("?");
        hits += usize::from(truth == "exchange");
        println!(
            "{:>4} {:>8} {:>10.3} {:>9}  {}",
            k + 1,
            rec.get(ie).unwrap_or(""),
            rec.get(ip)
                .and_then(|p| p.parse::<f64>().ok())
                .unwrap_or(f64::NAN),
            truth,
            rec.get(it).unwrap_or("")
        );
    }
    println!("look-alikes: {hits} of the top 10 are exchanges");
    eprintln!(
        "try: ledgerflow model inspect {m}    or    ledgerflow model evaluate --features {f} --id entity --label label --split group --group-col label_source"
    );
    Ok(())
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
            roles: true,
            ..Default::default()
        },
    )
    .await?;
    std::fs::create_dir_all(&a.output)?;
    ledgerflow_devnet::litecoin::write_roles(&a.output.join(ROLES_FILE), &summary)?;
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

use ledgerflow_devnet::anvil::DEV_KEYS;

/// The oracle on the demo's anvil chain: the contracts deployed, the exported lake
/// registered as a dataset, a toy risk model (accounts that sent failing transactions,
/// learnt from their other features) trained and registered; one `sql` request (the
/// average gas price) and one `score` request fulfilled by a worker, then verified.
/// Needs PostgreSQL (LEDGERFLOW_POSTGRES, default 127.0.0.1:5432); skipped without it.
async fn oracle_part(rpc: &str, output: &std::path::Path) -> eyre::Result<()> {
    use alloy_primitives::{Address, B256, U256};
    use ledgerflow_evm::abi;
    use ledgerflow_oracle::{jobs, ops, verify, worker};
    let admin = std::env::var("LEDGERFLOW_POSTGRES")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/postgres".to_string());
    let pg = match ledgerflow_postgres::load::connect(&admin).await {
        Ok(c) => {
            // a database of its own, fresh: the demo's chain is new every run, while its
            // oracle's address (the same deployer and nonce) is not
            c.batch_execute("DROP DATABASE IF EXISTS ledgerflow_demo WITH (FORCE)")
                .await?;
            c.batch_execute("CREATE DATABASE ledgerflow_demo").await?;
            let (base, _) = admin.rsplit_once('/').unwrap_or((&admin, ""));
            format!("{base}/ledgerflow_demo")
        }
        Err(e) => {
            eprintln!("\nskipping the oracle part: no PostgreSQL ({e}); set LEDGERFLOW_POSTGRES");
            return Ok(());
        }
    };
    let n = ledgerflow_oracle::node::Node::new(ledgerflow_rpc::RpcClient::new(
        ledgerflow_rpc::RpcConfig::new(rpc),
    )?);
    n.get("evm_setAutomine", serde_json::json!([true])).await?;
    let key = |i: usize| {
        ledgerflow_oracle::keys::PrivateKey::from_hex(DEV_KEYS[i])
            .ok_or_else(|| eyre::eyre!("a development key does not parse"))
    };
    let (owner, worker_key, user) = (&key(0)?, key(1)?, &key(2)?);
    let dep = ops::deploy(&n, owner, &[worker_key.address()]).await?;
    eprintln!(
        "\nOracle: contracts deployed on the anvil chain (oracle {:#x}, registry {:#x})",
        dep.oracle, dep.registry
    );
    let chain = "anvil";
    let lake = ledgerflow_lake::Lake::new(output);
    let (chunks, _) = lake.parquet_chunks(chain, "blocks")?;
    let last = chunks.iter().map(|c| c.range.end).max().unwrap_or(0);
    let ds = ops::register_dataset(
        &n,
        owner,
        dep.registry,
        output,
        &jobs::DatasetInfo {
            chain: chain.into(),
            from_block: 0,
            to_block: last,
        },
    )
    .await?;
    eprintln!(
        "  dataset {:#x}: {chain} blocks 0..={last} ({} chunks) registered",
        ds.root, ds.chunks
    );

    // the toy risk model: accounts that sent a failing transaction are "risky"; the
    // forest learns them from every feature but the failure counts
    let engine = ledgerflow_sql::Engine::open(output, &ledgerflow_sql::Options::default()).await?;
    let rows = ledgerflow_sql::output::rows_as_text(
        engine
            .sql(
                "SELECT from_address, MAX(CASE WHEN receipt_status = 0 THEN 1 ELSE 0 END) \
                 FROM crypto_anvil.transactions GROUP BY from_address ORDER BY from_address",
            )
            .await?,
    )
    .await?;
    let mut csv = String::from("address,category,source\n");
    let mut risky = None;
    for r in &rows {
        let mut it = r.split('|');
        let (Some(a), Some(f)) = (it.next(), it.next()) else {
            continue;
        };
        let cat = if f.trim() == "1" { "risky" } else { "clean" };
        if cat == "risky" && risky.is_none() {
            risky = Some(a.trim().to_string());
        }
        csv.push_str(&format!("{},{cat},demo\n", a.trim()));
    }
    let risky: Address = risky
        .ok_or_else(|| eyre::eyre!("the workload sent no failing transaction"))?
        .parse()?;
    let labels = output.join("anvil-risk-labels.csv");
    ledgerflow_lake::writer::write_bytes_atomic(&labels, csv.as_bytes())?;
    ledgerflow_ml::labels::import(output, chain, std::slice::from_ref(&labels), true)?;
    let lake_s = output.to_string_lossy().into_owned();
    let features = output.join("anvil-features.parquet");
    let f = features.to_string_lossy().into_owned();
    let models = output.join("_oracle_models");
    std::fs::create_dir_all(&models)?;
    let model = models.join("risk");
    let m = model.to_string_lossy().into_owned();
    let steps: [Vec<&str>; 2] = [
        vec![
            "-q",
            "features",
            "--lake",
            &lake_s,
            "--chain",
            chain,
            "--level",
            "address",
            "--window",
            "3650d",
            "--no-label-features",
            "-o",
            &f,
        ],
        vec![
            "model",
            "train",
            "--features",
            &f,
            "--id",
            "address",
            "--label",
            "label",
            "--exclude",
            "failed_tx_count",
            "--exclude",
            "failed_tx_share",
            "--exclude",
            "neigh_mean_failed_tx_share",
            "--trees",
            "50",
            "--seed",
            "1",
            "-o",
            &m,
        ],
    ];
    for argv in &steps {
        eprintln!("  ledgerflow {}", argv.join(" "));
        run_argv(argv).await?;
    }
    let reg = ops::register_model(&n, owner, dep.registry, &model, Address::ZERO, 0).await?;
    eprintln!("  model {:#x} registered", reg.model_hash);

    // one request of each job, from the user's account (its own address as callback)
    let sql = ops::NewRequest {
        job: B256::from(ledgerflow_oracle::job_id("sql")),
        model: B256::ZERO,
        params: jobs::sql_params(
            "avg_gas_price",
            ds.root,
            &[
                abi::Value::Uint(U256::ZERO),
                abi::Value::Uint(U256::from(last)),
            ],
        ),
        callback: user.address(),
        selector: [0; 4],
        expires_in: 3600,
        payment: U256::from(1_000_000_000_000_000u64),
    };
    let (sql_id, _) = ops::request(&n, user, dep.oracle, &sql).await?;
    let score = ops::NewRequest {
        job: B256::from(ledgerflow_oracle::job_id("score")),
        model: reg.model_hash,
        params: jobs::score_params(risky, None),
        ..sql.clone()
    };
    let (score_id, _) = ops::request(&n, user, dep.oracle, &score).await?;
    eprintln!("  requests: sql avg_gas_price {sql_id:#x}, score of {risky:#x} {score_id:#x}");

    // the worker serves them
    let ctx = jobs::JobContext {
        lake: output.to_path_buf(),
        templates: ledgerflow_oracle::templates::load(None)?,
        models: jobs::ModelStore::open(Some(&models))?,
        datasets: std::sync::Arc::new(verify::RegistryDatasets {
            node: n.clone(),
            registry: dep.registry,
        }),
        threads: 1,
        registry: dep.registry,
    };
    let store = ledgerflow_oracle::store::Store::open(&pg, &format!("{:#x}", dep.oracle)).await?;
    let code = crate::commands::oracle::code_version();
    let opts = worker::WorkerOptions {
        oracle: dep.oracle,
        confirmations: 1,
        start_block: dep.deployed_block,
        max_blocks: 500,
        resend_after: std::time::Duration::from_secs(5),
        bump_percent: 15,
        max_fee_cap: 500_000_000_000,
        code_version: code,
        chainlink_operator: None,
    };
    let t = std::time::Instant::now();
    let ctx2 = ctx.clone();
    let mut w = worker::Worker::open(
        n.clone(),
        store,
        worker_key,
        jobs::Registry::default(),
        ctx,
        opts,
    )
    .await?;
    loop {
        let r = w.step().await?;
        if r.open == 0 && r.events == 0 && r.computed == 0 && r.sent == 0 {
            break;
        }
        if t.elapsed() > std::time::Duration::from_secs(120) {
            eyre::bail!("the worker did not finish in 120 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let counts = w.store.counts().await?;
    eprintln!(
        "  worker (PostgreSQL {pg}): {} in {:.2} s",
        counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", "),
        t.elapsed().as_secs_f64()
    );
    let jobs_reg = jobs::Registry::default();
    for (what, id) in [
        ("average gas price (wei)", sql_id),
        ("risk score (ppm)", score_id),
    ] {
        let (_, ful) = verify::find(&n, dep.oracle, id).await?;
        let value = ful
            .as_ref()
            .and_then(|(_, f)| abi::decode(&[abi::Type::Uint(256)], &f.result).ok())
            .and_then(|v| v[0].as_uint())
            .map(|u| u.to_string())
            .unwrap_or_else(|| "?".into());
        let v = verify::verify(&n, dep.oracle, id, &jobs_reg, &ctx2, code).await?;
        println!(
            "oracle {what}: {value}  (dataset {}, model {}) verify: {}",
            ful.as_ref()
                .map(|(_, f)| format!("{:#x}", f.dataset_root))
                .unwrap_or_default()
                .get(..12)
                .unwrap_or(""),
            ful.as_ref()
                .map(|(_, f)| format!("{:#x}", f.model_hash))
                .unwrap_or_default()
                .get(..12)
                .unwrap_or(""),
            if v.ok { "ok" } else { "DIFFERS" }
        );
        if !v.ok {
            eyre::bail!("oracle verify failed for {id:#x}: {:?}", v.checks);
        }
    }
    eprintln!(
        "try: ledgerflow oracle status --oracle {:#x} --postgres {pg}",
        dep.oracle
    );
    Ok(())
}
