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
use ledgerflow_oracle::{creation, job_id, templates};
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

fn contract_address(receipt: &serde_json::Value) -> eyre::Result<Address> {
    receipt["contractAddress"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| eyre!("the deployment receipt has no contract address"))
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
    let send = |data: Vec<u8>| n.transact(&k, None, U256::ZERO, data);
    let r = send(creation("LedgerflowRegistry", &[])?).await?;
    let registry = contract_address(&r)?;
    let block = r["blockNumber"]
        .as_str()
        .and_then(ledgerflow_oracle::node::quantity)
        .unwrap_or(0) as u64;
    let licence = contract_address(&send(creation("LicenceNFT", &[])?).await?)?;
    let oracle =
        contract_address(&send(creation("LedgerflowOracle", &[Value::Address(registry)])?).await?)?;
    for w in &workers {
        n.transact(
            &k,
            Some(oracle),
            U256::ZERO,
            abi::call(
                "setWorker(address,bool)",
                &[Value::Address(*w), Value::Bool(true)],
            ),
        )
        .await?;
    }
    let out = json!({
        "chain_id": n.chain_id().await?,
        "oracle": format!("{oracle:#x}"),
        "registry": format!("{registry:#x}"),
        "licence": format!("{licence:#x}"),
        "workers": workers.iter().map(|w| format!("{w:#x}")).collect::<Vec<_>>(),
        "owner": format!("{:#x}", k.address()),
        "deployed_block": block,
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

async fn is_dataset(n: &Node, registry: Address, root: B256) -> eyre::Result<bool> {
    let v = n
        .view(
            registry,
            "isDataset(bytes32)",
            &[Value::FixedBytes(root.to_vec())],
            "bool",
        )
        .await?;
    Ok(v[0] == Value::Bool(true))
}

async fn register_dataset_tx(
    n: &Node,
    k: &PrivateKey,
    registry: Address,
    root: B256,
    chain: &str,
    from: u64,
    to: u64,
) -> eyre::Result<()> {
    n.transact(
        k,
        Some(registry),
        U256::ZERO,
        abi::call(
            "registerDataset(bytes32,string,uint64,uint64)",
            &[
                Value::FixedBytes(root.to_vec()),
                Value::String(chain.to_string()),
                Value::Uint(U256::from(from)),
                Value::Uint(U256::from(to)),
            ],
        ),
    )
    .await?;
    Ok(())
}

pub async fn register_dataset(a: OracleRegisterDatasetArgs) -> eyre::Result<ExitCode> {
    let n = node(&a.chain_rpc.rpc)?;
    let k = key(&a.key_file)?;
    let oracle = address(&a.oracle, "--oracle")?;
    let chain = lake_chain(&a.lake, &a.chain)?;
    let (from, to) = parse_blocks(&a.blocks)?;
    let ds = jobs::DatasetInfo {
        chain: chain.clone(),
        from_block: from,
        to_block: to,
    };
    let root = jobs::dataset_root(&a.lake, &ds)?;
    let chunks = ledgerflow_lake::hash::hash_blocks(&Lake::new(&a.lake), &chain, None, from, to)?
        .chunks
        .len();
    let registry = verify::registry_of(&n, oracle).await?;
    let existed = is_dataset(&n, registry, root).await?;
    if !existed {
        register_dataset_tx(&n, &k, registry, root, &chain, from, to).await?;
    }
    let out = json!({"root": format!("{root:#x}"), "chain": chain, "from_block": from,
                     "to_block": to, "chunks": chunks, "registry": format!("{registry:#x}"),
                     "already_registered": existed});
    if a.json {
        println!("{out}");
    } else {
        println!(
            "dataset {root:#x}: {chain} blocks {from}..={to}, {chunks} chunks{}",
            if existed {
                " (already registered)"
            } else {
                " registered"
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
    let (_, bytes) = ledgerflow_ml::model::Model::load(&a.model)?;
    let model_hash = b256(&ledgerflow_ml::model::sha256_hex(&bytes), "model hash")?;
    let manifest_path = a.model.join(ledgerflow_ml::manifest::MANIFEST_FILE);
    let manifest_bytes = std::fs::read(&manifest_path)
        .wrap_err_with(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest_hash = b256(
        &ledgerflow_ml::model::sha256_hex(&manifest_bytes),
        "manifest hash",
    )?;
    let manifest = ledgerflow_ml::manifest::Manifest::load(&a.model)?;
    let mut dataset_root = B256::ZERO;
    if let Some(l) = &manifest.lake {
        dataset_root = b256(&l.merkle_root, "the manifest's lake root")?;
        if !is_dataset(&n, registry, dataset_root).await? {
            let to = l.until_block.map_or(0, |b| b.max(0) as u64);
            register_dataset_tx(&n, &k, registry, dataset_root, &l.chain, 0, to).await?;
        }
    }
    let licence = match &a.licence {
        Some(l) => address(l, "--licence")?,
        None => Address::ZERO,
    };
    let exists = n
        .view(
            registry,
            "isModel(bytes32)",
            &[Value::FixedBytes(model_hash.to_vec())],
            "bool",
        )
        .await?[0]
        == Value::Bool(true);
    if !exists {
        n.transact(
            &k,
            Some(registry),
            U256::ZERO,
            abi::call(
                "registerModel(bytes32,bytes32,bytes32,address,uint256)",
                &[
                    Value::FixedBytes(model_hash.to_vec()),
                    Value::FixedBytes(manifest_hash.to_vec()),
                    Value::FixedBytes(dataset_root.to_vec()),
                    Value::Address(licence),
                    Value::Uint(U256::from(a.licence_id)),
                ],
            ),
        )
        .await?;
    }
    let out = json!({"model_hash": format!("{model_hash:#x}"),
                     "manifest_hash": format!("{manifest_hash:#x}"),
                     "dataset_root": format!("{dataset_root:#x}"),
                     "licence": format!("{licence:#x}"), "licence_id": a.licence_id,
                     "already_registered": exists});
    if a.json {
        println!("{out}");
    } else {
        println!(
            "model {model_hash:#x} (manifest {manifest_hash:#x}, dataset {dataset_root:#x}){}",
            if exists {
                " already registered"
            } else {
                " registered"
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
        "score" => {
            let model = b256(
                a.model
                    .as_deref()
                    .ok_or_else(|| eyre!("--job score needs --model HASH"))?,
                "--model",
            )?;
            let account = address(
                a.account
                    .as_deref()
                    .ok_or_else(|| eyre!("--job score needs --account ADDR"))?,
                "--account",
            )?;
            (
                job_id("score"),
                model,
                jobs::score_params(account, a.class.as_deref()),
            )
        }
        other => bail!("--job {other:?}: one of sql, score"),
    };
    let callback = match &a.callback {
        Some(c) => address(c, "--callback")?,
        None => k.address(),
    };
    let selector = abi::selector(&a.selector);
    let (now, _) = n.latest_time_and_base_fee().await?;
    let expiry = now + a.expiry;
    let data = if model == B256::ZERO {
        abi::call(
            "request(bytes32,bytes,address,bytes4,uint64)",
            &[
                Value::FixedBytes(job.to_vec()),
                Value::Bytes(params),
                Value::Address(callback),
                Value::FixedBytes(selector.to_vec()),
                Value::Uint(U256::from(expiry)),
            ],
        )
    } else {
        abi::call(
            "requestModel(bytes32,bytes32,bytes,address,bytes4,uint64)",
            &[
                Value::FixedBytes(job.to_vec()),
                Value::FixedBytes(model.to_vec()),
                Value::Bytes(params),
                Value::Address(callback),
                Value::FixedBytes(selector.to_vec()),
                Value::Uint(U256::from(expiry)),
            ],
        )
    };
    let receipt = n
        .transact(&k, Some(oracle), U256::from(a.payment), data)
        .await?;
    let logs = receipt["logs"].as_array().cloned().unwrap_or_default();
    let id = worker::decode_all(&logs)?
        .into_iter()
        .find_map(|(_, e)| match e {
            ledgerflow_oracle::events::OracleEvent::Request(r) => Some(r.request_id),
            _ => None,
        })
        .ok_or_else(|| eyre!("the request transaction emitted no Request event"))?;
    let block = receipt["blockNumber"].as_str().unwrap_or("?").to_string();
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
    let ctx = job_context(
        &n,
        oracle,
        &a.lake,
        a.models.as_deref(),
        a.templates.as_deref(),
    )
    .await?;
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
            "{}  {:<6} {:<10} block {:>6}{}",
            r.request_id,
            r.job.as_deref().unwrap_or("?"),
            r.state,
            r.block_number,
            r.error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
