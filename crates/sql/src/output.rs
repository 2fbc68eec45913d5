//! Query results as an aligned table, CSV, JSON lines or Parquet, to standard output or a
//! file (written through the lake's [`AtomicFile`]: a temporary name, synced and renamed
//! once complete, so a failed query leaves no file).

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::dataframe::DataFrame;
use futures::StreamExt;
use ledgerflow_lake::writer::AtomicFile;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::SqlError;

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned text table (default).
    #[default]
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row.
    Json,
    /// Parquet (zstd); needs a file.
    Parquet,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "text" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" | "jsonl" | "ndjson" => Ok(Format::Json),
            "parquet" => Ok(Format::Parquet),
            other => Err(format!(
                "unknown format {other:?} (table, csv, json, parquet)"
            )),
        }
    }
}

/// What a written result held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Rows.
    pub rows: usize,
}

enum Sink<W: Write + Send> {
    Csv(datafusion::arrow::csv::Writer<W>),
    Json(datafusion::arrow::json::LineDelimitedWriter<W>),
    Parquet(ArrowWriter<W>),
    Table(W, Vec<RecordBatch>),
}

impl<W: Write + Send> Sink<W> {
    fn new(format: Format, schema: &SchemaRef, w: W) -> Result<Sink<W>, String> {
        Ok(match format {
            Format::Csv => Sink::Csv(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(w),
            ),
            Format::Json => Sink::Json(datafusion::arrow::json::LineDelimitedWriter::new(w)),
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                Sink::Parquet(
                    ArrowWriter::try_new(w, schema.clone(), Some(props))
                        .map_err(|e| e.to_string())?,
                )
            }
            Format::Table => Sink::Table(w, Vec::new()),
        })
    }

    fn write(&mut self, b: &RecordBatch) -> Result<(), String> {
        match self {
            Sink::Csv(w) => w.write(b).map_err(|e| e.to_string()),
            Sink::Json(w) => w.write(b).map_err(|e| e.to_string()),
            Sink::Parquet(w) => w.write(b).map_err(|e| e.to_string()),
            Sink::Table(_, all) => {
                all.push(b.clone());
                Ok(())
            }
        }
    }

    /// Finishes the output and hands back the writer, flushed.
    fn finish(self, schema: &SchemaRef) -> Result<W, String> {
        let mut w = match self {
            Sink::Csv(w) => w.into_inner(),
            Sink::Json(mut w) => {
                w.finish().map_err(|e| e.to_string())?;
                w.into_inner()
            }
            Sink::Parquet(w) => w.into_inner().map_err(|e| e.to_string())?,
            Sink::Table(mut w, all) => {
                let text = if all.iter().all(|b| b.num_rows() == 0) {
                    // header only
                    datafusion::arrow::util::pretty::pretty_format_batches(&[
                        RecordBatch::new_empty(schema.clone()),
                    ])
                } else {
                    datafusion::arrow::util::pretty::pretty_format_batches(&all)
                }
                .map_err(|e| e.to_string())?;
                writeln!(w, "{text}").map_err(|e| e.to_string())?;
                w
            }
        };
        w.flush().map_err(|e| e.to_string())?;
        Ok(w)
    }
}

/// Runs `df` and writes its rows to `output` (`None`: standard output), streaming batch by
/// batch except for the table format, which aligns all rows.
pub async fn write(
    df: DataFrame,
    format: Format,
    output: Option<&Path>,
) -> Result<Written, SqlError> {
    let shown = output
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "-".into());
    if format == Format::Parquet && output.is_none() {
        return Err(out_err(&shown)(
            "Parquet needs a file: add --output FILE".into(),
        ));
    }
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut stream = df
        .execute_stream()
        .await
        .map_err(SqlError::from_datafusion)?;
    match output {
        None => {
            let out = std::io::BufWriter::new(std::io::stdout());
            let (written, _) = copy(&mut stream, format, &schema, out, &shown).await?;
            Ok(written)
        }
        Some(p) => {
            // dropped on an error: the temporary file goes, nothing appears at `p`
            let file = AtomicFile::create(p).map_err(|e| out_err(&shown)(e.to_string()))?;
            let (written, file) = copy(&mut stream, format, &schema, file, &shown).await?;
            file.commit().map_err(|e| out_err(&shown)(e.to_string()))?;
            Ok(written)
        }
    }
}

fn out_err(shown: &str) -> impl Fn(String) -> SqlError + '_ {
    move |message| SqlError::Output {
        path: shown.to_string(),
        message,
    }
}

/// Writes every batch of `stream` into `w` in `format`; hands `w` back, flushed.
async fn copy<W: Write + Send>(
    stream: &mut datafusion::physical_plan::SendableRecordBatchStream,
    format: Format,
    schema: &SchemaRef,
    w: W,
    shown: &str,
) -> Result<(Written, W), SqlError> {
    let mut sink = Sink::new(format, schema, w).map_err(out_err(shown))?;
    let mut rows = 0;
    while let Some(b) = stream.next().await {
        let b = b.map_err(SqlError::from_datafusion)?;
        rows += b.num_rows();
        sink.write(&b).map_err(out_err(shown))?;
    }
    let w = sink.finish(schema).map_err(out_err(shown))?;
    Ok((Written { rows }, w))
}

/// Runs `df` and returns its rows as text lines, one per row, values separated by `|`
/// (NULL as `NULL`): the form golden files compare.
pub async fn rows_as_text(df: DataFrame) -> Result<Vec<String>, SqlError> {
    let batches = df.collect().await.map_err(SqlError::from_datafusion)?;
    let mut out = Vec::new();
    let opts = datafusion::arrow::util::display::FormatOptions::default().with_null("NULL");
    for b in &batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<_, _>>()
            .map_err(|e| SqlError::Query(e.to_string()))?;
        for r in 0..b.num_rows() {
            let vals: Vec<String> = cols.iter().map(|f| f.value(r).to_string()).collect();
            out.push(vals.join("|"));
        }
    }
    Ok(out)
}
