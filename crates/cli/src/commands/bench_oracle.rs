//! `ledgerflow bench oracle`: fulfilments per second and request-to-fulfilment latency on
//! a local anvil chain, with a worker in-process.
//!
//! Latency runs from the moment a request's transaction is sent (signed here, not waited
//! for) to the moment its `Fulfilled` event is seen on the chain (logs polled every 5 ms).
//! The node, the database, the worker and this driver share the machine's cores.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use eyre::{bail, WrapErr};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_oracle::events::{self, OracleEvent};
use ledgerflow_oracle::jobs::{self, JobContext, ModelStore, Registry};
use ledgerflow_oracle::keys::PrivateKey;
use ledgerflow_oracle::node::Node;
use ledgerflow_oracle::{ops, verify, worker};

use crate::args::BenchOracleArgs;

use ledgerflow_devnet::anvil::DEV_KEYS as KEYS;

fn key(i: usize) -> eyre::Result<PrivateKey> {
    PrivateKey::from_hex(KEYS[i]).ok_or_else(|| eyre::eyre!("a development key does not parse"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A feature table over synthetic addresses and a model trained on it (the `score`
/// job's input); the addresses to score.
async fn score_model(dir: &std::path::Path) -> eyre::Result<(std::path::PathBuf, Vec<Address>)> {
    let mut t = String::from("address,x,y,label\n");
    let mut ids = Vec::new();
    for i in 0..2000u32 {
        let x = f64::from(i % 997) / 997.0;
        let y = f64::from((i * 37) % 101);
        let label = if i % 4 == 0 {
            String::new()
        } else {
            u8::from(x + y / 500.0 > 0.6).to_string()
        };
        let a = Address::from_word(B256::from(U256::from(0x10_0000 + i)));
        ids.push(a);
        t.push_str(&format!("{a:#x},{x},{y},{label}\n"));
    }
    let f = dir.join("bench-features.csv");
    std::fs::write(&f, t)?;
    let models = dir.join("models");
    let m = models.join("bench");
    std::fs::create_dir_all(&models)?;
    let (fs, ms) = (f.to_string_lossy(), m.to_string_lossy());
    crate::commands::demo::run_argv(&[
        "model",
        "train",
        "--features",
        &fs,
        "--id",
        "address",
        "--label",
        "label",
        "--trees",
        "100",
        "--seed",
        "1",
        "-o",
        &ms,
    ])
    .await?;
    Ok((m, ids))
}

pub async fn run(a: BenchOracleArgs) -> eyre::Result<ExitCode> {
    if !matches!(a.job.as_str(), "sql" | "score") {
        bail!("--job {:?}: sql or score", a.job);
    }
    std::fs::create_dir_all(&a.dir)?;
    let lake = a.dir.join("lake");
    let _ = std::fs::remove_dir_all(&lake);
    let admin = ledgerflow_postgres::load::connect(&a.postgres).await?;
    admin
        .batch_execute("DROP DATABASE IF EXISTS ledgerflow_bench_oracle WITH (FORCE)")
        .await?;
    admin
        .batch_execute("CREATE DATABASE ledgerflow_bench_oracle")
        .await?;
    let pg = format!(
        "{}/ledgerflow_bench_oracle",
        a.postgres
            .rsplit_once('/')
            .map_or(a.postgres.as_str(), |x| x.0)
    );
    let (anvil, _) = crate::commands::devnet::start_with_workload(
        a.anvil.as_deref(),
        0,
        ledgerflow_devnet::WorkloadConfig {
            seed: 5,
            blocks: 40,
            txs_per_block: 10,
            ..Default::default()
        },
    )
    .await?;
    let url = anvil.url();
    let n = Node::new(ledgerflow_rpc::RpcClient::new(
        ledgerflow_rpc::RpcConfig::new(url.clone()),
    )?);
    let head = n.head().await?;
    let lake_s = lake.to_string_lossy().into_owned();
    let blocks = format!("0:{head}");
    crate::commands::demo::run_argv(&[
        "-q",
        "export",
        "evm",
        "--rpc",
        &url,
        "--blocks",
        &blocks,
        "--chunk-size",
        "20",
        "-o",
        &lake_s,
    ])
    .await?;
    n.get("evm_setAutomine", serde_json::json!([true])).await?;
    let (owner, worker_key, user) = (key(0)?, key(1)?, key(2)?);
    let dep = ops::deploy(&n, &owner, &[worker_key.address()]).await?;
    let chain = ledgerflow_lake::Lake::new(&lake).chains()?;
    let chain = chain.first().cloned().unwrap_or_default();
    let ds = ops::register_dataset(
        &n,
        &owner,
        dep.registry,
        &lake,
        &jobs::DatasetInfo {
            chain: chain.clone(),
            from_block: 0,
            to_block: head,
        },
    )
    .await?;
    let (model_hash, accounts, models) = if a.job == "score" {
        let (m, ids) = score_model(&a.dir).await?;
        let r = ops::register_model(&n, &owner, dep.registry, &m, Address::ZERO, 0).await?;
        (r.model_hash, ids, Some(a.dir.join("models")))
    } else {
        (B256::ZERO, Vec::new(), None)
    };
    let ctx = JobContext {
        lake: lake.clone(),
        templates: ledgerflow_oracle::templates::load(None)?,
        models: ModelStore::open(models.as_deref())?,
        datasets: std::sync::Arc::new(verify::RegistryDatasets {
            node: n.clone(),
            registry: dep.registry,
        }),
        threads: 1,
        registry: dep.registry,
    };
    let store = ledgerflow_oracle::store::Store::open(&pg, &format!("{:#x}", dep.oracle)).await?;
    let opts = worker::WorkerOptions {
        oracle: dep.oracle,
        confirmations: 1,
        start_block: dep.deployed_block,
        max_blocks: 500,
        resend_after: Duration::from_secs(10),
        bump_percent: 15,
        max_fee_cap: 500_000_000_000,
        code_version: crate::commands::oracle::code_version(),
        chainlink_operator: None,
    };
    let mut w =
        worker::Worker::open(n.clone(), store, worker_key, Registry::default(), ctx, opts).await?;
    let metrics = w.metrics.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let poll = Duration::from_millis(a.poll_ms.max(1));
    let worker_task = tokio::spawn(async move { w.run(poll, stop_rx).await });

    let topic = abi::event_topic(events::FULFILLED);
    let mut results = Vec::new();
    let mut seq = 0u64;
    // requests are signed here and sent without waiting for their receipts (a driver that
    // waited would be the bottleneck); their ids are what the oracle derives: keccak256 of
    // the oracle, the requester and the requester's request count
    let chain_id = n.chain_id().await?;
    let mut tx_nonce = n.nonce(user.address(), "pending").await?;
    let mut req_nonce = n
        .view(
            dep.oracle,
            "nonces(address)",
            &[Value::Address(user.address())],
            "uint256",
        )
        .await?[0]
        .as_uint()
        .unwrap_or_default();
    let (_, base_fee) = n.latest_time_and_base_fee().await?;
    for &k in &a.outstanding {
        let job_before = metrics.job_micros.load(Relaxed);
        let chain_before = metrics.chain_micros.load(Relaxed);
        let mut sent: BTreeMap<B256, Instant> = BTreeMap::new();
        let mut lat = Vec::with_capacity(a.requests);
        let mut issued = 0usize;
        let mut from_block = n.head().await?;
        let t0 = Instant::now();
        while lat.len() < a.requests {
            while issued < a.requests && sent.len() < k {
                seq += 1;
                let req = if a.job == "sql" {
                    ops::NewRequest {
                        job: B256::from(ledgerflow_oracle::job_id("sql")),
                        model: B256::ZERO,
                        params: jobs::sql_params(
                            "tx_count",
                            ds.root,
                            &[
                                Value::Uint(U256::ZERO),
                                Value::Uint(U256::from(seq % (head + 1))),
                            ],
                        ),
                        callback: user.address(),
                        selector: [0; 4],
                        expires_in: 3600,
                        payment: U256::ZERO,
                    }
                } else {
                    ops::NewRequest {
                        job: B256::from(ledgerflow_oracle::job_id("score")),
                        model: model_hash,
                        params: jobs::score_params(accounts[seq as usize % accounts.len()], None),
                        callback: user.address(),
                        selector: [0; 4],
                        expires_in: 3600,
                        payment: U256::ZERO,
                    }
                };
                let (now, _) = n.latest_time_and_base_fee().await?;
                let tx = ledgerflow_oracle::tx::Eip1559 {
                    chain_id,
                    nonce: tx_nonce,
                    max_priority_fee_per_gas: 1_000_000_000,
                    max_fee_per_gas: base_fee * 4 + 1_000_000_000,
                    gas: 400_000,
                    to: Some(dep.oracle),
                    value: U256::ZERO,
                    data: ops::request_call(&req, now + req.expires_in),
                };
                let signed = tx.sign(&user).map_err(|e| eyre::eyre!("signing: {e}"))?;
                let mut pre = dep.oracle.to_vec();
                pre.extend_from_slice(user.address().as_slice());
                pre.extend_from_slice(&req_nonce.to_be_bytes::<32>());
                let id = alloy_primitives::keccak256(&pre);
                let t = Instant::now();
                n.send_raw(&signed.raw).await?;
                sent.insert(id, t);
                tx_nonce += 1;
                req_nonce += U256::from(1u64);
                issued += 1;
            }
            let h = n.head().await?;
            if h >= from_block {
                for log in n.logs(dep.oracle, Some(topic), from_block, h).await? {
                    if let Ok(Some(OracleEvent::Fulfilled(f))) = events::decode(&log) {
                        if let Some(t) = sent.remove(&f.request_id) {
                            lat.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                }
                from_block = h + 1;
            }
            if t0.elapsed() > Duration::from_secs(600) {
                bail!("run with {k} outstanding did not finish in 600 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        let job = (metrics.job_micros.load(Relaxed) - job_before) as f64 / 1e6;
        let chain_s = (metrics.chain_micros.load(Relaxed) - chain_before) as f64 / 1e6;
        let r = serde_json::json!({
            "job": a.job, "outstanding": k, "requests": a.requests, "seconds": secs,
            "fulfilled_per_second": a.requests as f64 / secs,
            "latency_ms_p50": percentile(&lat, 0.5), "latency_ms_p99": percentile(&lat, 0.99),
            "latency_ms_max": lat.last().copied().unwrap_or(f64::NAN),
            "worker_job_seconds": job, "worker_chain_seconds": chain_s,
            "job_share": job / (job + chain_s).max(1e-9),
        });
        println!("{r}");
        results.push(r);
    }
    let _ = stop_tx.send(true);
    worker_task
        .await
        .wrap_err("the worker task")?
        .wrap_err("the worker")?;
    let failed = metrics.failed.load(Relaxed);
    anvil.stop().await;
    if failed > 0 {
        bail!("{failed} requests failed in the worker");
    }
    Ok(ExitCode::SUCCESS)
}
