//! `ledgerflow oracle deploy|register|request|run|verify|status`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use eyre::{bail, eyre, WrapErr};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_lake::Lake;
use ledgerflow_oracle::jobs::{self, JobContext, ModelStore, Registry};
use ledgerflow_oracle::keys::PrivateKey;
use ledgerflow_oracle::node::Node;
use ledgerflow_oracle::store::Store;
use ledgerflow_oracle::verify::{self, RegistryDatasets};
use ledgerflow_oracle::worker::{self, Worker, WorkerOptions};
use ledgerflow_oracle::{job_id, ops, templates};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use serde_json::json;

use crate::args::oracle::{
    OracleDeployArgs, OracleRegisterDatasetArgs, OracleRegisterModelArgs, OracleRequestArgs,
    OracleRunArgs, OracleStatusArgs, OracleVerifyArgs,
};

fn node(url: &str) -> eyre::Result<Node> {
    let rpc = RpcClient::new(RpcConfig::new(url)).wrap_err("cannot build the RPC client")?;
    Ok(Node::new(rpc))
}

fn address(s: &str, what: &str) -> eyre::Result<Address> {
    s.trim()
        .parse()
        .map_err(|_| eyre!("{what} {s:?} is not an address (0x and 40 hex digits)"))
}

fn b256(s: &str, what: &str) -> eyre::Result<B256> {
    jobs::parse_b256(s).ok_or_else(|| eyre!("{what} {s:?} is not 32 bytes of hex"))
}

fn key(path: &Path) -> eyre::Result<PrivateKey> {
    Ok(PrivateKey::load(path)?)
}

/// This build's code version word.
pub fn code_version() -> B256 {
    let c = ledgerflow_ml::manifest::CodeVersion::current();
    worker::code_version(&c.ledgerflow, c.commit.as_deref())
}

pub async fn deploy(a: OracleDeployArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain.rpc)?;
    let k = key(&a.key_file)?;
    let workers = if a.workers.is_empty() {
        vec![k.address()]
    } else {
        a.workers
            .iter()
            .map(|w| address(w, "--worker"))
            .collect::<eyre::Result<Vec<_>>>()?
    };
    let d = ops::deploy(&n, &k, &workers).await?;
    let out = json!({
        "chain_id": d.chain_id,
        "oracle": format!("{:#x}", d.oracle),
        "registry": format!("{:#x}", d.registry),
        "licence": format!("{:#x}", d.licence),
        "workers": d.workers.iter().map(|w| format!("{w:#x}")).collect::<Vec<_>>(),
        "owner": format!("{:#x}", d.owner),
        "deployed_block": d.deployed_block,
    });
    if let Some(p) = &a.output {
        ledgerflow_lake::writer::write_bytes_atomic(
            p,
            serde_json::to_string_pretty(&out)?.as_bytes(),
        )
        .wrap_err_with(|| format!("cannot write {}", p.display()))?;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn lake_chain(lake: &Path, chain: &Option<String>) -> eyre::Result<String> {
    if let Some(c) = chain {
        return Ok(c.clone());
    }
    let chains = Lake::new(lake).chains()?;
    match chains.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("{}: the lake has no chain", lake.display()),
        _ => bail!(
            "{}: the lake has several chains ({}): pick one with --chain",
            lake.display(),
            chains.join(", ")
        ),
    }
}

fn parse_blocks(s: &str) -> eyre::Result<(u64, u64)> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| eyre!("--blocks {s:?}: expected A:B"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| eyre!("--blocks {s:?}: {a:?} is not a block number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| eyre!("--blocks {s:?}: {b:?} is not a block number"))?;
    if a > b {
        bail!("--blocks {s:?}: the range is empty");
    }
    Ok((a, b))
}

pub async fn register_dataset(a: OracleRegisterDatasetArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain_rpc.rpc)?;
    let k = key(&a.key_file)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let chain = lake_chain(&a.lake, &a.chain)?;
    let (from, to) = parse_blocks(&a.blocks)?;
    let registry = verify::registry_of(&n, oracle).await?;
    let ds = jobs::DatasetInfo {
        chain: chain.clone(),
        from_block: from,
        to_block: to,
    };
    let r = ops::register_dataset(&n, &k, registry, &a.lake, &ds).await?;
    if a.json {
        println!(
            "{}",
            json!({"root": format!("{:#x}", r.root), "chain": chain, "from_block": from,
                   "to_block": to, "chunks": r.chunks, "registry": format!("{registry:#x}"),
                   "already_registered": !r.new})
        );
    } else {
        println!(
            "dataset {:#x}: {chain} blocks {from}..={to}, {} chunks{}",
            r.root,
            r.chunks,
            if r.new {
                " registered"
            } else {
                " (already registered)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn register_model(a: OracleRegisterModelArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain_rpc.rpc)?;
    let k = key(&a.key_file)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let registry = verify::registry_of(&n, oracle).await?;
    let licence = match &a.licence {
        Some(l) => address(l, "--licence")?,
        None => Address::ZERO,
    };
    let r = ops::register_model(&n, &k, registry, &a.model, licence, a.licence_id).await?;
    if a.json {
        println!(
            "{}",
            json!({"model_hash": format!("{:#x}", r.model_hash),
                   "manifest_hash": format!("{:#x}", r.manifest_hash),
                   "dataset_root": format!("{:#x}", r.dataset_root),
                   "licence": format!("{licence:#x}"), "licence_id": a.licence_id,
                   "already_registered": !r.new})
        );
    } else {
        println!(
            "model {:#x} (manifest {:#x}, dataset {:#x}){}",
            r.model_hash,
            r.manifest_hash,
            r.dataset_root,
            if r.new {
                " registered"
            } else {
                " already registered"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn request(a: OracleRequestArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain.rpc)?;
    let k = key(&a.key_file)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let (job, model, params) = match a.job.as_str() {
        "sql" => {
            let name = a
                .template
                .as_deref()
                .ok_or_else(|| eyre!("--job sql needs --template"))?;
            let all = templates::load(a.templates.as_deref())?;
            let t = all.iter().find(|t| t.name == name).ok_or_else(|| {
                eyre!(
                    "no template {name:?} (known: {})",
                    all.iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let root = b256(
                a.dataset
                    .as_deref()
                    .ok_or_else(|| eyre!("--job sql needs --dataset ROOT"))?,
                "--dataset",
            )?;
            let values = t.parse_args(&a.args)?;
            (
                job_id("sql"),
                B256::ZERO,
                jobs::sql_params(name, root, &values),
            )
        }
        "score" | "gnn-score" => {
            let model = b256(
                a.model
                    .as_deref()
                    .ok_or_else(|| eyre!("--job {} needs --model HASH", a.job))?,
                "--model",
            )?;
            let account = address(
                a.account
                    .as_deref()
                    .ok_or_else(|| eyre!("--job {} needs --account ADDR", a.job))?,
                "--account",
            )?;
            (
                job_id(&a.job),
                model,
                jobs::score_params(account, a.class.as_deref()),
            )
        }
        "train" => {
            let root = b256(
                a.dataset
                    .as_deref()
                    .ok_or_else(|| eyre!("--job train needs --dataset ROOT"))?,
                "--dataset",
            )?;
            let algo: ledgerflow_ml::params::Algo =
                a.algo.parse().map_err(|e: String| eyre!("--algo: {e}"))?;
            if a.trees == 0 || a.trees > jobs::MAX_TRAIN_TREES {
                bail!("--trees must be between 1 and {}", jobs::MAX_TRAIN_TREES);
            }
            (
                job_id("train"),
                B256::ZERO,
                jobs::train_params(root, &algo.to_string(), a.trees, a.seed),
            )
        }
        other => bail!("--job {other:?}: one of sql, score, train"),
    };
    let callback = match &a.callback {
        Some(c) => address(c, "--callback")?,
        None => k.address(),
    };
    let new = ops::NewRequest {
        job: B256::from(job),
        model,
        params,
        callback,
        selector: abi::selector(&a.selector),
        expires_in: a.expiry,
        payment: U256::from(a.payment),
    };
    let (id, block) = ops::request(&n, &k, oracle, &new).await?;
    if !a.wait {
        if a.json {
            println!(
                "{}",
                json!({"request_id": format!("{id:#x}"), "block": block})
            );
        } else {
            println!("request {id:#x} (block {block})");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let t = Instant::now();
    loop {
        let (_, ful) = verify::find(&n, oracle, id).await?;
        if let Some((place, f)) = ful {
            let out = json!({
                "request_id": format!("{id:#x}"),
                "fulfilled_block": place.block_number,
                "result": abi::hex(&f.result),
                "result_uint": abi::decode(&[abi::Type::Uint(256)], &f.result).ok()
                    .and_then(|v| v[0].as_uint()).map(|u| u.to_string()),
                "result_hash": format!("{:#x}", f.result_hash),
                "dataset_root": format!("{:#x}", f.dataset_root),
                "model_hash": format!("{:#x}", f.model_hash),
                "code_version": worker::code_version_text(&f.code_version),
                "callback_ok": f.callback_ok,
                "seconds": t.elapsed().as_secs_f64(),
            });
            if a.json {
                println!("{out}");
            } else {
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        if t.elapsed() > Duration::from_secs(a.timeout) {
            eprintln!(
                "request {id:#x} not fulfilled after {} s (is a worker running?)",
                a.timeout
            );
            return Ok(ExitCode::from(1));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn job_context(
    n: &Node,
    oracle: Address,
    lake: &Path,
    models: Option<&Path>,
    templates_file: Option<&Path>,
) -> eyre::Result<JobContext> {
    let registry = verify::registry_of(n, oracle).await?;
    Ok(JobContext {
        lake: lake.to_path_buf(),
        templates: templates::load(templates_file)?,
        models: ModelStore::open(models)?,
        datasets: Arc::new(RegistryDatasets {
            node: n.clone(),
            registry,
        }),
        threads: 1,
        registry,
    })
}

/// The block the oracle was deployed in (its first event: `OwnerSet`), 0 when unknown.
async fn deployment_block(n: &Node, oracle: Address) -> u64 {
    let topic = abi::event_topic("OwnerSet(address)");
    match n.logs(oracle, Some(topic), 0, u64::MAX >> 1).await {
        Ok(logs) => logs
            .first()
            .and_then(|l| l["blockNumber"].as_str())
            .and_then(ledgerflow_oracle::node::quantity)
            .map_or(0, |b| b as u64),
        Err(_) => 0,
    }
}

pub async fn run(a: OracleRunArgs) -> eyre::Result<ExitCode> {
    let k = key(&a.key_file)?;
    let n = node(&a.chain.rpc)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let authorised = n
        .view(
            oracle,
            "workers(address)",
            &[Value::Address(k.address())],
            "bool",
        )
        .await
        .wrap_err_with(|| format!("{oracle:#x} does not answer as a LedgerflowOracle"))?;
    if authorised[0] != Value::Bool(true) {
        tracing::warn!(worker = %format!("{:#x}", k.address()), "this key is not an authorised worker of the oracle: its fulfilments will revert");
    }
    if let Some(m) = &a.models {
        // the worker's own folder: the train job writes its models here
        std::fs::create_dir_all(m).wrap_err_with(|| format!("cannot create {}", m.display()))?;
    }
    let ctx = job_context(
        &n,
        oracle,
        &a.lake,
        a.models.as_deref(),
        a.templates.as_deref(),
    )
    .await?;
    let start_block = match a.start_block {
        Some(b) => b,
        None => deployment_block(&n, oracle).await,
    };
    let store = Store::open(&a.postgres, &format!("{oracle:#x}"))
        .await
        .wrap_err("cannot open the worker's PostgreSQL store")?;
    let options = WorkerOptions {
        oracle,
        confirmations: a.confirmations,
        start_block,
        max_blocks: 500,
        resend_after: Duration::from_secs(a.resend_after),
        bump_percent: a.bump_percent,
        max_fee_cap: u128::from(a.max_fee_gwei) * 1_000_000_000,
        code_version: code_version(),
        chainlink_operator: match &a.chainlink_operator {
            Some(op) => Some(address(op, "--chainlink-operator")?),
            None => None,
        },
    };
    let mut w = Worker::open(n, store, k, Registry::default(), ctx, options).await?;
    tracing::info!(
        oracle = %format!("{oracle:#x}"),
        worker = %format!("{:#x}", w.key.address()),
        models = w.ctx.models.by_hash.len(),
        templates = w.ctx.templates.len(),
        start_block,
        "oracle worker started"
    );
    if let Some(addr) = &a.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .wrap_err_with(|| format!("cannot listen on {addr}"))?;
        let m = w.metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = ledgerflow_stream::metrics::serve(listener, m).await {
                tracing::warn!(error = %e, "metrics server stopped");
            }
        });
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    let poll = Duration::from_millis(a.poll_ms.max(10));
    if !a.until_idle && a.max_seconds.is_none() {
        w.run(poll, rx).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let t = Instant::now();
    loop {
        if *rx.borrow() {
            return Ok(ExitCode::SUCCESS);
        }
        match w.step().await {
            Ok(r) => {
                let idle = r.events == 0 && r.computed == 0 && r.sent == 0 && r.open == 0;
                if a.until_idle && idle {
                    return Ok(ExitCode::SUCCESS);
                }
                if r.events == 0 && r.computed == 0 && r.sent == 0 {
                    tokio::time::sleep(poll).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "worker step failed; retrying");
                tokio::time::sleep(poll * 4).await;
            }
        }
        if a.max_seconds
            .is_some_and(|m| t.elapsed() > Duration::from_secs(m))
        {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

pub async fn verify_cmd(a: OracleVerifyArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain.rpc)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let id = b256(&a.request, "--request")?;
    let mut ctx = job_context(
        &n,
        oracle,
        &a.lake,
        a.models.as_deref(),
        a.templates.as_deref(),
    )
    .await?;
    // a `train` result is trained again from scratch, in a folder of its own
    let scratch = tempfile::tempdir()?;
    ctx.models.dir = Some(scratch.path().to_path_buf());
    let v = verify::verify(&n, oracle, id, &Registry::default(), &ctx, code_version()).await?;
    if a.json {
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "request {} ({}){}",
            v.request_id,
            v.job.as_deref().unwrap_or("unknown job"),
            v.fulfilled_block
                .map(|b| format!(", fulfilled in block {b}"))
                .unwrap_or_default()
        );
        for c in &v.checks {
            println!(
                "  {:<13} {}  {}",
                c.name,
                if c.ok { "ok " } else { "DIFFERS" },
                c.detail
            );
        }
        println!(
            "{}",
            if v.ok {
                "verified: the result is what the recorded data and model give"
            } else {
                "NOT verified"
            }
        );
    }
    Ok(if v.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub async fn status(a: OracleStatusArgs) -> eyre::Result<ExitCode> {
    let oracle = address(&a.oracle, "--oracle")?;
    let store = Store::open(&a.postgres, &format!("{oracle:#x}")).await?;
    let row = |r: &ledgerflow_oracle::store::Stored| {
        json!({
            "request_id": r.request_id, "job": r.job, "state": r.state,
            "block": r.block_number, "requester": r.requester,
            "result": r.result.as_ref().map(|b| abi::hex(b)),
            "result_hash": r.result_hash, "dataset_root": r.dataset_root,
            "model_hash": r.result_model_hash, "code_version": r.code_version,
            "fulfil_nonce": r.fulfil_nonce, "fulfil_txs": r.fulfil_txs, "sends": r.sends,
            "fulfilled_block": r.fulfilled_block, "fulfilled_tx": r.fulfilled_tx,
            "confirmed": r.confirmed,
            "error": r.error,
        })
    };
    if let Some(id) = &a.request {
        let r = store
            .get(id)
            .await?
            .ok_or_else(|| eyre!("request {id} is not in the worker's store"))?;
        println!("{}", serde_json::to_string_pretty(&row(&r))?);
        return Ok(ExitCode::SUCCESS);
    }
    let counts = store.counts().await?;
    let recent = store.all(a.limit).await?;
    if a.json {
        println!(
            "{}",
            json!({"counts": counts.iter().map(|(s, n)| json!({"state": s, "requests": n})).collect::<Vec<_>>(),
                   "requests": recent.iter().map(row).collect::<Vec<_>>()})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "requests: {}",
        counts
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for r in &recent {
        println!(
            "{}  {:<6} {:<10} block {:>6}{}{}",
            r.request_id,
            r.job.as_deref().unwrap_or("?"),
            r.state,
            r.block_number,
            if r.confirmed { "  confirmed" } else { "" },
            r.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
