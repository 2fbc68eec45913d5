#![allow(clippy::unwrap_used)]
//! SQL over the lake on chains generated in the test (anvil and litecoind, seeded and on
//! fixed clocks, so results are the same every run):
//! * the example queries of docs/queries/ against golden files (tests/golden/*.slt:
//!   `query file NAME` or an inline `query`, then `----` and the expected rows, values
//!   separated by `|`); LEDGERFLOW_UPDATE_GOLDEN=1 rewrites them from the actual results;
//! * the double-entry book against the node (EVM: every address's balance change from
//!   genesis to head by eth_getBalance) and against the UTXO set (Bitcoin family);
//! * block-range pruning, BigQuery paths, the CLI's formats and its errors.

mod common;
use common::export_evm;
use common::workload;

use ledgerflow_testkit::services::or_skip;
use std::path::{Path, PathBuf};

use common::{chain, litecoin_node, run, stderr};
use ledgerflow_devnet::litecoin::UtxoWorkloadConfig;
use ledgerflow_devnet::WorkloadConfig;
use ledgerflow_sql::{Engine, Options};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a golden file against `engine`; returns the mismatches (or rewrites the file).
async fn golden(engine: &Engine, file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = String::new();
    let mut failures = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with("query") {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
        let (sql, label) = if let Some(name) = line.strip_prefix("query file ") {
            let sql = std::fs::read_to_string(repo().join("docs/queries").join(name.trim()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (sql, name.trim().to_string())
        } else {
            let mut sql = String::new();
            while let Some(l) = lines.peek() {
                if *l == "----" {
                    break;
                }
                sql.push_str(l);
                sql.push('\n');
                out.push_str(l);
                out.push('\n');
                lines.next();
            }
            (sql.clone(), sql.lines().next().unwrap_or("").to_string())
        };
        assert_eq!(
            lines.next(),
            Some("----"),
            "{}: ---- after {label}",
            file.display()
        );
        out.push_str("----\n");
        let mut expected = Vec::new();
        while let Some(l) = lines.peek() {
            if l.is_empty() {
                break;
            }
            expected.push(l.to_string());
            lines.next();
        }
        let stmts = ledgerflow_sql::text::split_statements(&sql);
        let actual = match engine.sql(&stmts[0]).await {
            Ok(df) => ledgerflow_sql::output::rows_as_text(df)
                .await
                .unwrap_or_else(|e| vec![format!("error: {e}")]),
            Err(e) => vec![format!("error: {e}")],
        };
        for r in &actual {
            out.push_str(r);
            out.push('\n');
        }
        if actual != expected {
            failures.push(format!(
                "{label}:\n  expected:\n    {}\n  actual:\n    {}",
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    if std::env::var("LEDGERFLOW_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(file, out).unwrap();
        return Vec::new();
    }
    failures
}

/// The order keys that pick a table's sample row.
fn sample_keys(table: &str) -> &'static [&'static str] {
    match table {
        "blocks" => &["number"],
        "transactions" => &["hash"],
        "receipts" => &["transaction_hash"],
        "logs" => &["transaction_hash", "log_index"],
        "token_transfers" => &["transaction_hash", "log_index", "batch_index"],
        "traces" => &["trace_id"],
        "contracts" | "tokens" => &["address"],
        "inputs" | "outputs" => &["transaction_hash", "index"],
        _ => &[],
    }
}

/// Ledgerflow's view of a table for the reader comparisons: the scalar columns, the
/// sample row (first by the table's keys) rendered as text, and the row count.
async fn our_sample(
    engine: &Engine,
    relation: &str,
    keys: &[&str],
) -> (Vec<String>, Vec<String>, String) {
    use arrow::datatypes::DataType as D;
    let schema = engine.describe(relation).await.unwrap();
    let mut cols = Vec::new();
    let mut exprs = Vec::new();
    for f in schema.fields() {
        let q = format!("\"{}\"", f.name());
        let e = match f.data_type() {
            D::Timestamp(..) => format!("CAST(to_unixtime({q}) AS VARCHAR)"),
            D::Int64
            | D::Int32
            | D::Boolean
            | D::Utf8
            | D::Utf8View
            | D::LargeUtf8
            | D::Decimal128(..)
            | D::Date32 => format!("CAST({q} AS VARCHAR)"),
            _ => continue,
        };
        exprs.push(format!("{e} AS c{}", cols.len()));
        cols.push(f.name().clone());
    }
    let order: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    let ours = ledgerflow_sql::output::rows_as_text(
        engine
            .sql(&format!(
                "SELECT {} FROM {} ORDER BY {} LIMIT 1",
                exprs.join(", "),
                relation,
                order.join(", ")
            ))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let ours: Vec<String> = ours[0].split('|').map(String::from).collect();
    let count = scalar(engine, &format!("SELECT count(*) FROM {relation}")).await;
    (cols, ours, count)
}

/// The Python of a reader venv, or None (with a visible skip line) when it is missing and
/// LEDGERFLOW_REQUIRE_READERS is not 1.
fn reader_python(venv: &str, peer: &str) -> Option<PathBuf> {
    let py = repo().join(format!(".tools/{venv}/bin/python"));
    if py.exists() {
        return Some(py);
    }
    or_skip(
        "third-party readers",
        "READERS",
        Err(format!("{venv} missing: run scripts/setup-peers.sh {peer}")),
    )
}

/// One reader's answer (a read_*.py JSON line) agrees with ledgerflow: `<reader>_rows` is
/// `count`, and `<reader>_sample` is `ours`, column by column.
fn same_as_ours(
    v: &serde_json::Value,
    reader: &str,
    table: &str,
    count: &str,
    cols: &[String],
    ours: &[String],
) {
    assert_eq!(
        v[format!("{reader}_rows")].to_string(),
        count,
        "{reader} rows of {table}"
    );
    let sample: Vec<String> =
        serde_json::from_value(v[format!("{reader}_sample")].clone()).unwrap();
    for (i, c) in cols.iter().enumerate() {
        assert_eq!(
            sample[i], ours[i],
            "{reader}: {table}.{c} of the sample row"
        );
    }
}

/// pyarrow and DuckDB read every table of `folder`: the same row count as ledgerflow's
/// SQL and the same sample row (every scalar column). Skips (visibly) without the readers
/// venv unless LEDGERFLOW_REQUIRE_READERS=1.
async fn third_party_readers(engine: &Engine, lake: &Path, folder: &str, dataset: &str) {
    let Some(py) = reader_python("venv-readers", "readers") else {
        return;
    };
    let mut tables = 0;
    for rel in engine.relations().iter().filter(|r| r.kind == "table") {
        let Some(table) = rel.name.strip_prefix(&format!("{dataset}.")) else {
            continue;
        };
        let keys = sample_keys(table);
        assert!(!keys.is_empty(), "no sample keys for {table}");
        let (cols, ours, count) = our_sample(engine, &rel.name, keys).await;
        let dir = lake.join(folder).join(table);
        let out = std::process::Command::new(&py)
            .arg(repo().join("crates/cli/tests/read_lake.py"))
            .arg(&dir)
            .arg(keys.join(","))
            .arg(cols.join(","))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{table}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for reader in ["pyarrow", "duckdb"] {
            same_as_ours(&v, reader, table, &count, &cols, &ours);
        }
        tables += 1;
    }
    assert!(tables >= 4, "{tables} tables read");
}

/// delta-rs (the deltalake package) and DuckDB's delta extension read every table of
/// `folder` as a Delta table: the same row count as ledgerflow's SQL, the same count of
/// rows in blocks `lo..=hi`, and the same sample row. Returns each table's Delta version
/// (empty when the readers are missing and not required).
async fn delta_readers(
    engine: &Engine,
    lake: &Path,
    folder: &str,
    dataset: &str,
    (lo, hi): (u64, u64),
) -> std::collections::BTreeMap<String, i64> {
    let mut versions = std::collections::BTreeMap::new();
    let Some(py) = reader_python("venv-delta", "delta") else {
        return versions;
    };
    for rel in engine.relations().iter().filter(|r| r.kind == "table") {
        let Some(table) = rel.name.strip_prefix(&format!("{dataset}.")) else {
            continue;
        };
        let keys = sample_keys(table);
        let (cols, ours, count) = our_sample(engine, &rel.name, keys).await;
        let block = if table == "blocks" {
            "number"
        } else {
            "block_number"
        };
        let in_range = scalar(
            engine,
            &format!(
                "SELECT count(*) FROM {} WHERE {block} BETWEEN {lo} AND {hi}",
                rel.name
            ),
        )
        .await;
        let out = std::process::Command::new(&py)
            .arg(repo().join("crates/cli/tests/read_delta.py"))
            .arg(lake.join(folder).join(table))
            .arg(keys.join(","))
            .arg(cols.join(","))
            .arg(block)
            .arg(lo.to_string())
            .arg(hi.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{table}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for reader in ["deltalake", "duckdb"] {
            same_as_ours(&v, reader, table, &count, &cols, &ours);
            assert_eq!(
                v[format!("{reader}_range_rows")].to_string(),
                in_range,
                "{reader} rows of {table} in blocks {lo}..={hi}"
            );
        }
        versions.insert(table.to_string(), v["version"].as_i64().unwrap());
    }
    assert!(versions.len() >= 4, "{versions:?}");
    versions
}

async fn scalar(engine: &Engine, sql: &str) -> String {
    let rows = ledgerflow_sql::output::rows_as_text(engine.sql(sql).await.unwrap())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0].clone()
}

async fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let text = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    r["result"].clone()
}

fn u256_hex(s: &str) -> u128 {
    u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evm_example_queries_views_and_pruning() {
    let cfg = WorkloadConfig {
        seed: 5,
        blocks: 40,
        txs_per_block: 12,
        block_time: 3600, // an hour per block: the daily queries see several days
        ..Default::default()
    };
    let Some((anvil, _w)) = chain("sql_evm", cfg).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    export_evm(&anvil.url(), &lake, &["--chunk-size", "10"]).await;
    let engine = Engine::open(&lake, &Options::default()).await.unwrap();
    assert!(
        engine.view_errors().is_empty(),
        "{:?}",
        engine.view_errors()
    );

    let failures = golden(&engine, &repo().join("crates/cli/tests/golden/evm.slt")).await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    third_party_readers(&engine, &lake, "anvil", "crypto_anvil").await;

    // every address's book balance = its balance change on the node since genesis
    let rows = ledgerflow_sql::output::rows_as_text(
        engine
            .sql("SELECT address, CAST(balance AS VARCHAR) FROM crypto_ethereum.balances ORDER BY address")
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(rows.len() > 20, "{rows:?}");
    let head = scalar(&engine, "SELECT max(number) FROM crypto_anvil.blocks").await;
    let mut checked = 0;
    let url = anvil.url();
    for r in &rows {
        let (addr, bal) = r.split_once('|').unwrap();
        let at = |b: u64| {
            rpc(
                &url,
                "eth_getBalance",
                serde_json::json!([addr, format!("0x{b:x}")]),
            )
        };
        let now = u256_hex(at(head.parse().unwrap()).await.as_str().unwrap()) as i128;
        let genesis = u256_hex(at(0).await.as_str().unwrap()) as i128;
        assert_eq!(
            bal.parse::<i128>().unwrap(),
            now - genesis,
            "balance of {addr}"
        );
        checked += 1;
    }
    assert_eq!(checked, rows.len());

    // block-range pruning: the plan reads only the chunk files that can match
    let plan = ledgerflow_sql::output::rows_as_text(
        engine
            .sql("EXPLAIN SELECT count(*) FROM crypto_ethereum.transactions WHERE block_number BETWEEN 12 AND 18")
            .await
            .unwrap(),
    )
    .await
    .unwrap()
    .join("\n");
    assert!(
        plan.contains("transactions__0000000010_0000000019.parquet"),
        "{plan}"
    );
    assert!(
        !plan.contains("transactions__0000000000_0000000009.parquet"),
        "{plan}"
    );
    assert!(
        !plan.contains("transactions__0000000020_0000000029.parquet"),
        "{plan}"
    );
    let pruned = scalar(
        &engine,
        "SELECT count(*) FROM crypto_ethereum.transactions WHERE block_number BETWEEN 12 AND 18",
    )
    .await;
    let full = scalar(
        &engine,
        "SELECT sum(CASE WHEN block_number BETWEEN 12 AND 18 THEN 1 ELSE 0 END) FROM crypto_ethereum.transactions",
    )
    .await;
    assert_eq!(pruned, full);
    let none = scalar(
        &engine,
        "SELECT count(*) FROM crypto_ethereum.transactions WHERE block_number > 100000",
    )
    .await;
    assert_eq!(none, "0");

    // BigQuery's back-quoted paths; blocks' transaction counts agree with transactions
    let a = scalar(
        &engine,
        "SELECT sum(transaction_count) FROM `bigquery-public-data.crypto_ethereum.blocks`",
    )
    .await;
    let b = scalar(&engine, "SELECT count(*) FROM crypto_anvil.transactions").await;
    assert_eq!(a, b);

    // the CLI: formats, output file, errors
    let lake_s = lake.to_str().unwrap();
    let out = run(&["sql", "-l", lake_s, "-f", "csv", "SELECT number, transaction_count FROM crypto_ethereum.blocks WHERE number < 3 ORDER BY number"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("number,transaction_count\n0,"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    let out = run(&[
        "sql",
        "-l",
        lake_s,
        "-f",
        "json",
        "SELECT 1 AS one; SELECT 2 AS two",
    ])
    .await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"one\":1}\n{\"two\":2}\n"
    );
    let pq = dir.path().join("top.parquet");
    let out = run(&[
        "sql",
        "-l",
        lake_s,
        "-f",
        "parquet",
        "-o",
        pq.to_str().unwrap(),
        "SELECT * FROM crypto_ethereum.double_entry_book",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let n = ledgerflow_sql::output::rows_as_text(
        engine
            .sql(&format!("SELECT count(*) FROM '{}'", pq.display()))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let m = scalar(
        &engine,
        "SELECT count(*) FROM crypto_ethereum.double_entry_book",
    )
    .await;
    assert_eq!(n, vec![m]);

    // the shell, fed from a pipe: meta-commands, a statement over two lines, an error
    // that does not end the session
    let mut child = std::process::Command::new(common::bin())
        .args([
            "shell",
            "-l",
            lake_s,
            "--history",
            dir.path().join("hist").to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"\\d\n\\d crypto_ethereum.blocks\nSELECT count(*) AS n\n  FROM crypto_ethereum.blocks;\nSELECT nope;\n\\format csv\nSELECT 41 + 1 AS answer;\n\\q\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("crypto_anvil (also crypto_ethereum): folder anvil"),
        "{text}"
    );
    assert!(text.contains("crypto_ethereum.double_entry_book"), "{text}");
    assert!(text.contains("base_fee_per_gas"), "{text}");
    assert!(text.contains("answer\n42"), "{text}");
    assert!(stderr(&out).contains("error:"), "{}", stderr(&out));

    let out = run(&["sql", "-l", lake_s, "SELEC 1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("SQL syntax error"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "sql",
        "-l",
        lake_s,
        "SELECT * FROM crypto_ethereum.transaction",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean crypto_ethereum.transactions?"),
        "{}",
        stderr(&out)
    );
    let out = run(&["sql", "-l", lake_s, "-f", "parquet", "SELECT 1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--output"), "{}", stderr(&out));
    // a failing query leaves no output file
    let bad = dir.path().join("bad.csv");
    let out = run(&[
        "sql",
        "-l",
        lake_s,
        "-f",
        "csv",
        "-o",
        bad.to_str().unwrap(),
        "SELECT CAST('x' AS INT) FROM crypto_ethereum.blocks",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!bad.exists());
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));
    let out = run(&[
        "sql",
        "-l",
        dir.path().join("nope").to_str().unwrap(),
        "SELECT 1",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no such lake folder"),
        "{}",
        stderr(&out)
    );

    // lake check: consistent after the export, then each kind of damage is found
    let out = run(&["lake", "check", "-l", lake_s]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.starts_with("ok: 1 chains, 8 tables"), "{text}");
    let damaged = dir.path().join("damaged");
    let copy = |name: &str| {
        let _ = std::fs::remove_dir_all(&damaged);
        let status = std::process::Command::new("cp")
            .args(["-r", lake_s, damaged.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
        damaged.join("anvil").join(name)
    };
    let check = |expect: &'static str| {
        let lake = damaged.clone();
        async move {
            let out = run(&["lake", "check", "-l", lake.to_str().unwrap()]).await;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert_eq!(out.status.code(), Some(1), "{text}");
            assert!(text.contains(expect), "expected {expect:?} in:\n{text}");
        }
    };
    // a duplicate chunk over the same blocks under another range
    let p = copy("transactions/transactions__0000000010_0000000019.parquet");
    std::fs::copy(
        &p,
        p.with_file_name("transactions__0000000015_0000000024.parquet"),
    )
    .unwrap();
    check("overlap").await;
    // a missing chunk: a gap, and transactions no longer cover what blocks covers
    let p = copy("transactions/transactions__0000000010_0000000019.parquet");
    std::fs::remove_file(&p).unwrap();
    check("gap: blocks 10..19 are in no chunk").await;
    // a chunk replaced by another range's rows: counts disagree
    let p = copy("receipts/receipts__0000000010_0000000019.parquet");
    std::fs::copy(
        p.with_file_name("receipts__0000000000_0000000009.parquet"),
        &p,
    )
    .unwrap();
    check("blocks 10..19: sum(blocks.transaction_count) =").await;
    // a truncated file
    let p = copy("traces/traces__0000000020_0000000029.parquet");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    check("unreadable chunk").await;

    // lake compact: pairs of 10-block chunks merged into 20-block files, same rows; an
    // interrupted compaction's leftover is skipped by readers and removed by the next one;
    // an export into the compacted lake finds every chunk done
    let compacted = dir.path().join("compacted");
    let status = std::process::Command::new("cp")
        .args(["-r", lake_s, compacted.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let cl = compacted.to_str().unwrap();
    let counts = |lake: PathBuf| async move {
        let e = Engine::open(&lake, &Options::default()).await.unwrap();
        let mut out = Vec::new();
        for t in [
            "blocks",
            "transactions",
            "logs",
            "traces",
            "token_transfers",
        ] {
            out.push(scalar(&e, &format!("SELECT count(*) FROM crypto_anvil.{t}")).await);
        }
        out.push(
            scalar(
                &e,
                "SELECT CAST(sum(balance) AS VARCHAR) FROM crypto_anvil.balances",
            )
            .await,
        );
        out
    };
    let before = counts(lake.clone()).await;
    let out = run(&["lake", "compact", "-l", cl, "--target-blocks", "20"]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("into transactions__0000000000_0000000019.parquet"),
        "{text}"
    );
    assert!(!compacted
        .join("anvil/transactions/transactions__0000000000_0000000009.parquet")
        .exists());
    assert_eq!(counts(compacted.clone()).await, before);
    let out = run(&["lake", "check", "-l", cl]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::copy(
        lake.join("anvil/logs/logs__0000000010_0000000019.parquet"),
        compacted.join("anvil/logs/logs__0000000010_0000000019.parquet"),
    )
    .unwrap();
    assert_eq!(
        counts(compacted.clone()).await,
        before,
        "the leftover is skipped"
    );
    let out = run(&["lake", "check", "-l", cl]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted compaction"));
    let out = run(&["lake", "compact", "-l", cl, "--target-blocks", "20"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 leftover files"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(&["lake", "check", "-l", cl]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(&[
        "export",
        "evm",
        "--rpc",
        &anvil.url(),
        "-o",
        cl,
        "--chunk-size",
        "10",
        "--blocks",
        &format!("0:{head}"),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !compacted
            .join("anvil/transactions/transactions__0000000000_0000000009.parquet")
            .exists(),
        "a compacted chunk is not exported again"
    );
    assert_eq!(counts(compacted.clone()).await, before);

    // a truncated chunk is named before any query runs
    let victim = lake.join("anvil/logs/logs__0000000010_0000000019.parquet");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(&["sql", "-l", lake_s, "SELECT 1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("logs__0000000010_0000000019.parquet")
            && stderr(&out).contains("truncated"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoin_example_queries_and_double_entry_book() {
    let dir = tempfile::tempdir().unwrap();
    let Some((node, _summary)) = litecoin_node(
        "sql_bitcoin",
        &dir.path().join("node"),
        UtxoWorkloadConfig {
            seed: 3,
            blocks: 20,
            txs_per_block: 12,
            entities: 20,
            block_time: 3600, // an hour per block: the daily queries see several days
            ..Default::default()
        },
    )
    .await
    else {
        return;
    };
    let lake = dir.path().join("lake");
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
        lake.to_str().unwrap(),
        "--chunk-size",
        "50",
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let engine = Engine::open(
        &lake,
        &Options {
            aliases: vec![("crypto_bitcoin".into(), "litecoin-regtest".into())],
            partitions: None,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    assert!(
        engine.view_errors().is_empty(),
        "{:?}",
        engine.view_errors()
    );
    let failures = golden(&engine, &repo().join("crates/cli/tests/golden/utxo.slt")).await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    third_party_readers(
        &engine,
        &lake,
        "litecoin-regtest",
        "crypto_litecoin_regtest",
    )
    .await;
    let out = run(&["lake", "check", "-l", lake.to_str().unwrap()]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok: 1 chains, 4 tables"), "{text}");

    // the book sums to the coins ever issued (coinbase outputs: subsidy + fees), and
    // the balances equal the unspent outputs computed without the book
    let book = scalar(
        &engine,
        "SELECT CAST(sum(value) AS VARCHAR) FROM crypto_litecoin.double_entry_book",
    )
    .await;
    let issued = scalar(
        &engine,
        "SELECT CAST(sum(CASE WHEN is_coinbase THEN output_value ELSE -fee END) AS VARCHAR) \
         FROM crypto_litecoin.transactions",
    )
    .await;
    assert_eq!(
        book, issued,
        "outputs - inputs = coinbase outputs - fees = the subsidy"
    );
    let by_address = ledgerflow_sql::output::rows_as_text(
        engine
            .sql("SELECT address, CAST(balance AS VARCHAR) FROM crypto_litecoin.balances WHERE balance <> 0 ORDER BY address")
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let unspent = ledgerflow_sql::output::rows_as_text(
        engine
            .sql(
                "SELECT array_to_string(o.addresses, ',') AS address, CAST(sum(o.value) AS VARCHAR) \
                 FROM crypto_litecoin.outputs o \
                 LEFT JOIN crypto_litecoin.inputs i \
                   ON i.spent_transaction_hash = o.transaction_hash AND i.spent_output_index = o.\"index\" \
                 WHERE i.transaction_hash IS NULL GROUP BY 1 HAVING sum(o.value) <> 0 ORDER BY 1",
            )
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(by_address.len() > 20, "{by_address:?}");
    assert_eq!(by_address, unspent);
    // and the node agrees on the total unspent value, less the genesis output it never
    // counts (unspendable OP_RETURN outputs are 0 in both)
    let info = node
        .call("gettxoutsetinfo", serde_json::json!([]))
        .await
        .unwrap();
    let total = (info["total_amount"].as_f64().unwrap() * 1e8).round() as i128;
    let genesis: i128 = scalar(
        &engine,
        "SELECT CAST(sum(value) AS VARCHAR) FROM crypto_litecoin.outputs WHERE block_number = 0",
    )
    .await
    .parse()
    .unwrap();
    assert_eq!(book.parse::<i128>().unwrap() - genesis, total);

    // third-party readers: the Parquet lake, then the same lake as Delta tables (nested
    // inputs/outputs, TEXT[] addresses and NUMERIC satoshi values included)
    third_party_readers(
        &engine,
        &lake,
        "litecoin-regtest",
        "crypto_litecoin_regtest",
    )
    .await;
    let out = run(&["lake", "convert", "-l", lake.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("litecoin-regtest/outputs: created, version 0: "),
        "{text}"
    );
    let versions = delta_readers(
        &engine,
        &lake,
        "litecoin-regtest",
        "crypto_litecoin_regtest",
        (5, 9),
    )
    .await;
    assert!(versions.values().all(|v| *v == 0), "{versions:?}");

    // the Bitcoin-family export writes Delta tables too: a commit per chunk and table
    let lake2 = dir.path().join("lake2");
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
        lake2.to_str().unwrap(),
        "--chunk-size",
        "50",
        "--format",
        "delta",
        "-q",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let chunks = std::fs::read_dir(lake2.join("litecoin-regtest/inputs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".parquet")
        })
        .count() as u64;
    let (v, _) = last_commit(&lake2.join("litecoin-regtest/inputs"));
    assert_eq!(v + 1, chunks, "one commit per chunk");
    let out = run(&["lake", "check", "-l", lake2.to_str().unwrap()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The last commit file of a table's Delta log.
fn last_commit(table_dir: &Path) -> (u64, String) {
    let mut best = None;
    for e in std::fs::read_dir(table_dir.join("_delta_log")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(v) = name
            .strip_suffix(".json")
            .and_then(|v| v.parse::<u64>().ok())
        {
            if best.is_none_or(|b| v > b) {
                best = Some(v);
            }
        }
    }
    let v = best.unwrap();
    let text = std::fs::read_to_string(table_dir.join(format!("_delta_log/{v:020}.json"))).unwrap();
    (v, text)
}

/// `--format delta` exports, `lake convert`, `--overwrite` and `lake compact` keep every
/// table a Delta table that delta-rs and DuckDB's delta extension read with the same rows
/// as ledgerflow; a chunk replacement or a merge is exactly one commit; `lake check` finds
/// a chunk the log lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_tables_follow_exports_overwrites_and_compaction() {
    let cfg = workload(6, 30, 8);
    let Some((anvil, _w)) = chain("sql_delta", cfg).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap().to_string();
    let export = |blocks: &'static str, extra: &'static [&'static str]| {
        let url = anvil.url();
        let lake_s = lake_s.clone();
        async move {
            let mut args = vec![
                "export",
                "evm",
                "--rpc",
                &url,
                "-o",
                &lake_s,
                "--chunk-size",
                "10",
                "--blocks",
                blocks,
                "-q",
            ];
            args.extend_from_slice(extra);
            let out = run(&args).await;
            assert!(out.status.success(), "{}", stderr(&out));
        }
    };
    export("0:29", &["--format", "delta"]).await;
    let tx_dir = lake.join("anvil/transactions");
    // three chunks, three commits (0 creates the table)
    let (v, _) = last_commit(&tx_dir);
    assert_eq!(v, 2);
    let engine = Engine::open(&lake, &Options::default()).await.unwrap();
    let versions = delta_readers(&engine, &lake, "anvil", "crypto_anvil", (12, 18)).await;
    assert!(versions.values().all(|v| *v == 2), "{versions:?}");

    // a chunk rewritten: one commit per table, the chunk re-added (same path), nothing removed
    export("10:19", &["--format", "delta", "--overwrite"]).await;
    let (v, text) = last_commit(&tx_dir);
    assert_eq!(v, 3);
    assert!(
        text.contains("\"path\":\"transactions__0000000010_0000000019.parquet\""),
        "{text}"
    );
    assert!(!text.contains("\"remove\""), "{text}");
    assert!(text.contains("\"numRecords\\\":"), "{text}");

    // a plain Parquet export past the log: check names the chunk, convert adds it
    export("30:latest", &[]).await;
    let head: u64 = scalar(
        &Engine::open(&lake, &Options::default()).await.unwrap(),
        "SELECT max(number) FROM crypto_anvil.blocks",
    )
    .await
    .parse()
    .unwrap();
    assert!(head >= 30);
    let out = run(&["lake", "check", "-l", &lake_s]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        report.contains(&format!(
            "chunk transactions__0000000030_{head:010}.parquet is not in the Delta log"
        )),
        "{report}"
    );
    let out = run(&["lake", "convert", "-l", &lake_s, "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tx = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["table"] == "transactions")
        .unwrap();
    assert_eq!(
        (tx["version"].as_u64(), tx["added"].as_u64()),
        (Some(4), Some(1))
    );
    // converting again commits nothing
    let out = run(&["lake", "convert", "-l", &lake_s]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("anvil/transactions: up to date (version 4)"),
        "{text}"
    );
    assert!(text.contains(", 0 commits"), "{text}");
    let out = run(&["lake", "check", "-l", &lake_s]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // compaction: each merge one commit (merged file added, the four chunks removed)
    let out = run(&["lake", "compact", "-l", &lake_s, "--target-blocks", "100"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (v, text) = last_commit(&tx_dir);
    assert_eq!(v, 5);
    assert_eq!(text.matches("\"remove\"").count(), 4, "{text}");
    assert_eq!(text.matches("\"add\"").count(), 1, "{text}");
    assert!(
        text.contains(&format!("transactions__0000000000_{head:010}.parquet")),
        "{text}"
    );
    let out = run(&["lake", "check", "-l", &lake_s]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let engine = Engine::open(&lake, &Options::default()).await.unwrap();
    let versions = delta_readers(&engine, &lake, "anvil", "crypto_anvil", (5, 25)).await;
    assert!(versions.values().all(|v| *v == 5), "{versions:?}");

    // bad arguments
    let out = run(&["lake", "convert", "-l", &lake_s, "--to", "iceberg"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--to \"iceberg\""),
        "{}",
        stderr(&out)
    );
    let out = run(&["lake", "convert", "-l", &lake_s, "--table", "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no table \"nope\""),
        "{}",
        stderr(&out)
    );
}
