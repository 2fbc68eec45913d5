//! Lake tables → PostgreSQL tables: column types chosen for exactness, keys and indexes.
//!
//! | Arrow (lake) | PostgreSQL |
//! |---|---|
//! | `Int64` / `Int32` | `BIGINT` / `INTEGER` |
//! | `Boolean` | `BOOLEAN` |
//! | `Utf8` holding a 256-bit quantity (EVM `value`, `difficulty`, `total_difficulty`, token `total_supply`) | `NUMERIC(78,0)` (every uint256 fits, exactly) |
//! | other `Utf8` (hashes, addresses, hex data, asm) | `TEXT` (the lake's lower-case hex, as ethereum-etl's Postgres schema keeps them, so values compare equal across lake, CSV and database) |
//! | `Decimal128(p,0)` (satoshi amounts) | `NUMERIC(p,0)` |
//! | `Timestamp(µs, UTC)` | `TIMESTAMPTZ` |
//! | `Date32` | `DATE` |
//! | `List<Utf8>` (addresses, topics, sighashes) | `TEXT[]` |
//! | nested structs (`inputs`, `outputs`, `withdrawals`) | `JSONB` |
//!
//! Keys follow ethereum-etl's Postgres schema (`blocks.hash`, `transactions.hash`,
//! `logs (transaction_hash, log_index)`, `traces.trace_id`, …), widened where ledgerflow's
//! rows need it (ERC-1155 batch rows, Bitcoin's duplicate coinbase txids of BIP30), and
//! every table is indexed by its block column, by which chunks are replaced.

use arrow_schema::{DataType, Field, Schema};

use crate::error::PgError;

/// How a column is written to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgType {
    /// BIGINT
    Int8,
    /// INTEGER
    Int4,
    /// BOOLEAN
    Bool,
    /// TEXT
    Text,
    /// NUMERIC from a decimal string
    NumericText,
    /// NUMERIC from a scale-0 Decimal128
    NumericDecimal(u8),
    /// TIMESTAMPTZ
    Timestamptz,
    /// DATE
    Date,
    /// TEXT[]
    TextArray,
    /// JSONB
    Jsonb,
}

impl PgType {
    /// The SQL type name.
    pub fn sql(self) -> String {
        match self {
            PgType::Int8 => "BIGINT".into(),
            PgType::Int4 => "INTEGER".into(),
            PgType::Bool => "BOOLEAN".into(),
            PgType::Text => "TEXT".into(),
            PgType::NumericText => "NUMERIC(78,0)".into(),
            PgType::NumericDecimal(p) => format!("NUMERIC({p},0)"),
            PgType::Timestamptz => "TIMESTAMPTZ".into(),
            PgType::Date => "DATE".into(),
            PgType::TextArray => "TEXT[]".into(),
            PgType::Jsonb => "JSONB".into(),
        }
    }
}

/// Text columns that hold 256-bit integers.
const NUMERIC_TEXT: &[(&str, &str)] = &[
    ("blocks", "difficulty"),
    ("blocks", "total_difficulty"),
    ("transactions", "value"),
    ("traces", "value"),
    ("token_transfers", "value"),
    ("tokens", "total_supply"),
];

/// The PostgreSQL type of one lake column.
pub fn pg_type(table: &str, f: &Field) -> Result<PgType, PgError> {
    Ok(match f.data_type() {
        DataType::Int64 => PgType::Int8,
        DataType::Int32 => PgType::Int4,
        DataType::Boolean => PgType::Bool,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            if NUMERIC_TEXT.contains(&(table, f.name().as_str())) {
                PgType::NumericText
            } else {
                PgType::Text
            }
        }
        DataType::Decimal128(p, 0) => PgType::NumericDecimal(*p),
        DataType::Timestamp(_, _) => PgType::Timestamptz,
        DataType::Date32 => PgType::Date,
        DataType::List(item) if matches!(item.data_type(), DataType::Utf8 | DataType::Utf8View) => {
            PgType::TextArray
        }
        DataType::List(_) | DataType::Struct(_) => PgType::Jsonb,
        other => {
            return Err(PgError::Unsupported(format!(
                "{table}.{}: no PostgreSQL mapping for {other}",
                f.name()
            )))
        }
    })
}

/// The column that places a row in a block (chunks are replaced by it).
pub use ledgerflow_lake::layout::block_column;

/// `"name"` quoted as a PostgreSQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Uniqueness (primary key columns, or a unique index expression) and secondary indexes.
fn keys(table: &str, utxo: bool) -> (Option<&'static str>, &'static [&'static str]) {
    match (table, utxo) {
        ("blocks", _) => (Some("hash"), &["timestamp"]),
        ("transactions", false) => (
            Some("hash"),
            &["block_timestamp", "from_address", "to_address"],
        ),
        ("transactions", true) => (Some("hash, block_number"), &["block_timestamp"]),
        ("receipts", _) => (Some("transaction_hash"), &[]),
        ("logs", _) => (
            Some("transaction_hash, log_index"),
            &["block_timestamp", "address"],
        ),
        ("token_transfers", _) => (
            None,
            &[
                "block_timestamp",
                "token_address",
                "from_address",
                "to_address",
            ],
        ),
        ("traces", _) => (
            Some("trace_id"),
            &["block_timestamp", "from_address", "to_address"],
        ),
        ("contracts", _) => (None, &["address"]),
        ("tokens", _) => (None, &["address"]),
        ("inputs", _) => (
            Some("transaction_hash, block_number, index"),
            &["spent_transaction_hash"],
        ),
        ("outputs", _) => (Some("transaction_hash, block_number, index"), &[]),
        _ => (None, &[]),
    }
}

/// `CREATE TABLE IF NOT EXISTS` and its indexes for a lake table.
pub fn ddl(
    pg_schema: &str,
    table: &str,
    schema: &Schema,
    utxo: bool,
) -> Result<Vec<String>, PgError> {
    let q = format!("{}.{}", ident(pg_schema), ident(table));
    let mut cols = Vec::new();
    for f in schema.fields() {
        let t = pg_type(table, f)?;
        let not_null = if f.is_nullable() { "" } else { " NOT NULL" };
        cols.push(format!("  {} {}{not_null}", ident(f.name()), t.sql()));
    }
    let (pk, idx) = keys(table, utxo);
    let has = |c: &str| schema.field_with_name(c.trim()).is_ok();
    if let Some(pk) = pk {
        if pk.split(',').all(has) {
            let cols_q: Vec<String> = pk.split(',').map(|c| ident(c.trim())).collect();
            cols.push(format!("  PRIMARY KEY ({})", cols_q.join(", ")));
        }
    }
    let mut out = vec![
        format!("CREATE SCHEMA IF NOT EXISTS {}", ident(pg_schema)),
        format!("CREATE TABLE IF NOT EXISTS {q} (\n{}\n)", cols.join(",\n")),
    ];
    let bc = block_column(table);
    let mut indexed = vec![bc];
    indexed.extend(idx.iter().copied());
    for c in indexed {
        if has(c) {
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {} ON {q} ({})",
                ident(&format!("{table}_{c}_index")),
                ident(c)
            ));
        }
    }
    if table == "token_transfers" && has("batch_index") {
        out.push(format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {q} (transaction_hash, log_index, COALESCE(batch_index, -1))",
            ident("token_transfers_unique")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_ddl() {
        let s = Schema::new(vec![
            Field::new("hash", DataType::Utf8, false),
            Field::new("block_number", DataType::Int64, false),
            Field::new("value", DataType::Utf8, true),
            Field::new("from_address", DataType::Utf8, true),
        ]);
        let d = ddl("crypto_anvil", "transactions", &s, false).unwrap();
        assert!(d[1].contains("\"value\" NUMERIC(78,0)"), "{}", d[1]);
        assert!(d[1].contains("\"hash\" TEXT NOT NULL"), "{}", d[1]);
        assert!(d[1].contains("PRIMARY KEY (\"hash\")"), "{}", d[1]);
        assert!(d
            .iter()
            .any(|x| x.contains("transactions_block_number_index")));
        assert!(d
            .iter()
            .any(|x| x.contains("transactions_from_address_index")));
        assert!(
            !d.iter().any(|x| x.contains("to_address")),
            "no such column: no index"
        );
        let bad = Field::new("x", DataType::Float16, true);
        assert!(pg_type("t", &bad).is_err());
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
