//! Reading lake chunks back: one Parquet file's record batches, with a column
//! projection, every error naming the file.

use std::fs::File;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::error::{io, LakeError};

/// Which columns of a file to decode.
#[derive(Clone, Copy)]
pub enum Columns<'a> {
    /// Every column.
    All,
    /// These top-level columns (with all their nested fields); names the file lacks are
    /// skipped (the caller reports the missing column with its own words).
    Named(&'a [&'a str]),
    /// The leaf columns whose path (top-level name first, then the nested field names as
    /// Parquet spells them, e.g. `["inputs", "list", "element", "value"]`) passes.
    Leaves(&'a dyn Fn(&[String]) -> bool),
}

impl std::fmt::Debug for Columns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Columns::All => f.write_str("All"),
            Columns::Named(n) => f.debug_tuple("Named").field(n).finish(),
            Columns::Leaves(_) => f.write_str("Leaves(..)"),
        }
    }
}

/// A predicate over a leaf column's path parts.
type LeafFilter<'a> = dyn Fn(&[String]) -> bool + 'a;

/// Calls `each` with every record batch of the Parquet file at `path` (batches of at
/// most `batch_size` rows, or the reader's default), decoding only `columns`. Stops at the
/// first error, from the file or from `each`.
pub fn for_each_batch<E: From<LakeError>>(
    path: &Path,
    columns: Columns<'_>,
    batch_size: Option<usize>,
    mut each: impl FnMut(&RecordBatch) -> Result<(), E>,
) -> Result<(), E> {
    let file = File::open(path).map_err(io("open", path))?;
    let read = |source| LakeError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(read)?;
    let keep: Option<Box<LeafFilter<'_>>> = match columns {
        Columns::All => None,
        Columns::Named(names) => Some(Box::new(move |parts: &[String]| {
            parts.first().is_some_and(|p| names.contains(&p.as_str()))
        })),
        Columns::Leaves(f) => Some(Box::new(f)),
    };
    if let Some(keep) = keep {
        let schema = builder.parquet_schema();
        let leaves: Vec<usize> = (0..schema.num_columns())
            .filter(|&i| keep(schema.column(i).path().parts()))
            .collect();
        let mask = ProjectionMask::leaves(schema, leaves);
        builder = builder.with_projection(mask);
    }
    if let Some(n) = batch_size {
        builder = builder.with_batch_size(n.max(1));
    }
    for batch in builder.build().map_err(read)? {
        let batch = batch.map_err(|source| LakeError::Decode {
            path: path.to_path_buf(),
            source,
        })?;
        each(&batch)?;
    }
    Ok(())
}

/// Every record batch of the Parquet file at `path`, decoding only `columns`.
pub fn read_batches(path: &Path, columns: Columns<'_>) -> Result<Vec<RecordBatch>, LakeError> {
    let mut out = Vec::new();
    for_each_batch(path, columns, None, |b| {
        out.push(b.clone());
        Ok::<(), LakeError>(())
    })?;
    Ok(out)
}

/// The Arrow schema of the Parquet file at `path` (read from its footer only).
pub fn file_schema(path: &Path) -> Result<arrow::datatypes::SchemaRef, LakeError> {
    let file = File::open(path).map_err(io("open", path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| LakeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(builder.schema().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn projection_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t__0_0.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["x", "y", "z"])),
            ],
        )
        .unwrap();
        crate::writer::write_parquet(&path, &[batch], &crate::WriteOptions::default()).unwrap();
        let all = read_batches(&path, Columns::All).unwrap();
        assert_eq!(all[0].num_columns(), 2);
        let only_b = read_batches(&path, Columns::Named(&["b", "missing"])).unwrap();
        assert_eq!(only_b[0].schema().field(0).name(), "b");
        assert_eq!(only_b[0].num_columns(), 1);
        let leaves = |p: &[String]| p[0] == "a";
        let only_a = read_batches(&path, Columns::Leaves(&leaves)).unwrap();
        assert_eq!(only_a[0].schema().field(0).name(), "a");
        let mut rows = 0;
        for_each_batch(&path, Columns::All, Some(1), |b| {
            rows += b.num_rows();
            assert_eq!(b.num_rows(), 1);
            Ok::<(), LakeError>(())
        })
        .unwrap();
        assert_eq!(rows, 3);
        assert_eq!(file_schema(&path).unwrap().fields().len(), 2);

        let bad = dir.path().join("bad__0_0.parquet");
        std::fs::write(&bad, b"not parquet").unwrap();
        let e = read_batches(&bad, Columns::All).unwrap_err();
        assert!(
            matches!(e, LakeError::Read { ref path, .. } if path == &bad),
            "{e}"
        );
        assert!(e.to_string().contains("bad__0_0.parquet"));
        let e = read_batches(&dir.path().join("none.parquet"), Columns::All).unwrap_err();
        assert!(matches!(e, LakeError::Io { op: "open", .. }), "{e}");
    }
}
