#![allow(clippy::unwrap_used)]
//! The chain-following core against a real litecoind (Bitcoin Core 0.21 fork) in regtest:
//! `invalidateblock` followed by mining a competing branch (other coinbase scripts, so the
//! blocks differ), a bare `invalidateblock` (a rollback), and a seeded run of random reorgs
//! of depth 1–5; after every step the window holds exactly the node's blocks.

mod common;

use common::{same_as_node, step};
use ledgerflow_devnet::litecoin::{find_litecoind, Litecoind};
use ledgerflow_rpc::{RpcClient, RpcConfig};
use ledgerflow_stream::{BitcoinHeaders, Event, Headers};
use rand::{Rng, SeedableRng};
use serde_json::json;

async fn node(dir: &std::path::Path) -> Option<Litecoind> {
    ledgerflow_testkit::services::or_skip("litecoind reorgs", "LITECOIND", find_litecoind(None))?;
    Some(Litecoind::start(None, 0, Some(dir)).await.unwrap())
}

/// Mines `n` blocks paying to a script of its own (`tag` makes the branch's blocks differ).
async fn mine(node: &Litecoind, n: u64, tag: u8) {
    node.call(
        "generatetodescriptor",
        json!([n, format!("raw(01{tag:02x})")]),
    )
    .await
    .unwrap();
}

async fn invalidate(node: &Litecoind, height: u64) {
    let hash = node.call("getblockhash", json!([height])).await.unwrap();
    node.call("invalidateblock", json!([hash])).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_litecoind_through_reorgs_and_rollbacks() {
    let dir = tempfile::tempdir().unwrap();
    let Some(node) = node(dir.path()).await else {
        return;
    };
    let client = RpcClient::new(RpcConfig::new(node.url())).unwrap();
    let h = BitcoinHeaders::new(&client);
    mine(&node, 20, 0).await;
    let mut f = common::follower();
    let e = step(&mut f, &h).await;
    assert_eq!(e.apply().len(), 21);
    assert_eq!(
        f.window().get(10).unwrap().parent_hash,
        f.window().get(9).unwrap().hash
    );
    same_as_node(f.window(), &h).await;

    // blocks 18..=20 invalidated, a longer branch mined in their place
    invalidate(&node, 18).await;
    mine(&node, 4, 1).await;
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
        [18, 19, 20, 21]
    );
    same_as_node(f.window(), &h).await;

    // the tip invalidated, nothing mined: a rollback
    invalidate(&node, 21).await;
    let e = step(&mut f, &h).await;
    assert_eq!(
        e,
        Event::Reverted {
            old: vec![new[3].clone()]
        }
    );
    same_as_node(f.window(), &h).await;

    // seeded: random reorgs of depth 1..=5, each branch one block longer
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for i in 0..20u8 {
        let depth = rng.gen_range(1..=5u64);
        let tip = h.head().await.unwrap();
        invalidate(&node, tip + 1 - depth).await;
        mine(&node, depth + 1, i + 2).await;
        let e = step(&mut f, &h).await;
        assert_eq!(e.undo().len() as u64, depth, "reorg {i}: {e:?}");
        assert_eq!(e.apply().len() as u64, depth + 1, "reorg {i}");
        same_as_node(f.window(), &h).await;
    }
    node.stop().await;
}
