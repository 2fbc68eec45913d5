#![allow(clippy::unwrap_used)]
//! The oracle end to end on a real anvil node and a real PostgreSQL: the contracts
//! deployed by `oracle deploy`, the anvil chain exported into a lake and registered as a
//! dataset, a model trained and registered; a settlement contract asks for an `sql`
//! aggregate (the average gas price) and pays the right side, a risk-gated vault asks for
//! two `score`s and refuses the high-score address while taking the low-score one; a
//! request made with `oracle request`; `oracle run` serves them all; `oracle verify`
//! passes for honest results and fails, naming the difference, for a tampered result, a
//! changed lake chunk and a different model; `oracle status` lists them; a key file
//! readable by others is refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, U256};
use common::{chain, export_evm, run, stderr, stdout, workload};
use ledgerflow_evm::abi::{self, Value};
use ledgerflow_oracle::jobs;
use ledgerflow_oracle::keys::PrivateKey;
use ledgerflow_oracle::node::{Node, NodeError};
use ledgerflow_oracle::{creation, job_id};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use serde_json::Value as Json;

use ledgerflow_devnet::anvil::DEV_KEYS as KEYS;

fn key_file(dir: &Path, i: usize) -> PathBuf {
    let p = dir.join(format!("key{i}"));
    std::fs::write(&p, KEYS[i]).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn key(i: usize) -> PrivateKey {
    PrivateKey::from_hex(KEYS[i]).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn ok(args: &[&str]) -> String {
    let out = run(args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    stdout(&out)
}

fn json_of(text: &str) -> Json {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn deploy(n: &Node, name: &str, args: &[Value]) -> Address {
    let r = n
        .transact(&key(0), None, U256::ZERO, creation(name, args).unwrap())
        .await
        .unwrap();
    r["contractAddress"].as_str().unwrap().parse().unwrap()
}

async fn send(
    n: &Node,
    from: usize,
    to: Address,
    value: U256,
    sig: &str,
    args: &[Value],
) -> Result<Json, NodeError> {
    n.transact(&key(from), Some(to), value, abi::call(sig, args))
        .await
}

async fn view_uint(n: &Node, to: Address, sig: &str, args: &[Value]) -> U256 {
    n.view(to, sig, args, "uint256").await.unwrap()[0]
        .as_uint()
        .unwrap()
}

/// A feature table where the label follows `x` (1 above 0.5), with two unlabelled
/// addresses to score: one far above, one far below.
fn features(dir: &Path, high: Address, low: Address) -> PathBuf {
    let mut t = String::from("address,x,y,label\n");
    for i in 0..120u32 {
        let x = f64::from(i) / 120.0;
        let y = f64::from((i * 37) % 11);
        let label = u8::from(x > 0.5);
        t.push_str(&format!("0x{:040x},{x},{y},{label}\n", 0x1000 + i));
    }
    t.push_str(&format!("{high:#x},0.97,3,\n{low:#x},0.02,4,\n"));
    let p = dir.join("features.csv");
    std::fs::write(&p, t).unwrap();
    p
}

fn request_ids(receipt: &Json) -> Vec<B256> {
    let logs = receipt["logs"].as_array().cloned().unwrap_or_default();
    ledgerflow_oracle::worker::decode_all(&logs)
        .unwrap()
        .into_iter()
        .filter_map(|(_, e)| match e {
            ledgerflow_oracle::events::OracleEvent::Request(r) => Some(r.request_id),
            _ => None,
        })
        .collect()
}

/// anvil with a workload exported into a lake (blocks 0..=39 in 20-block chunks), the
/// contracts deployed by `oracle deploy` (worker: account 1) and the lake registered as a
/// dataset; a fresh PostgreSQL database.
struct Setup {
    _anvil: ledgerflow_devnet::Anvil,
    d: tempfile::TempDir,
    url: String,
    lake: PathBuf,
    chain_name: String,
    n: Node,
    keys: Vec<PathBuf>,
    oracle: Address,
    o: String,
    root: B256,
    db: String,
}

async fn setup(test: &str, db: &str) -> Option<Setup> {
    let db = ledgerflow_testkit::services::fresh_postgres_db(test, db).await?;
    let (anvil, _w) = chain(test, workload(11, 40, 6)).await?;
    let url = anvil.url();
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake");
    export_evm(&url, &lake, &["--blocks", "0:39", "--chunk-size", "20"]).await;
    let chain_name = ledgerflow_lake::Lake::new(&lake).chains().unwrap()[0].clone();
    let n = Node::new(RpcClient::new(RpcConfig::new(url.clone())).unwrap());
    // the workload mines by hand; from here every transaction is mined as it arrives
    n.get("evm_setAutomine", serde_json::json!([true]))
        .await
        .unwrap();
    let keys: Vec<PathBuf> = (0..7).map(|i| key_file(d.path(), i)).collect();
    let dep = json_of(
        &ok(&[
            "oracle",
            "deploy",
            "--rpc",
            &url,
            "--key-file",
            s(&keys[0]),
            "--worker",
            &format!("{:#x}", key(1).address()),
            "-o",
            s(&d.path().join("oracle.json")),
        ])
        .await,
    );
    let oracle: Address = dep["oracle"].as_str().unwrap().parse().unwrap();
    let o = format!("{oracle:#x}");
    let ds = json_of(
        &ok(&[
            "oracle",
            "register",
            "dataset",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[0]),
            "--lake",
            s(&lake),
            "--blocks",
            "0:39",
            "--json",
        ])
        .await,
    );
    assert_eq!(ds["chunks"].as_u64().unwrap() % 2, 0, "{ds}");
    let root: B256 = ds["root"].as_str().unwrap().parse().unwrap();
    Some(Setup {
        _anvil: anvil,
        d,
        url,
        lake,
        chain_name,
        n,
        keys,
        oracle,
        o,
        root,
        db,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_and_score_requests_end_to_end_with_verify() {
    let test = "sql_and_score_requests_end_to_end_with_verify";
    let Some(st) = setup(test, "lf_oracle_e2e").await else {
        return;
    };
    let Setup {
        d,
        url,
        lake,
        chain_name,
        n,
        keys,
        oracle,
        o,
        root,
        db,
        ..
    } = &st;
    let (url, lake, n, oracle, o, root, db) = (
        url.clone(),
        lake.clone(),
        n.clone(),
        *oracle,
        o.clone(),
        *root,
        db.clone(),
    );
    let addr = |i: usize| key(i).address();

    // what the average gas price is, independently of the oracle
    let q = ok(&[
        "sql", "-l", s(&lake), "--format", "json",
        "SELECT CAST(SUM(gas_price) AS VARCHAR) AS s, COUNT(gas_price) AS c FROM transactions WHERE block_number BETWEEN 0 AND 39",
    ])
    .await;
    let line = json_of(q.lines().find(|l| l.contains("\"s\"")).unwrap());
    let sum: u128 = line["s"].as_str().unwrap().parse().unwrap();
    let count = line["c"].as_u64().unwrap() as u128;
    assert!(count > 100, "{q}");
    let avg = sum / count;

    // the settlement: above wins when the average exceeds the strike
    let stake = U256::from(10u64).pow(U256::from(18u64));
    let params = jobs::sql_params(
        "avg_gas_price",
        root,
        &[Value::Uint(U256::ZERO), Value::Uint(U256::from(39u64))],
    );
    let settlement = deploy(
        &n,
        "AggregateSettlement",
        &[
            Value::Address(oracle),
            Value::FixedBytes(job_id("sql").to_vec()),
            Value::Bytes(params),
            Value::Uint(U256::from(avg - 1)),
            Value::Address(addr(3)),
            Value::Address(addr(4)),
            Value::Uint(stake),
        ],
    )
    .await;
    send(&n, 3, settlement, stake, "fund()", &[]).await.unwrap();
    send(&n, 4, settlement, stake, "fund()", &[]).await.unwrap();
    let (now, _) = n.latest_time_and_base_fee().await.unwrap();
    let expiry = Value::Uint(U256::from(now + 3600));
    let r = send(
        &n,
        2,
        settlement,
        U256::from(1000u64),
        "settle(uint64)",
        std::slice::from_ref(&expiry),
    )
    .await
    .unwrap();
    let sql_id = request_ids(&r)[0];

    // the model: trained here, registered, scored through the vault
    let (high, low) = (addr(5), addr(6));
    let f = features(d.path(), high, low);
    let models = d.path().join("models");
    let model_dir = models.join("risk");
    std::fs::create_dir_all(&models).unwrap();
    ok(&[
        "model",
        "train",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "--trees",
        "20",
        "--seed",
        "7",
        "-o",
        s(&model_dir),
    ])
    .await;
    let reg = json_of(
        &ok(&[
            "oracle",
            "register",
            "model",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[0]),
            "--model",
            s(&model_dir),
            "--json",
        ])
        .await,
    );
    let model_hash: B256 = reg["model_hash"].as_str().unwrap().parse().unwrap();
    let threshold = U256::from(500_000u64);
    let vault = deploy(
        &n,
        "RiskGatedVault",
        &[
            Value::Address(oracle),
            Value::FixedBytes(job_id("score").to_vec()),
            Value::FixedBytes(model_hash.to_vec()),
            Value::Uint(threshold),
        ],
    )
    .await;
    let r = send(
        &n,
        5,
        vault,
        U256::ZERO,
        "screen(uint64)",
        std::slice::from_ref(&expiry),
    )
    .await
    .unwrap();
    let high_id = request_ids(&r)[0];
    let r = send(
        &n,
        6,
        vault,
        U256::ZERO,
        "screen(uint64)",
        std::slice::from_ref(&expiry),
    )
    .await
    .unwrap();
    let low_id = request_ids(&r)[0];
    // before any result: no deposit
    let e = send(&n, 6, vault, U256::from(5u64), "deposit()", &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Vault: not screened"), "{e}");

    // a request from the command line
    let cli_req = json_of(
        &ok(&[
            "oracle",
            "request",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[2]),
            "--job",
            "sql",
            "--template",
            "tx_count",
            "--dataset",
            &format!("{root:#x}"),
            "--arg",
            "from_block=0",
            "--arg",
            "to_block=19",
            "--json",
        ])
        .await,
    );
    let cli_id: B256 = cli_req["request_id"].as_str().unwrap().parse().unwrap();

    // a GNN over a graph of addresses (two communities; `high` in the risky one),
    // registered, asked for from the command line (gnn-score)
    let gnn_dir = models.join("gnn");
    {
        use std::fmt::Write as _;
        let id = |i: usize| match i {
            0 => format!("{high:#x}"),
            1 => format!("{low:#x}"),
            _ => format!("{:#x}", Address::with_last_byte(i as u8)),
        };
        // nodes 0, 2..40 risky; 1, 40..80 not
        let risky = |i: usize| i == 0 || (2..40).contains(&i);
        let (mut e, mut t) = (String::new(), String::from("address,lean,role\n"));
        for i in 0..80usize {
            for j in (i + 1)..80 {
                if risky(i) == risky(j) && (i * 7 + j * 3) % 5 == 0 {
                    writeln!(e, "{},{}", id(i), id(j)).unwrap();
                }
            }
            let lean = if risky(i) { 0.2 } else { -0.2 } + ((i * 37 % 11) as f64 - 5.0) / 10.0;
            let role = if risky(i) { "risky" } else { "ok" };
            writeln!(t, "{},{lean},{role}", id(i)).unwrap();
        }
        std::fs::write(d.path().join("g-edges.csv"), e).unwrap();
        std::fs::write(d.path().join("g-nodes.csv"), t).unwrap();
    }
    ok(&[
        "gnn",
        "train",
        "--edges",
        s(&d.path().join("g-edges.csv")),
        "--header",
        "no",
        "--features",
        s(&d.path().join("g-nodes.csv")),
        "--id",
        "address",
        "--label",
        "role",
        "--seed",
        "3",
        "-o",
        s(&gnn_dir),
    ])
    .await;
    let greg = json_of(
        &ok(&[
            "oracle",
            "register",
            "model",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[0]),
            "--model",
            s(&gnn_dir),
            "--json",
        ])
        .await,
    );
    let gnn_hash = greg["model_hash"].as_str().unwrap().to_string();
    let g_req = json_of(
        &ok(&[
            "oracle",
            "request",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[2]),
            "--job",
            "gnn-score",
            "--model",
            &gnn_hash,
            "--account",
            &format!("{high:#x}"),
            "--class",
            "risky",
            "--json",
        ])
        .await,
    );
    let gnn_id: B256 = g_req["request_id"].as_str().unwrap().parse().unwrap();

    // a key file others can read is refused, and nothing runs
    let loose = d.path().join("loose.key");
    std::fs::write(&loose, KEYS[1]).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&[
        "oracle",
        "run",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--key-file",
        s(&loose),
        "--lake",
        s(&lake),
        "--postgres",
        &db,
        "--until-idle",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("0644") && !err.contains(KEYS[1]), "{err}");

    // the worker serves everything
    let worker = [
        "oracle",
        "run",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--key-file",
        s(&keys[1]),
        "--lake",
        s(&lake),
        "--postgres",
        &db,
        "--models",
        s(&models),
        "--confirmations",
        "1",
        "--until-idle",
        "--max-seconds",
        "120",
    ];
    ok(&worker).await;

    // the settlement paid the side above the strike
    let settled = n.view(settlement, "settled()", &[], "bool").await.unwrap();
    assert_eq!(settled[0], Value::Bool(true));
    assert_eq!(
        view_uint(&n, settlement, "value()", &[]).await,
        U256::from(avg)
    );
    let winner = n
        .view(settlement, "winner()", &[], "address")
        .await
        .unwrap();
    assert_eq!(winner[0], Value::Address(addr(3)));
    // the vault: the high score refused, the low one accepted
    let hs = view_uint(&n, vault, "scoreOf(address)", &[Value::Address(high)]).await;
    let ls = view_uint(&n, vault, "scoreOf(address)", &[Value::Address(low)]).await;
    assert!(hs > threshold && ls <= threshold, "scores {hs} {ls}");
    let e = send(&n, 5, vault, U256::from(5u64), "deposit()", &[])
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Vault: risk score above threshold"),
        "{e}"
    );
    send(&n, 6, vault, U256::from(5u64), "deposit()", &[])
        .await
        .unwrap();
    assert_eq!(
        view_uint(&n, vault, "balanceOf(address)", &[Value::Address(low)]).await,
        U256::from(5u64)
    );

    // a second run finds nothing to do and sends nothing: one fulfilment each
    ok(&worker).await;
    let st = json_of(
        &ok(&[
            "oracle",
            "status",
            "--oracle",
            &o,
            "--postgres",
            &db,
            "--json",
        ])
        .await,
    );
    let counts = st["counts"].as_array().unwrap();
    assert_eq!(counts.len(), 1, "{st}");
    assert_eq!(counts[0]["state"], "fulfilled");
    assert_eq!(counts[0]["requests"], 5);
    for r in st["requests"].as_array().unwrap() {
        assert_eq!(r["sends"], 1, "{r}");
    }
    let topic = abi::event_topic(ledgerflow_oracle::events::FULFILLED);
    let head = n.head().await.unwrap();
    assert_eq!(n.logs(oracle, Some(topic), 0, head).await.unwrap().len(), 5);
    // the GNN's score on chain is the one `gnn predict` gives
    let scores = d.path().join("g-scores.csv");
    ok(&[
        "gnn",
        "predict",
        "--model",
        s(&gnn_dir),
        "--edges",
        s(&d.path().join("g-edges.csv")),
        "--header",
        "no",
        "--features",
        s(&d.path().join("g-nodes.csv")),
        "--id",
        "address",
        "-o",
        s(&scores),
    ])
    .await;
    let table = std::fs::read_to_string(&scores).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "p_risky").unwrap();
    let p: f64 = table
        .lines()
        .find(|l| l.starts_with(&format!("{high:#x},")))
        .unwrap()
        .split(',')
        .nth(col)
        .unwrap()
        .parse()
        .unwrap();
    let g = json_of(
        &ok(&[
            "oracle",
            "status",
            "--oracle",
            &o,
            "--postgres",
            &db,
            "--request",
            &format!("{gnn_id:#x}"),
        ])
        .await,
    );
    assert_eq!(g["state"], "fulfilled", "{g}");
    let want = format!("{:064x}", (p * 1e6).round() as u64);
    assert_eq!(
        g["result"].as_str().unwrap().trim_start_matches("0x"),
        want,
        "{g}"
    );
    assert!(p > 0.5, "the risky community's member scores high: {p}");

    // verify: honest results pass
    for id in [sql_id, high_id, low_id, cli_id, gnn_id] {
        let v = json_of(
            &ok(&[
                "oracle",
                "verify",
                "--rpc",
                &url,
                "--oracle",
                &o,
                "--request",
                &format!("{id:#x}"),
                "--lake",
                s(&lake),
                "--models",
                s(&models),
                "--json",
            ])
            .await,
        );
        assert_eq!(v["ok"], true, "{v}");
    }
    let text = ok(&[
        "oracle",
        "verify",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--request",
        &format!("{sql_id:#x}"),
        "--lake",
        s(&lake),
    ])
    .await;
    assert!(
        text.contains("(sql)") && text.contains("verified: the result is what"),
        "{text}"
    );

    // a changed lake chunk
    let bad_lake = d.path().join("bad-lake");
    copy_dir(&lake, &bad_lake);
    let tx_dir = bad_lake.join(chain_name).join("transactions");
    let chunk = std::fs::read_dir(&tx_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes.splice(0..0, b"PAR1".iter().copied());
    std::fs::write(&chunk, bytes).unwrap();
    let out = run(&[
        "oracle",
        "verify",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--request",
        &format!("{sql_id:#x}"),
        "--lake",
        s(&bad_lake),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let t = stdout(&out);
    assert!(
        t.contains("DIFFERS") && t.contains("not the registered"),
        "{t}"
    );

    // a different model
    let other = d.path().join("other-models");
    std::fs::create_dir_all(&other).unwrap();
    ok(&[
        "model",
        "train",
        "--features",
        s(&f),
        "--id",
        "address",
        "--label",
        "label",
        "--trees",
        "20",
        "--seed",
        "8",
        "-o",
        s(&other.join("m")),
    ])
    .await;
    let out = run(&[
        "oracle",
        "verify",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--request",
        &format!("{high_id:#x}"),
        "--lake",
        s(&lake),
        "--models",
        s(&other),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let t = stdout(&out);
    assert!(
        t.contains("DIFFERS") && t.contains("not in this worker's model folders"),
        "{t}"
    );

    // a tampered result: the authorised worker fulfils a fresh request with a wrong
    // value (its hash consistent, so the contract takes it); verify names the difference
    let r = json_of(
        &ok(&[
            "oracle",
            "request",
            "--rpc",
            &url,
            "--oracle",
            &o,
            "--key-file",
            s(&keys[2]),
            "--job",
            "sql",
            "--template",
            "tx_count",
            "--dataset",
            &format!("{root:#x}"),
            "--arg",
            "0",
            "--arg",
            "39",
            "--json",
        ])
        .await,
    );
    let bad_id: B256 = r["request_id"].as_str().unwrap().parse().unwrap();
    let wrong = abi::encode(&[Value::Uint(U256::from(12345u64))]);
    send(
        &n,
        1,
        oracle,
        U256::ZERO,
        "fulfil(bytes32,bytes,bytes32,bytes32,bytes32,bytes32)",
        &[
            Value::FixedBytes(bad_id.to_vec()),
            Value::Bytes(wrong.clone()),
            Value::FixedBytes(alloy_primitives::keccak256(&wrong).to_vec()),
            Value::FixedBytes(root.to_vec()),
            Value::FixedBytes(vec![0; 32]),
            Value::FixedBytes(vec![0; 32]),
        ],
    )
    .await
    .unwrap();
    let out = run(&[
        "oracle",
        "verify",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--request",
        &format!("{bad_id:#x}"),
        "--lake",
        s(&lake),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    let t = stdout(&out);
    assert!(
        t.contains("result") && t.contains("DIFFERS") && t.contains("recomputed"),
        "{t}"
    );
}

/// The `train` job end to end: a consumer commissions a model on the registered dataset
/// (the lake's public labels), the worker trains it, registers its hash through its own
/// transaction manager and fulfils; the consumer adopts the model and screens two
/// accounts with it through `score`; a second identical request gives the same model
/// without a second registration; `oracle verify` re-trains and passes, and fails naming
/// the model hash when the labels differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_request_registers_a_model_the_consumer_then_uses() {
    let test = "train_request_registers_a_model_the_consumer_then_uses";
    let Some(st) = setup(test, "lf_oracle_train").await else {
        return;
    };
    let (d, url, lake, n, oracle, o, root, db) = (
        st.d.path(),
        st.url.clone(),
        st.lake.clone(),
        st.n.clone(),
        st.oracle,
        st.o.clone(),
        st.root,
        st.db.clone(),
    );
    // labels: the busier half of the senders "risky", the rest "benign"
    let q = ok(&[
        "sql", "-l", s(&lake), "--format", "json",
        "SELECT from_address AS a, COUNT(*) AS c FROM transactions WHERE block_number <= 39 GROUP BY from_address ORDER BY c DESC, a",
    ])
    .await;
    let senders: Vec<(String, u64)> = q
        .lines()
        .filter(|l| l.contains("\"a\""))
        .map(|l| {
            let v = json_of(l);
            (
                v["a"].as_str().unwrap().to_string(),
                v["c"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(senders.len() >= 6, "{q}");
    let half = senders.len() / 2;
    let label_csv = |flip: bool| {
        let mut t = String::from("address,category,source,confidence\n");
        for (i, (a, _)) in senders.iter().enumerate() {
            let risky = (i < half) != flip;
            let c = if risky { "risky" } else { "benign" };
            t.push_str(&format!("{a},{c},test,1\n"));
        }
        t
    };
    let labels = d.join("labels.csv");
    std::fs::write(&labels, label_csv(false)).unwrap();
    ok(&["labels", "import", "--lake", s(&lake), s(&labels)]).await;
    let busiest: Address = senders[0].0.parse().unwrap();
    let quietest: Address = senders.last().unwrap().0.parse().unwrap();

    let threshold = U256::from(500_000u64);
    let commission = deploy(
        &n,
        "ModelCommission",
        &[
            Value::Address(oracle),
            Value::FixedBytes(job_id("train").to_vec()),
            Value::FixedBytes(job_id("score").to_vec()),
            Value::Uint(threshold),
        ],
    )
    .await;
    let (now, _) = n.latest_time_and_base_fee().await.unwrap();
    let expiry = Value::Uint(U256::from(now + 3600));
    let commission_args = [
        Value::FixedBytes(root.to_vec()),
        Value::String("forest".into()),
        Value::Uint(U256::from(25u64)),
        Value::Uint(U256::from(7u64)),
        expiry.clone(),
    ];
    let sig = "commission(bytes32,string,uint256,uint256,uint64)";
    let r = send(&n, 2, commission, U256::ZERO, sig, &commission_args)
        .await
        .unwrap();
    let train_id = request_ids(&r)[0];
    // before a model: no screening
    let e = send(
        &n,
        2,
        commission,
        U256::ZERO,
        "screen(address,uint64)",
        &[Value::Address(busiest), expiry.clone()],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("Commission: no model yet"), "{e}");

    let models = d.join("models");
    let worker = [
        "oracle",
        "run",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--key-file",
        s(&st.keys[1]),
        "--lake",
        s(&lake),
        "--postgres",
        &db,
        "--models",
        s(&models),
        "--confirmations",
        "1",
        "--until-idle",
        "--max-seconds",
        "180",
    ];
    ok(&worker).await;

    // the consumer adopted the model; the registry has it, trained on the dataset
    let m = n.view(commission, "model()", &[], "bytes32").await.unwrap();
    let model = B256::from_slice(m[0].as_bytes().unwrap());
    assert_ne!(model, B256::ZERO);
    let registry = ledgerflow_oracle::verify::registry_of(&n, oracle)
        .await
        .unwrap();
    let reg = n
        .view(
            registry,
            "models(bytes32)",
            &[Value::FixedBytes(model.to_vec())],
            "bytes32,bytes32,address,uint256,address,bool",
        )
        .await
        .unwrap();
    assert_eq!(reg[5], Value::Bool(true));
    assert_eq!(reg[1], Value::FixedBytes(root.to_vec()));
    assert_eq!(
        reg[4],
        Value::Address(key(1).address()),
        "registered by the worker"
    );
    let dir = models.join(alloy_primitives::hex::encode(model.as_slice()));
    let bytes = std::fs::read(dir.join("model.lfm")).unwrap();
    assert_eq!(
        ledgerflow_ml::model::sha256_hex(&bytes),
        alloy_primitives::hex::encode(model.as_slice())
    );
    assert!(dir.join("features.parquet").is_file());
    let rows = view_uint(&n, commission, "trainingRows()", &[]).await;
    assert_eq!(rows, U256::from(senders.len() as u64));

    // the consumer acts on it: screening with the delivered model
    for a in [busiest, quietest] {
        send(
            &n,
            2,
            commission,
            U256::ZERO,
            "screen(address,uint64)",
            &[Value::Address(a), expiry.clone()],
        )
        .await
        .unwrap();
    }
    // the same training asked again: the same model, no second registration
    let r = send(&n, 3, commission, U256::ZERO, sig, &commission_args)
        .await
        .unwrap();
    let again_id = request_ids(&r)[0];
    ok(&worker).await;
    let busy = view_uint(
        &n,
        commission,
        "scoreOf(address)",
        &[Value::Address(busiest)],
    )
    .await;
    let quiet = view_uint(
        &n,
        commission,
        "scoreOf(address)",
        &[Value::Address(quietest)],
    )
    .await;
    let status = ok(&["oracle", "status", "--oracle", &o, "--postgres", &db]).await;
    assert!(
        busy > threshold && quiet <= threshold,
        "scores {busy} {quiet}\n{status}"
    );
    let flagged = n
        .view(
            commission,
            "flagged(address)",
            &[Value::Address(busiest)],
            "bool",
        )
        .await
        .unwrap();
    assert_eq!(flagged[0], Value::Bool(true));
    let m2 = n.view(commission, "model()", &[], "bytes32").await.unwrap();
    assert_eq!(m2[0], Value::FixedBytes(model.to_vec()));
    let head = n.head().await.unwrap();
    let reg_topic =
        abi::event_topic("ModelRegistered(bytes32,bytes32,bytes32,address,uint256,address)");
    assert_eq!(
        n.logs(registry, Some(reg_topic), 0, head)
            .await
            .unwrap()
            .len(),
        1,
        "one registration for two identical trainings"
    );
    let st_json = json_of(
        &ok(&[
            "oracle",
            "status",
            "--oracle",
            &o,
            "--postgres",
            &db,
            "--json",
        ])
        .await,
    );
    for r in st_json["requests"].as_array().unwrap() {
        assert_eq!(r["state"], "fulfilled", "{r}");
        assert_eq!(r["sends"], 1, "{r}");
    }

    // verify: trained again from the chain data and the labels, byte for byte
    for id in [train_id, again_id] {
        let v = json_of(
            &ok(&[
                "oracle",
                "verify",
                "--rpc",
                &url,
                "--oracle",
                &o,
                "--request",
                &format!("{id:#x}"),
                "--lake",
                s(&lake),
                "--json",
            ])
            .await,
        );
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["job"], "train", "{v}");
    }
    // other labels: another model, and verify says so
    let other = d.join("other-lake");
    copy_dir(&lake, &other);
    std::fs::write(&labels, label_csv(true)).unwrap();
    ok(&[
        "labels",
        "import",
        "--lake",
        s(&other),
        "--replace",
        s(&labels),
    ])
    .await;
    let out = run(&[
        "oracle",
        "verify",
        "--rpc",
        &url,
        "--oracle",
        &o,
        "--request",
        &format!("{train_id:#x}"),
        "--lake",
        s(&other),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let t = stdout(&out);
    assert!(t.contains("model hash") && t.contains("DIFFERS"), "{t}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Sends a request from account `from` without waiting for anything but its receipt; its
/// id.
async fn request_tx_count(st: &Setup, from: usize, to_block: u64) -> B256 {
    let (now, _) = st.n.latest_time_and_base_fee().await.unwrap();
    let params = jobs::sql_params(
        "tx_count",
        st.root,
        &[Value::Uint(U256::ZERO), Value::Uint(U256::from(to_block))],
    );
    let r = send(
        &st.n,
        from,
        st.oracle,
        U256::ZERO,
        "request(bytes32,bytes,address,bytes4,uint64)",
        &[
            Value::FixedBytes(job_id("sql").to_vec()),
            Value::Bytes(params),
            Value::Address(key(from).address()),
            Value::FixedBytes(vec![0; 4]),
            Value::Uint(U256::from(now + 3600)),
        ],
    )
    .await
    .unwrap();
    request_ids(&r)[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_job_restarts_and_fulfils_each_request_once() {
    let test = "worker_killed_mid_job_restarts_and_fulfils_each_request_once";
    let Some(st) = setup(test, "lf_oracle_kill").await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..16u64 {
        ids.push(request_tx_count(&st, 2 + (i % 3) as usize, 19 + (i % 21)).await);
    }
    let args: Vec<String> = [
        "oracle",
        "run",
        "--rpc",
        &st.url,
        "--oracle",
        &st.o,
        "--key-file",
        s(&st.keys[1]),
        "--lake",
        s(&st.lake),
        "--postgres",
        &st.db,
        "--confirmations",
        "1",
        "--poll-ms",
        "20",
        "--resend-after",
        "1",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    // /metrics and /health while a worker runs
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut with_metrics = args.clone();
    with_metrics.extend(["--metrics-addr".to_string(), format!("127.0.0.1:{port}")]);
    let mut child = std::process::Command::new(common::bin())
        .args(&with_metrics)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut metrics = String::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            metrics = r.text().await.unwrap();
            if metrics.contains("ledgerflow_oracle_requests_total 16") {
                break;
            }
        }
    }
    assert!(
        metrics.contains("ledgerflow_oracle_requests_total 16")
            && metrics.contains("ledgerflow_oracle_seconds_total{part=\"job\"}"),
        "{metrics}"
    );
    let health = json_of(
        &client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(health["head"].as_u64().unwrap() > 0, "{health}");
    child.kill().unwrap();
    child.wait().unwrap();
    // killed with SIGKILL at staggered moments, more requests arriving meanwhile
    let mut kills = 1;
    for (round, ms) in [250u64, 400, 150, 600, 300, 500].into_iter().enumerate() {
        let mut child = std::process::Command::new(common::bin())
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        ids.push(request_tx_count(&st, 2 + round % 3, 39).await);
    }
    assert!(kills >= 5, "the worker was killed {kills} times");
    // a last, uninterrupted run serves what is left
    let mut last = vec!["-v".to_string()];
    last.extend(args.iter().cloned());
    last.extend([
        "--until-idle".to_string(),
        "--max-seconds".to_string(),
        "120".to_string(),
    ]);
    let last: Vec<&str> = last.iter().map(String::as_str).collect();
    let last_run = run(&last).await;
    assert!(last_run.status.success(), "{}", stderr(&last_run));
    let head = st.n.head().await.unwrap();
    let logs =
        st.n.logs(
            st.oracle,
            Some(abi::event_topic(ledgerflow_oracle::events::FULFILLED)),
            0,
            head,
        )
        .await
        .unwrap();
    let mut per: std::collections::BTreeMap<B256, usize> = Default::default();
    for (_, e) in ledgerflow_oracle::worker::decode_all(&logs).unwrap() {
        if let ledgerflow_oracle::events::OracleEvent::Fulfilled(f) = e {
            *per.entry(f.request_id).or_default() += 1;
        }
    }
    for id in &ids {
        if per.get(id) != Some(&1) {
            // what the worker's store says about it, and what the last run logged
            let id_hex = format!("{id:#x}");
            let stored = run(&[
                "oracle",
                "status",
                "--oracle",
                &st.o,
                "--postgres",
                &st.db,
                "--request",
                &id_hex,
            ])
            .await;
            let log = stderr(&last_run);
            let tail: String = log
                .lines()
                .rev()
                .take(80)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            let me = key(1).address();
            let latest = st.n.nonce(me, "latest").await;
            let pending = st.n.nonce(me, "pending").await;
            let pool = reqwest::Client::new()
                .post(&st.url)
                .header("content-type", "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"txpool_inspect","params":[]}"#)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let all = run(&[
                "oracle",
                "status",
                "--oracle",
                &st.o,
                "--postgres",
                &st.db,
                "--json",
                "--limit",
                "100",
            ])
            .await;
            let nonces: Vec<String> = json_of(&stdout(&all))["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} nonce {} sends {} tx {}",
                        &r["request_id"].as_str().unwrap_or("?")[..10],
                        r["state"],
                        r["fulfil_nonce"],
                        r["sends"],
                        r["fulfilled_tx"]
                    )
                })
                .collect();
            panic!(
                "{id_hex} fulfilled {:?} times\nstore: {}{}\nworker nonce latest {latest:?} pending {pending:?}\npool: {pool}\nrequests:\n{}\nlast run's log (tail):\n{tail}",
                per.get(id),
                stdout(&stored),
                stderr(&stored),
                nonces.join("\n")
            );
        }
    }
    assert_eq!(per.len(), ids.len());
    let status = json_of(
        &ok(&[
            "oracle",
            "status",
            "--oracle",
            &st.o,
            "--postgres",
            &st.db,
            "--json",
        ])
        .await,
    );
    assert_eq!(status["counts"][0]["state"], "fulfilled", "{status}");
    assert_eq!(status["counts"][0]["requests"], ids.len(), "{status}");
    // every result is the one the lake gives: verify a few
    for id in ids.iter().step_by(5) {
        let v = json_of(
            &ok(&[
                "oracle",
                "verify",
                "--rpc",
                &st.url,
                "--oracle",
                &st.o,
                "--request",
                &format!("{id:#x}"),
                "--lake",
                s(&st.lake),
                "--json",
            ])
            .await,
        );
        assert_eq!(v["ok"], true, "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_commands_refuse_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let keyf = key_file(d.path(), 2);
    let k = s(&keyf);
    let missing = d.path().join("missing.key");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x12",
                "--key-file",
                k,
                "--job",
                "sql",
            ],
            "is not an address",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "mine",
            ],
            "one of sql, score",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "sql",
                "--template",
                "nope",
                "--dataset",
                "0x0000000000000000000000000000000000000000000000000000000000000001",
            ],
            "no template \"nope\"",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "sql",
                "--template",
                "tx_count",
                "--dataset",
                "0x0000000000000000000000000000000000000000000000000000000000000001",
                "--arg",
                "from_block=x",
                "--arg",
                "to_block=3",
            ],
            "is not a uint64",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "sql",
                "--template",
                "tx_count",
            ],
            "needs --dataset",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "score",
                "--model",
                "0x01",
            ],
            "is not 32 bytes of hex",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "train",
                "--algo",
                "forest",
            ],
            "--job train needs --dataset",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "train",
                "--dataset",
                "0x0000000000000000000000000000000000000000000000000000000000000001",
                "--algo",
                "svm",
            ],
            "unknown algorithm \"svm\"",
        ),
        (
            vec![
                "oracle",
                "request",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "train",
                "--dataset",
                "0x0000000000000000000000000000000000000000000000000000000000000001",
                "--trees",
                "0",
            ],
            "--trees must be between 1 and",
        ),
        (
            vec![
                "oracle",
                "verify",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--request",
                "zz",
            ],
            "is not 32 bytes of hex",
        ),
        (
            vec![
                "oracle",
                "register",
                "dataset",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--chain",
                "c",
                "--blocks",
                "9:3",
            ],
            "the range is empty",
        ),
        (
            vec!["oracle", "deploy", "--key-file", s(&missing)],
            "cannot read the key file",
        ),
        (
            vec![
                "oracle",
                "request",
                "--rpc",
                "http://127.0.0.1:9",
                "--oracle",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "--key-file",
                k,
                "--job",
                "score",
                "--model",
                "0x0000000000000000000000000000000000000000000000000000000000000001",
                "--account",
                "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            ],
            "connection to http://127.0.0.1:9 failed",
        ),
    ];
    for (args, want) in cases {
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(e.contains(want), "{args:?}: expected {want:?} in {e}");
        assert!(!e.contains("panicked"), "{e}");
        assert!(!e.contains(KEYS[2]), "the key leaked: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chainlink_operator_requests_are_served() {
    let test = "chainlink_operator_requests_are_served";
    let Some(st) = setup(test, "lf_oracle_chainlink").await else {
        return;
    };
    let n = &st.n;
    let owner = key(0).address();
    let link = deploy(n, "LinkToken", &[]).await;
    let operator = deploy(
        n,
        "Operator",
        &[Value::Address(link), Value::Address(owner)],
    )
    .await;
    let fee = U256::from(10u64).pow(U256::from(17u64));
    let consumer = deploy(
        n,
        "LedgerflowChainlinkConsumer",
        &[
            Value::Address(link),
            Value::Address(operator),
            Value::Uint(fee),
        ],
    )
    .await;
    send(
        n,
        0,
        link,
        U256::ZERO,
        "grantMintRole(address)",
        &[Value::Address(owner)],
    )
    .await
    .unwrap();
    send(
        n,
        0,
        link,
        U256::ZERO,
        "mint(address,uint256)",
        &[
            Value::Address(consumer),
            Value::Uint(fee * U256::from(10u64)),
        ],
    )
    .await
    .unwrap();
    send(
        n,
        0,
        operator,
        U256::ZERO,
        "setAuthorizedSenders(address[])",
        &[Value::addresses([key(1).address()])],
    )
    .await
    .unwrap();
    // an unchanged ChainlinkClient consumer asks for tx_count over blocks 0..=29
    send(
        n,
        2,
        consumer,
        U256::ZERO,
        "requestSql(bytes32,string,string,string[],int256[])",
        &[
            Value::FixedBytes(job_id("sql").to_vec()),
            Value::String("tx_count".into()),
            Value::String(format!("{:#x}", st.root)),
            Value::Array(vec![
                Value::String("from_block".into()),
                Value::String("to_block".into()),
            ]),
            Value::Array(vec![
                Value::Int(alloy_primitives::I256::ZERO),
                Value::Int(alloy_primitives::I256::try_from(29).unwrap()),
            ]),
        ],
    )
    .await
    .unwrap();
    let q = ok(&[
        "sql",
        "-l",
        s(&st.lake),
        "--format",
        "json",
        "SELECT COUNT(*) AS c FROM transactions WHERE block_number BETWEEN 0 AND 29",
    ])
    .await;
    let want = json_of(q.lines().find(|l| l.contains("\"c\"")).unwrap())["c"]
        .as_u64()
        .unwrap();
    ok(&[
        "oracle",
        "run",
        "--rpc",
        &st.url,
        "--oracle",
        &st.o,
        "--key-file",
        s(&st.keys[1]),
        "--lake",
        s(&st.lake),
        "--postgres",
        &st.db,
        "--confirmations",
        "1",
        "--chainlink-operator",
        &format!("{operator:#x}"),
        "--until-idle",
        "--max-seconds",
        "120",
    ])
    .await;
    assert_eq!(
        view_uint(n, consumer, "value()", &[]).await,
        U256::from(want),
        "the consumer got the lake's answer"
    );
    assert_eq!(
        view_uint(n, consumer, "answers()", &[]).await,
        U256::from(1u64)
    );
    let status = json_of(
        &ok(&[
            "oracle",
            "status",
            "--oracle",
            &st.o,
            "--postgres",
            &st.db,
            "--json",
        ])
        .await,
    );
    assert_eq!(status["counts"][0]["state"], "fulfilled", "{status}");
    assert_eq!(status["requests"][0]["job"], "sql", "{status}");
}
