#![allow(clippy::unwrap_used)]
//! `ledgerflow load postgres` against the real server on 127.0.0.1:5432 (a fresh database
//! per test, dropped at the end): load, exact values, reload (nothing twice), a changed
//! chunk replaced, a loader killed before its commit (the chunk stays as it was), bad
//! input. Skips visibly when no server answers, unless LEDGERFLOW_REQUIRE_POSTGRES=1.

mod common;
use common::export_evm;
use common::workload;

use std::path::Path;

use common::{chain, litecoin_node, run, stderr};
use ledgerflow_sql::{Engine, Options};

const SERVER: &str = "postgres://root@127.0.0.1:5432";

async fn server_up() -> bool {
    ledgerflow_testkit::services::postgres_admin("postgres")
        .await
        .is_some()
}

async fn text(url: &str, sql: &str) -> Vec<String> {
    let c = ledgerflow_postgres::load::connect(url).await.unwrap();
    c.query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| {
            r.get::<_, Option<String>>(0)
                .unwrap_or_else(|| "NULL".into())
        })
        .collect()
}

async fn lake_text(engine: &Engine, sql: &str) -> Vec<String> {
    ledgerflow_sql::output::rows_as_text(engine.sql(sql).await.unwrap())
        .await
        .unwrap()
}

fn drop_last_row(path: &Path) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = b.schema().clone();
    let batches: Vec<_> = b.build().unwrap().map(|x| x.unwrap()).collect();
    let all = arrow::compute::concat_batches(&schema, &batches).unwrap();
    let fewer = all.slice(0, all.num_rows() - 1);
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&fewer).unwrap();
    w.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reload_replace_crash_and_bad_input() {
    if !server_up().await {
        return;
    }
    let db = format!("ledgerflow_test_{}", std::process::id());
    let admin = ledgerflow_postgres::load::connect(&format!("{SERVER}/postgres"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let url = format!("{SERVER}/{db}");

    let cfg = workload(9, 30, 10);
    let Some((anvil, _w)) = chain("postgres_load", cfg).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    export_evm(&anvil.url(), &lake, &["--chunk-size", "10"]).await;
    let chunks = std::fs::read_dir(lake.join("anvil"))
        .unwrap()
        .filter(|e| {
            e.as_ref().unwrap().path().is_dir()
                && !e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('_')
        })
        .map(|e| std::fs::read_dir(e.unwrap().path()).unwrap().count())
        .sum::<usize>();

    // load
    let out = run(&[
        "load", "postgres", "--url", &url, "-l", lake_s, "--json", "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["loaded"].as_u64().unwrap() as usize,
        chunks,
        "{report}"
    );
    assert_eq!(report["skipped"], 0);

    let engine = Engine::open(&lake, &Options::default()).await.unwrap();
    let tables = [
        "blocks",
        "transactions",
        "receipts",
        "logs",
        "token_transfers",
        "traces",
        "contracts",
        "tokens",
    ];
    let mut counts = Vec::new();
    for t in tables {
        let pg = text(
            &url,
            &format!("SELECT count(*)::text FROM crypto_anvil.{t}"),
        )
        .await;
        let lk = lake_text(&engine, &format!("SELECT count(*) FROM crypto_anvil.{t}")).await;
        assert_eq!(pg, lk, "{t} rows");
        counts.push(pg[0].clone());
    }
    // exact values: 256-bit sums, timestamps, arrays, a sampled row
    assert_eq!(
        text(&url, "SELECT sum(value)::text FROM crypto_anvil.transactions").await,
        lake_text(&engine, "SELECT CAST(sum(CAST(value AS DECIMAL(38,0))) AS VARCHAR) FROM crypto_anvil.transactions").await
    );
    assert_eq!(
        text(&url, "SELECT concat_ws('|', hash, block_number, value, extract(epoch FROM block_timestamp)::bigint, from_address, receipt_status) FROM crypto_anvil.transactions ORDER BY hash LIMIT 1").await,
        lake_text(&engine, "SELECT hash, block_number, value, CAST(to_unixtime(block_timestamp) AS BIGINT), from_address, receipt_status FROM crypto_anvil.transactions ORDER BY hash LIMIT 1").await
    );
    assert_eq!(
        text(&url, "SELECT concat_ws('|', transaction_hash, log_index, array_to_string(topics, ',')) FROM crypto_anvil.logs ORDER BY transaction_hash, log_index LIMIT 1").await,
        lake_text(&engine, "SELECT transaction_hash, log_index, array_to_string(topics, ',') FROM crypto_anvil.logs ORDER BY transaction_hash, log_index LIMIT 1").await
    );
    // the largest token amount survives exactly (uint256 values)
    assert_eq!(
        text(&url, "SELECT max(value)::text FROM crypto_anvil.token_transfers").await,
        lake_text(&engine, "SELECT CAST(max(CAST(value AS DECIMAL(76,0))) AS VARCHAR) FROM crypto_anvil.token_transfers").await
    );

    // reload: nothing twice
    let out = run(&[
        "load", "postgres", "--url", &url, "-l", lake_s, "--json", "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["loaded"], 0, "{report}");
    assert_eq!(report["skipped"].as_u64().unwrap() as usize, chunks);
    for (t, n) in tables.iter().zip(&counts) {
        assert_eq!(
            &text(
                &url,
                &format!("SELECT count(*)::text FROM crypto_anvil.{t}")
            )
            .await[0],
            n,
            "{t}"
        );
    }

    // a changed chunk is replaced whole, and only it
    let victim = lake.join("anvil/transactions/transactions__0000000010_0000000019.parquet");
    let before: u64 = text(
        &url,
        "SELECT count(*)::text FROM crypto_anvil.transactions WHERE block_number BETWEEN 10 AND 19",
    )
    .await[0]
        .parse()
        .unwrap();
    drop_last_row(&victim);
    let out = run(&[
        "load", "postgres", "--url", &url, "-l", lake_s, "--json", "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["loaded"], 1, "{report}");
    assert_eq!(report["rows"].as_u64().unwrap(), before - 1);
    let after: u64 = text(
        &url,
        "SELECT count(*)::text FROM crypto_anvil.transactions WHERE block_number BETWEEN 10 AND 19",
    )
    .await[0]
        .parse()
        .unwrap();
    assert_eq!(after, before - 1);

    // killed with the chunk's transaction open: the database keeps the old chunk
    let book_before = text(&url, "SELECT string_agg(table_name || start_block || sha256, ',' ORDER BY table_name, start_block) FROM crypto_anvil.ledgerflow_chunks").await;
    let child = std::process::Command::new(common::bin())
        .args([
            "load",
            "postgres",
            "--url",
            &url,
            "-l",
            lake_s,
            "--force",
            "-q",
            "-t",
            "transactions",
        ])
        .env("LEDGERFLOW_TEST_CRASH_BEFORE_COMMIT", "transactions")
        .output()
        .unwrap();
    assert!(!child.status.success(), "the loader was meant to die");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        text(&url, "SELECT count(*)::text FROM crypto_anvil.transactions WHERE block_number BETWEEN 10 AND 19").await[0]
            .parse::<u64>()
            .unwrap(),
        after
    );
    assert_eq!(text(&url, "SELECT string_agg(table_name || start_block || sha256, ',' ORDER BY table_name, start_block) FROM crypto_anvil.ledgerflow_chunks").await, book_before);
    let total: u64 = text(&url, "SELECT count(*)::text FROM crypto_anvil.transactions").await[0]
        .parse()
        .unwrap();
    assert_eq!(total, counts[1].parse::<u64>().unwrap() - 1);

    // bad input: unreachable server, truncated chunk (nothing of it loaded), no lake
    let out = run(&[
        "load",
        "postgres",
        "--url",
        "postgres://root@127.0.0.1:1/x",
        "-l",
        lake_s,
        "-q",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot connect to PostgreSQL"),
        "{}",
        stderr(&out)
    );
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(&[
        "load",
        "postgres",
        "--url",
        &url,
        "-l",
        lake_s,
        "-q",
        "-t",
        "transactions",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("transactions__0000000010_0000000019.parquet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        text(&url, "SELECT count(*)::text FROM crypto_anvil.transactions WHERE block_number BETWEEN 10 AND 19").await[0]
            .parse::<u64>()
            .unwrap(),
        after
    );
    let out = run(&[
        "load",
        "postgres",
        "--url",
        &url,
        "-l",
        dir.path().join("nope").to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));

    drop(engine);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoin_family_tables_with_nested_rows() {
    if !server_up().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((node, _summary)) = litecoin_node(
        "postgres_bitcoin",
        &dir.path().join("node"),
        ledgerflow_devnet::litecoin::UtxoWorkloadConfig {
            seed: 4,
            blocks: 10,
            txs_per_block: 10,
            entities: 15,
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let out = run(&[
        "export",
        "bitcoin",
        "--rpc",
        &node.url(),
        "--chain",
        "litecoin",
        "--network",
        "regtest",
        "-o",
        lake_s,
        "--chunk-size",
        "50",
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let db = format!("ledgerflow_test_btc_{}", std::process::id());
    let admin = ledgerflow_postgres::load::connect(&format!("{SERVER}/postgres"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let url = format!("{SERVER}/{db}");
    let out = run(&["load", "postgres", "--url", &url, "-l", lake_s, "-q"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let engine = Engine::open(&lake, &Options::default()).await.unwrap();
    let s = "crypto_litecoin_regtest";
    for t in ["blocks", "transactions", "inputs", "outputs"] {
        assert_eq!(
            text(&url, &format!("SELECT count(*)::text FROM {s}.{t}")).await,
            lake_text(&engine, &format!("SELECT count(*) FROM {s}.{t}")).await,
            "{t}"
        );
    }
    // satoshi amounts exact, nested inputs/outputs as JSONB, address lists as TEXT[]
    assert_eq!(
        text(&url, &format!("SELECT concat_ws('|', sum(output_value), sum(fee), sum(jsonb_array_length(inputs)), sum(jsonb_array_length(outputs))) FROM {s}.transactions")).await,
        lake_text(&engine, &format!("SELECT CAST(sum(output_value) AS VARCHAR), CAST(sum(fee) AS VARCHAR), (SELECT count(*) FROM {s}.inputs) AS i, (SELECT count(*) FROM {s}.outputs) AS o FROM {s}.transactions")).await
    );
    assert_eq!(
        text(&url, &format!("SELECT concat_ws('|', hash, outputs->0->>'value', outputs->0->'addresses'->>0) FROM {s}.transactions WHERE NOT is_coinbase ORDER BY hash LIMIT 1")).await,
        lake_text(&engine, &format!("SELECT hash, CAST(outputs[1]['value'] AS VARCHAR), outputs[1]['addresses'][1] FROM {s}.transactions WHERE NOT is_coinbase ORDER BY hash LIMIT 1")).await
    );
    assert_eq!(
        text(&url, &format!("SELECT concat_ws('|', transaction_hash, index, array_to_string(addresses, ','), value) FROM {s}.inputs ORDER BY transaction_hash, index LIMIT 1")).await,
        lake_text(&engine, &format!("SELECT transaction_hash, \"index\", array_to_string(addresses, ','), CAST(value AS VARCHAR) FROM {s}.inputs ORDER BY transaction_hash, \"index\" LIMIT 1")).await
    );
    drop(engine);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await
        .unwrap();
}
