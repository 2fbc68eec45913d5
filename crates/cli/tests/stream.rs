#![allow(clippy::unwrap_used)]
//! `ledgerflow stream evm` on a real anvil node into a real PostgreSQL, a real NATS
//! JetStream and a lake, while the chain is reorganised (`anvil_reorg`, depth 1–10), rolled
//! back (`anvil_rollback`) and extended, and the streamer is killed with SIGKILL at random
//! points. At the end every sink equals a fresh export of the canonical chain, row for row:
//! PostgreSQL (against `load postgres` of the fresh export), the lake (chunks plus tip
//! area), and a NATS consumer that applies row and undo messages (and de-duplicates by
//! `Nats-Msg-Id`, finding nothing to drop).
//!
//! A NATS event interrupted mid-publish whose upper block left the chain meanwhile is
//! completed from its checkpointed intent: the canonical prefix again, undo messages for
//! the rest (a crafted intent, deterministic).
//!
//! CI runs a reduced round (LEDGERFLOW_STREAM_KILLS, default 25 kills and 25 reorgs); the
//! soak run is `LEDGERFLOW_STREAM_KILLS=200 LEDGERFLOW_STREAM_REORGS=100 cargo test -p
//! ledgerflow --test stream -- --nocapture`.

mod common;

use ledgerflow_testkit::services::or_skip;
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
    ledgerflow_testkit::services::fresh_postgres_db("stream", name).await
}

async fn nats() -> Option<async_nats::Client> {
    let c = async_nats::connect(NATS)
        .await
        .map_err(|e| format!("no NATS at {NATS} ({e})"));
    or_skip("stream", "NATS", c)
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

async fn digest(url: &str, schema: &str, table: &str) -> (i64, String) {
    let c = ledgerflow_postgres::load::connect(url).await.unwrap();
    let r = c
        .query_one(
            &format!(
                "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') \
                 FROM {schema}.{table} x"
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

/// Where a test streams to: a PostgreSQL database, a JetStream stream and a lake.
struct Sinks {
    dir: tempfile::TempDir,
    stream_db: String,
    fresh_db: String,
    js: async_nats::jetstream::Context,
    stream_name: String,
    prefix: String,
    tag: String,
    lake: std::path::PathBuf,
}

impl Sinks {
    /// Fresh sinks for `test`, or `None` (skipped) without PostgreSQL or NATS.
    async fn new(test: &str) -> Option<Sinks> {
        let stream_db = fresh_db(&format!("ledgerflow_test_{test}")).await?;
        let fresh_db = fresh_db(&format!("ledgerflow_test_{test}_fresh")).await?;
        let js = async_nats::jetstream::new(nats().await?);
        let tag = format!("{test}{}", std::process::id());
        let stream_name = format!("LEDGERFLOW_TEST_{tag}");
        let _ = js.delete_stream(&stream_name).await;
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        Some(Sinks {
            dir,
            stream_db,
            fresh_db,
            js,
            stream_name,
            prefix: format!("ledgerflow.test.{tag}"),
            tag,
            lake,
        })
    }

    /// `stream evm` arguments writing to every sink.
    fn args(&self, rpc: &str, until_head: bool) -> Vec<String> {
        let mut a: Vec<String> = [
            "--log-format",
            "json",
            "stream",
            "evm",
            "--rpc",
            rpc,
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
            &self.stream_db,
            "--nats",
            NATS,
            "--nats-stream",
            &self.stream_name,
            "--nats-prefix",
            &self.prefix,
            "--name",
            &self.tag,
            "--lake",
            self.lake.to_str().unwrap(),
            "--chunk-size",
            "16",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if until_head {
            a.push("--until-head".into());
        }
        // new-head notifications over the node's WebSocket (a proxy without WebSocket
        // leaves the stream polling)
        a.push("--ws".into());
        a
    }

    /// Exports the node's canonical chain fresh (and loads it into PostgreSQL), then checks
    /// that every sink holds exactly its rows. Returns the head.
    async fn check_canonical(&self, client: &RpcClient, round: u32) -> u64 {
        let head: String = serde_json::from_str(
            client
                .call("eth_blockNumber", json!([]))
                .await
                .unwrap()
                .get(),
        )
        .unwrap();
        let head = u64::from_str_radix(head.trim_start_matches("0x"), 16).unwrap();
        let url = client.config().url.clone();
        let range = format!("0:{head}");
        let export = [
            "export",
            "evm",
            "--rpc",
            &url,
            "--blocks",
            &range,
            "--tables",
            TABLES,
            "--token-block",
            "creation",
        ];
        self.check(&export, "anvil", TABLES, head, round).await;
        head
    }

    /// Runs `export` (plus `-o DIR -q`) for the canonical chain, loads it into PostgreSQL,
    /// and checks that every sink holds exactly its rows.
    async fn check(&self, export: &[&str], folder: &str, tables: &str, head: u64, round: u32) {
        let fresh = self.dir.path().join(format!("fresh{round}"));
        let mut args = export.to_vec();
        args.extend(["-o", fresh.to_str().unwrap(), "-q"]);
        let out = common::run(&args).await;
        assert!(out.status.success(), "{}", common::stderr(&out));
        let schema = format!("crypto_{}", folder.replace('-', "_"));
        let out = common::run(&[
            "load",
            "postgres",
            "--url",
            &self.fresh_db,
            "-l",
            fresh.to_str().unwrap(),
            "--force",
            "-q",
        ])
        .await;
        assert!(out.status.success(), "{}", common::stderr(&out));
        let (nats_rows, dups, _) = consume(&self.js, &self.stream_name).await;
        assert_eq!(dups, 0, "a message id repeated in the stream");
        // the consumer example of the docs, run as written
        let example = example_consumer(&self.stream_name, &self.prefix, self.dir.path()).await;
        for table in tables.split(',') {
            let canonical = json_rows(&parquet_files(&fresh.join(folder).join(table)));
            if table == "blocks" {
                assert_eq!(
                    canonical.len() as u64,
                    head + 1,
                    "{:?}",
                    common::files(&fresh).keys().collect::<Vec<_>>()
                );
            }
            // the lake: immutable chunks plus the tip area
            let mut ours = parquet_files(&self.lake.join(folder).join(table));
            ours.extend(parquet_files(
                &self.lake.join(folder).join("_tip").join(table),
            ));
            assert_eq!(json_rows(&ours), canonical, "lake {table}");
            // NATS, as a consumer applying row and undo messages
            assert_eq!(
                nats_rows.get(table).cloned().unwrap_or_default(),
                canonical,
                "nats {table}"
            );
            if let Some(example) = &example {
                let mut got: Vec<String> = example
                    .get(table)
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                got.sort();
                assert_eq!(got, canonical, "docs/examples/nats_consumer.py {table}");
            }
            // PostgreSQL
            assert_eq!(
                digest(&self.stream_db, &schema, table).await,
                digest(&self.fresh_db, &schema, table).await,
                "postgres {table}"
            );
        }
    }

    /// `stream bitcoin` arguments (litecoin regtest) writing to every sink.
    fn btc_args(&self, rpc: &str, until_head: bool) -> Vec<String> {
        let mut a = self.args(rpc, until_head);
        a.retain(|x| x != "--ws");
        // the same sinks, the Bitcoin-family source
        a.splice(2..4, ["stream".to_string(), "bitcoin".to_string()]);
        let j = a
            .iter()
            .position(|x| x == "--max-blocks-per-event")
            .unwrap();
        a.drain(j..j + 2);
        let i = a.iter().position(|x| x == "--tables").unwrap();
        a.splice(
            i..i + 2,
            [
                "--chain",
                "litecoin",
                "--network",
                "regtest",
                "--max-blocks-per-event",
                "7",
            ]
            .map(String::from),
        );
        a
    }
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
    let Some(sinks) = Sinks::new("stream_kill").await else {
        return;
    };
    let logs = sinks.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let url = anvil.url();
    let client = RpcClient::new(RpcConfig::new(url.clone())).unwrap();
    let kills_wanted = env_u64("LEDGERFLOW_STREAM_KILLS", 25);
    let reorgs_wanted = env_u64("LEDGERFLOW_STREAM_REORGS", 25);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(env_u64("LEDGERFLOW_STREAM_SEED", 5));
    let args = |until_head: bool| sinks.args(&url, until_head);
    let tx = |v: u64| json!({"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{:x}", v + 1)});

    let mut subscribed = false;
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
            subscribed |= text.contains("subscribed to new heads");
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

    assert!(subscribed, "no run subscribed to anvil's new heads");
    let head = sinks.check_canonical(&client, 1).await;
    // final blocks are in chunk files aligned to the chunk size; the tip area holds the rest
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sinks.lake.join("anvil").join("_tip").join("state.json")).unwrap(),
    )
    .unwrap();
    let chunk_end = state["chunk_end"].as_u64().unwrap();
    assert_eq!((chunk_end + 1) % 16, 0);
    assert!(
        chunk_end + 12 <= head && head < chunk_end + 12 + 16 + 1,
        "{chunk_end} {head}"
    );
    let out = common::run(&["lake", "check", "-l", sinks.lake.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let _ = sinks.js.delete_stream(&sinks.stream_name).await;
    anvil.stop().await;
}

/// The PostgreSQL checkpoint of a sink: (tip number, tip hash).
async fn pg_checkpoint(url: &str, name: &str) -> Option<(i64, String)> {
    let c = ledgerflow_postgres::load::connect(url).await.unwrap();
    let exists: bool = c
        .query_one(
            "SELECT to_regclass('crypto_anvil.ledgerflow_stream') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if !exists {
        return None;
    }
    c.query_opt(
        "SELECT number, hash FROM crypto_anvil.ledgerflow_stream WHERE sink = $1 \
         ORDER BY number DESC LIMIT 1",
        &[&name],
    )
    .await
    .unwrap()
    .map(|r| (r.get(0), r.get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_node_wrong_chain_and_refusing_sink() {
    use ledgerflow_testkit::{FaultProxy, Faults};
    let Some((anvil, _)) = common::chain(
        "stream faults",
        WorkloadConfig {
            blocks: 10,
            txs_per_block: 6,
            users: 10,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let Some(sinks) = Sinks::new("stream_faults").await else {
        return;
    };
    let client = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();

    // 1. an unreachable node: a clear error, exit 2, nothing written
    let mut a = sinks.args("http://127.0.0.1:9", true);
    a.extend(["--retries", "1", "--timeout", "2"].map(String::from));
    let out = run_args(&a).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("cannot use the node at http://127.0.0.1:9"),
        "{}",
        common::stderr(&out)
    );
    assert!(pg_checkpoint(&sinks.stream_db, &sinks.tag).await.is_none());

    // 2. a proxy that drops, fails, corrupts or delays 10% of the answers, while the chain
    //    is reorganised: the same rows as the canonical chain
    let proxy = FaultProxy::start(
        &anvil.url(),
        Faults {
            seed: 11,
            drop: 0.03,
            http_error: 0.03,
            corrupt: 0.04,
            delay_p: 0.1,
            delay: Duration::from_millis(150),
        },
    )
    .await
    .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    for round in 0..6u64 {
        let depth = rng.gen_range(1..=8u64);
        let txs = vec![
            json!([{"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{:x}", round + 1)}, 0]),
        ];
        client
            .call("anvil_reorg", json!([depth, txs]))
            .await
            .unwrap();
        client.call("anvil_mine", json!(["0x2"])).await.unwrap();
        let a = sinks.args(&proxy.url, true);
        let out = run_args(&a).await;
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    assert!(proxy.injected() > 0);
    println!(
        "stream faults: {} answers faulted, {} forwarded",
        proxy.injected(),
        proxy.forwarded()
    );
    sinks.check_canonical(&client, 1).await;

    // 3. a node on another chain (another genesis block): refused, checkpoints untouched
    let before = pg_checkpoint(&sinks.stream_db, &sinks.tag).await;
    let state = std::fs::read(sinks.lake.join("anvil/_tip/state.json")).unwrap();
    let bin = ledgerflow_devnet::find_anvil(None).unwrap();
    let other = ledgerflow_devnet::Anvil::start(
        &bin,
        &ledgerflow_devnet::AnvilOptions {
            timestamp: 1_600_000_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let a = sinks.args(&other.url(), true);
    let out = run_args(&a).await;
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("is on another chain than") && err.contains("genesis"),
        "{err}"
    );
    assert_eq!(pg_checkpoint(&sinks.stream_db, &sinks.tag).await, before);
    assert_eq!(
        std::fs::read(sinks.lake.join("anvil/_tip/state.json")).unwrap(),
        state
    );
    other.stop().await;

    // 4. PostgreSQL turns read-only under a running stream: the stream retries (reopening
    //    the sink from its checkpoint), gives up after --max-retries with the database's
    //    error, the checkpoint still matches the rows; once writable again it catches up
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut a = sinks.args(&anvil.url(), false);
    a.extend(
        [
            "--max-retries",
            "2",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ]
        .map(String::from),
    );
    let log = sinks.dir.path().join("readonly.log");
    let mut child = std::process::Command::new(common::bin())
        .args(&a)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    client.call("anvil_mine", json!(["0x2"])).await.unwrap();
    let head = {
        let h: String = serde_json::from_str(
            client
                .call("eth_blockNumber", json!([]))
                .await
                .unwrap()
                .get(),
        )
        .unwrap();
        i64::from_str_radix(h.trim_start_matches("0x"), 16).unwrap()
    };
    for _ in 0..300 {
        if pg_checkpoint(&sinks.stream_db, &sinks.tag)
            .await
            .is_some_and(|(n, _)| n == head)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        pg_checkpoint(&sinks.stream_db, &sinks.tag).await.unwrap().0,
        head
    );
    // the operations endpoints of the running stream
    // (the tip is the lowest over the sinks; it moves once every sink has the event)
    let mut metrics = http_get(port, "/metrics");
    for _ in 0..50 {
        if metrics.contains("ledgerflow_stream_head_lag_blocks 0\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = http_get(port, "/metrics");
    }
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for line in [
        "ledgerflow_stream_head_lag_blocks 0\n",
        "ledgerflow_stream_up 1\n",
        "ledgerflow_stream_events_total{kind=\"committed\"} ",
        "ledgerflow_stream_rows_total{sink=\"postgres\",table=\"blocks\"} ",
        "ledgerflow_stream_rows_total{sink=\"nats\",table=\"blocks\"} ",
        "ledgerflow_stream_apply_seconds_bucket{le=\"+Inf\"} ",
        "# TYPE ledgerflow_stream_reorg_depth_blocks histogram\n",
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }
    let health = http_get(port, "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let admin = ledgerflow_postgres::load::connect(&format!("{PG}/postgres"))
        .await
        .unwrap();
    let db = sinks.stream_db.rsplit('/').next().unwrap().to_string();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {db} SET default_transaction_read_only = on"
        ))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&db],
        )
        .await
        .unwrap();
    client.call("anvil_mine", json!(["0x3"])).await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("read-only transaction") && err.contains("giving up after 3"),
        "{err}"
    );
    let (tip, hash) = pg_checkpoint(&sinks.stream_db, &sinks.tag).await.unwrap();
    let c = ledgerflow_postgres::load::connect(&sinks.stream_db)
        .await
        .unwrap();
    let top: i64 = c
        .query_one("SELECT max(number) FROM crypto_anvil.blocks", &[])
        .await
        .unwrap()
        .get(0);
    let top_hash: String = c
        .query_one(
            "SELECT hash FROM crypto_anvil.blocks WHERE number = $1",
            &[&top],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!((tip, hash), (top, top_hash));
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {db} RESET default_transaction_read_only"
        ))
        .await
        .unwrap();
    let a = sinks.args(&anvil.url(), true);
    let out = run_args(&a).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    sinks.check_canonical(&client, 2).await;
    let _ = sinks.js.delete_stream(&sinks.stream_name).await;
    anvil.stop().await;
}

/// Runs docs/examples/nats_consumer.py over the stream and returns its dump (rows per
/// table), or `None` (with a skip line) when the readers venv with nats-py is missing.
async fn example_consumer(stream: &str, prefix: &str, dir: &Path) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".tools/venv-readers/bin/python");
    let has_nats = std::process::Command::new(&python)
        .args(["-c", "import nats"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nats {
        return or_skip(
            "the NATS consumer example",
            "READERS",
            Err("no nats-py (scripts/setup-peers.sh readers)"),
        );
    }
    let dump = dir.join(format!("consumer-{stream}.json"));
    let args: Vec<String> = vec![
        root.join("docs/examples/nats_consumer.py")
            .to_string_lossy()
            .into_owned(),
        "--stream".into(),
        stream.into(),
        "--subjects".into(),
        format!("{prefix}.>"),
        "--until-idle".into(),
        "2".into(),
        "--dump".into(),
        dump.to_string_lossy().into_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["duplicates_dropped"], 0);
    Some(serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap())
}

/// Runs the binary with owned arguments.
async fn run_args(a: &[String]) -> std::process::Output {
    common::run(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>()).await
}

/// A plain HTTP GET against 127.0.0.1: the whole answer, status line first.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoin_family_stream_follows_litecoind_reorgs() {
    use ledgerflow_devnet::litecoin::UtxoWorkloadConfig;
    let dir = tempfile::tempdir().unwrap();
    let Some((node, _)) = common::litecoin_node(
        "stream bitcoin",
        &dir.path().join("node"),
        UtxoWorkloadConfig {
            seed: 3,
            blocks: 15,
            txs_per_block: 8,
            entities: 12,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let Some(sinks) = Sinks::new("stream_ltc").await else {
        return;
    };
    let url = node.url();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let height = |v: serde_json::Value| v.as_u64().unwrap();
    let (mut reorgs, mut kills) = (0, 0);
    for round in 0..10u32 {
        let head = height(node.call("getblockcount", json!([])).await.unwrap());
        if round % 3 == 2 {
            // a rollback: the tip invalidated, then a longer branch
            let hash = node.call("getblockhash", json!([head])).await.unwrap();
            node.call("invalidateblock", json!([hash])).await.unwrap();
            let a = sinks.btc_args(&url, true);
            let out = run_args(&a).await;
            assert!(out.status.success(), "{}", common::stderr(&out));
            node.call(
                "generatetodescriptor",
                json!([2, format!("raw(01{:02x})", 100 + round)]),
            )
            .await
            .unwrap();
        } else {
            // blocks invalidated, a competing branch (other coinbase script; the orphaned
            // transactions go back to the mempool and into the new blocks)
            let depth = rng.gen_range(1..=6u64);
            let hash = node
                .call("getblockhash", json!([head + 1 - depth]))
                .await
                .unwrap();
            node.call("invalidateblock", json!([hash])).await.unwrap();
            node.call(
                "generatetodescriptor",
                json!([depth + 1, format!("raw(01{:02x})", round + 1)]),
            )
            .await
            .unwrap();
            reorgs += 1;
        }
        let a = sinks.btc_args(&url, true);
        if rng.gen_bool(0.4) {
            // killed while catching up
            let mut child = std::process::Command::new(common::bin())
                .args(&a)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(rng.gen_range(50..400))).await;
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                kills += 1;
            }
            child.wait().unwrap();
        }
        let out = run_args(&a).await;
        assert!(out.status.success(), "{}", common::stderr(&out));
    }
    // a competing branch mined on a second node: it gets the first node's blocks
    // (submitblock), mines a longer branch from below the tip, and the first node takes it
    let other =
        ledgerflow_devnet::litecoin::Litecoind::start(None, 0, Some(&dir.path().join("other")))
            .await
            .unwrap();
    let head = height(node.call("getblockcount", json!([])).await.unwrap());
    // the workload's blocks are stamped ahead of the clock (mock time): the same clock here
    let best = node.call("getbestblockhash", json!([])).await.unwrap();
    let t = node.call("getblockheader", json!([best])).await.unwrap()["time"]
        .as_u64()
        .unwrap();
    other.call("setmocktime", json!([t + 60])).await.unwrap();
    copy_blocks(&node, &other, 1, head).await;
    let fork = head - 3;
    let hash = other.call("getblockhash", json!([fork + 1])).await.unwrap();
    other.call("invalidateblock", json!([hash])).await.unwrap();
    other
        .call("generatetodescriptor", json!([5, "raw(01ee)"]))
        .await
        .unwrap();
    let other_head = height(other.call("getblockcount", json!([])).await.unwrap());
    assert_eq!(other_head, fork + 5);
    copy_blocks(&other, &node, fork + 1, other_head).await;
    assert_eq!(
        node.call("getbestblockhash", json!([])).await.unwrap(),
        other.call("getbestblockhash", json!([])).await.unwrap()
    );
    let a = sinks.btc_args(&url, true);
    let out = run_args(&a).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("\"event\":\"reorged\""),
        "{}",
        common::stderr(&out)
    );
    reorgs += 1;
    // invalidateblock then reconsiderblock: the same blocks leave and come back (their
    // rows are undone, then applied again under new message ids)
    let tip = node.call("getbestblockhash", json!([])).await.unwrap();
    let back = node
        .call("getblockhash", json!([other_head - 1]))
        .await
        .unwrap();
    node.call("invalidateblock", json!([back])).await.unwrap();
    let out = run_args(&a).await;
    // (the node falls back to its own earlier branch where it has one: a reorg)
    let err = common::stderr(&out);
    assert!(
        err.contains("\"event\":\"reverted\"") || err.contains("\"event\":\"reorged\""),
        "{}",
        common::stderr(&out)
    );
    node.call("reconsiderblock", json!([back])).await.unwrap();
    assert_eq!(node.call("getbestblockhash", json!([])).await.unwrap(), tip);
    let out = run_args(&a).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    other.stop().await;
    println!("stream bitcoin: {reorgs} reorgs, {kills} SIGKILLs");
    let head = height(node.call("getblockcount", json!([])).await.unwrap());
    let range = format!("0:{head}");
    let export = [
        "export",
        "bitcoin",
        "--rpc",
        &url,
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "--blocks",
        &range,
    ];
    sinks
        .check(
            &export,
            "litecoin-regtest",
            "blocks,inputs,outputs,transactions",
            head,
            1,
        )
        .await;
    let _ = sinks.js.delete_stream(&sinks.stream_name).await;
}

/// Copies blocks `from..=to` of one node to another with `submitblock`.
async fn copy_blocks(
    src: &ledgerflow_devnet::litecoin::Litecoind,
    dst: &ledgerflow_devnet::litecoin::Litecoind,
    from: u64,
    to: u64,
) {
    for h in from..=to {
        let hash = src.call("getblockhash", json!([h])).await.unwrap();
        let raw = src.call("getblock", json!([hash, 0])).await.unwrap();
        let r = dst.call("submitblock", json!([raw])).await.unwrap();
        assert!(
            r.is_null() || r == "duplicate" || r == "inconclusive",
            "block {h}: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_then_follow_and_a_reorg_below_the_final_depth() {
    let Some((anvil, _)) = common::chain(
        "stream backfill",
        WorkloadConfig {
            blocks: 30,
            txs_per_block: 4,
            users: 8,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let url = anvil.url();
    let client = RpcClient::new(RpcConfig::new(url.clone())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // the backfill: export 0..=31 in chunks of 16
    let out = common::run(&[
        "export",
        "evm",
        "--rpc",
        &url,
        "--blocks",
        "0:31",
        "--tables",
        TABLES,
        "--token-block",
        "creation",
        "--chunk-size",
        "16",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let exported = std::fs::read(lake.join("anvil/blocks/blocks__0000000000_0000000031.parquet"))
        .or_else(|_| std::fs::read(lake.join("anvil/blocks/blocks__0000000016_0000000031.parquet")))
        .unwrap();
    client.call("anvil_mine", json!(["0x5"])).await.unwrap();
    // then follow: the stream continues after the lake's last chunk
    let stream = |extra: &[&str]| {
        let mut a = vec![
            "--log-format",
            "json",
            "stream",
            "evm",
            "--rpc",
            &url,
            "--tables",
            TABLES,
            "--confirmations",
            "3",
            "--chunk-size",
            "16",
            "-o",
            lake.to_str().unwrap(),
            "--until-head",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let a = stream(&[]);
    let out = run_args(&a).await;
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("\"first\":32,"),
        "the stream did not start after the last chunk: {err}"
    );
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
    let range = format!("0:{head}");
    let out = common::run(&[
        "export",
        "evm",
        "--rpc",
        &url,
        "--blocks",
        &range,
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
    for table in TABLES.split(',') {
        let canonical = json_rows(&parquet_files(&fresh.join("anvil").join(table)));
        let mut ours = parquet_files(&lake.join("anvil").join(table));
        ours.extend(parquet_files(&lake.join("anvil/_tip").join(table)));
        assert_eq!(json_rows(&ours), canonical, "lake {table}");
    }
    // the exported chunks were not touched
    let kept = std::fs::read(lake.join("anvil/blocks/blocks__0000000000_0000000031.parquet"))
        .or_else(|_| std::fs::read(lake.join("anvil/blocks/blocks__0000000016_0000000031.parquet")))
        .unwrap();
    assert_eq!(kept, exported);

    // a reorganisation deeper than --confirmations: refused, nothing written
    let state = std::fs::read(lake.join("anvil/_tip/state.json")).unwrap();
    client.call("anvil_reorg", json!([6, []])).await.unwrap();
    let out = run_args(&a).await;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("deeper than --confirmations"), "{err}");
    assert_eq!(
        std::fs::read(lake.join("anvil/_tip/state.json")).unwrap(),
        state
    );
    anvil.stop().await;
}

/// A NATS event interrupted mid-publish whose upper block then left the chain: the
/// checkpoint holds its intent (a canonical block and a block the node no longer has) and
/// one row of the gone block already went out. The next run republishes the canonical
/// prefix under the same ids, undoes the gone block (`.recovered` ids), and every sink
/// ends equal to the canonical chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_recovers_an_event_whose_top_left_the_chain() {
    let Some((anvil, _)) = common::chain(
        "stream_recover",
        WorkloadConfig {
            blocks: 6,
            txs_per_block: 4,
            users: 6,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let Some(sinks) = Sinks::new("stream_recover").await else {
        return;
    };
    let url = anvil.url();
    let client = RpcClient::new(RpcConfig::new(url.clone())).unwrap();
    let out = run_args(&sinks.args(&url, true)).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let head = sinks.check_canonical(&client, 0).await;

    // the chain grows by two blocks; the intent names the first and a block that is not
    // (or no longer) on the chain at the second height
    client
        .call(
            "eth_sendTransaction",
            json!([{"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": "0x7"}]),
        )
        .await
        .unwrap();
    client.call("anvil_mine", json!(["0x2"])).await.unwrap();
    let raw = client
        .call(
            "eth_getBlockByNumber",
            json!([format!("0x{:x}", head + 1), false]),
        )
        .await
        .unwrap();
    let b: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
    let canonical = json!({
        "number": head + 1,
        "hash": b["hash"],
        "parent_hash": b["parentHash"],
    });
    let gone_hash = format!("0x{}", "ab".repeat(32));
    let gone = json!({"number": head + 2, "hash": gone_hash, "parent_hash": b["hash"]});

    let key = format!("ledgerflow_checkpoint.anvil.{}", sinks.tag);
    let checkpoints = sinks.js.get_stream("LEDGERFLOW_CHECKPOINTS").await.unwrap();
    let m = checkpoints
        .get_last_raw_message_by_subject(&key)
        .await
        .unwrap();
    let mut stored: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
    let seq = stored["seq"].as_u64().unwrap();
    let mut after = stored["window"].as_array().unwrap().clone();
    after.extend([canonical.clone(), gone.clone()]);
    stored["pending"] = json!({
        "event": {"type": "Committed", "new": [canonical, gone]},
        "after": after,
    });
    // the gone block's row that went out before the interruption
    let mut h = async_nats::HeaderMap::new();
    h.insert(
        "Nats-Msg-Id",
        format!("anvil.blocks.{gone_hash}.{}.0", seq + 1).as_str(),
    );
    h.insert("Ledgerflow-Op", "apply");
    h.insert("Ledgerflow-Chain", "anvil");
    h.insert("Ledgerflow-Table", "blocks");
    h.insert("Ledgerflow-Block-Number", (head + 2).to_string().as_str());
    h.insert("Ledgerflow-Block-Hash", gone_hash.as_str());
    h.insert("Ledgerflow-Seq", (seq + 1).to_string().as_str());
    let row = json!({"number": head + 2, "hash": gone_hash}).to_string();
    sinks
        .js
        .publish_with_headers(
            format!("{}.blocks", sinks.prefix),
            h,
            row.into_bytes().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let (held, _, _) = consume(&sinks.js, &sinks.stream_name).await;
    assert!(
        held["blocks"].iter().any(|r| r.contains(&gone_hash)),
        "the stray row is in the stream"
    );
    sinks
        .js
        .publish(key.clone(), serde_json::to_vec(&stored).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();

    let out = run_args(&sinks.args(&url, true)).await;
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("completing an interrupted event"),
        "{}",
        common::stderr(&out)
    );
    // the stray row was undone, the canonical block published once, the rest followed
    sinks.check_canonical(&client, 1).await;
    let m = checkpoints
        .get_last_raw_message_by_subject(&key)
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
    assert!(stored["pending"].is_null(), "{stored}");
    assert_eq!(
        stored["window"].as_array().unwrap().last().unwrap()["number"],
        head + 2,
        "{stored}"
    );
}
