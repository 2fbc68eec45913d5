//! ethereum-etl compatible CSV and JSON-lines rendering of lake tables.
//!
//! The output reproduces what ethereum-etl's exporters write (Python's `csv` module with
//! minimal quoting and `\r\n` line ends; `json.dumps` with `", "`/`": "` separators and
//! ASCII-only escaping): the same columns in the same order, the same value formatting.

use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use ledgerflow_core::compat::{EtlColumn, Render};

use crate::error::LakeError;

/// Output flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// CSV with a header line.
    Csv,
    /// JSON lines.
    Json,
}

pub use ledgerflow_core::compat::{csv_field, json_string};

fn column<'a>(batch: &'a RecordBatch, table: &str, name: &str) -> Result<&'a ArrayRef, LakeError> {
    batch
        .schema()
        .index_of(name)
        .map(|i| batch.column(i))
        .map_err(|_| LakeError::MissingColumn {
            table: table.into(),
            column: name.into(),
        })
}

/// A value as ethereum-etl's Python item holds it.
enum Py<'a> {
    None,
    Int(i64),
    Num(&'a str),
    Str(&'a str),
    Bool(bool),
    List(Vec<Py<'a>>),
    Dict(Vec<(&'a str, Py<'a>)>),
}

fn py_value<'a>(arr: &'a ArrayRef, row: usize, render: Render) -> Py<'a> {
    if arr.is_null(row) {
        return Py::None;
    }
    match arr.data_type() {
        DataType::Int64 => Py::Int(arr.as_primitive::<Int64Type>().value(row)),
        DataType::Timestamp(_, _) => {
            Py::Int(arr.as_primitive::<TimestampMicrosecondType>().value(row) / 1_000_000)
        }
        DataType::Boolean => Py::Bool(arr.as_boolean().value(row)),
        DataType::Utf8 => {
            let s = arr.as_string::<i32>().value(row);
            match render {
                Render::Numeric => Py::Num(s),
                Render::IntList => {
                    if s.is_empty() {
                        Py::List(Vec::new())
                    } else {
                        Py::List(s.split(',').map(Py::Num).collect())
                    }
                }
                Render::Auto => Py::Str(s),
            }
        }
        DataType::List(_) => {
            let list = arr.as_list::<i32>();
            let offsets = list.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            let values = list.values();
            (start..end)
                .map(|i| py_value(values, i, Render::Auto))
                .collect::<Vec<_>>()
                .into()
        }
        DataType::Struct(fields) => {
            let s = arr.as_struct();
            Py::Dict(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| {
                        // withdrawal amounts are Python ints in ethereum-etl
                        let r = if f.name() == "amount" {
                            Render::Numeric
                        } else {
                            Render::Auto
                        };
                        (f.name().as_str(), py_value(c, row, r))
                    })
                    .collect(),
            )
        }
        _ => Py::None,
    }
}

impl<'a> From<Vec<Py<'a>>> for Py<'a> {
    fn from(v: Vec<Py<'a>>) -> Self {
        Py::List(v)
    }
}

fn write_json(out: &mut String, v: &Py<'_>, compact: bool) {
    let (item_sep, kv_sep) = if compact { (",", ":") } else { (", ", ": ") };
    match v {
        Py::None => out.push_str("null"),
        Py::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Py::Num(s) => out.push_str(s),
        Py::Str(s) => json_string(out, s),
        Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Py::List(items) => {
            out.push('[');
            for (k, it) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(item_sep);
                }
                write_json(out, it, compact);
            }
            out.push(']');
        }
        Py::Dict(items) => {
            out.push('{');
            for (k, (name, it)) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(item_sep);
                }
                json_string(out, name);
                out.push_str(kv_sep);
                write_json(out, it, compact);
            }
            out.push('}');
        }
    }
}

/// Python's `str()` of a value, as the CSV exporter writes it.
fn write_csv_value(out: &mut String, v: &Py<'_>) {
    let mut s = String::new();
    match v {
        Py::None => {}
        Py::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Py::Num(n) => s.push_str(n),
        Py::Str(t) => s.push_str(t),
        Py::Bool(b) => s.push_str(if *b { "True" } else { "False" }),
        Py::List(items) => {
            for (k, it) in items.iter().enumerate() {
                if k > 0 {
                    s.push(',');
                }
                match it {
                    Py::Dict(_) => write_json(&mut s, it, true),
                    other => write_csv_value(&mut s, other),
                }
            }
        }
        Py::Dict(_) => write_json(&mut s, v, true),
    }
    csv_field(out, &s)
}

/// The token transfers ethereum-etl itself writes (ERC-20 and ERC-721): the ERC-1155 rows
/// of a `token_transfers` batch (column `token_standard`) left out.
pub fn etl_token_transfers(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::BooleanArray;
    let standard = batch
        .column_by_name("token_standard")
        .ok_or_else(|| {
            arrow::error::ArrowError::SchemaError("token_transfers has no token_standard".into())
        })?
        .as_string::<i32>();
    let keep: BooleanArray = standard
        .iter()
        .map(|s| Some(s != Some("erc1155")))
        .collect();
    arrow::compute::filter_record_batch(batch, &keep)
}

/// Renders the header line (CSV only).
pub fn csv_header(columns: &[EtlColumn]) -> String {
    let mut out = String::new();
    for (k, c) in columns.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        csv_field(&mut out, c.name);
    }
    out.push_str("\r\n");
    out
}

/// Renders every row of `batch` in ethereum-etl's format, appending to `out`.
pub fn render_rows(
    batch: &RecordBatch,
    table: &str,
    columns: &[EtlColumn],
    flavour: Flavour,
    out: &mut String,
) -> Result<(), LakeError> {
    let arrays = columns
        .iter()
        .map(|c| column(batch, table, c.source))
        .collect::<Result<Vec<_>, _>>()?;
    for row in 0..batch.num_rows() {
        match flavour {
            Flavour::Csv => {
                for (k, (c, a)) in columns.iter().zip(&arrays).enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    write_csv_value(out, &py_value(a, row, c.render));
                }
                out.push_str("\r\n");
            }
            Flavour::Json => {
                out.push('{');
                for (k, (c, a)) in columns.iter().zip(&arrays).enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    json_string(out, c.name);
                    out.push_str(": ");
                    write_json(out, &py_value(a, row, c.render), false);
                }
                out.push_str("}\n");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_escaping() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\n\u{1}é😀\u{7f}");
        assert_eq!(s, r#""a\"b\\c\n\u0001\u00e9\ud83d\ude00\u007f""#);
    }

    #[test]
    fn csv_quoting() {
        let mut s = String::new();
        csv_field(&mut s, "a,b");
        s.push('|');
        csv_field(&mut s, "say \"hi\"");
        s.push('|');
        csv_field(&mut s, "plain");
        assert_eq!(s, "\"a,b\"|\"say \"\"hi\"\"\"|plain");
    }
}
