//! `lake check`: the verification blockchain-etl's Airflow DAGs run after each export,
//! done on the lake's Parquet chunks.
//!
//! Per table: every chunk file readable (a Parquet footer; its row count), no two chunks
//! overlapping (a duplicate chunk would double rows), no gap between chunks. Per chain:
//! every table covers the same blocks as `blocks`; `blocks` has one row per block of each
//! chunk; and the counts agree across tables, chunk range by chunk range where the tables
//! are chunked alike:
//! * `sum(blocks.transaction_count)` = rows of `transactions` (and of `receipts`);
//! * EVM: top-level traces of transactions (`trace_address` empty, transaction hash set)
//!   = rows of `transactions`;
//! * Bitcoin family: `sum(transactions.input_count)` = rows of `inputs`,
//!   `sum(transactions.output_count)` = rows of `outputs`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde::Serialize;

use crate::error::{io, LakeError};
use crate::layout::{ChunkFile, Lake};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Chain folder.
    pub chain: String,
    /// Table (or `*` for the chain).
    pub table: String,
    /// The file concerned, if one.
    pub path: Option<PathBuf>,
    /// What is wrong.
    pub message: String,
}

/// What a check saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Chain folders checked.
    pub chains: usize,
    /// Tables checked.
    pub tables: usize,
    /// Parquet chunk files checked.
    pub chunks: usize,
    /// Rows in them.
    pub rows: u64,
    /// Count comparisons made (each one a pair of numbers that had to agree).
    pub comparisons: usize,
    /// Problems; empty when the lake is consistent.
    pub findings: Vec<Finding>,
}

/// Per chunk range (start, end): a count.
type PerRange = BTreeMap<(u64, u64), u64>;

struct Chunk {
    file: ChunkFile,
    rows: u64,
}

/// Checks every chain (or only `only_chain`) of the lake.
pub fn check(lake: &Lake, only_chain: Option<&str>) -> Result<CheckReport, LakeError> {
    let mut report = CheckReport::default();
    let root = lake.root();
    let mut chains: Vec<String> = lake.chains()?;
    if let Some(c) = only_chain {
        if !chains.iter().any(|x| x == c) {
            report.findings.push(Finding {
                chain: c.into(),
                table: "*".into(),
                path: Some(root.join(c)),
                message: "no such chain folder in the lake".into(),
            });
            return Ok(report);
        }
        chains.retain(|x| x == c);
    }
    for chain in chains {
        check_chain(lake, &chain, &mut report)?;
        report.chains += 1;
    }
    Ok(report)
}

fn check_chain(lake: &Lake, chain: &str, report: &mut CheckReport) -> Result<(), LakeError> {
    let mut tables: BTreeMap<String, Vec<Chunk>> = BTreeMap::new();
    let find = |table: &str, path: Option<PathBuf>, message: String| Finding {
        chain: chain.into(),
        table: table.into(),
        path,
        message,
    };
    for table in lake.tables(chain)? {
        let (files, shadowed) = lake.parquet_chunks(chain, &table)?;
        if files.is_empty() {
            continue;
        }
        for f in shadowed {
            report.findings.push(find(
                &table,
                Some(f.path),
                "inside a larger chunk: left by an interrupted compaction (readers skip it; \
                 `ledgerflow lake compact` removes it)"
                    .into(),
            ));
        }
        report.tables += 1;
        let mut chunks = Vec::new();
        for f in files {
            report.chunks += 1;
            match footer_rows(&f.path) {
                Ok(rows) => {
                    report.rows += rows;
                    chunks.push(Chunk { file: f, rows });
                }
                Err(m) => report.findings.push(find(
                    &table,
                    Some(f.path.clone()),
                    format!("unreadable chunk: {m}"),
                )),
            }
        }
        for w in chunks.windows(2) {
            let (a, b) = (&w[0].file, &w[1].file);
            if b.range.start <= a.range.end {
                report.findings.push(find(
                    &table,
                    Some(b.path.clone()),
                    format!(
                        "blocks {}..{} overlap {} (duplicate rows)",
                        b.range.start,
                        b.range.end.min(a.range.end),
                        a.path.display()
                    ),
                ));
            } else if b.range.start > a.range.end + 1 {
                report.findings.push(find(
                    &table,
                    None,
                    format!(
                        "gap: blocks {}..{} are in no chunk",
                        a.range.end + 1,
                        b.range.start - 1
                    ),
                ));
            }
        }
        tables.insert(table, chunks);
    }
    let Some(blocks) = tables.get("blocks") else {
        if !tables.is_empty() {
            report.findings.push(find(
                "blocks",
                None,
                "no blocks table: coverage and counts cannot be checked".into(),
            ));
        }
        return Ok(());
    };
    // one row per block of each blocks chunk
    for c in blocks {
        let want = c.file.range.end - c.file.range.start + 1;
        report.comparisons += 1;
        if c.rows != want {
            report.findings.push(find(
                "blocks",
                Some(c.file.path.clone()),
                format!("{} rows for {want} blocks", c.rows),
            ));
        }
    }
    // every table covers the blocks of `blocks`
    let covered = |cs: &[Chunk]| -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for c in cs {
            match out.last_mut() {
                Some(l) if c.file.range.start <= l.1 + 1 => l.1 = l.1.max(c.file.range.end),
                _ => out.push((c.file.range.start, c.file.range.end)),
            }
        }
        out
    };
    let block_cover = covered(blocks);
    for (t, cs) in &tables {
        if t == "blocks" || t == "tokens" {
            continue; // tokens are found by contract and may be absent for a range
        }
        let cover = covered(cs);
        report.comparisons += 1;
        if cover != block_cover {
            report.findings.push(find(
                t,
                None,
                format!(
                    "covers blocks {} but blocks covers {}",
                    show_cover(&cover),
                    show_cover(&block_cover)
                ),
            ));
        }
    }
    let utxo = tables.contains_key("inputs") || tables.contains_key("outputs");
    // counts: (what, per-chunk numbers of the left side, right table)
    let mut pairs: Vec<(String, PerRange, &str)> = Vec::new();
    let sums = |t: &str, col: &str| -> Result<Option<PerRange>, LakeError> {
        let Some(cs) = tables.get(t) else {
            return Ok(None);
        };
        let mut m = BTreeMap::new();
        for c in cs {
            m.insert(
                (c.file.range.start, c.file.range.end),
                sum_column(&c.file.path, col)?,
            );
        }
        Ok(Some(m))
    };
    if let Some(tx_counts) = sums("blocks", "transaction_count")? {
        pairs.push((
            "sum(blocks.transaction_count)".into(),
            tx_counts.clone(),
            "transactions",
        ));
        if !utxo {
            pairs.push((
                "sum(blocks.transaction_count)".into(),
                tx_counts,
                "receipts",
            ));
        }
    }
    if utxo {
        if let Some(m) = sums("transactions", "input_count")? {
            pairs.push(("sum(transactions.input_count)".into(), m, "inputs"));
        }
        if let Some(m) = sums("transactions", "output_count")? {
            pairs.push(("sum(transactions.output_count)".into(), m, "outputs"));
        }
    } else if let Some(cs) = tables.get("traces") {
        let mut m = BTreeMap::new();
        for c in cs {
            m.insert(
                (c.file.range.start, c.file.range.end),
                top_level_traces(&c.file.path)?,
            );
        }
        pairs.push(("top-level traces".into(), m, "transactions"));
    }
    for (what, left, right) in pairs {
        let Some(rcs) = tables.get(right) else {
            continue;
        };
        let right_rows: BTreeMap<(u64, u64), u64> = rcs
            .iter()
            .map(|c| ((c.file.range.start, c.file.range.end), c.rows))
            .collect();
        if left.keys().eq(right_rows.keys()) {
            for ((range, l), r) in left.iter().zip(right_rows.values()) {
                report.comparisons += 1;
                if l != r {
                    report.findings.push(find(
                        right,
                        rcs.iter()
                            .find(|c| (c.file.range.start, c.file.range.end) == *range)
                            .map(|c| c.file.path.clone()),
                        format!(
                            "blocks {}..{}: {what} = {l} but {right} has {r} rows",
                            range.0, range.1
                        ),
                    ));
                }
            }
        } else {
            let (l, r): (u64, u64) = (left.values().sum(), right_rows.values().sum());
            report.comparisons += 1;
            if l != r {
                report.findings.push(find(
                    right,
                    None,
                    format!("{what} = {l} but {right} has {r} rows"),
                ));
            }
        }
    }
    Ok(())
}

fn show_cover(c: &[(u64, u64)]) -> String {
    if c.is_empty() {
        return "nothing".into();
    }
    c.iter()
        .map(|(a, b)| format!("{a}..{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn footer_rows(path: &Path) -> Result<u64, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let r = SerializedFileReader::new(f).map_err(|e| e.to_string())?;
    Ok(r.metadata().file_metadata().num_rows().max(0) as u64)
}

fn reader(
    path: &Path,
    cols: &[&str],
) -> Result<Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>, LakeError> {
    let f = File::open(path).map_err(io("open", path))?;
    let pq = |e| LakeError::Parquet {
        path: path.to_path_buf(),
        source: e,
    };
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(pq)?;
    let schema = b.schema().clone();
    let mut idx = Vec::new();
    for c in cols {
        match schema.index_of(c) {
            Ok(i) => idx.push(i),
            Err(_) => return Ok(None),
        }
    }
    let mask = ProjectionMask::roots(b.parquet_schema(), idx);
    Ok(Some(b.with_projection(mask).build().map_err(pq)?))
}

fn sum_column(path: &Path, col: &str) -> Result<u64, LakeError> {
    let Some(r) = reader(path, &[col])? else {
        return Ok(0);
    };
    let mut total = 0u64;
    for b in r {
        let b = b.map_err(|e| LakeError::Arrow {
            path: path.to_path_buf(),
            source: e,
        })?;
        let a = b.column(0);
        let a = arrow::compute::cast(a, &arrow::datatypes::DataType::Int64).map_err(|e| {
            LakeError::Arrow {
                path: path.to_path_buf(),
                source: e,
            }
        })?;
        let a = a.as_primitive::<Int64Type>();
        total += a.iter().flatten().map(|x| x.max(0) as u64).sum::<u64>();
    }
    Ok(total)
}

fn top_level_traces(path: &Path) -> Result<u64, LakeError> {
    let Some(r) = reader(path, &["transaction_hash", "trace_address"])? else {
        return Ok(0);
    };
    let mut n = 0u64;
    for b in r {
        let b = b.map_err(|e| LakeError::Arrow {
            path: path.to_path_buf(),
            source: e,
        })?;
        let hash = b.column(0);
        let addr = b.column(1);
        for i in 0..b.num_rows() {
            if hash.is_null(i) {
                continue;
            }
            let top = addr.is_null(i)
                || match addr.data_type() {
                    arrow::datatypes::DataType::List(_) => {
                        addr.as_list::<i32>().value_length(i) == 0
                    }
                    arrow::datatypes::DataType::Utf8 => addr.as_string::<i32>().value(i).is_empty(),
                    _ => false,
                };
            if top {
                n += 1;
            }
        }
    }
    Ok(n)
}
