//! Delta file statistics (`add.stats`) from a Parquet footer, without reading any data.
//!
//! Readers (Spark, Trino, DuckDB, delta-rs) use `numRecords` for counts and the per-column
//! `minValues`/`maxValues`/`nullCount` to skip files, e.g. every chunk outside a
//! `WHERE block_number BETWEEN …`. Bounds are written for the top-level integer, timestamp,
//! date and decimal columns (the block numbers, timestamps, values and counts). Strings get
//! no bounds: most are 66-character hashes, and a truncated maximum would not be an upper
//! bound. Nested columns get none either. A bound is written only when every row group
//! reports one, so a written bound is always safe.

use arrow_schema::{DataType, Schema, TimeUnit};
use ledgerflow_core::table::civil_from_days;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;
use serde_json::{Map, Value};

/// The `stats` JSON of one file.
pub fn file_stats(meta: &ParquetMetaData, schema: &Schema) -> Value {
    let num_records: i64 = meta.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let (mut mins, mut maxs, mut nulls) = (Map::new(), Map::new(), Map::new());
    let descr = meta.file_metadata().schema_descr();
    for (col, leaf) in descr.columns().iter().enumerate() {
        let parts = leaf.path().parts();
        if parts.len() != 1 {
            continue; // nested
        }
        let name = &parts[0];
        let Ok(field) = schema.field_with_name(name) else {
            continue;
        };
        let mut null_count = Some(0u64);
        let mut lo: Option<i128> = None;
        let mut hi: Option<i128> = None;
        let mut bounds = true;
        for rg in meta.row_groups() {
            let c = rg.column(col);
            let Some(st) = c.statistics() else {
                null_count = None;
                bounds = false;
                continue;
            };
            null_count = match (null_count, st.null_count_opt()) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
            let all_null = st.null_count_opt() == Some(rg.num_rows() as u64);
            match min_max(st, field.data_type()) {
                Some((a, b)) => {
                    lo = Some(lo.map_or(a, |l| l.min(a)));
                    hi = Some(hi.map_or(b, |h| h.max(b)));
                }
                None if all_null => {}
                None => bounds = false,
            }
        }
        if let Some(n) = null_count {
            nulls.insert(name.clone(), Value::from(n));
        }
        if let (true, Some(lo), Some(hi)) = (bounds, lo, hi) {
            if let (Some(a), Some(b)) = (
                render(lo, field.data_type(), false),
                render(hi, field.data_type(), true),
            ) {
                mins.insert(name.clone(), a);
                maxs.insert(name.clone(), b);
            }
        }
    }
    let mut out = Map::new();
    out.insert("numRecords".into(), Value::from(num_records));
    out.insert("minValues".into(), Value::Object(mins));
    out.insert("maxValues".into(), Value::Object(maxs));
    out.insert("nullCount".into(), Value::Object(nulls));
    Value::Object(out)
}

/// The row group's bounds as integers, for the column types that get bounds.
fn min_max(st: &Statistics, ty: &DataType) -> Option<(i128, i128)> {
    match (st, ty) {
        (Statistics::Int64(v), DataType::Int64 | DataType::Timestamp(TimeUnit::Microsecond, _)) => {
            Some((i128::from(*v.min_opt()?), i128::from(*v.max_opt()?)))
        }
        (Statistics::Int32(v), DataType::Int32 | DataType::Date32) => {
            Some((i128::from(*v.min_opt()?), i128::from(*v.max_opt()?)))
        }
        (Statistics::Int32(v), DataType::Decimal128(_, 0)) => {
            Some((i128::from(*v.min_opt()?), i128::from(*v.max_opt()?)))
        }
        (Statistics::Int64(v), DataType::Decimal128(_, 0)) => {
            Some((i128::from(*v.min_opt()?), i128::from(*v.max_opt()?)))
        }
        (Statistics::FixedLenByteArray(v), DataType::Decimal128(_, 0)) => {
            let (a, b) = (v.min_opt()?, v.max_opt()?);
            if !(v.min_is_exact() && v.max_is_exact()) {
                return None;
            }
            Some((be_i128(a.data())?, be_i128(b.data())?))
        }
        _ => None,
    }
}

/// A big-endian two's-complement integer of up to 16 bytes.
fn be_i128(b: &[u8]) -> Option<i128> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let fill = if b[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    Some(i128::from_be_bytes(buf))
}

/// A bound as Delta writes it: numbers as JSON numbers, dates as `YYYY-MM-DD`, timestamps
/// as ISO-8601 UTC with milliseconds (a maximum is rounded up to the next millisecond).
fn render(v: i128, ty: &DataType, upper: bool) -> Option<Value> {
    match ty {
        DataType::Int64 | DataType::Int32 | DataType::Decimal128(_, 0) => {
            i64::try_from(v).ok().map(Value::from)
        }
        DataType::Date32 => {
            let (y, m, d) = civil_from_days(i64::try_from(v).ok()?);
            Some(Value::from(format!("{y:04}-{m:02}-{d:02}")))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let micros = i64::try_from(v).ok()?;
            let mut millis = micros.div_euclid(1000);
            if upper && micros.rem_euclid(1000) != 0 {
                millis += 1;
            }
            let secs = millis.div_euclid(1000);
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let s = secs.rem_euclid(86_400);
            Some(Value::from(format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                s / 3600,
                s / 60 % 60,
                s % 60,
                millis.rem_euclid(1000)
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{
        Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    };
    use arrow_array::RecordBatch;
    use arrow_schema::Field;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    #[test]
    fn bounds_counts_and_nulls_across_row_groups() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("block_number", DataType::Int64, false),
            Field::new(
                "block_timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("value", DataType::Decimal128(29, 0), true),
            Field::new("hash", DataType::Utf8, true),
        ]));
        let mut buf = tempfile::tempfile().unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props)).unwrap();
        let mut n = Int64Builder::new();
        let mut t = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        let mut v = Decimal128Builder::new()
            .with_precision_and_scale(29, 0)
            .unwrap();
        let mut h = StringBuilder::new();
        for (i, val) in [(7i64, Some(-5i128)), (9, None), (8, Some(1i128 << 70))] {
            n.append_value(i);
            t.append_value(1_700_000_000_000_000 + i * 1_000_001);
            v.append_option(val);
            h.append_value(format!("0x{i}"));
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(n.finish()),
                Arc::new(t.finish()),
                Arc::new(v.finish()),
                Arc::new(h.finish()),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let reader = parquet::file::serialized_reader::SerializedFileReader::new(buf).unwrap();
        let meta = parquet::file::reader::FileReader::metadata(&reader).clone();
        assert_eq!(meta.num_row_groups(), 2);
        let s = file_stats(&meta, &schema);
        assert_eq!(s["numRecords"], 3);
        assert_eq!(s["minValues"]["block_number"], 7);
        assert_eq!(s["maxValues"]["block_number"], 9);
        assert_eq!(
            s["minValues"]["block_timestamp"],
            "2023-11-14T22:13:27.000Z"
        );
        // 9 s + 9 µs past: the maximum is rounded up to the next millisecond
        assert_eq!(
            s["maxValues"]["block_timestamp"],
            "2023-11-14T22:13:29.001Z"
        );
        // 2^70 does not fit a JSON integer that every reader parses: no bounds
        assert!(s["minValues"].get("value").is_none());
        assert_eq!(s["nullCount"]["value"], 1);
        assert!(s["minValues"].get("hash").is_none(), "no string bounds");
        assert_eq!(s["nullCount"]["hash"], 0);
    }

    #[test]
    fn big_endian_decimals() {
        assert_eq!(be_i128(&[0xff, 0xfb]), Some(-5));
        assert_eq!(be_i128(&[0x01, 0x00]), Some(256));
        assert_eq!(be_i128(&[]), None);
    }
}
