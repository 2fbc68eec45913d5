#![allow(clippy::unwrap_used)]
//! The PostgreSQL sink on a real anvil node and a real PostgreSQL: events of seeded random
//! reorgs applied with their rows; the sink reopened from its checkpoint now and then (a
//! restart); at the end every table equals the canonical chain's rows loaded fresh.

use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_devnet::{find_anvil, Anvil, AnvilOptions};
use ledgerflow_evm::{EvmSource, SourceConfig};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use ledgerflow_sinks::PgSink;
use ledgerflow_stream::evm::fetch_rows;
use ledgerflow_stream::{Event, EvmHeaders, Follower, Headers, Window};
use ledgerflow_testkit::services::or_skip;
use rand::{Rng, SeedableRng};
use serde_json::json;

const DEV: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const TABLES: [EvmTable; 4] = [
    EvmTable::Blocks,
    EvmTable::Transactions,
    EvmTable::Logs,
    EvmTable::Traces,
];

fn tables() -> Vec<(&'static str, arrow_schema::SchemaRef)> {
    TABLES.iter().map(|t| (t.name(), t.schema())).collect()
}

async fn fresh_db(name: &str) -> Option<String> {
    ledgerflow_testkit::services::fresh_postgres_db("postgres sink", name).await
}

/// Follows the node to its head: each event's rows fetched and applied with the window
/// it leads to (the checkpoint), then committed to the follower.
async fn follow(f: &mut Follower, sink: &mut PgSink, source: &EvmSource, h: &EvmHeaders<'_>) {
    while let Some(e) = f.next_event(h).await.unwrap() {
        let after = f.window_after(&e);
        apply(sink, source, &e, &after).await;
        f.commit(&e);
    }
}

async fn apply(sink: &mut PgSink, source: &EvmSource, e: &Event, w: &Window) {
    let rows = fetch_rows(source, e.apply(), &TABLES).await.unwrap();
    let rows: Vec<(&str, arrow_array::RecordBatch)> = rows
        .tables
        .into_iter()
        .map(|(t, b)| (t.name(), b))
        .collect();
    sink.apply(e, &rows, w, "genesis").await.unwrap();
}

async fn digest(sink: &PgSink, schema: &str, table: &str) -> (i64, String) {
    let r = sink
        .client()
        .query_one(
            &format!(
                "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {schema}.{table} x"
            ),
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_and_restarts_leave_the_canonical_rows() {
    let Some(bin) = or_skip("postgres sink", "ANVIL", find_anvil(None)) else {
        return;
    };
    let Some(url) = fresh_db("ledgerflow_test_stream_pg").await else {
        return;
    };
    let anvil = Anvil::start(
        &bin,
        &AnvilOptions {
            no_mining: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();
    let h = EvmHeaders::new(&client);
    let source = EvmSource::connect(
        RpcClient::new(RpcConfig::new(anvil.url())).unwrap(),
        SourceConfig::default(),
    )
    .await
    .unwrap();
    let tx = |n: u64| json!({"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{:x}", n + 1)});
    client.call("anvil_mine", json!(["0x8"])).await.unwrap();

    let mut sink = PgSink::open(&url, "crypto_anvil", "test", &tables(), false)
        .await
        .unwrap();
    let w = sink.window(12).await.unwrap();
    assert!(w.tip().is_none());
    // catch-up in steps of at most 5 blocks
    let mut f = Follower::new(w, 0, 5);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut reorgs = 0;
    for i in 0..30u64 {
        if i % 3 == 0 {
            // blocks with transactions on top
            client
                .call("eth_sendTransaction", json!([tx(i)]))
                .await
                .unwrap();
            client.call("anvil_mine", json!(["0x2"])).await.unwrap();
        } else {
            let depth = rng.gen_range(1..=5u64);
            let txs: Vec<_> = (0..rng.gen_range(0..3u64))
                .map(|k| json!([tx(i * 10 + k), 0]))
                .collect();
            client
                .call("anvil_reorg", json!([depth, txs]))
                .await
                .unwrap();
            reorgs += 1;
        }
        follow(&mut f, &mut sink, &source, &h).await;
        assert_eq!(f.window().tip().unwrap().number, h.head().await.unwrap());
        if i % 7 == 6 {
            // a restart: the window comes back from the checkpoint
            drop(sink);
            sink = PgSink::open(&url, "crypto_anvil", "test", &tables(), false)
                .await
                .unwrap();
            let restored = sink.window(12).await.unwrap();
            assert_eq!(
                restored.blocks().collect::<Vec<_>>(),
                f.window().blocks().collect::<Vec<_>>()
            );
            f = Follower::new(restored, 0, 5);
        }
    }
    assert!(reorgs >= 15);

    // the canonical chain, loaded fresh into another schema
    let head = h.head().await.unwrap();
    let mut all = Vec::new();
    for n in 0..=head {
        all.push(h.header(n).await.unwrap().unwrap());
    }
    let mut fresh = PgSink::open(&url, "crypto_fresh", "fresh", &tables(), false)
        .await
        .unwrap();
    let mut fw = Window::new(12);
    let e = Event::Committed { new: all };
    fw.apply(&e);
    apply(&mut fresh, &source, &e, &fw).await;
    for t in TABLES {
        let streamed = digest(&sink, "crypto_anvil", t.name()).await;
        let canonical = digest(&fresh, "crypto_fresh", t.name()).await;
        assert_eq!(streamed, canonical, "{}", t.name());
        if t == EvmTable::Blocks {
            assert_eq!(streamed.0 as u64, head + 1);
        }
    }
    anvil.stop().await;
}
