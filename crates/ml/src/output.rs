//! Result files: a record batch of text, float and integer columns as CSV (RFC 4180
//! quoting; floats in Rust's shortest round-trip form, so a value reads back exactly).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;

use crate::error::{MlError, Result};

/// The batch as CSV bytes with a header.
pub fn csv_bytes(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let io = |e: csv::Error| MlError::Invalid(format!("writing CSV: {e}"));
    w.write_record(&header).map_err(io)?;
    let mut cells: Vec<String> = vec![String::new(); batch.num_columns()];
    for r in 0..batch.num_rows() {
        for (c, col) in batch.columns().iter().enumerate() {
            cells[c] = if col.is_null(r) {
                String::new()
            } else {
                match col.data_type() {
                    DataType::Utf8 => col.as_string::<i32>().value(r).to_string(),
                    DataType::Float64 => col.as_primitive::<Float64Type>().value(r).to_string(),
                    DataType::UInt32 => col.as_primitive::<UInt32Type>().value(r).to_string(),
                    DataType::UInt64 => col.as_primitive::<UInt64Type>().value(r).to_string(),
                    t => {
                        return Err(MlError::Invalid(format!(
                            "writing CSV: column type {t} is not supported"
                        )))
                    }
                }
            };
        }
        w.write_record(&cells).map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| MlError::Invalid(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, StringArray};

    #[test]
    fn quoting_and_floats() {
        let b = arrow::record_batch::RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringArray::from(vec!["a,b", "c"])) as ArrayRef,
            ),
            (
                "score",
                Arc::new(Float64Array::from(vec![0.1, 1.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let s = String::from_utf8(super::csv_bytes(&b).unwrap()).unwrap();
        assert_eq!(s, "id,score\n\"a,b\",0.1\nc,1\n");
    }
}
