#![allow(clippy::unwrap_used)]
//! `entities build|why` on BlockSci's node-written regtest chains, against BlockSci's own
//! regression outputs (`fixtures/blocksci/expected`) and the scenario record
//! (`output.json`).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use common::{run, stderr, stdout};
use ledgerflow_entities::change::{ChangeSpec, Combine, Heuristic};
use ledgerflow_entities::ledger::{AddressBook, Ledger};
use ledgerflow_lake::Lake;

const CHAINS: [(&str, &str); 3] = [
    ("btc", "bitcoin-regtest"),
    ("bch", "bitcoin_cash-regtest"),
    ("ltc", "litecoin-regtest"),
];

/// Exports one BlockSci chain into a fresh lake: (lake dir guard, lake path, chain folder).
async fn lake_of(shared: &Path, tag: &str) -> (tempfile::TempDir, PathBuf, String) {
    let (_, folder) = CHAINS.iter().find(|c| c.0 == tag).unwrap();
    let chain = match tag {
        "btc" => "bitcoin",
        "bch" => "bitcoin_cash",
        _ => "litecoin",
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let data = shared.join("fixtures/blocksci").join(tag);
    let r = run(&[
        "export",
        "bitcoin",
        "--datadir",
        data.to_str().unwrap(),
        "--chain",
        chain,
        "--network",
        "regtest",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(r.status.success(), "export {tag}: {}", stderr(&r));
    assert!(lake.join(folder).is_dir(), "{folder} in the lake");
    (dir, lake, folder.to_string())
}

fn scenario(shared: &Path, tag: &str) -> serde_json::Value {
    let p = shared
        .join("fixtures/blocksci")
        .join(tag)
        .join("output.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The address sets of BlockSci's printed cluster lines (`[PubkeyHashAddress(m…), …]`),
/// in the form the lake writes them (see [`canonical`]).
fn cluster_lines(text: &str, tag: &str) -> Vec<BTreeSet<String>> {
    text.lines()
        .filter(|l| l.starts_with('[') && l.contains("Address("))
        .map(|l| {
            l.split("Address(")
                .skip(1)
                .map(|p| canonical(p.split(')').next().unwrap(), tag))
                .collect()
        })
        .collect()
}

/// One spelling for both sides: bare multisig as `multisig of N` (BlockSci prints
/// `2 of 3`, the lake the key addresses joined by `,`), and Bitcoin Cash's legacy
/// base58 addresses (BlockSci, output.json) as the node's cashaddr (the lake).
fn canonical(a: &str, tag: &str) -> String {
    if let Some((_, n)) = a.split_once(" of ") {
        return format!("multisig of {n}");
    }
    if a.contains(',') {
        return format!("multisig of {}", a.split(',').count());
    }
    if tag == "bch" {
        if let Some(raw) = base58_decode(a) {
            if raw.len() == 25 {
                let hash: [u8; 20] = raw[1..21].try_into().unwrap();
                let script = raw[0] == 0xc4 || raw[0] == 0x05;
                return ledgerflow_bitcoin::address::cashaddr("bchreg", script, &hash);
            }
        }
    }
    a.to_string()
}

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out: Vec<u8> = Vec::new(); // big-endian
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&x| x == c)? as u32;
        for b in out.iter_mut().rev() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut v = vec![0u8; zeros];
    v.extend(out);
    Some(v)
}

/// A scenario address in the lake's spelling.
fn addr(sc: &serde_json::Value, key: &str, tag: &str) -> String {
    canonical(sc[key].as_str().unwrap(), tag)
}

fn expected(shared: &Path, name: &str, tag: &str) -> String {
    let p = shared
        .join("fixtures/blocksci/expected")
        .join(format!("{name}[{tag}].out"));
    std::fs::read_to_string(p).unwrap()
}

async fn build(lake: &Path, chain: &str, extra: &[&str]) {
    let mut args = vec![
        "entities",
        "build",
        "--lake",
        lake.to_str().unwrap(),
        "--chain",
        chain,
        "-q",
    ];
    args.extend_from_slice(extra);
    let r = run(&args).await;
    assert!(
        r.status.success(),
        "entities build {extra:?}: {}",
        stderr(&r)
    );
}

/// address → entity id, from the `address_entity` table (read with SQL, as users do).
async fn partition(lake: &Path, chain: &str) -> HashMap<String, i64> {
    let ds = ledgerflow_lake::layout::dataset_name(chain);
    let r = run(&[
        "sql",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "csv",
        &format!("SELECT address, entity_id FROM {ds}.address_entity"),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    stdout(&r)
        .lines()
        .skip(1)
        .map(|l| {
            let (a, e) = l.rsplit_once(',').unwrap();
            (a.trim_matches('"').to_string(), e.parse().unwrap())
        })
        .collect()
}

fn cluster_of(p: &HashMap<String, i64>, address: &str) -> BTreeSet<String> {
    let e = *p
        .get(address)
        .unwrap_or_else(|| panic!("address {address} is not in address_entity"));
    p.iter()
        .filter(|(_, &x)| x == e)
        .map(|(a, _)| canonical(a, ""))
        .collect()
}

/// The addresses of BlockSci's `cluster_regtest`.
const REGTEST_IDS: [&str; 8] = [
    "address-p2pkh-spend-1",
    "address-p2sh-spend-2",
    "addr-2-in-2-out",
    "addr-peeling-chain",
    "addr-merge-0",
    "addr-merge-2",
    "merge-addr-1",
    "merge-addr-2",
];

/// Compares cluster lists, showing only what differs.
#[track_caller]
fn same_clusters(ours: &[BTreeSet<String>], want: &[BTreeSet<String>], what: &str) {
    assert_eq!(ours.len(), want.len(), "{what}: cluster count");
    for (k, (o, w)) in ours.iter().zip(want).enumerate() {
        let extra: Vec<_> = o.difference(w).collect();
        let missing: Vec<_> = w.difference(o).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{what}: cluster {k} ({} vs {} addresses): extra {extra:?}, missing {missing:?}",
            o.len(),
            w.len()
        );
    }
}

fn regtest_clusters(
    p: &HashMap<String, i64>,
    sc: &serde_json::Value,
    tag: &str,
) -> Vec<BTreeSet<String>> {
    REGTEST_IDS
        .iter()
        .map(|id| cluster_of(p, &addr(sc, id, tag)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocksci_clusters_without_change() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    for (tag, _) in CHAINS {
        let (_d, lake, chain) = lake_of(&shared, tag).await;
        let sc = scenario(&shared, tag);
        build(&lake, &chain, &[]).await;
        let p = partition(&lake, &chain).await;
        // merge-addr-1..3 form one entity of exactly those three
        let want: BTreeSet<String> = (1..=3)
            .map(|i| addr(&sc, &format!("merge-addr-{i}"), tag))
            .collect();
        assert_eq!(
            cluster_of(&p, &addr(&sc, "merge-addr-1", tag)),
            want,
            "{tag}"
        );
        // BlockSci's printed clusters, with CoinJoins ignored and not
        let no_change = cluster_lines(
            &expected(&shared, "test_clustering.test_clustering_no_change", tag),
            tag,
        );
        assert_eq!(no_change[0], want, "{tag}");
        let ours = regtest_clusters(&p, &sc, tag);
        same_clusters(
            &ours,
            &no_change[no_change.len() - 8..],
            &format!("{tag} no change"),
        );
        let ignore = cluster_lines(
            &expected(
                &shared,
                "test_clustering.test_clustering_ignore_coinjoin",
                tag,
            ),
            tag,
        );
        same_clusters(&ours, &ignore, &format!("{tag} ignoring CoinJoins"));

        // the CoinJoin's participants: apart when excluded, together when included
        let l = Ledger::load(&Lake::new(&lake), &chain, None, AddressBook::default()).unwrap();
        let cj = l
            .tx_by_hex(sc["simple-coinjoin-tx"].as_str().unwrap())
            .unwrap();
        let parts: Vec<String> = l
            .inputs_of(cj)
            .iter()
            .map(|i| l.book.name(i.addr).to_string())
            .collect();
        assert!(parts.len() >= 3);
        let entities: BTreeSet<i64> = parts.iter().map(|a| p[a]).collect();
        assert_eq!(
            entities.len(),
            parts.len(),
            "{tag}: CoinJoin inputs kept apart"
        );
        let r = run(&[
            "sql",
            "--lake",
            lake.to_str().unwrap(),
            "--format",
            "csv",
            &format!(
                "SELECT rule FROM {}.coinjoins WHERE transaction_hash = '{}'",
                ledgerflow_lake::layout::dataset_name(&chain),
                sc["simple-coinjoin-tx"].as_str().unwrap()
            ),
        ])
        .await;
        assert_eq!(stdout(&r).lines().nth(1), Some("equal-output"), "{tag}");

        build(&lake, &chain, &["--coinjoin", "include"]).await;
        let p = partition(&lake, &chain).await;
        let entities: BTreeSet<i64> = parts.iter().map(|a| p[a]).collect();
        assert_eq!(
            entities.len(),
            1,
            "{tag}: CoinJoin inputs merged when included"
        );
        let with = cluster_lines(
            &expected(
                &shared,
                "test_clustering.test_clustering_cluster_coinjoin",
                tag,
            ),
            tag,
        );
        same_clusters(
            &regtest_clusters(&p, &sc, tag),
            &with,
            &format!("{tag} clustering CoinJoins"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocksci_clusters_with_each_change_heuristic() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    // test_clustering_with_change's order
    let heuristics = [
        "peeling-chain",
        "optimal",
        "address-type",
        "locktime",
        "address-reuse",
        "fresh-address",
        "legacy",
        "none",
    ];
    for (tag, _) in CHAINS {
        let (_d, lake, chain) = lake_of(&shared, tag).await;
        let sc = scenario(&shared, tag);
        let want = cluster_lines(
            &expected(&shared, "test_clustering.test_clustering_with_change", tag),
            tag,
        );
        assert_eq!(want.len(), 8 * heuristics.len(), "{tag}");
        for (k, h) in heuristics.iter().enumerate() {
            build(&lake, &chain, &["--change", h]).await;
            let p = partition(&lake, &chain).await;
            same_clusters(
                &regtest_clusters(&p, &sc, tag),
                &want[8 * k..8 * k + 8],
                &format!("{tag}: clusters with change heuristic {h}"),
            );
        }
    }
}

/// BlockSci's `test_change_regression`: each heuristic's candidate set and unique change
/// on ten scenario transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocksci_change_candidates() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let heuristics = [
        "address-type",
        "locktime",
        "fresh-address",
        "peeling-chain",
        "optimal",
        "address-reuse",
        "legacy",
        "none",
    ];
    let ids = [
        "change-negative-testcase-tx",
        "change-reuse-tx-1",
        "change-locktime-tx-1",
        "change-optimal-0-tx",
        "peeling-chain-5-tx",
        "change-ten-2-tx",
        "fan-8-tx",
        "peeling-chain-4-tx",
        "tx-chain-10-tx-1",
        "funding-tx-2-in-2-out",
    ];
    for (tag, _) in CHAINS {
        let (_d, lake, chain) = lake_of(&shared, tag).await;
        let sc = scenario(&shared, tag);
        let l = Ledger::load(&Lake::new(&lake), &chain, None, AddressBook::default()).unwrap();
        let text = expected(&shared, "test_change.test_change_regression", tag);
        let lines: Vec<&str> = text.lines().collect();
        let mut k = 0;
        for h in heuristics {
            let spec = ChangeSpec::parse(h, Combine::All).unwrap();
            for id in ids {
                let t = l.tx_by_hex(sc[id].as_str().unwrap()).unwrap();
                let all = Heuristic::parse(h).unwrap().candidates(&l, t);
                let unique: Vec<u32> = spec
                    .unique(&l, t)
                    .map(|c| vec![c.position])
                    .unwrap_or_default();
                assert_eq!(format!("{all:?}"), lines[k], "{tag} {h} {id}: candidates");
                assert_eq!(
                    format!("{unique:?}"),
                    lines[k + 1],
                    "{tag} {h} {id}: unique change"
                );
                k += 2;
            }
        }
        assert_eq!(k, lines.len(), "{tag}: every line compared");

        // each scenario's change transaction: the heuristic picks the recorded position
        let cases: &[(&str, &str, &str, usize)] = &[
            (
                "optimal",
                "change-optimal-{}-tx",
                "change-optimal-{}-position",
                2,
            ),
            (
                "address-type",
                "change-address-type-tx-{}",
                "change-address-type-position-{}",
                3,
            ),
            (
                "locktime",
                "change-locktime-tx-{}",
                "change-locktime-position-{}",
                3,
            ),
            (
                "address-reuse",
                "change-reuse-tx-{}",
                "change-reuse-position-{}",
                3,
            ),
            (
                "fresh-address",
                "change-client-behavior-tx-{}",
                "change-client-behavior-position-{}",
                3,
            ),
        ];
        for (h, tx, pos, n) in cases {
            for i in 0..*n {
                let t = l
                    .tx_by_hex(sc[tx.replace("{}", &i.to_string())].as_str().unwrap())
                    .unwrap();
                let want = sc[pos.replace("{}", &i.to_string())].as_u64().unwrap() as u32;
                let got = Heuristic::parse(h).unwrap().candidates(&l, t);
                assert_eq!(got, vec![want], "{tag} {h} case {i}");
            }
        }
        for i in 0..6u8 {
            let t = l
                .tx_by_hex(sc[format!("change-ten-{i}-tx")].as_str().unwrap())
                .unwrap();
            let want = sc[format!("change-ten-{i}-position")].as_u64().unwrap() as u32;
            assert_eq!(
                Heuristic::PowerOfTen(8 - i).candidates(&l, t),
                vec![want],
                "{tag} power-of-ten:{}",
                8 - i
            );
        }
        for i in 3..8 {
            let t = l
                .tx_by_hex(sc[format!("peeling-chain-{i}-tx")].as_str().unwrap())
                .unwrap();
            let want = sc[format!("peeling-chain-{i}-position")].as_u64().unwrap() as u32;
            let spec = ChangeSpec::parse("peeling-chain,spent", Combine::All).unwrap();
            assert_eq!(
                spec.candidates(&l, t),
                vec![want],
                "{tag} peeling chain {i}"
            );
        }
        // the negative case: no heuristic that must stay silent picks anything
        let t = l
            .tx_by_hex(sc["change-negative-testcase-tx"].as_str().unwrap())
            .unwrap();
        for h in [
            "peeling-chain",
            "optimal",
            "address-reuse",
            "legacy",
            "none",
        ] {
            assert!(
                Heuristic::parse(h).unwrap().candidates(&l, t).is_empty(),
                "{tag} {h}"
            );
        }
        for h in ["address-type", "locktime", "fresh-address"] {
            assert_eq!(
                Heuristic::parse(h).unwrap().candidates(&l, t).len(),
                2,
                "{tag} {h}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_explains_and_bad_input_is_refused() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let (_d, lake, chain) = lake_of(&shared, "btc").await;
    let sc = scenario(&shared, "btc");
    let l = lake.to_str().unwrap();
    // before any build: why has nothing to read
    let a1 = sc["merge-addr-1"].as_str().unwrap();
    let a3 = sc["merge-addr-3"].as_str().unwrap();
    let r = run(&["entities", "why", "-l", l, "--chain", &chain, a1, a3]).await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("entities build"), "{}", stderr(&r));

    build(&lake, &chain, &[]).await;
    let r = run(&[
        "entities", "why", "-l", l, "--chain", &chain, a1, a3, "--format", "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["same_entity"], true);
    let path = v["path"].as_array().unwrap();
    assert!(!path.is_empty());
    assert_eq!(path[0]["from"], a1);
    assert_eq!(path.last().unwrap()["to"], a3);
    assert_eq!(path[0]["transaction_hash"], sc["merge-final-tx"]);
    assert_eq!(path[0]["rule"], "multi-input");

    // apart: the CoinJoin's participants
    let other = sc["addr-merge-0"].as_str().unwrap();
    let r = run(&["entities", "why", "-l", l, "--chain", &chain, a1, other]).await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        stdout(&r).contains("are not in one entity"),
        "{}",
        stdout(&r)
    );

    // bad input: exit 2, a message naming what is wrong
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["entities", "why", "-l", l, "--chain", &chain, a1, a1],
            "two different addresses",
        ),
        (
            vec![
                "entities",
                "why",
                "-l",
                l,
                "--chain",
                &chain,
                a1,
                "mNotAnAddress",
            ],
            "mNotAnAddress",
        ),
        (
            vec!["entities", "why", "-l", l, "--chain", &chain, a1],
            "required",
        ),
        (
            vec![
                "entities",
                "why",
                "-l",
                l,
                "--chain",
                "dogecoin-regtest",
                a1,
                a3,
            ],
            "dogecoin-regtest",
        ),
        (
            vec!["entities", "build", "-l", l, "--chain", "dogecoin-regtest"],
            "dogecoin-regtest",
        ),
        (
            vec![
                "entities", "build", "-l", l, "--chain", &chain, "--change", "magic",
            ],
            "magic",
        ),
        (
            vec![
                "entities",
                "build",
                "-l",
                l,
                "--chain",
                &chain,
                "--coinjoin",
                "maybe",
            ],
            "maybe",
        ),
    ];
    for (args, needle) in cases {
        let r = run(&args).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert!(stderr(&r).contains(needle), "{args:?}: {}", stderr(&r));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lake_without_enriched_inputs_is_refused() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let data = shared.join("fixtures/blocksci/btc");
    let r = run(&[
        "export",
        "bitcoin",
        "--datadir",
        data.to_str().unwrap(),
        "--network",
        "regtest",
        "--no-enrich",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = run(&[
        "entities",
        "build",
        "-l",
        lake.to_str().unwrap(),
        "--chain",
        "bitcoin-regtest",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("--no-enrich"), "{}", stderr(&r));
    assert!(!lake.join("bitcoin-regtest/address_entity").exists());
    assert!(!lake.join("bitcoin-regtest/_entities").exists());
}

/// A lake cut at a block, built, then grown: the resumed build equals a rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_build_equals_rebuild() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let data = shared.join("fixtures/blocksci/btc");
    let export = |blocks: &'static str| {
        let lake = lake.clone();
        let data = data.clone();
        async move {
            let r = run(&[
                "export",
                "bitcoin",
                "--datadir",
                data.to_str().unwrap(),
                "--network",
                "regtest",
                "--blocks",
                blocks,
                "--chunk-size",
                "50",
                "-o",
                lake.to_str().unwrap(),
                "-q",
            ])
            .await;
            assert!(r.status.success(), "{}", stderr(&r));
        }
    };
    export("0:149").await;
    let chain = "bitcoin-regtest";
    for opts in [vec![], vec!["--change", "optimal,address-type"]] {
        build(&lake, chain, &opts).await;
        export("150:201").await;
        let mut args = opts.clone();
        args.push("--json");
        let r = run(&[
            &[
                "entities",
                "build",
                "-l",
                lake.to_str().unwrap(),
                "--chain",
                chain,
            ][..],
            &args[..],
        ]
        .concat())
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(v["mode"], "resumed", "{v}");
        assert!(v["clustered"].as_u64().unwrap() > 0);
        let resumed = partition(&lake, chain).await;
        let merges = table_text(&lake, chain, "entity_merges").await;
        let entities = table_text(&lake, chain, "entities").await;
        let mut args = opts.clone();
        args.push("--rebuild");
        build(&lake, chain, &args).await;
        assert_eq!(partition(&lake, chain).await, resumed);
        assert_eq!(table_text(&lake, chain, "entity_merges").await, merges);
        assert_eq!(table_text(&lake, chain, "entities").await, entities);
        // back to the cut for the next round
        std::fs::remove_dir_all(&lake).unwrap();
        export("0:149").await;
    }
}

async fn table_text(lake: &Path, chain: &str, table: &str) -> String {
    let ds = ledgerflow_lake::layout::dataset_name(chain);
    let r = run(&[
        "sql",
        "--lake",
        lake.to_str().unwrap(),
        "--format",
        "csv",
        &format!("SELECT * FROM {ds}.{table} ORDER BY 1, 2, 3, 4"),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    stdout(&r)
}

/// `taint` on BlockSci's taint scenario: JSON fields, conservation, SQL sees the tables,
/// bad seeds refused with nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taint_runs_and_refuses_bad_seeds() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let (_d, lake, chain) = lake_of(&shared, "btc").await;
    let sc = scenario(&shared, "btc");
    let l = lake.to_str().unwrap();
    let fund1 = format!("{}:0", sc["taint-fund-tx-1"].as_str().unwrap());
    let fund2 = sc["taint-fund-tx-2"].as_str().unwrap().to_string();
    let max = sc["taint-max-height"].as_i64().unwrap().to_string();
    for model in ["poison", "haircut", "fifo", "lifo", "tiho"] {
        for no_fee in [false, true] {
            let mut args = vec![
                "taint",
                "-l",
                l,
                "--chain",
                &chain,
                "--seed",
                &fund1,
                "--seed",
                &fund2,
                "--model",
                model,
                "--max-height",
                &max,
                "--format",
                "json",
            ];
            if no_fee {
                args.push("--no-fee");
            }
            let r = run(&args).await;
            assert!(r.status.success(), "{model}: {}", stderr(&r));
            let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
            for key in [
                "model",
                "seeds",
                "total_tainted",
                "outputs",
                "addresses",
                "entities",
                "max_hops",
            ] {
                assert!(v.get(key).is_some(), "{model}: no {key} in {v}");
            }
            assert_eq!(v["model"], model);
            let f = &v["families"][0];
            let n = |k: &str| f[k].as_str().unwrap().parse::<u128>().unwrap();
            assert!(v["outputs"].as_u64().unwrap() > 2, "{model}: taint moved");
            // SQL sees the outputs; total_tainted is what the unspent ones hold
            let q = format!(
                "SELECT CAST(SUM(tainted) AS VARCHAR), CAST(SUM(CASE WHEN tainted > value THEN 1 ELSE 0 END) AS VARCHAR) FROM {}.taint_outputs WHERE unspent",
                ledgerflow_lake::layout::dataset_name(&chain)
            );
            let s = run(&["sql", "-l", l, "--format", "csv", &q]).await;
            let line = stdout(&s).lines().nth(1).unwrap().to_string();
            let (sum, over) = line.split_once(',').unwrap();
            assert_eq!(
                sum.trim_matches('"'),
                f["total_tainted"].as_str().unwrap(),
                "{model}"
            );
            assert_eq!(
                over.trim_matches('"'),
                "0",
                "{model}: no output holds more taint than value"
            );
            if model == "poison" {
                continue;
            }
            // conservation: the seeds' value is held, paid as fees or cut off
            assert_eq!(
                n("total_tainted") + n("fee_taint") + n("cut_off"),
                n("seed_value"),
                "{model} no_fee={no_fee}: {f}"
            );
        }
    }
    // two families at once
    let r = run(&[
        "taint",
        "-l",
        l,
        "--chain",
        &chain,
        "--seed",
        &format!("a={fund1}"),
        "--seed",
        &format!("b={fund2}"),
        "--model",
        "haircut",
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["families"].as_array().unwrap().len(), 2);
    assert_eq!(v["families"][1]["family"], "b");

    // bad input: exit 2, nothing written (the last good run's tables stay)
    let before = std::fs::read_dir(lake.join(&chain).join("taint_summary"))
        .unwrap()
        .count();
    let unknown = format!("{}:0", "ab".repeat(32));
    let bad_n = format!("{}:x", "ab".repeat(32));
    let no_out = format!("{}:99", sc["taint-fund-tx-1"].as_str().unwrap());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["taint", "-l", l, "--chain", &chain, "--seed", &unknown],
            "not in chain",
        ),
        (
            vec!["taint", "-l", l, "--chain", &chain, "--seed", "xyz:1"],
            "malformed outpoint",
        ),
        (
            vec!["taint", "-l", l, "--chain", &chain, "--seed", &bad_n],
            "malformed outpoint",
        ),
        (
            vec![
                "taint",
                "-l",
                l,
                "--chain",
                &chain,
                "--seed",
                "mNoSuchAddress",
            ],
            "mNoSuchAddress",
        ),
        (
            vec!["taint", "-l", l, "--chain", &chain, "--seed", &no_out],
            "no output 99",
        ),
        (
            vec!["taint", "-l", l, "--chain", "nochain", "--seed", &fund1],
            "nochain",
        ),
        (
            vec![
                "taint", "-l", l, "--chain", &chain, "--seed", &fund1, "--model", "magic",
            ],
            "magic",
        ),
        (
            vec![
                "taint",
                "-l",
                l,
                "--chain",
                &chain,
                "--seed",
                &fund1,
                "--plot",
                "/tmp/x.gif",
            ],
            ".svg or .png",
        ),
    ];
    for (args, needle) in cases {
        let r = run(&args).await;
        assert_eq!(r.status.code(), Some(2), "{args:?}");
        assert!(stderr(&r).contains(needle), "{args:?}: {}", stderr(&r));
    }
    assert_eq!(
        std::fs::read_dir(lake.join(&chain).join("taint_summary"))
            .unwrap()
            .count(),
        before
    );
}

/// `graph build` and the analyses on a BlockSci chain: tables SQL sees, a plot, exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_commands_write_tables() {
    let Some(shared) = ledgerflow_testkit::shared_dir("entities") else {
        return;
    };
    let (d, lake, chain) = lake_of(&shared, "btc").await;
    let sc = scenario(&shared, "btc");
    let l = lake.to_str().unwrap();
    // the entity graph needs entities first
    let r = run(&["graph", "build", "-l", l, "--chain", &chain]).await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("entities build"), "{}", stderr(&r));
    build(&lake, &chain, &[]).await;
    let r = run(&["graph", "build", "-l", l, "--chain", &chain]).await;
    assert!(r.status.success(), "{}", stderr(&r));
    // the lake's graphs as graph-learning input, recorded by their chunks' root
    for level in ["address", "entity"] {
        let out = d.path().join(format!("anomaly-{level}"));
        let r = run(&[
            "gnn",
            "train",
            "--task",
            "anomaly",
            "--lake",
            l,
            "--chain",
            &chain,
            "--level",
            level,
            "--epochs",
            "20",
            "--top",
            "5",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ])
        .await;
        assert!(r.status.success(), "{level}: {}", stderr(&r));
        let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
        assert!(v["nodes"].as_u64().unwrap() > 10, "{v}");
        assert_eq!(v["top"].as_array().unwrap().len(), 5);
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(m["edges"]["kind"], "lake");
        assert_eq!(m["edges"]["sha256"].as_str().unwrap().len(), 64);
    }
    // similar neighbourhoods of the busiest address, and WL features as a table
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("anomaly-address/metrics.json")).unwrap(),
    )
    .unwrap();
    let who = m["summary"]["top"][0]["id"].as_str().unwrap().to_string();
    let r = run(&[
        "similar", "--lake", l, "--chain", &chain, &who, "--top", "5", "--json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(stdout(&r).trim()).unwrap();
    let sims: Vec<f64> = v["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["similarity"].as_f64().unwrap())
        .collect();
    assert_eq!(sims.len(), 5);
    assert!(
        sims.windows(2).all(|w| w[0] >= w[1]) && sims[0] <= 1.0 + 1e-12,
        "{v}"
    );
    assert!(v["similar"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["address"] != who.as_str()));
    let wl = d.path().join("wl.parquet");
    let r = run(&[
        "gnn",
        "wl",
        "--lake",
        l,
        "--chain",
        &chain,
        "--dim",
        "16",
        "-o",
        wl.to_str().unwrap(),
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("per s"), "{}", stderr(&r));
    let r = run(&["similar", "--lake", l, "--chain", &chain, "nobody"]).await;
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("nobody is not a node"),
        "{}",
        stderr(&r)
    );
    let r = run(&["gnn", "train", "--task", "link", "--lake", l]).await;
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("--lake needs --chain"),
        "{}",
        stderr(&r)
    );
    let plot = d.path().join("degrees.svg");
    for args in [
        vec!["graph", "pagerank", "-l", l, "--chain", &chain, "--json"],
        vec![
            "graph",
            "degree",
            "-l",
            l,
            "--chain",
            &chain,
            "--plot",
            plot.to_str().unwrap(),
        ],
        vec![
            "graph",
            "components",
            "-l",
            l,
            "--chain",
            &chain,
            "--level",
            "address",
        ],
        vec![
            "graph",
            "betweenness",
            "-l",
            l,
            "--chain",
            &chain,
            "--samples",
            "20",
            "--seed",
            "3",
        ],
        vec![
            "graph",
            "khop",
            "-l",
            l,
            "--chain",
            &chain,
            "--node",
            sc["merge-addr-1"].as_str().unwrap(),
            "--hops",
            "2",
            "--direction",
            "both",
        ],
    ] {
        let r = run(&args).await;
        assert!(r.status.success(), "{args:?}: {}", stderr(&r));
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("degree distribution"));
    let ds = ledgerflow_lake::layout::dataset_name(&chain);
    for (table, min) in [
        ("entity_pagerank", 100),
        ("entity_degrees", 100),
        ("address_components", 100),
        ("entity_betweenness", 100),
        ("entity_khop", 2),
        ("address_graph", 100),
        ("entity_graph", 100),
    ] {
        let r = run(&[
            "sql",
            "-l",
            l,
            "--format",
            "csv",
            &format!("SELECT count(*) FROM {ds}.{table}"),
        ])
        .await;
        assert!(r.status.success(), "{table}: {}", stderr(&r));
        let n: usize = stdout(&r).lines().nth(1).unwrap().parse().unwrap();
        assert!(n >= min, "{table}: {n} rows");
    }
    // PageRank sums to one
    let r = run(&[
        "sql",
        "-l",
        l,
        "--format",
        "csv",
        &format!("SELECT SUM(pagerank) FROM {ds}.entity_pagerank"),
    ])
    .await;
    let s: f64 = stdout(&r).lines().nth(1).unwrap().parse().unwrap();
    assert!((s - 1.0).abs() < 1e-9, "{s}");
    // paths: the funding chain of the peeling chain reaches its end
    let from = sc["addr-peeling-chain"].as_str().unwrap();
    let r = run(&[
        "graph", "path", "-l", l, "--chain", &chain, "--level", "address", "--from", from, "--to",
        from,
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    // exports
    for (fmt, file, head) in [
        ("neo4j", "nodes.csv", "node_id:ID,address,:LABEL"),
        (
            "neo4j",
            "relationships.csv",
            ":START_ID,:END_ID,value:double",
        ),
        ("graphml", "graph.graphml", "<?xml"),
        ("csv", "edges.csv", "src_id,dst_id,value"),
    ] {
        let out = d.path().join(fmt);
        let r = run(&[
            "graph",
            "export",
            "-l",
            l,
            "--chain",
            &chain,
            "--format",
            fmt,
            "-o",
            out.to_str().unwrap(),
        ])
        .await;
        assert!(r.status.success(), "{}", stderr(&r));
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            text.starts_with(head),
            "{fmt} {file}: {}",
            &text[..80.min(text.len())]
        );
    }
    // unknown node
    let r = run(&[
        "graph", "khop", "-l", l, "--chain", &chain, "--node", "mNope",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("mNope"));
}

/// Precision and recall of the heuristics on the litecoind workload, whose generator knows
/// each address's owner; multi-input alone (CoinJoins excluded) never mixes two owners.
/// Also: multi-input without the CoinJoin filter equals graphsense-clustering's partition
/// on the same inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ground_truth_on_the_litecoin_workload() {
    let dir = tempfile::tempdir().unwrap();
    let Some((node, summary)) = common::litecoin_node(
        "entities ground truth",
        &dir.path().join("node"),
        ledgerflow_devnet::litecoin::UtxoWorkloadConfig {
            seed: 11,
            blocks: 30,
            txs_per_block: 15,
            entities: 30,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let lake = dir.path().join("lake");
    let r = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &node.url(),
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "-o",
        lake.to_str().unwrap(),
        "-q",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    drop(node);
    let chain = "litecoin-regtest";
    let owner: HashMap<String, String> = summary
        .ground_truth
        .iter()
        .map(|a| (a.address.clone(), a.entity.clone()))
        .collect();
    let sets: &[(&str, &[&str])] = &[
        ("multi-input", &[]),
        (
            "multi-input, CoinJoins included",
            &["--coinjoin", "include"],
        ),
        ("+ optimal", &["--change", "optimal"]),
        ("+ address-type", &["--change", "address-type"]),
        ("+ fresh-address", &["--change", "fresh-address"]),
        ("+ one-time", &["--change", "one-time"]),
        (
            "+ optimal,address-type",
            &["--change", "optimal,address-type"],
        ),
        (
            "+ optimal,fresh-address",
            &["--change", "optimal,fresh-address"],
        ),
        ("+ legacy", &["--change", "legacy"]),
        ("+ peeling-chain", &["--change", "peeling-chain"]),
        ("+ locktime", &["--change", "locktime"]),
        ("+ power-of-ten", &["--change", "power-of-ten"]),
    ];
    println!("| heuristics | entities | pair precision | pure entities | recall |");
    println!("|---|---|---|---|---|");
    for (name, args) in sets {
        build(&lake, chain, args).await;
        let p = partition(&lake, chain).await;
        // known addresses per entity
        let mut by_entity: HashMap<i64, Vec<&str>> = HashMap::new();
        for (a, e) in &p {
            if let Some(o) = owner.get(a) {
                by_entity.entry(*e).or_default().push(o);
            }
        }
        let (mut together, mut same_owner_together) = (0u64, 0u64);
        let mut pure = 0;
        for owners in by_entity.values() {
            let mut count: HashMap<&str, u64> = HashMap::new();
            for o in owners {
                *count.entry(o).or_default() += 1;
            }
            if count.len() == 1 {
                pure += 1;
            }
            let n = owners.len() as u64;
            together += n * (n - 1) / 2;
            same_owner_together += count.values().map(|c| c * (c - 1) / 2).sum::<u64>();
        }
        let mut per_owner: HashMap<&str, u64> = HashMap::new();
        for (a, o) in &owner {
            if p.contains_key(a) {
                *per_owner.entry(o).or_default() += 1;
            }
        }
        let all_pairs: u64 = per_owner.values().map(|c| c * (c - 1) / 2).sum();
        let precision = if together == 0 {
            1.0
        } else {
            same_owner_together as f64 / together as f64
        };
        let recall = same_owner_together as f64 / all_pairs.max(1) as f64;
        println!(
            "| {name} | {} | {precision:.4} | {pure}/{} | {recall:.4} |",
            by_entity.len(),
            by_entity.len()
        );
        if *name == "multi-input" {
            assert_eq!(precision, 1.0, "multi-input mixes owners");
            assert_eq!(pure, by_entity.len());
            assert!(recall > 0.0);
        }
    }

    // graphsense-clustering: the same inputs, multi-input only, no CoinJoin filter
    let Some(py) = ledgerflow_testkit::services::peer_python(
        "graphsense on the workload",
        "venv-graph",
        "graph",
        "GRAPHPEERS",
    ) else {
        return;
    };
    build(&lake, chain, &["--coinjoin", "include"]).await;
    let p = partition(&lake, chain).await;
    let l = Ledger::load(&Lake::new(&lake), chain, None, AddressBook::default()).unwrap();
    let txs: Vec<Vec<u32>> = (0..l.txs.len() as u32)
        .filter(|&t| !l.txs[t as usize].coinbase)
        .map(|t| {
            l.inputs_of(t)
                .iter()
                .map(|i| i.addr)
                .filter(|&a| a != u32::MAX)
                .collect()
        })
        .collect();
    let input = serde_json::json!({"max_id": l.book.len() - 1, "txs": txs});
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../entities/tests/graphsense_check.py"
    );
    let theirs: Vec<i64> =
        serde_json::from_value(ledgerflow_testkit::services::run_json(&py, script, &input))
            .unwrap();
    let mut differ = 0;
    for i in 0..l.book.len() {
        if p[l.book.name(i as u32)] != theirs[i] {
            differ += 1;
        }
    }
    assert_eq!(
        differ,
        0,
        "{differ} of {} addresses in another cluster than graphsense-clustering's",
        l.book.len()
    );
    println!(
        "graphsense-clustering: same partition of {} addresses from {} transactions",
        l.book.len(),
        txs.len()
    );
}

/// An EVM chain: its address graph builds and ranks; the deposit-address heuristic joins
/// deposit addresses to the hot wallet they forward to (transactions sent to a real
/// anvil); taint says it is for UTXO chains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evm_graph_deposits_and_utxo_only_commands() {
    let Some(bin) = ledgerflow_testkit::services::or_skip(
        "entities evm",
        "ANVIL",
        ledgerflow_devnet::find_anvil(None),
    ) else {
        return;
    };
    // every transaction mined into its own block as it is sent
    let opts = ledgerflow_devnet::AnvilOptions {
        no_mining: false,
        ..Default::default()
    };
    let anvil = ledgerflow_devnet::Anvil::start(&bin, &opts).await.unwrap();
    let url = anvil.url();
    let http = reqwest::Client::new();
    let call = |method: &'static str, params: serde_json::Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let body =
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
            let text = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(v.get("error").is_none(), "{method}: {v}");
            v["result"].clone()
        }
    };
    let accounts: Vec<String> =
        serde_json::from_value(call("eth_accounts", serde_json::json!([])).await).unwrap();
    let send = |from: String, to: String, wei: u128| {
        let call = &call;
        async move {
            let hash = call(
                "eth_sendTransaction",
                serde_json::json!([{"from": from, "to": to, "value": format!("0x{wei:x}"), "gas": "0x5208"}]),
            )
            .await;
            // mined (automine can answer before the block is in)
            for _ in 0..200 {
                if !call("eth_getTransactionReceipt", serde_json::json!([hash]))
                    .await
                    .is_null()
                {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("transaction {hash} not mined");
        }
    };
    const ETH: u128 = 1_000_000_000_000_000_000;
    let hot = accounts[5].clone();
    let deposits: Vec<String> = (1..=3)
        .map(|i| format!("0x{:040x}", 0xd0_u64 + i))
        .collect();
    let control = format!("0x{:040x}", 0xc0_u64);
    for a in deposits.iter().chain([&control]) {
        call("anvil_impersonateAccount", serde_json::json!([a])).await;
    }
    for (i, d) in deposits.iter().enumerate() {
        send(accounts[1 + i].clone(), d.clone(), ETH).await;
        send(d.clone(), hot.clone(), ETH / 100 * 99).await;
    }
    send(accounts[1].clone(), control.clone(), ETH).await;
    send(control.clone(), accounts[6].clone(), ETH / 2).await;
    send(control.clone(), accounts[7].clone(), ETH / 10 * 4).await;

    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    common::export_evm(&url, &lake, &["--tables", "blocks,transactions"]).await;
    let l = lake.to_str().unwrap();
    let r = run(&[
        "entities",
        "build",
        "-l",
        l,
        "--chain",
        "anvil",
        "--deposit",
        "--json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["deposits"], 3, "{v}");
    assert_eq!(v["hot_wallets"], 1, "{v}");
    let p = partition(&lake, "anvil").await;
    for d in &deposits {
        assert_eq!(p[d], p[&hot], "{d} joined to the hot wallet");
    }
    assert_ne!(p[&control], p[&hot]);
    assert_ne!(p[&accounts[1]], p[&hot], "customers stay apart");
    let r = run(&[
        "entities",
        "why",
        "-l",
        l,
        "--chain",
        "anvil",
        &hot,
        &deposits[0],
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        stdout(&r).contains("deposit address forwarding ether"),
        "{}",
        stdout(&r)
    );
    // without the heuristic every address is its own entity
    build(&lake, "anvil", &[]).await;
    let p = partition(&lake, "anvil").await;
    assert_ne!(p[&deposits[0]], p[&hot]);

    let r = run(&["graph", "build", "-l", l, "--chain", "anvil"]).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = run(&[
        "graph", "pagerank", "-l", l, "--chain", "anvil", "--level", "address", "--json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert!(v["nodes"].as_u64().unwrap() >= 10, "{v}");
    // account taint: the customers' deposits end up at the hot wallet
    for (model, held) in [
        ("haircut", 3 * (ETH / 100 * 99)),
        ("fifo", 3 * (ETH / 100 * 99)),
    ] {
        let mut args = vec![
            "taint", "-l", l, "--chain", "anvil", "--model", model, "--format", "json",
        ];
        for d in &deposits {
            args.push("--seed");
            args.push(d);
        }
        let r = run(&args).await;
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        let hot_held = v["assets"][0]["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["address"] == hot.as_str())
            .map(|x| x["held"].as_str().unwrap().parse::<u128>().unwrap())
            .unwrap();
        assert_eq!(hot_held, held, "{model}: {v}");
        assert_eq!(v["total_tainted"], (3 * ETH).to_string(), "{model}");
    }
    let r = run(&[
        "taint", "-l", l, "--chain", "anvil", "--seed", &hot, "--model", "poison",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("haircut"), "{}", stderr(&r));
    let r = run(&[
        "taint",
        "-l",
        l,
        "--chain",
        "anvil",
        "--seed",
        "0x00000000000000000000000000000000000000ff",
    ])
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr(&r).contains("0x00000000000000000000000000000000000000ff"),
        "{}",
        stderr(&r)
    );
    anvil.stop().await;
}

/// A lake with only the nested `transactions` table (no separate `inputs` table, as
/// `bench lake` writes it) is a UTXO chain: `entities build`, `graph build` and `taint`
/// take the UTXO path, and the clustering equals the multi-input union-find on the same
/// ledger.
#[tokio::test]
async fn nested_transactions_only_lake_is_a_utxo_chain() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let l = lake.to_str().unwrap();
    let r = run(&[
        "bench",
        "lake",
        "-o",
        l,
        "--transactions",
        "3000",
        "--seed",
        "7",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(!lake.join("synthetic/inputs").exists());
    build(&lake, "synthetic", &["--coinjoin", "include"]).await;
    let p = partition(&lake, "synthetic").await;
    // the same ledger through the shared-forest multi-input clustering
    let ledger =
        Ledger::load(&Lake::new(&lake), "synthetic", None, AddressBook::default()).unwrap();
    let mut offsets = vec![0u32];
    let mut values = Vec::new();
    for t in 0..ledger.txs.len() as u32 {
        if !ledger.txs[t as usize].coinbase {
            values.extend(
                ledger
                    .inputs_of(t)
                    .iter()
                    .map(|i| i.addr)
                    .filter(|&a| a != u32::MAX),
            );
        }
        offsets.push(values.len() as u32);
    }
    let ids = ledgerflow_entities::unionfind::multi_input(&offsets, &values, ledger.book.len(), 2);
    let mut multi = 0;
    for (i, &e) in ids.iter().enumerate() {
        let name = ledger.book.name(i as u32);
        let ours = p[name];
        assert_eq!(ours, e as i64, "{name}");
        multi += usize::from(e != i as u32);
    }
    assert!(multi > 100, "{multi} addresses joined another");
    let r = run(&["graph", "build", "--lake", l, "--chain", "synthetic"]).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let tx = ledger.tx_hex(ledger.txs.iter().position(|t| !t.coinbase).unwrap() as u32);
    let r = run(&[
        "taint",
        "--lake",
        l,
        "--chain",
        "synthetic",
        "--seed",
        &tx,
        "--model",
        "haircut",
        "--format",
        "json",
    ])
    .await;
    assert!(r.status.success(), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_str(&stdout(&r)).unwrap();
    assert!(v["outputs"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(
        v["ledger_transactions"].as_u64().unwrap(),
        ledger.txs.len() as u64
    );
}
