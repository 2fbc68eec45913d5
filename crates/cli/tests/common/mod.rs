#![allow(clippy::unwrap_used)]
//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use ledgerflow_devnet::litecoin::{
    generate_utxo, Litecoind, UtxoWorkloadConfig, UtxoWorkloadSummary,
};
use ledgerflow_devnet::{find_anvil, Anvil, AnvilOptions, WorkloadConfig, WorkloadSummary};
use ledgerflow_testkit::services::or_skip;

/// Starts anvil and generates a workload, or returns None (with a visible skip line) when
/// anvil is not installed. With `LEDGERFLOW_REQUIRE_ANVIL=1` (CI) a missing anvil fails.
pub async fn chain(test: &str, cfg: WorkloadConfig) -> Option<(Anvil, WorkloadSummary)> {
    let bin = or_skip(test, "ANVIL", find_anvil(None))?;
    let anvil = Anvil::start(&bin, &AnvilOptions::default())
        .await
        .expect("anvil starts");
    let summary = ledgerflow_devnet::generate(&anvil.url(), cfg)
        .await
        .expect("workload");
    Some((anvil, summary))
}

/// Starts litecoind in regtest in `datadir` and generates a UTXO workload, or returns None
/// (with a visible skip line) when litecoind is not installed. With
/// `LEDGERFLOW_REQUIRE_LITECOIND=1` (CI) a missing litecoind fails.
pub async fn litecoin_node(
    test: &str,
    datadir: &Path,
    cfg: UtxoWorkloadConfig,
) -> Option<(Litecoind, UtxoWorkloadSummary)> {
    or_skip(
        test,
        "LITECOIND",
        ledgerflow_devnet::litecoin::find_litecoind(None),
    )?;
    let n = Litecoind::start(None, 0, Some(datadir)).await.unwrap();
    let s = generate_utxo(&n, &cfg).await.unwrap();
    Some((n, s))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledgerflow"))
}

/// Runs the ledgerflow binary (off the async runtime's threads).
pub async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin())
            .args(&args)
            .output()
            .expect("binary runs")
    })
    .await
    .expect("join")
}

/// `ledgerflow export evm --rpc RPC -o LAKE -q ARGS…`, which must succeed (its stderr is
/// shown otherwise).
pub async fn export_evm(rpc: &str, lake: &Path, args: &[&str]) -> Output {
    let lake = lake.to_str().expect("a UTF-8 path");
    let mut all = vec!["export", "evm", "--rpc", rpc, "-o", lake, "-q"];
    all.extend_from_slice(args);
    let out = run(&all).await;
    assert!(
        out.status.success(),
        "export evm {args:?}: {}",
        stderr(&out)
    );
    out
}

/// A seeded workload of `blocks` blocks with about `txs_per_block` transactions each.
pub fn workload(seed: u64, blocks: u64, txs_per_block: usize) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        blocks,
        txs_per_block,
        ..Default::default()
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Reads every Parquet chunk of a table into one batch list.
pub fn read_table(lake: &Path, chain: &str, table: &str) -> Vec<RecordBatch> {
    let dir = lake.join(chain).join(table);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let file = std::fs::File::open(&f).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            out.push(b.unwrap());
        }
    }
    out
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Values of a string column (None for nulls).
pub fn strings(batches: &[RecordBatch], col: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column_by_name(col)
            .unwrap_or_else(|| panic!("no column {col}"));
        let s = a.as_string::<i32>();
        for i in 0..s.len() {
            out.push((!s.is_null(i)).then(|| s.value(i).to_string()));
        }
    }
    out
}

/// Values of an Int64 column.
pub fn ints(batches: &[RecordBatch], col: &str) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column_by_name(col)
            .unwrap_or_else(|| panic!("no column {col}"));
        let s = a.as_primitive::<Int64Type>();
        for i in 0..s.len() {
            out.push((!s.is_null(i)).then(|| s.value(i)));
        }
    }
    out
}

/// Values of a Boolean column.
pub fn bools(batches: &[RecordBatch], col: &str) -> Vec<Option<bool>> {
    let mut out = Vec::new();
    for b in batches {
        let a = b.column_by_name(col).unwrap().as_boolean();
        for i in 0..a.len() {
            out.push((!a.is_null(i)).then(|| a.value(i)));
        }
    }
    out
}

pub fn count<T: Ord + Clone>(xs: &[T]) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for x in xs {
        *m.entry(x.clone()).or_default() += 1;
    }
    m
}

/// All files under a folder (recursively), sorted, with their bytes.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(d: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.insert(
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// The lake's data files with their bytes, without the run reports (which differ by time).
pub fn lake_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("anvil/_runs"))
        .collect()
}
