#![allow(clippy::unwrap_used)]
//! The chain-following core against a real anvil node: `anvil_reorg` (blocks replaced at
//! the same height, with a transaction so the new blocks differ), `anvil_rollback`, mining;
//! after every step the window holds exactly the node's blocks. A seeded run of 100 random
//! reorgs of depth 1–10 between bursts of mining.

mod common;

use common::{same_as_node, step};
use ledgerflow_devnet::{find_anvil, Anvil, AnvilOptions};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use ledgerflow_stream::evm::EvmHeaders;
use ledgerflow_stream::Event;
use rand::{Rng, SeedableRng};
use serde_json::json;

const DEV: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

async fn node() -> Option<Anvil> {
    let bin = ledgerflow_testkit::services::or_skip("anvil reorgs", "ANVIL", find_anvil(None))?;
    let opts = AnvilOptions {
        no_mining: true,
        ..Default::default()
    };
    Some(Anvil::start(&bin, &opts).await.unwrap())
}

async fn call(c: &RpcClient, method: &'static str, params: serde_json::Value) {
    c.call(method, params).await.unwrap();
}

fn reorg_txs(n: u64) -> serde_json::Value {
    json!([[{"from": DEV, "to": "0x000000000000000000000000000000000000dEaD", "value": format!("0x{:x}", n + 1)}, 0]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_anvil_through_reorgs_and_rollbacks() {
    let Some(anvil) = node().await else {
        return;
    };
    let client = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();
    let h = EvmHeaders::new(&client);
    call(&client, "anvil_mine", json!(["0x14"])).await;
    let mut f = common::follower();
    let e = step(&mut f, &h).await;
    assert_eq!(e.apply().len(), 21);
    same_as_node(f.window(), &h).await;

    // three blocks replaced at the same height
    let before: Vec<_> = f.window().blocks().cloned().collect();
    call(&client, "anvil_reorg", json!([3, reorg_txs(0)])).await;
    let e = step(&mut f, &h).await;
    let Event::Reorged { old, new } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        old.iter().map(|b| b.number).collect::<Vec<_>>(),
        [20, 19, 18]
    );
    assert_eq!(
        new.iter().map(|b| b.number).collect::<Vec<_>>(),
        [18, 19, 20]
    );
    assert_eq!(old[0], *before.last().unwrap());
    same_as_node(f.window(), &h).await;

    // two blocks rolled back, nothing in their place
    call(&client, "anvil_rollback", json!([2])).await;
    let e = step(&mut f, &h).await;
    assert_eq!(
        e.undo().iter().map(|b| b.number).collect::<Vec<_>>(),
        [20, 19]
    );
    assert!(e.apply().is_empty());
    same_as_node(f.window(), &h).await;

    // mining on: an extension
    call(&client, "anvil_mine", json!(["0x5"])).await;
    let e = step(&mut f, &h).await;
    assert!(matches!(e, Event::Committed { .. }));
    assert_eq!(e.apply().len(), 5);
    same_as_node(f.window(), &h).await;

    // a seeded soak: 100 reorgs of depth 1..=10, each followed by 0..3 new blocks
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut reorgs = 0;
    for i in 0..100u64 {
        let depth = rng.gen_range(1..=10u64);
        call(&client, "anvil_reorg", json!([depth, reorg_txs(i)])).await;
        let more = rng.gen_range(0..3u64);
        if more > 0 {
            call(&client, "anvil_mine", json!([format!("0x{more:x}")])).await;
        }
        let e = step(&mut f, &h).await;
        assert_eq!(e.undo().len() as u64, depth, "reorg {i}: {e:?}");
        reorgs += 1;
        same_as_node(f.window(), &h).await;
    }
    assert_eq!(reorgs, 100);
    anvil.stop().await;
}

/// The rows of an event's blocks come from exactly those blocks; a node that changes
/// branch between resolving and fetching is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_belong_to_the_resolved_blocks() {
    use ledgerflow_core::tables::evm::EvmTable;
    use ledgerflow_evm::{EvmSource, SourceConfig};
    use ledgerflow_stream::evm::{fetch_rows, StreamError};
    let Some(anvil) = node().await else {
        return;
    };
    let client = RpcClient::new(RpcConfig::new(anvil.url())).unwrap();
    let h = EvmHeaders::new(&client);
    let source = EvmSource::connect(
        RpcClient::new(RpcConfig::new(anvil.url())).unwrap(),
        SourceConfig::default(),
    )
    .await
    .unwrap();
    call(&client, "anvil_mine", json!(["0xa"])).await;
    let mut f = common::follower();
    step(&mut f, &h).await;
    call(&client, "anvil_reorg", json!([2, reorg_txs(41)])).await;
    let e = step(&mut f, &h).await;
    let tables = [EvmTable::Transactions, EvmTable::Traces];
    let rows = fetch_rows(&source, e.apply(), &tables).await.unwrap();
    assert_eq!(rows.blocks, e.apply());
    let txs: usize = rows
        .tables
        .iter()
        .filter(|(t, _)| *t == EvmTable::Transactions)
        .map(|(_, b)| b.num_rows())
        .sum();
    assert_eq!(txs, 1, "the reorg's transaction");
    assert!(rows.tables.iter().all(|(t, _)| tables.contains(t)));

    // resolved, then the node moves before the rows are fetched
    call(&client, "anvil_reorg", json!([1, reorg_txs(42)])).await;
    let err = fetch_rows(&source, e.apply(), &tables).await.unwrap_err();
    assert!(
        matches!(err, StreamError::Moved { number: 10, .. }),
        "{err}"
    );
    anvil.stop().await;
}
