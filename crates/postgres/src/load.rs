//! Loading: one PostgreSQL transaction per chunk file.
//!
//! Each chain folder becomes a PostgreSQL schema named like its SQL dataset
//! (`crypto_anvil`), each table a table (created if missing, see [`crate::schema`]).
//! `<schema>.ledgerflow_chunks` records every loaded chunk with the SHA-256 of its file. A
//! chunk is loaded in one transaction: delete the rows of its block range (and of any
//! recorded chunk it overlaps, such as a partial head chunk it completes), `COPY … FROM
//! STDIN (FORMAT binary)` its rows, record it, commit. A rerun skips chunks whose file is
//! unchanged, reloads changed ones, and a loader killed mid-chunk leaves the chunk as it
//! was before (the server rolls the transaction back).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

use bytes::BytesMut;
use futures::SinkExt;
use ledgerflow_lake::{ChunkFile, Lake};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, NoTls};

use crate::copy;
use crate::error::{sql, PgError};
use crate::schema::{self, ident, PgType};

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `postgres://user[:password]@host[:port]/database`.
    pub url: String,
    /// Only these chain folders (all if empty).
    pub chains: Vec<String>,
    /// Only these tables (all if empty).
    pub tables: Vec<String>,
    /// Reload every chunk even if its file is unchanged.
    pub force: bool,
}

/// One chunk handled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChunkDone {
    /// `schema.table`.
    pub table: String,
    /// The file.
    pub file: String,
    /// First block.
    pub start: u64,
    /// Last block.
    pub end: u64,
    /// Rows copied (0 when skipped).
    pub rows: u64,
    /// Skipped because already loaded from the same file content.
    pub skipped: bool,
}

/// What a load did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// Chunks loaded.
    pub loaded: usize,
    /// Chunks skipped (unchanged).
    pub skipped: usize,
    /// Rows copied.
    pub rows: u64,
    /// Bytes of COPY data sent.
    pub bytes: u64,
    /// Seconds.
    pub seconds: f64,
    /// Rows per table (`schema.table`).
    pub tables: BTreeMap<String, u64>,
}

/// `url` with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The PostgreSQL schema of a chain folder: its SQL dataset name.
pub use ledgerflow_lake::layout::dataset_name as schema_name;

/// Connects; the connection runs on a spawned task.
pub async fn connect(url: &str) -> Result<Client, PgError> {
    let (client, conn) =
        tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| PgError::Connect {
                url: redact(url),
                message: e.to_string(),
            })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

fn sha256_file(path: &Path) -> Result<String, PgError> {
    let mut f = File::open(path).map_err(|e| PgError::Chunk {
        path: path.into(),
        message: e.to_string(),
    })?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| PgError::Chunk {
        path: path.into(),
        message: e.to_string(),
    })?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn reader(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, PgError> {
    let f = File::open(path).map_err(|e| PgError::Chunk {
        path: path.into(),
        message: e.to_string(),
    })?;
    ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| PgError::Chunk {
        path: path.into(),
        message: format!("not readable Parquet (truncated?): {e}"),
    })
}

/// Loads the lake into the database at `opts.url`, calling `on_chunk` after each chunk.
pub async fn load(
    lake: &Lake,
    opts: &LoadOptions,
    mut on_chunk: impl FnMut(&ChunkDone),
) -> Result<LoadReport, PgError> {
    let started = Instant::now();
    let mut report = LoadReport::default();
    // everything is checked before the database is touched
    let mut plan: Vec<(String, String, bool, Vec<ChunkFile>)> = Vec::new();
    let lake_err = |e: ledgerflow_lake::LakeError| PgError::Lake(e.to_string());
    let folders = lake.chains().map_err(lake_err)?;
    for c in &opts.chains {
        if !folders.contains(c) {
            return Err(PgError::Lake(format!(
                "no chain folder {c:?} in {} (has: {})",
                lake.root().display(),
                folders.join(", ")
            )));
        }
    }
    for folder in folders {
        if !opts.chains.is_empty() && !opts.chains.contains(&folder) {
            continue;
        }
        let tables = lake.tables(&folder).map_err(lake_err)?;
        let utxo = tables.iter().any(|t| t == "inputs" || t == "outputs");
        for table in tables {
            if !opts.tables.is_empty() && !opts.tables.contains(&table) {
                continue;
            }
            // chunks inside a larger one (an interrupted compaction) are not loaded
            let (chunks, _shadowed) = lake.parquet_chunks(&folder, &table).map_err(lake_err)?;
            for w in chunks.windows(2) {
                if w[1].range.start <= w[0].range.end {
                    return Err(PgError::Lake(format!(
                        "chunks {} and {} overlap (run `ledgerflow lake check`)",
                        w[0].path.display(),
                        w[1].path.display()
                    )));
                }
            }
            if !chunks.is_empty() {
                plan.push((folder.clone(), table, utxo, chunks));
            }
        }
    }
    if plan.is_empty() {
        return Err(PgError::Lake(format!(
            "no Parquet chunks to load in {}",
            lake.root().display()
        )));
    }
    let mut client = connect(&opts.url).await?;
    for (folder, table, utxo, chunks) in plan {
        let pg_schema = schema_name(&folder);
        let arrow_schema = reader(&chunks[0].path)?.schema().clone();
        let types: Vec<PgType> = arrow_schema
            .fields()
            .iter()
            .map(|f| schema::pg_type(&table, f))
            .collect::<Result<_, _>>()?;
        for stmt in schema::ddl(&pg_schema, &table, &arrow_schema, utxo)? {
            client
                .batch_execute(&stmt)
                .await
                .map_err(sql(format!("creating {pg_schema}.{table}")))?;
        }
        let book = format!("{}.ledgerflow_chunks", ident(&pg_schema));
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {book} (\
                 table_name TEXT NOT NULL, start_block BIGINT NOT NULL, end_block BIGINT NOT NULL, \
                 file TEXT NOT NULL, sha256 TEXT NOT NULL, rows BIGINT NOT NULL, \
                 loaded_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
                 PRIMARY KEY (table_name, start_block, end_block))"
            ))
            .await
            .map_err(sql("creating the chunk book"))?;
        let qtable = format!("{}.{}", ident(&pg_schema), ident(&table));
        let cols: Vec<String> = arrow_schema
            .fields()
            .iter()
            .map(|f| ident(f.name()))
            .collect();
        let copy_stmt = format!(
            "COPY {qtable} ({}) FROM STDIN (FORMAT binary)",
            cols.join(", ")
        );
        let bc = ident(schema::block_column(&table));
        for chunk in chunks {
            let (start, end) = (chunk.range.start as i64, chunk.range.end as i64);
            let sha = sha256_file(&chunk.path)?;
            let file_name = chunk
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let done = |rows, skipped| ChunkDone {
                table: format!("{pg_schema}.{table}"),
                file: file_name.clone(),
                start: chunk.range.start,
                end: chunk.range.end,
                rows,
                skipped,
            };
            if !opts.force {
                let row = client
                    .query_opt(
                        &format!("SELECT sha256 FROM {book} WHERE table_name = $1 AND start_block = $2 AND end_block = $3"),
                        &[&table, &start, &end],
                    )
                    .await
                    .map_err(sql("reading the chunk book"))?;
                if row.map(|r| r.get::<_, String>(0)) == Some(sha.clone()) {
                    report.skipped += 1;
                    on_chunk(&done(0, true));
                    continue;
                }
            }
            let ctx = |what: &str| format!("{what} {qtable} blocks {start}..{end} ({file_name})");
            let tx = client
                .transaction()
                .await
                .map_err(sql(ctx("starting a transaction for")))?;
            // the union of this range and every recorded chunk it overlaps
            let overl = tx
                .query(
                    &format!("SELECT start_block, end_block FROM {book} WHERE table_name = $1 AND start_block <= $3 AND end_block >= $2"),
                    &[&table, &start, &end],
                )
                .await
                .map_err(sql(ctx("reading the chunk book for")))?;
            let lo = overl
                .iter()
                .map(|r| r.get::<_, i64>(0))
                .fold(start, i64::min);
            let hi = overl.iter().map(|r| r.get::<_, i64>(1)).fold(end, i64::max);
            tx.execute(
                &format!("DELETE FROM {qtable} WHERE {bc} BETWEEN $1 AND $2"),
                &[&lo, &hi],
            )
            .await
            .map_err(sql(ctx("deleting the old rows of")))?;
            tx.execute(
                &format!("DELETE FROM {book} WHERE table_name = $1 AND start_block <= $3 AND end_block >= $2"),
                &[&table, &lo, &hi],
            )
            .await
            .map_err(sql(ctx("updating the chunk book for")))?;
            let sink = tx
                .copy_in(&copy_stmt)
                .await
                .map_err(sql(ctx("starting COPY into")))?;
            futures::pin_mut!(sink);
            let mut buf = BytesMut::with_capacity(1 << 20);
            copy::header(&mut buf);
            let mut rows = 0u64;
            let batches = reader(&chunk.path)?
                .with_batch_size(8192)
                .build()
                .map_err(|e| PgError::Chunk {
                    path: chunk.path.clone(),
                    message: e.to_string(),
                })?;
            for b in batches {
                let b = b.map_err(|e| PgError::Chunk {
                    path: chunk.path.clone(),
                    message: e.to_string(),
                })?;
                copy::encode(&b, &types, &mut buf).map_err(|e| PgError::Chunk {
                    path: chunk.path.clone(),
                    message: e.to_string(),
                })?;
                rows += b.num_rows() as u64;
                if buf.len() >= 1 << 20 {
                    report.bytes += buf.len() as u64;
                    sink.send(buf.split().freeze())
                        .await
                        .map_err(sql(ctx("copying into")))?;
                }
            }
            copy::trailer(&mut buf);
            report.bytes += buf.len() as u64;
            sink.send(buf.split().freeze())
                .await
                .map_err(sql(ctx("copying into")))?;
            let copied = sink
                .finish()
                .await
                .map_err(sql(ctx("finishing COPY into")))?;
            if copied != rows {
                return Err(PgError::Sql {
                    context: ctx("copying into"),
                    message: format!("server stored {copied} rows of {rows}"),
                });
            }
            tx.execute(
                &format!("INSERT INTO {book} (table_name, start_block, end_block, file, sha256, rows) VALUES ($1, $2, $3, $4, $5, $6)"),
                &[&table, &start, &end, &file_name, &sha, &(rows as i64)],
            )
            .await
            .map_err(sql(ctx("recording")))?;
            if std::env::var("LEDGERFLOW_TEST_CRASH_BEFORE_COMMIT").is_ok_and(|t| t == table) {
                // test hook: the process dies with the chunk's transaction open
                std::process::abort();
            }
            tx.commit().await.map_err(sql(ctx("committing")))?;
            report.loaded += 1;
            report.rows += rows;
            *report
                .tables
                .entry(format!("{pg_schema}.{table}"))
                .or_default() += rows;
            on_chunk(&done(rows, false));
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("host=127.0.0.1 user=x"), "host=127.0.0.1 user=x");
        assert_eq!(schema_name("litecoin-regtest"), "crypto_litecoin_regtest");
    }
}
