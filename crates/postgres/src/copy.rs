//! Arrow record batches → PostgreSQL's binary `COPY` format (pure; no I/O).
//!
//! Format: the 19-byte header, then per row an `int16` field count and per field an
//! `int32` length (-1 for NULL) and the value in PostgreSQL's binary send format, then the
//! `int16` -1 trailer.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int32Type, Int64Type, TimeUnit};
use arrow::datatypes::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::RecordBatch;
use bytes::{BufMut, BytesMut};

use crate::error::PgError;
use crate::schema::PgType;

/// The header of a binary COPY stream.
pub fn header(buf: &mut BytesMut) {
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
}

/// The trailer of a binary COPY stream.
pub fn trailer(buf: &mut BytesMut) {
    buf.put_i16(-1);
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between the Unix epoch and PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// A decimal integer string (optional sign) as PostgreSQL's binary NUMERIC.
pub fn numeric_from_integer(s: &str, out: &mut BytesMut) -> Result<(), String> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not an integer"));
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 1000 {
        return Err("integer too long for NUMERIC".into());
    }
    // base-10000 groups, most significant first
    let pad = (4 - digits.len() % 4) % 4;
    let padded: Vec<u8> = std::iter::repeat_n(b'0', pad)
        .chain(digits.bytes())
        .collect();
    let mut groups: Vec<i16> = padded
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |a, d| a * 10 + (d - b'0') as i16))
        .collect();
    let weight = groups.len() as i16 - 1;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let sign: u16 = if neg && !groups.is_empty() { 0x4000 } else { 0 };
    out.put_i32(8 + 2 * groups.len() as i32);
    out.put_i16(groups.len() as i16);
    out.put_i16(if groups.is_empty() { 0 } else { weight });
    out.put_u16(sign);
    out.put_i16(0); // dscale
    for g in groups {
        out.put_i16(g);
    }
    Ok(())
}

fn put_text(out: &mut BytesMut, s: &str) {
    out.put_i32(s.len() as i32);
    out.put_slice(s.as_bytes());
}

/// Pre-rendered JSON of a nested column: one string per row.
fn json_column(name: &str, a: &ArrayRef) -> Result<Vec<Option<String>>, String> {
    let field = arrow_schema::Field::new(name, a.data_type().clone(), true);
    let b = RecordBatch::try_new(
        std::sync::Arc::new(arrow_schema::Schema::new(vec![field])),
        vec![a.clone()],
    )
    .map_err(|e| e.to_string())?;
    let mut w = arrow_json::LineDelimitedWriter::new(Vec::new());
    w.write(&b).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    let text = String::from_utf8(w.into_inner()).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(a.len());
    let prefix = format!(
        "{{{}:",
        serde_json::to_string(name).map_err(|e| e.to_string())?
    );
    for (i, line) in text.lines().enumerate() {
        if a.is_null(i) {
            out.push(None);
            continue;
        }
        let v = line
            .strip_prefix(&prefix)
            .and_then(|l| l.strip_suffix('}'))
            .ok_or_else(|| format!("unexpected JSON for {name}: {line}"))?;
        out.push(Some(v.to_string()));
    }
    if out.len() != a.len() {
        return Err(format!(
            "{name}: {} JSON rows for {} values",
            out.len(),
            a.len()
        ));
    }
    Ok(out)
}

/// Appends the rows of `batch` (columns typed by `types`) to `out`. Errors name the
/// column and row.
pub fn encode(batch: &RecordBatch, types: &[PgType], out: &mut BytesMut) -> Result<(), PgError> {
    let n = batch.num_rows();
    let cols = batch.columns();
    let schema = batch.schema();
    let bad = |c: usize, r: usize, m: String| PgError::Value {
        column: schema.field(c).name().clone(),
        row: r,
        message: m,
    };
    // nested columns are rendered to JSON once per batch
    let mut json: Vec<Option<Vec<Option<String>>>> = vec![None; cols.len()];
    for (c, t) in types.iter().enumerate() {
        if *t == PgType::Jsonb {
            json[c] =
                Some(json_column(schema.field(c).name(), &cols[c]).map_err(|m| bad(c, 0, m))?);
        }
    }
    // string columns may be Utf8 or Utf8View: cast once to Utf8
    let strings: Vec<Option<ArrayRef>> = cols
        .iter()
        .zip(types)
        .map(|(a, t)| match t {
            PgType::Text | PgType::NumericText => arrow::compute::cast(a, &DataType::Utf8).ok(),
            _ => None,
        })
        .collect();
    out.reserve(n * cols.len() * 16);
    for r in 0..n {
        out.put_i16(cols.len() as i16);
        for (c, (a, t)) in cols.iter().zip(types).enumerate() {
            if a.is_null(r) {
                out.put_i32(-1);
                continue;
            }
            match t {
                PgType::Int8 => {
                    out.put_i32(8);
                    out.put_i64(a.as_primitive::<Int64Type>().value(r));
                }
                PgType::Int4 => {
                    out.put_i32(4);
                    out.put_i32(a.as_primitive::<Int32Type>().value(r));
                }
                PgType::Bool => {
                    out.put_i32(1);
                    out.put_u8(a.as_boolean().value(r) as u8);
                }
                PgType::Text => {
                    let s = strings[c]
                        .as_ref()
                        .ok_or_else(|| bad(c, r, "not text".into()))?;
                    put_text(out, s.as_string::<i32>().value(r));
                }
                PgType::NumericText => {
                    let s = strings[c]
                        .as_ref()
                        .ok_or_else(|| bad(c, r, "not text".into()))?;
                    numeric_from_integer(s.as_string::<i32>().value(r), out)
                        .map_err(|m| bad(c, r, m))?;
                }
                PgType::NumericDecimal(_) => {
                    let v = a.as_primitive::<Decimal128Type>().value(r);
                    numeric_from_integer(&v.to_string(), out).map_err(|m| bad(c, r, m))?;
                }
                PgType::Timestamptz => {
                    let micros = match a.data_type() {
                        DataType::Timestamp(TimeUnit::Second, _) => {
                            a.as_primitive::<TimestampSecondType>().value(r) * 1_000_000
                        }
                        DataType::Timestamp(TimeUnit::Millisecond, _) => {
                            a.as_primitive::<TimestampMillisecondType>().value(r) * 1_000
                        }
                        DataType::Timestamp(TimeUnit::Microsecond, _) => {
                            a.as_primitive::<TimestampMicrosecondType>().value(r)
                        }
                        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                            a.as_primitive::<TimestampNanosecondType>().value(r) / 1_000
                        }
                        other => return Err(bad(c, r, format!("{other} is not a timestamp"))),
                    };
                    out.put_i32(8);
                    out.put_i64(micros - PG_EPOCH_MICROS);
                }
                PgType::Date => {
                    out.put_i32(4);
                    out.put_i32(a.as_primitive::<Date32Type>().value(r) - PG_EPOCH_DAYS);
                }
                PgType::TextArray => {
                    let list = a.as_list::<i32>();
                    let items = arrow::compute::cast(&list.value(r), &DataType::Utf8)
                        .map_err(|e| bad(c, r, e.to_string()))?;
                    let items = items.as_string::<i32>();
                    let mut body = BytesMut::new();
                    if items.is_empty() {
                        body.put_i32(0); // ndim
                        body.put_i32(0); // has nulls
                        body.put_u32(25); // text
                    } else {
                        body.put_i32(1);
                        body.put_i32(items.null_count().min(1) as i32);
                        body.put_u32(25);
                        body.put_i32(items.len() as i32);
                        body.put_i32(1); // lower bound
                        for i in 0..items.len() {
                            if items.is_null(i) {
                                body.put_i32(-1);
                            } else {
                                put_text(&mut body, items.value(i));
                            }
                        }
                    }
                    out.put_i32(body.len() as i32);
                    out.put_slice(&body);
                }
                PgType::Jsonb => {
                    let v = json[c]
                        .as_ref()
                        .and_then(|j| j[r].as_deref())
                        .ok_or_else(|| bad(c, r, "no JSON rendering".into()))?;
                    out.put_i32(v.len() as i32 + 1);
                    out.put_u8(1); // jsonb version
                    out.put_slice(v.as_bytes());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(s: &str) -> Vec<u8> {
        let mut b = BytesMut::new();
        numeric_from_integer(s, &mut b).unwrap();
        b.to_vec()
    }

    #[test]
    fn numerics() {
        // 0: ndigits 0, weight 0, sign 0, dscale 0
        assert_eq!(numeric("0"), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(numeric("-000"), numeric("0"));
        // 12345678 = [1234, 5678], weight 1
        assert_eq!(
            numeric("12345678"),
            [0, 0, 0, 12, 0, 2, 0, 1, 0, 0, 0, 0, 0x04, 0xd2, 0x16, 0x2e]
        );
        // 10000 = [1, 0000] → trailing zero group dropped, weight stays 1
        assert_eq!(
            numeric("10000"),
            [0, 0, 0, 10, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1]
        );
        // -5: sign 0x4000
        assert_eq!(
            numeric("-5"),
            [0, 0, 0, 10, 0, 1, 0, 0, 0x40, 0, 0, 0, 0, 5]
        );
        // 2^256 - 1 has 78 digits: 20 groups
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(numeric(max).len(), 4 + 8 + 2 * 20);
        let mut b = BytesMut::new();
        assert!(numeric_from_integer("12a", &mut b).is_err());
        assert!(numeric_from_integer("", &mut b).is_err());
        assert!(numeric_from_integer("1.5", &mut b).is_err());
    }
}
