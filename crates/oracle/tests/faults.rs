#![allow(clippy::unwrap_used)]
//! The worker against faults, on a real anvil node and a real PostgreSQL, step by step:
//! a request whose block is reorganised away before its fulfilment, a fulfilment whose
//! block is reorganised away after it, a fulfilment transaction the node drops, RPC
//! answers dropped, refused and delayed by the fault proxy, duplicate and out-of-order
//! events, and a worker that restarts from its checkpoint. In every case each live request
//! ends with exactly one `Fulfilled` event on the canonical chain and a dropped one with
//! none.
//!
//! The job is a test job (`echo`: the result is the request's parameters), plugged into
//! the registry as any job is; what is under test is the worker, not a job.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use ledgerflow_devnet::anvil::{Anvil, AnvilOptions};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_oracle::events::{self, OracleEvent};
use ledgerflow_oracle::jobs::{
    FixedDatasets, Job, JobContext, JobError, JobOutput, JobRequest, ModelStore, Registry, SideCall,
};
use ledgerflow_oracle::keys::PrivateKey;
use ledgerflow_oracle::node::Node;
use ledgerflow_oracle::store::Store;
use ledgerflow_oracle::worker::{Worker, WorkerOptions};
use ledgerflow_oracle::{creation, job_id};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use ledgerflow_testkit::{FaultProxy, Faults};
use serde_json::json;

use ledgerflow_devnet::anvil::DEV_KEYS as KEYS;

fn key(i: usize) -> PrivateKey {
    PrivateKey::from_hex(KEYS[i]).unwrap()
}

/// The result is the parameters.
struct Echo;

impl Job for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a JobContext,
        req: &'a JobRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JobOutput, JobError>> + Send + 'a>>
    {
        Box::pin(async move {
            Ok(JobOutput {
                result: req.params.clone(),
                dataset_root: B256::ZERO,
                model_hash: B256::ZERO,
                notes: BTreeMap::new(),
                side: Vec::new(),
            })
        })
    }
}

/// Delivers the parameters with dataset root keccak256(params), a dataset it registers
/// first through a side transaction (so the fulfilment reverts unless that is mined).
struct Register;

impl Job for Register {
    fn name(&self) -> &'static str {
        "register"
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
        req: &'a JobRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JobOutput, JobError>> + Send + 'a>>
    {
        Box::pin(async move {
            let root = alloy_primitives::keccak256(&req.params);
            Ok(JobOutput {
                result: req.params.clone(),
                dataset_root: root,
                model_hash: B256::ZERO,
                notes: BTreeMap::new(),
                side: vec![SideCall {
                    key: format!("register-dataset:{root:#x}"),
                    to: ctx.registry,
                    data: abi::call(
                        "registerDataset(bytes32,string,uint64,uint64)",
                        &[
                            Value::FixedBytes(root.to_vec()),
                            Value::String("test".into()),
                            Value::Uint(U256::ZERO),
                            Value::Uint(U256::from(1u64)),
                        ],
                    ),
                    check: abi::call("isDataset(bytes32)", &[Value::FixedBytes(root.to_vec())]),
                }],
            })
        })
    }
}

struct Env {
    anvil: Anvil,
    node: Node,
    oracle: Address,
    registry: Address,
    db: String,
    _dir: tempfile::TempDir,
}

async fn env(test: &str, db: &str) -> Option<Env> {
    let bin = ledgerflow_testkit::services::or_skip(
        test,
        "ANVIL",
        ledgerflow_devnet::find_anvil(None).map_err(|e| e.to_string()),
    )?;
    let db = ledgerflow_testkit::services::fresh_postgres_db(test, db).await?;
    let anvil = Anvil::start(
        &bin,
        &AnvilOptions {
            no_mining: false,
            ..AnvilOptions::default()
        },
    )
    .await
    .unwrap();
    let node = Node::new(RpcClient::new(RpcConfig::new(anvil.url())).unwrap());
    let deploy = |name: &'static str, args: Vec<Value>| {
        let node = node.clone();
        async move {
            let r = node
                .transact(&key(0), None, U256::ZERO, creation(name, &args).unwrap())
                .await
                .unwrap();
            r["contractAddress"]
                .as_str()
                .unwrap()
                .parse::<Address>()
                .unwrap()
        }
    };
    let registry = deploy("LedgerflowRegistry", vec![]).await;
    let oracle = deploy("LedgerflowOracle", vec![Value::Address(registry)]).await;
    node.transact(
        &key(0),
        Some(oracle),
        U256::ZERO,
        abi::call(
            "setWorker(address,bool)",
            &[Value::Address(key(1).address()), Value::Bool(true)],
        ),
    )
    .await
    .unwrap();
    Some(Env {
        anvil,
        node,
        oracle,
        registry,
        db,
        _dir: tempfile::tempdir().unwrap(),
    })
}

impl Env {
    async fn worker(&self, rpc_url: &str) -> Worker {
        let node = Node::new(
            RpcClient::new(RpcConfig {
                max_retries: 1,
                initial_backoff: Duration::from_millis(5),
                ..RpcConfig::new(rpc_url)
            })
            .unwrap(),
        );
        let store = Store::open(&self.db, &format!("{:#x}", self.oracle))
            .await
            .unwrap();
        let mut jobs = Registry::default();
        jobs.add(Box::new(Echo));
        jobs.add(Box::new(Register));
        let ctx = JobContext {
            lake: self._dir.path().to_path_buf(),
            templates: Vec::new(),
            models: ModelStore::default(),
            datasets: Arc::new(FixedDatasets(BTreeMap::new())),
            threads: 1,
            registry: self.registry,
        };
        let options = WorkerOptions {
            oracle: self.oracle,
            confirmations: 12,
            start_block: 0,
            max_blocks: 50,
            resend_after: Duration::from_millis(300),
            bump_percent: 15,
            max_fee_cap: 1_000_000_000_000,
            code_version: ledgerflow_oracle::worker::code_version("test", None),
            chainlink_operator: None,
        };
        Worker::open(node, store, key(1), jobs, ctx, options)
            .await
            .unwrap()
    }

    /// A request from account 2 (mined at once unless automine is off); its id.
    async fn request(&self, tag: u64) -> B256 {
        self.request_from(2, tag).await
    }

    /// A request from account `i` whose parameters are `tag`; its id (the oracle derives
    /// it from itself, the requester and the requester's request count).
    async fn request_from(&self, i: usize, tag: u64) -> B256 {
        self.request_job(i, "echo", tag).await
    }

    /// A request of job `job` from account `i` with parameters `tag`; its id.
    async fn request_job(&self, i: usize, job: &str, tag: u64) -> B256 {
        let (now, _) = self.node.latest_time_and_base_fee().await.unwrap();
        let data = abi::call(
            "request(bytes32,bytes,address,bytes4,uint64)",
            &[
                Value::FixedBytes(job_id(job).to_vec()),
                Value::Bytes(abi::encode(&[Value::Uint(U256::from(tag))])),
                Value::Address(key(i).address()),
                Value::FixedBytes(vec![0; 4]),
                Value::Uint(U256::from(now + 100_000)),
            ],
        );
        let nonce = self
            .node
            .view(
                self.oracle,
                "nonces(address)",
                &[Value::Address(key(i).address())],
                "uint256",
            )
            .await
            .unwrap()[0]
            .as_uint()
            .unwrap();
        let mut b = self.oracle.to_vec();
        b.extend_from_slice(key(i).address().as_slice());
        b.extend_from_slice(&nonce.to_be_bytes::<32>());
        self.send_from(i, data).await;
        alloy_primitives::keccak256(&b)
    }

    /// Sends a signed transaction without waiting for a receipt (works with automine off).
    async fn send_from(&self, i: usize, data: Vec<u8>) -> B256 {
        let k = key(i);
        let nonce = self.node.nonce(k.address(), "pending").await.unwrap();
        let tx = ledgerflow_oracle::tx::Eip1559 {
            chain_id: self.node.chain_id().await.unwrap(),
            nonce,
            max_priority_fee_per_gas: 1_000_000_000,
            max_fee_per_gas: 100_000_000_000,
            gas: 500_000,
            to: Some(self.oracle),
            value: U256::ZERO,
            data,
        };
        let s = tx.sign(&k).unwrap();
        self.node.send_raw(&s.raw).await.unwrap()
    }

    async fn rpc(&self, method: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.node.get(method, params).await.unwrap()
    }

    async fn mine(&self, n: u64) {
        for _ in 0..n {
            self.rpc("evm_mine", json!([])).await;
        }
    }

    /// Fulfilled events per request on the canonical chain.
    async fn fulfilments(&self) -> BTreeMap<B256, usize> {
        let head = self.node.head().await.unwrap();
        let logs = self
            .node
            .logs(
                self.oracle,
                Some(abi::event_topic(events::FULFILLED)),
                0,
                head,
            )
            .await
            .unwrap();
        let mut m = BTreeMap::new();
        for l in logs {
            if let Some(OracleEvent::Fulfilled(f)) = events::decode(&l).unwrap() {
                *m.entry(f.request_id).or_insert(0) += 1;
            }
        }
        m
    }

    async fn on_chain_state(&self, id: B256) -> U256 {
        self.node
            .view(
                self.oracle,
                "stateOf(bytes32)",
                &[Value::FixedBytes(id.to_vec())],
                "uint8",
            )
            .await
            .unwrap()[0]
            .as_uint()
            .unwrap()
    }
}

/// Steps the worker (mining a block after each step when `mine`) until `done` or 60 steps.
async fn steps_until(
    w: &mut Worker,
    e: &Env,
    mine: bool,
    mut done: impl FnMut(&BTreeMap<B256, usize>) -> bool,
) -> BTreeMap<B256, usize> {
    for _ in 0..60 {
        let _ = w.step().await;
        if mine {
            e.mine(1).await;
        }
        let f = e.fulfilments().await;
        if done(&f) {
            // a few more steps: nothing more may happen
            for _ in 0..4 {
                let _ = w.step().await;
                if mine {
                    e.mine(1).await;
                }
            }
            return e.fulfilments().await;
        }
    }
    e.fulfilments().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_before_and_after_fulfilment() {
    let test = "reorgs_before_and_after_fulfilment";
    let Some(e) = env(test, "lf_oracle_reorgs").await else {
        return;
    };
    let mut w = e.worker(&e.anvil.url()).await;
    w.step().await.unwrap();

    // 1. the request's block leaves the chain before its fulfilment is mined
    e.rpc("evm_setAutomine", json!([false])).await;
    let gone = e.request(1).await;
    e.mine(1).await;
    w.step().await.unwrap(); // recorded, computed, fulfilment sent (waiting in the pool)
    let st = w.store.get(&format!("{gone:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "submitted", "{st:?}");
    // the request's block is replaced by an empty one; what waits in the pool goes too
    for h in st.fulfil_txs.iter() {
        e.rpc("anvil_dropTransaction", json!([h])).await;
    }
    e.rpc("anvil_reorg", json!([1, []])).await;
    e.rpc("evm_setAutomine", json!([true])).await;
    w.step().await.unwrap();
    let st = w.store.get(&format!("{gone:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "dropped", "{st:?}");
    assert_eq!(e.on_chain_state(gone).await, U256::ZERO, "no such request");

    // 2. a live request (another requester) is fulfilled, then its fulfilment's block
    // leaves the chain: it is sent again and fulfilled once
    let live = e.request_from(0, 2).await;
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&live)).await;
    assert_eq!(f.get(&live), Some(&1), "{f:?}");
    assert!(!f.contains_key(&gone), "{f:?}");
    let fulfilled_in = w
        .store
        .get(&format!("{live:#x}"))
        .await
        .unwrap()
        .unwrap()
        .fulfilled_block
        .unwrap();
    let head = e.node.head().await.unwrap();
    e.rpc("anvil_reorg", json!([head - fulfilled_in + 1, []]))
        .await;
    assert!(
        !e.fulfilments().await.contains_key(&live),
        "the fulfilment is gone"
    );
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&live)).await;
    assert_eq!(f.get(&live), Some(&1), "fulfilled again, once: {f:?}");
    assert_eq!(e.on_chain_state(live).await, U256::from(2u8));
    let st = w.store.get(&format!("{live:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "fulfilled");

    // 3. the first requester asks again: after the reorg its request count is back where
    // it was, so the new request has the dropped one's id, with other parameters; it is
    // answered with its own result, not the dropped one's
    let again = e.request(3).await;
    assert_eq!(again, gone);
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&again)).await;
    let st = w.store.get(&format!("{again:#x}")).await.unwrap().unwrap();
    assert_eq!(
        f.get(&again),
        Some(&1),
        "{f:?} {} {:?} {:?} {:?} {:?}",
        st.state,
        st.error,
        st.fulfil_nonce,
        st.fulfil_txs,
        st.result
    );
    let head = e.node.head().await.unwrap();
    let logs = e
        .node
        .logs(e.oracle, Some(abi::event_topic(events::FULFILLED)), 0, head)
        .await
        .unwrap();
    let results: Vec<Vec<u8>> = ledgerflow_oracle::worker::decode_all(&logs)
        .unwrap()
        .into_iter()
        .filter_map(|(_, ev)| match ev {
            OracleEvent::Fulfilled(f) if f.request_id == again => Some(f.result),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        vec![abi::encode(&[Value::Uint(U256::from(3u64))])],
        "the new request's own result"
    );
    assert!(w.metrics.reorgs.load(std::sync::atomic::Ordering::Relaxed) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_transactions_rpc_faults_duplicates_and_restarts() {
    let test = "dropped_transactions_rpc_faults_duplicates_and_restarts";
    let Some(e) = env(test, "lf_oracle_faults").await else {
        return;
    };
    // a fulfilment the node drops from its pool is sent again
    let mut w = e.worker(&e.anvil.url()).await;
    e.rpc("evm_setAutomine", json!([false])).await;
    let a = e.request(10).await;
    e.mine(1).await;
    w.step().await.unwrap();
    let st = w.store.get(&format!("{a:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "submitted");
    for h in &st.fulfil_txs {
        e.rpc("anvil_dropTransaction", json!([h])).await;
    }
    e.mine(1).await;
    assert!(e.fulfilments().await.is_empty());
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&a)).await;
    assert_eq!(f.get(&a), Some(&1), "{f:?}");
    let st = w.store.get(&format!("{a:#x}")).await.unwrap().unwrap();
    assert!(st.sends >= 2, "{st:?}");
    e.rpc("evm_setAutomine", json!([true])).await;

    // requests served through a proxy that drops, refuses and delays answers; the worker
    // is replaced by a fresh one (a restart from the checkpoint) every few steps
    let proxy = FaultProxy::start(
        &e.anvil.url(),
        Faults {
            seed: 3,
            drop: 0.08,
            http_error: 0.08,
            corrupt: 0.0,
            delay_p: 0.1,
            delay: Duration::from_millis(150),
        },
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(e.request(100 + i).await);
    }
    let mut done = false;
    for round in 0..40 {
        let mut w = e.worker(&proxy.url).await;
        for _ in 0..3 {
            let _ = w.step().await;
        }
        let f = e.fulfilments().await;
        if ids.iter().all(|id| f.contains_key(id)) {
            done = true;
            break;
        }
        if round % 5 == 4 {
            e.mine(1).await;
        }
    }
    assert!(done, "not every request was fulfilled through the faults");
    assert!(proxy.injected() > 0);
    let f = e.fulfilments().await;
    for id in &ids {
        assert_eq!(f.get(id), Some(&1), "{id:#x}: {f:?}");
    }

    // duplicate and out-of-order events: the same blocks applied again, and a Fulfilled
    // event seen before its Request, change nothing and send nothing
    let mut w = e.worker(&e.anvil.url()).await;
    w.step().await.unwrap();
    let head = e.node.head().await.unwrap();
    let logs = e.node.logs(e.oracle, None, 0, head).await.unwrap();
    let mut evs = ledgerflow_oracle::worker::decode_all(&logs).unwrap();
    let window = w.store.checkpoint().await.unwrap().unwrap();
    let jobs = Registry::default();
    w.store.apply(&[], &evs, &window, &jobs).await.unwrap();
    evs.reverse();
    w.store.apply(&[], &evs, &window, &jobs).await.unwrap();
    let before = w.metrics.sent.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..3 {
        w.step().await.unwrap();
    }
    assert_eq!(
        w.metrics.sent.load(std::sync::atomic::Ordering::Relaxed),
        before
    );
    let counts = w.store.counts().await.unwrap();
    assert_eq!(counts, vec![("fulfilled".to_string(), 13)], "{counts:?}");
    let f = e.fulfilments().await;
    assert_eq!(f.len(), 13);
    assert!(f.values().all(|&n| n == 1), "{f:?}");
    // a store that sees every Fulfilled before its Request (newest first) ends with the
    // same: all fulfilled, nothing pending to serve
    let mut fresh = Store::open(&e.db, "0xfresh").await.unwrap();
    fresh.apply(&[], &evs, &window, &jobs).await.unwrap();
    assert_eq!(
        fresh.counts().await.unwrap(),
        vec![("fulfilled".to_string(), 13)]
    );
    assert!(fresh.in_state("pending", 100).await.unwrap().is_empty());
}

/// A result that needs a side transaction (a registration) first: the side transaction
/// dropped from the pool is sent again and the fulfilment waits for it; both reorged out
/// after they were mined, both are sent again, in nonce order; one fulfilment in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn side_transactions_dropped_or_reorged_out_are_sent_again_before_the_fulfilment() {
    let test = "side_transactions_dropped_or_reorged_out_are_sent_again_before_the_fulfilment";
    let Some(e) = env(test, "lf_oracle_side").await else {
        return;
    };
    let mut w = e.worker(&e.anvil.url()).await;
    let is_dataset = |root: B256| {
        let n = e.node.clone();
        let reg = e.registry;
        async move {
            n.view(
                reg,
                "isDataset(bytes32)",
                &[Value::FixedBytes(root.to_vec())],
                "bool",
            )
            .await
            .unwrap()[0]
                == Value::Bool(true)
        }
    };
    let root = alloy_primitives::keccak256(abi::encode(&[Value::Uint(U256::from(7u64))]));
    let key = format!("register-dataset:{root:#x}");

    // 1. computed, its registration sent and then lost from the pool
    e.rpc("evm_setAutomine", json!([false])).await;
    let id = e.request_job(2, "register", 7).await;
    e.mine(1).await;
    w.step().await.unwrap();
    let st = w.store.get(&format!("{id:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "computed", "waits for its registration: {st:?}");
    assert_eq!(st.side_keys, vec![key.clone()]);
    let side = w.store.side(&key).await.unwrap().unwrap();
    assert_eq!(side.state, "signed", "{side:?}");
    for h in &side.txs {
        e.rpc("anvil_dropTransaction", json!([h])).await;
        assert!(!e.node.knows(h).await.unwrap(), "dropped from the pool");
    }
    e.rpc("evm_setAutomine", json!([true])).await;
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&id)).await;
    assert_eq!(f.get(&id), Some(&1), "{f:?}");
    assert!(is_dataset(root).await);
    let side = w.store.side(&key).await.unwrap().unwrap();
    assert!(side.txs.len() == 1 && side.state != "failed", "{side:?}");
    let st = w.store.get(&format!("{id:#x}")).await.unwrap().unwrap();
    assert_eq!(st.state, "fulfilled");

    // 2. both blocks leave the chain: registration and fulfilment are sent again
    let reg_block = {
        let rc = e.node.receipt(&side.txs[0]).await.unwrap().unwrap();
        ledgerflow_oracle::node::quantity(rc["blockNumber"].as_str().unwrap()).unwrap() as u64
    };
    let head = e.node.head().await.unwrap();
    e.rpc("anvil_reorg", json!([head - reg_block + 1, []]))
        .await;
    assert!(!is_dataset(root).await, "the registration is gone");
    assert!(!e.fulfilments().await.contains_key(&id));
    w.step().await.unwrap();
    let st = w.store.get(&format!("{id:#x}")).await.unwrap().unwrap();
    assert!(!st.confirmed && st.state != "fulfilled", "{st:?}");
    let f = steps_until(&mut w, &e, true, |f| f.contains_key(&id)).await;
    assert_eq!(f.get(&id), Some(&1), "fulfilled again, once: {f:?}");
    assert!(is_dataset(root).await, "registered again");
    let side = w.store.side(&key).await.unwrap().unwrap();
    assert!(side.state == "mined" || side.state == "done", "{side:?}");
    // final after the confirmations
    for _ in 0..14 {
        e.mine(1).await;
    }
    w.step().await.unwrap();
    let side = w.store.side(&key).await.unwrap().unwrap();
    assert_eq!(side.state, "done", "{side:?}");
    let st = w.store.get(&format!("{id:#x}")).await.unwrap().unwrap();
    assert!(
        st.confirmed,
        "the fulfilment is --confirmations deep: {st:?}"
    );
}

/// A nonce is claimed by the statement that records the transaction signed with it: a
/// worker killed after choosing a nonce but before recording it chooses the same one
/// again (a gap would stall every later transaction of the account).
#[tokio::test]
async fn a_nonce_is_taken_only_when_its_transaction_is_recorded() {
    let test = "a_nonce_is_taken_only_when_its_transaction_is_recorded";
    let Some(db) = ledgerflow_testkit::services::fresh_postgres_db(test, "lf_oracle_nonce").await
    else {
        return;
    };
    let store = Store::open(&db, "0x00000000000000000000000000000000000000aa")
        .await
        .unwrap();
    let w = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    assert_eq!(store.next_nonce(w, 5).await.unwrap(), 5);
    // chosen, never recorded (the worker died): chosen again
    assert_eq!(store.next_nonce(w, 0).await.unwrap(), 0);
    assert_eq!(store.next_nonce(w, 5).await.unwrap(), 5);
    store
        .signed(w, "0x01", 5, &[1, 2], "0xaa", 2, 1)
        .await
        .unwrap();
    assert_eq!(store.next_nonce(w, 0).await.unwrap(), 6);
    // the node's pending count, when ahead, wins; a re-signed (bumped) lower nonce
    // does not move the counter back
    assert_eq!(store.next_nonce(w, 9).await.unwrap(), 9);
    store
        .side_signed(w, "k", 3, &[3], "0xbb", (1, 2))
        .await
        .unwrap();
    assert_eq!(store.next_nonce(w, 0).await.unwrap(), 6);
    store
        .side_signed(&w.to_ascii_lowercase(), "k", 6, &[3], "0xcc", (1, 2))
        .await
        .unwrap();
    assert_eq!(store.next_nonce(w, 0).await.unwrap(), 7);
    // another worker's counter is its own
    assert_eq!(store.next_nonce("0x01", 0).await.unwrap(), 0);
}
