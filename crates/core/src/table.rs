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
//! | `f64` / `Option<f64>` | `Float64` | FLOAT64 (scores, ranks, shares) |
//! | [`Timestamp`] | `Timestamp(µs, "UTC")` | TIMESTAMP |
//! | `Vec<String>` | `List<Utf8>` | STRING REPEATED |
//! | `Vec<Withdrawal>` | `List<Struct>` | RECORD REPEATED |
//! | [`Date`] | `Date32` | DATE |
//! | [`Sats`] / `Option<Sats>` | `Decimal128(29, 0)` | NUMERIC (an integer amount in the chain's base unit) |

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder, StructBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// Seconds since the Unix epoch, stored as a UTC microsecond timestamp (BigQuery TIMESTAMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp(pub i64);

/// Days since the Unix epoch (BigQuery DATE), e.g. `timestamp_month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Date(pub i32);

impl Date {
    /// The first day of the month that `unix_seconds` falls in (UTC).
    pub fn month_of(unix_seconds: i64) -> Date {
        let days = unix_seconds.div_euclid(86_400);
        let (y, m, _) = civil_from_days(days);
        Date(days_from_civil(y, m, 1) as i32)
    }
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An amount in a UTXO chain's base unit (satoshi), stored as BigQuery NUMERIC: an exact
/// `Decimal128(29, 0)` (29 digits, scale 0, which BigQuery loads as NUMERIC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Sats(pub i64);

/// The Arrow type of [`Sats`].
pub fn sats_type() -> DataType {
    DataType::Decimal128(29, 0)
}

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

impl ArrowCol for f64 {
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Float64Builder::with_capacity(values.len());
        values.for_each(|v| b.append_value(*v));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Option<f64> {
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Float64Builder::with_capacity(values.len());
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
        // sized up front: growing the value buffer would copy it again and again
        let values: Vec<&str> = values.map(String::as_str).collect();
        let bytes = values.iter().map(|v| v.len()).sum();
        let mut b = StringBuilder::with_capacity(values.len(), bytes);
        values.into_iter().for_each(|v| b.append_value(v));
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
        let values: Vec<Option<&str>> = values.map(Option::as_deref).collect();
        let bytes = values.iter().flatten().map(|v| v.len()).sum();
        let mut b = StringBuilder::with_capacity(values.len(), bytes);
        values.into_iter().for_each(|v| b.append_option(v));
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

impl ArrowCol for Date {
    fn data_type() -> DataType {
        DataType::Date32
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Date32Builder::with_capacity(values.len());
        values.for_each(|v| b.append_value(v.0));
        Arc::new(b.finish())
    }
}

impl ArrowCol for Sats {
    fn data_type() -> DataType {
        sats_type()
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Decimal128Builder::with_capacity(values.len());
        values.for_each(|v| b.append_value(v.0 as i128));
        Arc::new(
            b.finish()
                .with_precision_and_scale(29, 0)
                .expect("29,0 is a valid decimal type"),
        )
    }
}

impl ArrowCol for Option<Sats> {
    fn data_type() -> DataType {
        sats_type()
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        let mut b = Decimal128Builder::with_capacity(values.len());
        values.for_each(|v| b.append_option(v.map(|s| s.0 as i128)));
        Arc::new(
            b.finish()
                .with_precision_and_scale(29, 0)
                .expect("29,0 is a valid decimal type"),
        )
    }
}

/// Appends a list of structs: `fields` describe the struct, `fill` appends one element's
/// fields to the struct builder (then the struct slot is closed here).
pub fn build_struct_list<'a, T: 'a, L>(
    fields: Fields,
    values: impl ExactSizeIterator<Item = &'a L>,
    fill: impl Fn(&mut StructBuilder, &T),
) -> ArrayRef
where
    L: AsRef<[T]> + 'a,
{
    let sb = StructBuilder::from_fields(fields.clone(), 0);
    let item = Arc::new(Field::new("item", DataType::Struct(fields), true));
    let mut b = ListBuilder::with_capacity(sb, values.len()).with_field(item);
    for list in values {
        for x in list.as_ref() {
            let s = b.values();
            fill(s, x);
            s.append(true);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// The `i`-th field builder of a struct builder, of a type fixed by the struct's fields.
pub fn struct_field<T: arrow_array::builder::ArrayBuilder>(
    s: &mut StructBuilder,
    i: usize,
) -> &mut T {
    s.field_builder::<T>(i)
        .expect("struct fields are declared with matching builder types")
}

fn append_field<T: arrow_array::builder::ArrayBuilder>(s: &mut StructBuilder, i: usize) -> &mut T {
    s.field_builder::<T>(i).expect(
        "withdrawal struct fields are declared in withdrawal_fields() with these builder types",
    )
}

/// The column name of a `table!` field: its identifier, or the literal after `=`.
#[doc(hidden)]
#[macro_export]
macro_rules! __col_name {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident, $c:literal) => {
        $c
    };
}

/// Declares a table: a row struct, its Arrow schema and `to_batch`. A field whose column
/// name is a Rust keyword is written `type_ = "type": Option<String>`.
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
            $( $(#[$fm:meta])* $f:ident $(= $col:literal)? : $t:ty ),* $(,)?
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
            pub const COLUMNS: &'static [&'static str] = &[ $( $crate::__col_name!($f $(, $col)?) ),* ];

            /// The Arrow schema (column order = declaration order).
            pub fn schema() -> ::arrow_schema::SchemaRef {
                ::std::sync::Arc::new(::arrow_schema::Schema::new(vec![
                    $( <$t as $crate::table::ArrowCol>::field($crate::__col_name!($f $(, $col)?)) ),*
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
