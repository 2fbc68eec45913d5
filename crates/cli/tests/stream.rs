#![allow(clippy::unwrap_used)]
//! `ledgerflow stream evm` on a real anvil node into a real PostgreSQL, a real NATS
//! JetStream and a lake, while the chain is reorganised (`anvil_reorg`, depth 1–10), rolled
//! back (`anvil_rollback`) and extended, and the streamer is killed with SIGKILL at random
//! points. At the end every sink equals a fresh export of the canonical chain, row for row:
//! PostgreSQL (against `load postgres` of the fresh export), the lake (chunks plus tip
//! area), and a NATS consumer that applies row and undo messages (and de-duplicates by
//! `Nats-Msg-Id`, finding nothing to drop).
//!
//! CI runs a reduced round (LEDGERFLOW_STREAM_KILLS, default 25 kills and 25 reorgs); the
//! soak run is `LEDGERFLOW_STREAM_KILLS=200 LEDGERFLOW_STREAM_REORGS=100 cargo test -p
//! ledgerflow --test stream -- --nocapture`.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::StreamExt;
use ledgerflow_devnet::WorkloadConfig;
use ledgerflow_rpc::{RpcClient, RpcConfig};
use rand::{Rng, SeedableRng};
use serde_json::json;

const PG: &str = "postgres://root@127.0.0.1:5432";
const NATS: &str = "nats://127.0.0.1:4222";
const DEV: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const TABLES: &str = "blocks,transactions,receipts,logs,token_transfers,traces,contracts,tokens";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fresh_db(name: &str) -> Option<String> {
    let admin = match ledgerflow_postgres::load::connect(&format!("{PG}/postgres")).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("LEDGERFLOW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL required: {e}");
            }
            println!("skipped: no PostgreSQL at {PG} ({e})");
            return None;
        }
    };
    for stmt in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&stmt).await.unwrap();
    }
    Some(format!("{PG}/{name}"))
}

async fn nats() -> Option<async_nats::Client> {
    match async_nats::connect(NATS).await {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("LEDGERFLOW_REQUIRE_NATS").is_ok_and(|v| v == "1") {
                panic!("NATS required: {e}");
            }
            println!("skipped: no NATS at {NATS} ({e})");
            None
        }
    }
}

/// Each row of the batches as arrow-json text (what the NATS sink publishes), sorted.
fn json_rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let mut buf = Vec::new();
        let mut w = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
        w.write(b).unwrap();
        w.finish().unwrap();
        out.extend(
            String::from_utf8(buf)
                .unwrap()
                .lines()
                .map(|l| l.to_string()),
        );
    }
    out.sort();
    out
}

fn parquet_files(dir: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    for f in files {
        let file = std::fs::File::open(&f).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        out.extend(reader.map(|b| b.unwrap()));
    }
    out
}

async fn digest(url: &str, table: &str) -> (i64, String) {
    let c = ledgerflow_postgres::load::connect(url).await.unwrap();
    let r = c
        .query_one(
            &format!(
                "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') \
                 FROM crypto_anvil.{table} x"
            ),
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

/// Reads every message of a JetStream stream and applies it like a consumer that keeps
/// each block's rows and reverts them on an undo message: per table, the rows it holds.
/// Also returns how many messages repeated an id already seen.
async fn consume(
    js: &async_nats::jetstream::Context,
    stream: &str,
) -> (BTreeMap<String, Vec<String>>, u64, u64) {
    use async_nats::jetstream::consumer;
    let s = js.get_stream(stream).await.unwrap();
    let total = s.cached_info().state.messages;
    let c = s
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut msgs = c.messages().await.unwrap();
    let mut held: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let (mut dups, mut undos) = (0u64, 0u64);
    for _ in 0..total {
        let m = tokio::time::timeout(Duration::from_secs(30), msgs.next())
            .await
            .expect("message within 30 s")
            .unwrap()
            .unwrap();
        let h = m.headers.as_ref().unwrap();
        let get = |k: &str| h.get(k).unwrap().as_str().to_string();
        let id = get("Nats-Msg-Id");
        if !seen.insert(id) {
            dups += 1;
            continue;
        }
        let key = (get("Ledgerflow-Table"), get("Ledgerflow-Block-Hash"));
        match get("Ledgerflow-Op").as_str() {
            "undo" => {
                undos += 1;
                held.remove(&key);
            }
            "apply" => held
                .entry(key)
                .or_default()
                .push(String::from_utf8(m.payload.to_vec()).unwrap()),
            op => panic!("unknown op {op}"),
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((table, _), rows) in held {
        out.entry(table).or_default().extend(rows);
    }
    for rows in out.values_mut() {
        rows.sort();
    }
    (out, dups, undos)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_reorgs_and_restarts_leave_every_sink_canonical() {
    let Some((anvil, _)) = common::chain(
        "stream",
        WorkloadConfig {
            blocks: 12,
            txs_per_block: 6,
            users: 10,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let Some(stream_db) = fresh_db("ledgerflow_test_stream_cli").await else {
        return;
    };
    let fresh_db_url = fresh_db("ledgerflow_test_stream_fresh").await.unwrap();
    let Some(nc) = nats().await else {
        return;
    };
    let js = async_nats::jetstream::new(nc);
    let tag = format!("t{}", std::process::id());
    let stream_name = format!("LEDGERFLOW_TEST_{tag}");
    let _ = js.delete_stream(&stream_name).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let url = anvil.url();
    let client = RpcClient::new(RpcConfig::new(url.clone())).unwrap();
    let kills_wanted = env_u64("LEDGERFLOW_STREAM_KILLS", 25);
    let reorgs_wanted = env_u64("LEDGERFLOW_STREAM_REORGS", 25);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(env_u64("LEDGERFLOW_STREAM_SEED", 5));
    let prefix = format!("ledgerflow.test.{tag}");
    let args = |until_head: bool| {
        let mut a: Vec<String> = [
            "--log-format",
            "json",
            "stream",
            "evm",
            "--rpc",
            &url,
            "--tables",
            TABLES,
            "--start",
            "0",
            "--confirmations",
            "12",
            "--max-blocks-per-event",
            "4",
            "--poll-interval",
            "50ms",
            "--postgres",
            &stream_db,
            "--nats",
            NATS,
            "--nats-stream",
            &stream_name,
            "--nats-prefix",
            &prefix,
            "--name",
            &tag,
            "--lake",
            lake.to_str().unwrap(),
            "--chunk-size",
            "16",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if until_head {
            a.push("--until-head".into());
        }
        a
    };
    let tx = |v: u64| json!({"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{:x}", v + 1)});

    let (mut kills, mut kills_mid_work, mut terms, mut reorgs, mut rollbacks) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut round = 0u64;
    while kills < kills_wanted || reorgs < reorgs_wanted {
        round += 1;
        // a streamer following the tip while the chain changes under it
        let log = logs.join(format!("run-{round}.log"));
        let mut child = std::process::Command::new(common::bin())
            .args(args(false))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        for _ in 0..rng.gen_range(1..=5u32) {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..250))).await;
            let roll: f64 = rng.gen();
            if roll < 0.35 {
                for k in 0..rng.gen_range(0..3u64) {
                    client
                        .call("eth_sendTransaction", json!([tx(round * 100 + k)]))
                        .await
                        .unwrap();
                }
                let n = rng.gen_range(1..=4u64);
                client
                    .call("anvil_mine", json!([format!("0x{n:x}")]))
                    .await
                    .unwrap();
            } else if roll < 0.85 {
                let depth = rng.gen_range(1..=10u64);
                let txs: Vec<_> = (0..rng.gen_range(0..3u64))
                    .map(|k| json!([tx(round * 100 + 50 + k), rng.gen_range(0..depth)]))
                    .collect();
                client
                    .call("anvil_reorg", json!([depth, txs]))
                    .await
                    .unwrap();
                reorgs += 1;
            } else {
                // a rollback, seen for a moment, then the chain grows back to its height
                let depth = rng.gen_range(1..=5u64);
                client.call("anvil_rollback", json!([depth])).await.unwrap();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..150))).await;
                client
                    .call("eth_sendTransaction", json!([tx(round * 100 + 99)]))
                    .await
                    .unwrap();
                client
                    .call("anvil_mine", json!([format!("0x{depth:x}")]))
                    .await
                    .unwrap();
                rollbacks += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "streamer exited: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if kills >= kills_wanted || rng.gen_bool(0.1) {
            // a graceful stop: SIGTERM, the current event finishes, exit 0
            let pid = child.id().to_string();
            let st = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap();
            assert!(st.success());
            let status = child.wait().unwrap();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(status.success(), "SIGTERM: {status:?} {text}");
            assert!(text.contains("shutting down between events"), "{text}");
            terms += 1;
        } else {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("event applied") {
                kills_mid_work += 1;
            }
        }
    }
    // the last run reaches the head
    let last = args(true);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::bin())
            .args(last)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    println!(
        "stream soak: {round} runs, {kills} SIGKILLs ({kills_mid_work} after the streamer applied events), {terms} SIGTERMs, {reorgs} reorgs, {rollbacks} rollbacks"
    );

    // the canonical chain, exported fresh
    let head: String = serde_json::from_str(
        client
            .call("eth_blockNumber", json!([]))
            .await
            .unwrap()
            .get(),
    )
    .unwrap();
    let head = u64::from_str_radix(head.trim_start_matches("0x"), 16).unwrap();
    let fresh = dir.path().join("fresh");
    let out = common::run(&[
        "export",
        "evm",
        "--rpc",
        &url,
        "--blocks",
        &format!("0:{head}"),
        "--tables",
        TABLES,
        "--token-block",
        "creation",
        "-o",
        fresh.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let out = common::run(&[
        "load",
        "postgres",
        "--url",
        &fresh_db_url,
        "-l",
        fresh.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", common::stderr(&out));

    let (nats_rows, dups, undos) = consume(&js, &stream_name).await;
    assert_eq!(dups, 0, "a message id repeated in the stream");
    assert!(undos > 0);
    for table in TABLES.split(',') {
        let canonical = json_rows(&parquet_files(&fresh.join("anvil").join(table)));
        // the lake: immutable chunks plus the tip area
        let mut ours = parquet_files(&lake.join("anvil").join(table));
        ours.extend(parquet_files(&lake.join("anvil").join("_tip").join(table)));
        assert_eq!(json_rows(&ours), canonical, "lake {table}");
        // NATS, as a consumer applying row and undo messages
        assert_eq!(
            nats_rows.get(table).cloned().unwrap_or_default(),
            canonical,
            "nats {table}"
        );
        // PostgreSQL
        assert_eq!(
            digest(&stream_db, table).await,
            digest(&fresh_db_url, table).await,
            "postgres {table}"
        );
        if table == "blocks" {
            assert_eq!(canonical.len() as u64, head + 1);
        }
    }
    // final blocks are in chunk files aligned to the chunk size; the tip area holds the rest
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lake.join("anvil").join("_tip").join("state.json")).unwrap(),
    )
    .unwrap();
    let chunk_end = state["chunk_end"].as_u64().unwrap();
    assert_eq!((chunk_end + 1) % 16, 0);
    assert!(
        chunk_end + 12 <= head && head < chunk_end + 12 + 16 + 1,
        "{chunk_end} {head}"
    );
    let out = common::run(&["lake", "check", "-l", lake.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let _ = js.delete_stream(&stream_name).await;
    anvil.stop().await;
}
