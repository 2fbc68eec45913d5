//! `lake compact`: merges small adjacent Parquet chunks into larger ones.
//!
//! Chunks are merged within aligned windows of `target_blocks` (a chunk that crosses a
//! window boundary is left alone), only where they are contiguous, into one file named by
//! the union of their ranges: `transactions__0000000000_0000009999.parquet` replaces ten
//! files of 1,000 blocks. The merged file is written to a temporary name and renamed into
//! place before the files it replaces are removed; a compaction interrupted between the
//! two leaves chunks that lie inside the merged one, which every reader skips
//! ([`crate::layout::shadowed`]) and the next compaction removes. Rows, their order and the
//! files' key-value metadata are kept.

use std::collections::BTreeMap;
use std::fs::File;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use crate::error::{io, LakeError};
use crate::layout::{chunk_name, ChunkFile, Lake};
use crate::writer::{TableFile, WriteOptions};
use ledgerflow_core::BlockRange;

/// What to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only this chain folder.
    pub chain: Option<String>,
    /// Only this table.
    pub table: Option<String>,
    /// Window size in blocks: chunks are merged up to this many blocks per file.
    pub target_blocks: u64,
    /// Show what would be merged, change nothing.
    pub dry_run: bool,
}

/// One merge.
#[derive(Debug, Clone, Serialize)]
pub struct Merge {
    /// `chain/table`.
    pub table: String,
    /// The new file.
    pub into: String,
    /// How many files it replaces.
    pub files: usize,
    /// Rows.
    pub rows: u64,
}

/// What a compaction did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactReport {
    /// Merges made (or planned, in a dry run).
    pub merges: Vec<Merge>,
    /// Files removed that an interrupted compaction had left.
    pub leftovers_removed: usize,
}

/// Called after a merged file is in place and before the files it replaces are removed:
/// `(chain, table, merged range, merged file, replaced files)`. An error keeps the replaced
/// files (they are then leftovers that readers skip).
pub type RecordMerge<'a> = dyn FnMut(
        &str,
        &str,
        BlockRange,
        &std::path::Path,
        &[std::path::PathBuf],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
    + 'a;

/// Compacts the lake.
pub fn compact(lake: &Lake, opts: &CompactOptions) -> Result<CompactReport, LakeError> {
    compact_with(lake, opts, &mut |_, _, _, _, _| Ok(()))
}

/// Compacts the lake, reporting each merge to `record` before the replaced files go (how
/// a Delta table's log gets the merge as one commit).
pub fn compact_with(
    lake: &Lake,
    opts: &CompactOptions,
    record: &mut RecordMerge<'_>,
) -> Result<CompactReport, LakeError> {
    let mut report = CompactReport::default();
    let target = opts.target_blocks.max(1);
    for chain in lake.chains()? {
        if opts.chain.as_ref().is_some_and(|c| *c != chain) {
            continue;
        }
        for table in lake.tables(&chain)? {
            if opts.table.as_ref().is_some_and(|t| *t != table) {
                continue;
            }
            let (chunks, leftovers) = lake.parquet_chunks(&chain, &table)?;
            for c in leftovers {
                if !opts.dry_run {
                    std::fs::remove_file(&c.path).map_err(io("remove", &c.path))?;
                }
                report.leftovers_removed += 1;
            }
            // contiguous runs inside one window
            let mut groups: BTreeMap<u64, Vec<Vec<ChunkFile>>> = BTreeMap::new();
            for c in chunks {
                let w = c.range.start / target;
                if c.range.end / target != w {
                    continue;
                }
                let runs = groups.entry(w).or_default();
                match runs.last_mut() {
                    Some(run) if run.last().is_some_and(|l| l.range.end + 1 == c.range.start) => {
                        run.push(c)
                    }
                    _ => runs.push(vec![c]),
                }
            }
            for run in groups.into_values().flatten().filter(|r| r.len() > 1) {
                let range = BlockRange::new(run[0].range.start, run[run.len() - 1].range.end);
                let path = lake.chunk_path(&chain, &table, range, "parquet");
                let rows = if opts.dry_run {
                    0
                } else {
                    let rows = merge(&run, &path)?;
                    let replaced: Vec<std::path::PathBuf> =
                        run.iter().map(|c| c.path.clone()).collect();
                    record(&chain, &table, range, &path, &replaced).map_err(|source| {
                        LakeError::Record {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    // the merge is recorded: the files it replaces can go
                    for c in &run {
                        std::fs::remove_file(&c.path).map_err(io("remove", &c.path))?;
                    }
                    rows
                };
                report.merges.push(Merge {
                    table: format!("{chain}/{table}"),
                    into: chunk_name(&table, range, "parquet"),
                    files: run.len(),
                    rows,
                });
            }
        }
    }
    Ok(report)
}

fn merge(run: &[ChunkFile], path: &std::path::Path) -> Result<u64, LakeError> {
    let pq = |p: &std::path::Path| {
        let p = p.to_path_buf();
        move |e| LakeError::Parquet { path: p, source: e }
    };
    let first = ParquetRecordBatchReaderBuilder::try_new(
        File::open(&run[0].path).map_err(io("open", &run[0].path))?,
    )
    .map_err(pq(&run[0].path))?;
    let schema = first.schema().clone();
    let metadata: Vec<(String, String)> = first
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|k| k.key != "ARROW:schema")
                .filter_map(|k| k.value.clone().map(|v| (k.key.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    // the exports' encoding: dictionaries only for the family's repeating columns (the
    // chunk files say their family in their metadata)
    let family = |key: &str| metadata.iter().any(|(k, _)| k == key);
    let dictionary_columns = if family(ledgerflow_core::tables::evm::CHAIN_ID_KEY) {
        Some(ledgerflow_core::tables::evm::DICTIONARY_COLUMNS)
    } else if family(ledgerflow_core::tables::bitcoin::CHAIN_KEY) {
        Some(ledgerflow_core::tables::bitcoin::DICTIONARY_COLUMNS)
    } else {
        None
    };
    let opts = WriteOptions {
        metadata,
        dictionary_columns,
        ..Default::default()
    };
    let mut out = TableFile::parquet(path, schema.clone(), &opts)?;
    let mut expected = 0u64;
    for c in run {
        let b = ParquetRecordBatchReaderBuilder::try_new(
            File::open(&c.path).map_err(io("open", &c.path))?,
        )
        .map_err(pq(&c.path))?;
        if b.schema().fields() != schema.fields() {
            return Err(LakeError::Incompatible {
                path: c.path.clone(),
                other: run[0].path.clone(),
            });
        }
        expected += b.metadata().file_metadata().num_rows().max(0) as u64;
        for batch in b.build().map_err(pq(&c.path))? {
            let batch = batch.map_err(|e| LakeError::Arrow {
                path: c.path.clone(),
                source: e,
            })?;
            out.write(&batch)?;
        }
    }
    let rows = out.rows();
    if rows != expected {
        return Err(LakeError::WrongKind {
            path: path.to_path_buf(),
            what: "merged row count differs from the footers' (nothing replaced)",
        });
    }
    out.commit()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::shadowed;
    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    fn chunk(lake: &Lake, start: u64, end: u64) {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "block_number",
            DataType::Int64,
            false,
        )]));
        let path = lake.chunk_path("c", "t", BlockRange::new(start, end), "parquet");
        let mut f = TableFile::parquet(&path, schema.clone(), &WriteOptions::default()).unwrap();
        let vals: Vec<i64> = (start as i64..=end as i64).collect();
        f.write(&RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vals))]).unwrap())
            .unwrap();
        f.commit().unwrap();
    }

    fn ranges(lake: &Lake) -> Vec<(u64, u64)> {
        lake.chunks("c", "t")
            .unwrap()
            .iter()
            .map(|c| (c.range.start, c.range.end))
            .collect()
    }

    #[test]
    fn merges_within_windows_and_removes_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        for (s, e) in [(0, 9), (10, 19), (20, 29), (40, 49), (50, 59), (95, 104)] {
            chunk(&lake, s, e);
        }
        let opts = CompactOptions {
            chain: None,
            table: None,
            target_blocks: 100,
            dry_run: true,
        };
        let r = compact(&lake, &opts).unwrap();
        assert_eq!(r.merges.len(), 2);
        assert_eq!(ranges(&lake).len(), 6, "dry run changes nothing");
        let r = compact(
            &lake,
            &CompactOptions {
                dry_run: false,
                ..opts.clone()
            },
        )
        .unwrap();
        // 0-29 and 40-59 (a gap at 30-39 splits them); 95-104 crosses a window: alone
        assert_eq!(ranges(&lake), vec![(0, 29), (40, 59), (95, 104)]);
        assert_eq!(r.merges.iter().map(|m| m.rows).sum::<u64>(), 50);
        let merged = ParquetRecordBatchReaderBuilder::try_new(
            File::open(lake.chunk_path("c", "t", BlockRange::new(0, 29), "parquet")).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum::<usize>();
        assert_eq!(merged, 30);
        // an interrupted compaction's leftover is shadowed, then removed
        chunk(&lake, 10, 19);
        let all = lake.chunks("c", "t").unwrap();
        assert_eq!(shadowed(&all).len(), 1);
        let r = compact(&lake, &opts.clone()).unwrap();
        assert_eq!(r.leftovers_removed, 1);
        assert_eq!(ranges(&lake).len(), 4, "dry run keeps the leftover");
        let r = compact(
            &lake,
            &CompactOptions {
                dry_run: false,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(r.leftovers_removed, 1);
        assert_eq!(ranges(&lake), vec![(0, 29), (40, 59), (95, 104)]);
    }

    #[test]
    fn keeps_the_exports_dictionary_choice() {
        use arrow_array::StringArray;
        use parquet::basic::Encoding;
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let schema = Arc::new(Schema::new(vec![
            Field::new("block_number", DataType::Int64, false),
            Field::new("hash", DataType::Utf8, false),
        ]));
        for (s, e) in [(0u64, 9u64), (10, 19)] {
            let path = lake.chunk_path("c", "t", BlockRange::new(s, e), "parquet");
            let opts = WriteOptions {
                metadata: vec![(
                    ledgerflow_core::tables::evm::CHAIN_ID_KEY.into(),
                    "1".into(),
                )],
                dictionary_columns: Some(ledgerflow_core::tables::evm::DICTIONARY_COLUMNS),
                ..Default::default()
            };
            let mut f = TableFile::parquet(&path, schema.clone(), &opts).unwrap();
            let n: Vec<i64> = (s as i64..=e as i64).collect();
            let h: Vec<String> = n.iter().map(|i| format!("0x{i:064x}")).collect();
            f.write(
                &RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(n)),
                        Arc::new(StringArray::from(h)),
                    ],
                )
                .unwrap(),
            )
            .unwrap();
            f.commit().unwrap();
        }
        let opts = CompactOptions {
            chain: None,
            table: None,
            target_blocks: 100,
            dry_run: false,
        };
        compact(&lake, &opts).unwrap();
        assert_eq!(ranges(&lake), vec![(0, 19)]);
        let path = lake.chunk_path("c", "t", BlockRange::new(0, 19), "parquet");
        let r = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        let g = r.metadata().row_group(0);
        let dict = |i: usize| {
            g.column(i)
                .encodings()
                .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
        };
        assert!(dict(0), "block_number keeps its dictionary");
        assert!(!dict(1), "hash stays plain");
    }
}
