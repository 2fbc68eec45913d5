//! Chunk writers: Parquet (zstd), CSV and JSON lines, always through a temporary file in the
//! destination folder that is renamed into place once complete and synced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use ledgerflow_core::compat::EtlColumn;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::{io, LakeError};
use crate::etl::{self, Flavour};

/// Output format of chunk files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Apache Parquet, zstd-compressed, BigQuery schema + extras.
    #[default]
    Parquet,
    /// CSV exactly as ethereum-etl writes it.
    Csv,
    /// JSON lines exactly as ethereum-etl writes them.
    Json,
}

impl Format {
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            "json" | "jsonl" | "ndjson" => Ok(Format::Json),
            other => Err(format!("unknown format {other:?} (parquet, csv, json)")),
        }
    }
}

/// Parquet settings.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// zstd level (1–22).
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_size: usize,
    /// A row group is also closed once the writer buffers this many bytes of it in memory
    /// (pages being encoded and encoded pages not yet written); 0: no byte limit. Bounds the memory of a file being written
    /// batch by batch, whatever its rows' widths.
    pub row_group_bytes: usize,
    /// Key-value metadata written into each file's footer.
    pub metadata: Vec<(String, String)>,
    /// `Some(columns)`: dictionary encoding only for these (top-level, low-cardinality)
    /// columns, plain elsewhere — cheaper to write where most strings are unique (hashes,
    /// scripts). `None`: Parquet's default (dictionary everywhere).
    pub dictionary_columns: Option<&'static [&'static str]>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            zstd_level: 3,
            row_group_size: 64 * 1024,
            row_group_bytes: 0,
            metadata: Vec::new(),
            dictionary_columns: None,
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// A file written under a temporary name next to its final path (`.<name>.tmp-<pid>`,
/// buffered); [`commit`](AtomicFile::commit) flushes it, syncs it to disk and renames it
/// into place, so no reader ever sees part of it. Dropped without a commit (an error, a
/// cancelled task), it removes its temporary file. Every file ledgerflow writes goes
/// through this: chunk files ([`TableFile`]), reports and checkpoints ([`write_atomic`]),
/// SQL results.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file (and the folders above it).
    pub fn create(path: &Path) -> Result<Self, LakeError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create folder", dir))?;
        }
        let tmp = temp_path(path);
        let file = File::create(&tmp).map_err(io("create", &tmp))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            out: Some(BufWriter::new(file)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary path being written (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Writes all of `bytes`; an error names the temporary file.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), LakeError> {
        let tmp = &self.tmp;
        match self.out.as_mut() {
            Some(out) => out.write_all(bytes).map_err(io("write", tmp)),
            None => Err(LakeError::WrongKind {
                path: tmp.clone(),
                what: "a write after commit",
            }),
        }
    }

    /// Flushes, syncs and renames the file into place; returns its size in bytes.
    pub fn commit(mut self) -> Result<u64, LakeError> {
        let Some(out) = self.out.take() else {
            return Err(LakeError::WrongKind {
                path: self.tmp.clone(),
                what: "a second commit",
            });
        };
        let file = out.into_inner().map_err(|e| LakeError::Io {
            op: "write",
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io("sync", &self.tmp))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(io("rename into place", &self.path))?;
        self.tmp = PathBuf::new();
        Ok(size)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.out.as_mut() {
            Some(out) => out.write(buf),
            None => Err(std::io::Error::other("write after commit")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.out = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `path` atomically: `fill` writes into an [`AtomicFile`], which is then synced
/// and renamed. On any error the temporary file is removed.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut AtomicFile) -> Result<(), LakeError>,
) -> Result<(), LakeError> {
    let mut file = AtomicFile::create(path)?;
    fill(&mut file)?;
    file.commit().map(|_| ())
}

/// Writes `bytes` as `path`, atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    write_atomic(path, |f| f.write_bytes(bytes))
}

/// Writes record batches (one schema) as one Parquet file, atomically (a [`TableFile`]
/// written in one go).
pub fn write_parquet(
    path: &Path,
    batches: &[RecordBatch],
    opts: &WriteOptions,
) -> Result<(), LakeError> {
    let Some(first) = batches.first() else {
        return Err(LakeError::Arrow {
            path: path.to_path_buf(),
            source: arrow_schema::ArrowError::SchemaError("no batch to write".into()),
        });
    };
    let mut file = TableFile::parquet(path, first.schema(), opts)?;
    for batch in batches {
        file.write(batch)?;
    }
    file.commit().map(|_| ())
}

/// Writes a derived table whole (results of an analysis, rewritten on every run): `batch`
/// as its one Parquet chunk for `range`, atomically, then removes the table's other
/// chunks. Returns the new file. A batch that failed to build is reported against that
/// file.
pub fn replace_table(
    lake: &crate::Lake,
    chain: &str,
    table: &str,
    range: ledgerflow_core::BlockRange,
    batch: Result<RecordBatch, arrow_schema::ArrowError>,
    opts: &WriteOptions,
) -> Result<PathBuf, LakeError> {
    let path = write_table_chunk(lake, chain, table, range, batch, opts)?;
    lake.remove_chunks_except(chain, table, &[path.as_path()])?;
    Ok(path)
}

/// Writes `batch` as the chunk of `table` for `range` (atomically) and returns its
/// path; the other chunks stay (several tables written as one set remove theirs with
/// [`crate::Lake::remove_chunks_except`] once all are in place).
pub fn write_table_chunk(
    lake: &crate::Lake,
    chain: &str,
    table: &str,
    range: ledgerflow_core::BlockRange,
    batch: Result<RecordBatch, arrow_schema::ArrowError>,
    opts: &WriteOptions,
) -> Result<PathBuf, LakeError> {
    let path = lake.chunk_path(chain, table, range, "parquet");
    let batch = batch.map_err(|source| LakeError::Arrow {
        path: path.clone(),
        source,
    })?;
    write_parquet(&path, &[batch], opts)?;
    Ok(path)
}

fn properties(opts: &WriteOptions) -> WriterProperties {
    let level = ZstdLevel::try_new(opts.zstd_level).unwrap_or_default();
    let kv: Vec<KeyValue> = opts
        .metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(opts.row_group_size.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_key_value_metadata(if kv.is_empty() { None } else { Some(kv) });
    if let Some(cols) = opts.dictionary_columns {
        b = b.set_dictionary_enabled(false);
        for c in cols {
            b = b.set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(*c), true);
        }
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerflow_core::tables::evm::BlockRow;

    #[test]
    fn atomic_write_leaves_no_temp_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        let r = write_atomic(&p, |f| {
            f.write_bytes(b"half")?;
            Err(LakeError::BadName {
                path: f.temp_path().to_path_buf(),
            })
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // committed: in place, complete, no temporary file left
        write_bytes_atomic(&p, b"whole").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // dropped before its commit: the old file stays, the temporary one goes
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_bytes(b"new").unwrap();
        assert!(f.temp_path().exists());
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn row_group_bytes_closes_groups_early() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap();
        let batches: Vec<RecordBatch> = (0..20)
            .map(|k| {
                let rows: Vec<BlockRow> = (0..500)
                    .map(|i| BlockRow {
                        number: k * 500 + i,
                        hash: format!("0x{:064x}", (k * 500 + i) * 7919),
                        extra_data: Some(format!("{:0200}", k * 500 + i)),
                        ..Default::default()
                    })
                    .collect();
                BlockRow::to_batch(&rows).unwrap()
            })
            .collect();
        let groups = |bytes: usize| {
            let p = dir.path().join(format!("g{bytes}.parquet"));
            let opts = WriteOptions {
                row_group_bytes: bytes,
                ..Default::default()
            };
            let mut f = TableFile::parquet(&p, batches[0].schema(), &opts).unwrap();
            for b in &batches {
                f.write(b).unwrap();
            }
            f.commit().unwrap();
            let r = SerializedFileReader::new(File::open(&p).unwrap()).unwrap();
            let md = r.metadata();
            let rows: i64 = md.row_groups().iter().map(|g| g.num_rows()).sum();
            assert_eq!(rows, 10_000);
            md.num_row_groups()
        };
        // no byte limit: the 10,000 rows fit one group of 65,536
        assert_eq!(groups(0), 1);
        // 64 KiB: a group closes after the batch that crosses the limit
        let n = groups(64 * 1024);
        assert!(n > 2 && n <= 20, "{n} row groups");
    }

    #[test]
    fn parquet_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![BlockRow {
            number: 1,
            hash: "0x01".into(),
            ..Default::default()
        }];
        let batch = BlockRow::to_batch(&rows).unwrap();
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write_parquet(&a, std::slice::from_ref(&batch), &WriteOptions::default()).unwrap();
        write_parquet(&b, std::slice::from_ref(&batch), &WriteOptions::default()).unwrap();
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
}

enum Inner {
    Parquet(Box<ArrowWriter<AtomicFile>>),
    Text {
        out: AtomicFile,
        table: String,
        columns: &'static [EtlColumn],
        flavour: Flavour,
    },
    /// Lines rendered by the caller (e.g. bitcoin-etl's JSON).
    Lines(AtomicFile),
    Closed,
}

/// A chunk file being written batch by batch into an [`AtomicFile`];
/// [`commit`](TableFile::commit) syncs and renames it into place. Dropped without a commit
/// (an error, a cancelled task), it removes its temporary file.
pub struct TableFile {
    path: PathBuf,
    tmp: PathBuf,
    inner: Inner,
    rows: u64,
    /// [`WriteOptions::row_group_bytes`] (Parquet only).
    group_bytes: usize,
}

impl TableFile {
    fn create_tmp(path: &Path) -> Result<(PathBuf, AtomicFile), LakeError> {
        let file = AtomicFile::create(path)?;
        Ok((file.temp_path().to_path_buf(), file))
    }

    /// A Parquet chunk file with `schema`.
    pub fn parquet(
        path: &Path,
        schema: arrow_schema::SchemaRef,
        opts: &WriteOptions,
    ) -> Result<Self, LakeError> {
        let (tmp, file) = Self::create_tmp(path)?;
        let props = properties(opts);
        let mut me = TableFile {
            path: path.to_path_buf(),
            tmp,
            inner: Inner::Closed,
            rows: 0,
            group_bytes: opts.row_group_bytes,
        };
        let w =
            ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| LakeError::Parquet {
                path: me.tmp.clone(),
                source: e,
            })?;
        me.inner = Inner::Parquet(Box::new(w));
        Ok(me)
    }

    /// An ethereum-etl CSV or JSON-lines chunk file.
    pub fn etl(
        path: &Path,
        table: &str,
        columns: &'static [EtlColumn],
        format: Format,
    ) -> Result<Self, LakeError> {
        let (tmp, file) = Self::create_tmp(path)?;
        let flavour = if format == Format::Csv {
            Flavour::Csv
        } else {
            Flavour::Json
        };
        let mut out = file;
        if flavour == Flavour::Csv {
            out.write_all(etl::csv_header(columns).as_bytes())
                .map_err(io("write", &tmp))?;
        }
        Ok(TableFile {
            path: path.to_path_buf(),
            tmp,
            inner: Inner::Text {
                out,
                table: table.to_string(),
                columns,
                flavour,
            },
            rows: 0,
            group_bytes: 0,
        })
    }

    /// A text chunk file whose lines the caller renders (`header` first, if any).
    pub fn lines(path: &Path, header: Option<&str>) -> Result<Self, LakeError> {
        let (tmp, file) = Self::create_tmp(path)?;
        let mut out = file;
        if let Some(h) = header {
            out.write_all(h.as_bytes()).map_err(io("write", &tmp))?;
        }
        Ok(TableFile {
            path: path.to_path_buf(),
            tmp,
            inner: Inner::Lines(out),
            rows: 0,
            group_bytes: 0,
        })
    }

    /// Appends pre-rendered text holding `rows` rows (a [`TableFile::lines`] file).
    pub fn write_text(&mut self, text: &str, rows: u64) -> Result<(), LakeError> {
        self.rows += rows;
        match &mut self.inner {
            Inner::Lines(out) | Inner::Text { out, .. } => out
                .write_all(text.as_bytes())
                .map_err(io("write", &self.tmp)),
            _ => Err(LakeError::WrongKind {
                path: self.tmp.clone(),
                what: "text written to a Parquet chunk file",
            }),
        }
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        match &mut self.inner {
            Inner::Parquet(w) => {
                w.write(batch).map_err(|e| LakeError::Parquet {
                    path: self.tmp.clone(),
                    source: e,
                })?;
                if self.group_bytes > 0 && w.memory_size() >= self.group_bytes {
                    w.flush().map_err(|e| LakeError::Parquet {
                        path: self.tmp.clone(),
                        source: e,
                    })?;
                }
                Ok(())
            }
            Inner::Text {
                out,
                table,
                columns,
                flavour,
            } => {
                let mut text = String::new();
                etl::render_rows(batch, table, columns, *flavour, &mut text)?;
                out.write_all(text.as_bytes())
                    .map_err(io("write", &self.tmp))
            }
            Inner::Lines(_) => Err(LakeError::WrongKind {
                path: self.tmp.clone(),
                what: "a record batch written to a text chunk file",
            }),
            Inner::Closed => Ok(()),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes the file, syncs it and renames it into place; returns its size in bytes.
    pub fn commit(mut self) -> Result<u64, LakeError> {
        let inner = std::mem::replace(&mut self.inner, Inner::Closed);
        let file = match inner {
            Inner::Parquet(w) => w.into_inner().map_err(|e| LakeError::Parquet {
                path: self.tmp.clone(),
                source: e,
            })?,
            Inner::Text { out, .. } => out,
            Inner::Lines(out) => out,
            Inner::Closed => {
                return Err(LakeError::BadName {
                    path: self.tmp.clone(),
                })
            }
        };
        file.commit()
    }
}

#[cfg(test)]
mod table_file_tests {
    use super::*;
    use ledgerflow_core::tables::evm::BlockRow;

    #[test]
    fn streamed_file_equals_one_shot_file_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<BlockRow> = (0..10)
            .map(|n| BlockRow {
                number: n,
                hash: format!("0x{n:02}"),
                ..Default::default()
            })
            .collect();
        let (a, b) = (
            BlockRow::to_batch(&rows[..4]).unwrap(),
            BlockRow::to_batch(&rows[4..]).unwrap(),
        );
        let p = dir.path().join("t.parquet");
        let mut f = TableFile::parquet(&p, BlockRow::schema(), &WriteOptions::default()).unwrap();
        f.write(&a).unwrap();
        f.write(&b).unwrap();
        assert_eq!(f.rows(), 10);
        assert!(!p.exists(), "not visible before commit");
        f.commit().unwrap();
        let q = dir.path().join("q.parquet");
        write_parquet(&q, &[a.clone(), b.clone()], &WriteOptions::default()).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&q).unwrap());
        let r = dir.path().join("r.parquet");
        let mut g = TableFile::parquet(&r, BlockRow::schema(), &WriteOptions::default()).unwrap();
        g.write(&a).unwrap();
        drop(g);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
