#![allow(clippy::unwrap_used)]
//! The Delta log follows the chunk files: create, idempotent re-sync, a rewritten chunk
//! re-added, merged chunks removed, each change one commit.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use ledgerflow_core::BlockRange;
use ledgerflow_delta::{DeltaTable, SyncReport};
use ledgerflow_lake::writer::TableFile;
use ledgerflow_lake::{Lake, WriteOptions};

fn chunk(lake: &Lake, table: &str, start: u64, end: u64, extra: i64) -> std::path::PathBuf {
    let schema = Arc::new(Schema::new(vec![
        Field::new("block_number", DataType::Int64, false),
        Field::new("value", DataType::Int64, true),
    ]));
    let path = lake.chunk_path("c", table, BlockRange::new(start, end), "parquet");
    let mut f = TableFile::parquet(&path, schema.clone(), &WriteOptions::default()).unwrap();
    let n: Vec<i64> = (start as i64..=end as i64).collect();
    let v: Vec<i64> = n.iter().map(|x| x * 10 + extra).collect();
    f.write(
        &RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(n)), Arc::new(Int64Array::from(v))],
        )
        .unwrap(),
    )
    .unwrap();
    f.commit().unwrap();
    path
}

fn counts(r: &SyncReport) -> (usize, usize, usize) {
    (r.added, r.replaced, r.removed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_follows_the_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    chunk(&lake, "t", 0, 9, 0);
    chunk(&lake, "t", 10, 19, 0);

    let mut t = DeltaTable::open(&lake, "c", "t").await.unwrap();
    assert_eq!(t.version(), None);
    let r = t.sync(&lake).await.unwrap();
    assert!(r.created);
    assert_eq!((r.version, counts(&r)), (Some(0), (2, 0, 0)));
    assert!(ledgerflow_delta::is_delta(&lake, "c", "t"));

    // nothing changed: no commit
    let r = DeltaTable::open(&lake, "c", "t")
        .await
        .unwrap()
        .sync(&lake)
        .await
        .unwrap();
    assert!(!r.committed());
    assert_eq!(r.version, Some(0));

    // an exported chunk: one commit
    let p = chunk(&lake, "t", 20, 29, 0);
    let r = t
        .commit(BlockRange::new(20, 29), std::slice::from_ref(&p), &[])
        .await
        .unwrap();
    assert_eq!((r.version, counts(&r)), (Some(1), (1, 0, 0)));
    // the same chunk rewritten (export --overwrite): re-added in one commit
    std::thread::sleep(std::time::Duration::from_millis(5));
    let p = chunk(&lake, "t", 20, 29, 1);
    let r = t.commit(BlockRange::new(20, 29), &[p], &[]).await.unwrap();
    assert_eq!((r.version, counts(&r)), (Some(2), (0, 1, 0)));

    // stats of the re-added file describe the new contents
    let files = t.files().unwrap();
    assert_eq!(files.len(), 3);
    assert!(ledgerflow_delta::verify(&lake, "c", "t")
        .await
        .unwrap()
        .is_empty());

    // a merge outside ledgerflow (or an interrupted compaction): the merged file shadows
    // the small ones; one sync commits the add and both removes
    chunk(&lake, "t", 0, 19, 0);
    let problems = ledgerflow_delta::verify(&lake, "c", "t").await.unwrap();
    assert_eq!(problems.len(), 3, "{problems:?}");
    let r = t.sync(&lake).await.unwrap();
    assert_eq!((r.version, counts(&r)), (Some(3), (1, 0, 2)));
    let names: Vec<String> = t.files().unwrap().into_keys().collect();
    assert_eq!(
        names,
        vec![
            "t__0000000000_0000000019.parquet",
            "t__0000000020_0000000029.parquet"
        ]
    );

    // a file deleted by hand: removed from the log
    std::fs::remove_file(lake.chunk_path("c", "t", BlockRange::new(20, 29), "parquet")).unwrap();
    let r = t.sync(&lake).await.unwrap();
    assert_eq!((r.version, counts(&r)), (Some(4), (0, 0, 1)));

    // a reopened table sees the same state, and the log's stats carry the row counts
    let t2 = DeltaTable::open(&lake, "c", "t").await.unwrap();
    assert_eq!(t2.version(), Some(4));
    assert_eq!(t2.files().unwrap().len(), 1);
    let log = std::fs::read_to_string(dir.path().join("c/t/_delta_log/00000000000000000003.json"))
        .unwrap();
    assert!(log.contains("\\\"numRecords\\\":20"), "{log}");
    assert!(
        log.contains("\\\"maxValues\\\":{\\\"block_number\\\":19"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_with_other_columns_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());
    chunk(&lake, "t", 0, 9, 0);
    let mut t = DeltaTable::open(&lake, "c", "t").await.unwrap();
    t.sync(&lake).await.unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "block_number",
        DataType::Int64,
        false,
    )]));
    let path = lake.chunk_path("c", "t", BlockRange::new(10, 19), "parquet");
    let mut f = TableFile::parquet(&path, schema.clone(), &WriteOptions::default()).unwrap();
    f.write(&RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![10i64]))]).unwrap())
        .unwrap();
    f.commit().unwrap();
    let e = t.sync(&lake).await.unwrap_err().to_string();
    assert!(e.contains("t__0000000010_0000000019.parquet"), "{e}");
    assert!(e.contains("columns differ"), "{e}");
    assert_eq!(t.version(), Some(0), "nothing committed");
}
