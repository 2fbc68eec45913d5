//! Table lists as users write them (`--tables blocks,logs`, `all`) and the one-table
//! descriptions that `ledgerflow schema` and every `--dry-run` print.

use arrow_schema::SchemaRef;

use super::bitcoin::BtcTable;
use super::evm::EvmTable;

/// A table list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableListError {
    /// A name that is no table of the family.
    #[error("unknown table {name:?} (known: {known})")]
    Unknown {
        /// The name as given.
        name: String,
        /// The family's tables, comma-separated.
        known: String,
    },
    /// A flat Bitcoin-family table asked for in bitcoin-etl's text formats.
    #[error(
        "bitcoin-etl writes only blocks and transactions as {format}; the flat {table} table \
         is available as Parquet (-f parquet)"
    )]
    NotInEtl {
        /// The table.
        table: &'static str,
        /// The text format (`csv`, `json`).
        format: String,
    },
}

/// Parses a table list of one family: names (trimmed, empty entries dropped) through
/// `parse`, `all` as `all`; an empty list means `every`. Sorted, without repeats.
fn parse_names<T: Copy + Ord>(
    list: &[String],
    all: &[T],
    every: &[T],
    name: fn(T) -> &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, TableListError> {
    let mut out = Vec::new();
    for n in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if n.eq_ignore_ascii_case("all") {
            out.extend_from_slice(all);
            continue;
        }
        match parse(n) {
            Some(t) => out.push(t),
            None => {
                return Err(TableListError::Unknown {
                    name: n.to_string(),
                    known: every
                        .iter()
                        .map(|t| name(*t))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        }
    }
    if out.is_empty() {
        out.extend_from_slice(every);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl EvmTable {
    /// Parses `--tables`: names (or ethereum-etl's item types, see
    /// [`EvmTable::from_name`]) and `all`; an empty list means every table. The result is
    /// sorted in dependency order without repeats.
    pub fn parse_list(list: &[String]) -> Result<Vec<EvmTable>, TableListError> {
        parse_names(
            list,
            &EvmTable::ALL,
            &EvmTable::ALL,
            EvmTable::name,
            EvmTable::from_name,
        )
    }

    /// The table as `ledgerflow schema` prints it.
    pub fn describe(self) -> String {
        describe(self.name(), &self.schema())
    }
}

impl BtcTable {
    /// Parses `--tables` of a Bitcoin-family export or stream; an empty list means every
    /// table. `etl_format`: `Some("csv" | "json")` when the output is bitcoin-etl's text
    /// files, which hold only blocks and transactions (`all` means those two there, and a
    /// flat table is refused); `None` for Parquet and the stream sinks.
    pub fn parse_list(
        list: &[String],
        etl_format: Option<&str>,
    ) -> Result<Vec<BtcTable>, TableListError> {
        let all: &[BtcTable] = if etl_format.is_none() {
            &BtcTable::ALL
        } else {
            &[BtcTable::Blocks, BtcTable::Transactions]
        };
        let out = parse_names(list, all, &BtcTable::ALL, BtcTable::name, BtcTable::parse)?;
        if let Some(format) = etl_format {
            if let Some(t) = out
                .iter()
                .find(|t| matches!(t, BtcTable::Inputs | BtcTable::Outputs))
            {
                return Err(TableListError::NotInEtl {
                    table: t.name(),
                    format: format.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// The table as `ledgerflow schema --family bitcoin` prints it.
    pub fn describe(self) -> String {
        describe(self.name(), &self.schema())
    }
}

/// A table's columns, one per line under `crypto_<chain>.<name>`: name, Arrow type and
/// `NOT NULL` where the column has no nulls.
pub fn describe(name: &str, schema: &SchemaRef) -> String {
    let mut s = format!("crypto_<chain>.{name}\n");
    for f in schema.fields() {
        s.push_str(&format!(
            "  {:<32} {}{}\n",
            f.name(),
            f.data_type(),
            if f.is_nullable() { "" } else { " NOT NULL" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn list(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn evm_lists() {
        assert_eq!(EvmTable::parse_list(&[]).unwrap(), EvmTable::ALL.to_vec());
        assert_eq!(
            EvmTable::parse_list(&list("logs, block,logs")).unwrap(),
            vec![EvmTable::Blocks, EvmTable::Logs]
        );
        assert_eq!(
            EvmTable::parse_list(&list("token-transfer,all")).unwrap(),
            EvmTable::ALL.to_vec()
        );
        let e = EvmTable::parse_list(&list("blocks,nope")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown table \"nope\" (known: blocks, transactions, receipts, logs, \
             token_transfers, traces, contracts, tokens)"
        );
    }

    #[test]
    fn bitcoin_lists() {
        assert_eq!(
            BtcTable::parse_list(&[], None).unwrap(),
            BtcTable::ALL.to_vec()
        );
        assert_eq!(
            BtcTable::parse_list(&list("all"), Some("json")).unwrap(),
            vec![BtcTable::Blocks, BtcTable::Transactions]
        );
        assert_eq!(
            BtcTable::parse_list(&list("outputs,blocks"), None).unwrap(),
            vec![BtcTable::Blocks, BtcTable::Outputs]
        );
        let e = BtcTable::parse_list(&list("inputs"), Some("csv")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bitcoin-etl writes only blocks and transactions as csv; the flat inputs table \
             is available as Parquet (-f parquet)"
        );
        let e = BtcTable::parse_list(&list("logs"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown table \"logs\" (known: blocks, transactions, inputs, outputs)"
        );
    }

    #[test]
    fn describes_columns() {
        let d = BtcTable::Blocks.describe();
        assert!(d.starts_with("crypto_<chain>.blocks\n"));
        assert!(d.contains("  hash "), "{d}");
        assert!(EvmTable::Logs.describe().contains("NOT NULL"));
    }
}
