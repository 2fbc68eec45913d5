//! Declaring a table once: row struct + Arrow schema + `RecordBatch` conversion.
//!
//! [`table!`](crate::table!) generates, from one list of `name: Type` pairs, a plain Rust row
//! struct, its Arrow [`Schema`] (column order = declaration order) and `to_batch`. The Rust
//! type of a field decides its Arrow type through [`ArrowCol`]:
//!
//! | Rust type | Arrow type | BigQuery |
//! |---|---|---|
//! | `i64` / `Option<i64>` | `Int64` | INT64 |
//! | `String` / `Option<String>` | `Utf8` | STRING, and NUMERIC as an exact decimal string |
//! | `bool` / `Option<bool>` | `Boolean` | BOOLEAN |
//! | [`Timestamp`] | `Timestamp(µs, "UTC")` | TIMESTAMP |
//! | `Vec<String>` | `List<Utf8>` | STRING REPEATED |
//! | `Vec<Withdrawal>` | `List<Struct>` | RECORD REPEATED |

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// Seconds since the Unix epoch, stored as a UTC microsecond timestamp (BigQuery TIMESTAMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp(pub i64);

/// An EIP-4895 validator withdrawal (one element of `blocks.withdrawals`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Withdrawal {
    /// Monotonic withdrawal index.
    pub index: i64,
    /// Validator index.
    pub validator_index: i64,
    /// Recipient, lower-case hex.
    pub address: String,
    /// Amount in Gwei, as a decimal string (BigQuery: STRING).
    pub amount: String,
}

/// A Rust type that can be a table column.
pub trait ArrowCol {
    /// The Arrow type.
    fn data_type() -> DataType;
    /// Whether the column may hold nulls.
    fn nullable() -> bool;
    /// Builds the Arrow array of a column.
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// The Arrow field of a column with this type.
    fn field(name: &str) -> Field {
        Field::new(name, Self::data_type(), Self::nullable())
    }
}

/// The Arrow type of timestamps in every table.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn utf8_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// The fields of [`Withdrawal`] as an Arrow struct.
pub fn withdrawal_fields() -> Fields {
    Fields::from(vec![
        Field::new("index", DataType::Int64, true),
        Field::new("validator_index", DataType::Int64, true),
        Field::new("address", DataType::Utf8, true),
        Field::new("amount", DataType::Utf8, true),
    ])
}

impl ArrowCol for i64 {
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Int64Builder::with_capacity(values.len());
        values.for_each(|v| b.append_value(*v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Option<i64> {
    fn data_type() -> DataType {
        DataType::Int64
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Int64Builder::with_capacity(values.len());
        values.for_each(|v| b.append_option(*v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(values.len(), 0);
        values.for_each(|v| b.append_value(v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Option<String> {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(values.len(), 0);
        values.for_each(|v| b.append_option(v.as_deref()));
        Arc::new(b.finish())
    }
}

impl ArrowCol for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(values.len());
        values.for_each(|v| b.append_value(*v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Option<bool> {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(values.len());
        values.for_each(|v| b.append_option(*v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Timestamp {
    fn data_type() -> DataType {
        timestamp_type()
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::with_capacity(values.len()).with_timezone("UTC");
        values.for_each(|v| b.append_value(v.0.saturating_mul(1_000_000)));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Vec<String> {
    fn data_type() -> DataType {
        utf8_list_type()
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = ListBuilder::with_capacity(StringBuilder::new(), values.len())
            .with_field(Arc::new(Field::new("item", DataType::Utf8, true)));
        for list in values {
            for s in list {
                b.values().append_value(s);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    }
}

impl ArrowCol for Vec<Withdrawal> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(withdrawal_fields()),
            true,
        )))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let sb = StructBuilder::from_fields(withdrawal_fields(), 0);
        let mut b = ListBuilder::with_capacity(sb, values.len()).with_field(Arc::new(Field::new(
            "item",
            DataType::Struct(withdrawal_fields()),
            true,
        )));
        for list in values {
            for w in list {
                let s = b.values();
                append_field::<Int64Builder>(s, 0).append_value(w.index);
                append_field::<Int64Builder>(s, 1).append_value(w.validator_index);
                append_field::<StringBuilder>(s, 2).append_value(&w.address);
                append_field::<StringBuilder>(s, 3).append_value(&w.amount);
                s.append(true);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    }
}

fn append_field<T: arrow_array::builder::ArrayBuilder>(s: &mut StructBuilder, i: usize) -> &mut T {
    s.field_builder::<T>(i).expect(
        "withdrawal struct fields are declared in withdrawal_fields() with these builder types",
    )
}

/// Declares a table: a row struct, its Arrow schema and `to_batch`.
///
/// ```
/// ledgerflow_core::table! {
///     /// Example rows.
///     pub struct ExampleRow = "example" {
///         /// a number
///         number: i64,
///         name: Option<String>,
///     }
/// }
/// let rows = vec![ExampleRow { number: 1, name: None }];
/// let batch = ExampleRow::to_batch(&rows).unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// assert_eq!(ExampleRow::schema().field(1).name(), "name");
/// ```
#[macro_export]
macro_rules! table {
    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident = $table:literal {
            $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        $vis struct $name {
            $( $(#[$fm])* pub $f: $t, )*
        }

        #[allow(dead_code)]
        impl $name {
            /// The table's name in the lake.
            pub const TABLE: &'static str = $table;
            /// Column names in order.
            pub const COLUMNS: &'static [&'static str] = &[ $( stringify!($f) ),* ];

            /// The Arrow schema (column order = declaration order).
            pub fn schema() -> ::arrow_schema::SchemaRef {
                ::std::sync::Arc::new(::arrow_schema::Schema::new(vec![
                    $( <$t as $crate::table::ArrowCol>::field(stringify!($f)) ),*
                ]))
            }

            /// Converts rows to one Arrow record batch.
            pub fn to_batch(rows: &[Self]) -> ::std::result::Result<::arrow_array::RecordBatch, ::arrow_schema::ArrowError> {
                let columns: Vec<::arrow_array::ArrayRef> = vec![
                    $( <$t as $crate::table::ArrowCol>::build(rows.iter().map(|r| &r.$f)) ),*
                ];
                ::arrow_array::RecordBatch::try_new(Self::schema(), columns)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Array;

    crate::table! {
        #[allow(dead_code)]
        struct T = "t" {
            a: i64,
            b: Option<String>,
            c: Timestamp,
            d: Vec<String>,
            w: Vec<Withdrawal>,
            e: Option<bool>,
        }
    }

    #[test]
    fn batch_round_trip() {
        let rows = vec![
            T {
                a: 1,
                b: None,
                c: Timestamp(10),
                d: vec!["x".into(), "y".into()],
                w: vec![],
                e: Some(true),
            },
            T {
                a: 2,
                b: Some("z".into()),
                c: Timestamp(11),
                d: vec![],
                w: vec![Withdrawal {
                    index: 1,
                    validator_index: 2,
                    address: "0xab".into(),
                    amount: "3".into(),
                }],
                e: None,
            },
        ];
        let batch = T::to_batch(&rows).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(T::COLUMNS, &["a", "b", "c", "d", "w", "e"]);
        assert!(batch.column(1).is_null(0));
        let ts = batch
            .column(2)
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        assert_eq!(ts.value(1), 11_000_000);
        let d = batch.column(3).as_list::<i32>();
        assert_eq!(d.value_length(0), 2);
        assert_eq!(d.value_length(1), 0);
        let w = batch.column(4).as_list::<i32>();
        assert_eq!(w.value_length(1), 1);
    }
}
