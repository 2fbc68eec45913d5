//! ethereum-etl's CSV/JSON output profile: which columns each exporter writes, in which
//! order, and how a lake column is rendered so that the files match ethereum-etl's.
//!
//! The lake keeps the BigQuery (enriched) schema; the CSV and JSON-lines writers project
//! each table onto ethereum-etl's column list. Two versions are known: 2.4 (2.4.2, the
//! default; adds the EIP-4844 blob columns) and 2.3 (2.3.1, the version the shared
//! mainnet fixtures were written by).

use crate::tables::evm::EvmTable;

/// How a value is rendered in ethereum-etl's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// By Arrow type: integers as digits, strings as strings, booleans as `True`/`False`
    /// (CSV) or `true`/`false` (JSON), timestamps as Unix seconds, lists joined with `,`
    /// (CSV) or as arrays (JSON), structs as compact JSON objects (CSV) or objects (JSON).
    Auto,
    /// A decimal string that ethereum-etl holds as a Python int or float: digits in CSV,
    /// an unquoted JSON number.
    Numeric,
    /// A `trace_address` string such as `0,1`: as is in CSV, a JSON array of ints.
    IntList,
}

/// One output column of an ethereum-etl exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtlColumn {
    /// The column name in the file.
    pub name: &'static str,
    /// The lake column it comes from.
    pub source: &'static str,
    /// How to render it.
    pub render: Render,
}

/// The ethereum-etl version whose columns are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EtlVersion {
    /// ethereum-etl 2.3.x (before the EIP-4844 blob columns).
    V2_3,
    /// ethereum-etl 2.4.x.
    #[default]
    V2_4,
}

impl std::str::FromStr for EtlVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2.3" | "2.3.1" => Ok(EtlVersion::V2_3),
            "2.4" | "2.4.2" => Ok(EtlVersion::V2_4),
            other => Err(format!(
                "unknown ethereum-etl version {other:?} (known: 2.3, 2.4)"
            )),
        }
    }
}

const fn c(name: &'static str) -> EtlColumn {
    EtlColumn {
        name,
        source: name,
        render: Render::Auto,
    }
}
const fn n(name: &'static str) -> EtlColumn {
    EtlColumn {
        name,
        source: name,
        render: Render::Numeric,
    }
}
const fn from(name: &'static str, source: &'static str, render: Render) -> EtlColumn {
    EtlColumn {
        name,
        source,
        render,
    }
}

const BLOCKS: &[EtlColumn] = &[
    c("number"),
    c("hash"),
    c("parent_hash"),
    c("nonce"),
    c("sha3_uncles"),
    c("logs_bloom"),
    c("transactions_root"),
    c("state_root"),
    c("receipts_root"),
    c("miner"),
    n("difficulty"),
    n("total_difficulty"),
    c("size"),
    c("extra_data"),
    c("gas_limit"),
    c("gas_used"),
    c("timestamp"),
    c("transaction_count"),
    c("base_fee_per_gas"),
    c("withdrawals_root"),
    c("withdrawals"),
    // 2.4
    c("blob_gas_used"),
    c("excess_blob_gas"),
];

const TRANSACTIONS: &[EtlColumn] = &[
    c("hash"),
    c("nonce"),
    c("block_hash"),
    c("block_number"),
    c("transaction_index"),
    c("from_address"),
    c("to_address"),
    n("value"),
    c("gas"),
    c("gas_price"),
    c("input"),
    c("block_timestamp"),
    c("max_fee_per_gas"),
    c("max_priority_fee_per_gas"),
    c("transaction_type"),
    // 2.4
    c("max_fee_per_blob_gas"),
    c("blob_versioned_hashes"),
];

const RECEIPTS: &[EtlColumn] = &[
    c("transaction_hash"),
    c("transaction_index"),
    c("block_hash"),
    c("block_number"),
    c("cumulative_gas_used"),
    c("gas_used"),
    c("contract_address"),
    c("root"),
    c("status"),
    c("effective_gas_price"),
    n("l1_fee"),
    c("l1_gas_used"),
    c("l1_gas_price"),
    n("l1_fee_scalar"),
    // 2.4
    c("blob_gas_price"),
    c("blob_gas_used"),
];

const LOGS: &[EtlColumn] = &[
    c("log_index"),
    c("transaction_hash"),
    c("transaction_index"),
    c("block_hash"),
    c("block_number"),
    c("address"),
    c("data"),
    c("topics"),
];

const TOKEN_TRANSFERS: &[EtlColumn] = &[
    c("token_address"),
    c("from_address"),
    c("to_address"),
    n("value"),
    c("transaction_hash"),
    c("log_index"),
    c("block_number"),
];

const TRACES: &[EtlColumn] = &[
    c("block_number"),
    c("transaction_hash"),
    c("transaction_index"),
    c("from_address"),
    c("to_address"),
    n("value"),
    c("input"),
    c("output"),
    c("trace_type"),
    c("call_type"),
    c("reward_type"),
    c("gas"),
    c("gas_used"),
    c("subtraces"),
    from("trace_address", "trace_address", Render::IntList),
    c("error"),
    c("status"),
    c("trace_id"),
];

const CONTRACTS: &[EtlColumn] = &[
    c("address"),
    c("bytecode"),
    c("function_sighashes"),
    c("is_erc20"),
    c("is_erc721"),
    c("block_number"),
];

const TOKENS: &[EtlColumn] = &[
    c("address"),
    c("symbol"),
    c("name"),
    n("decimals"),
    n("total_supply"),
    c("block_number"),
];

/// The columns ethereum-etl writes for a table, in order.
pub fn etl_columns(table: EvmTable, version: EtlVersion) -> &'static [EtlColumn] {
    let all = match table {
        EvmTable::Blocks => BLOCKS,
        EvmTable::Transactions => TRANSACTIONS,
        EvmTable::Receipts => RECEIPTS,
        EvmTable::Logs => LOGS,
        EvmTable::TokenTransfers => TOKEN_TRANSFERS,
        EvmTable::Traces => TRACES,
        EvmTable::Contracts => CONTRACTS,
        EvmTable::Tokens => TOKENS,
    };
    let cut = match (version, table) {
        (EtlVersion::V2_3, EvmTable::Blocks) => all.len() - 2,
        (EtlVersion::V2_3, EvmTable::Transactions) => all.len() - 2,
        (EtlVersion::V2_3, EvmTable::Receipts) => all.len() - 2,
        _ => all.len(),
    };
    &all[..cut]
}

/// Writes Python-`json`-style (ensure_ascii) string literal.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut buf = [0u16; 2];
                for unit in ch.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Appends one CSV field with Python's minimal quoting.
pub fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_column_exists_in_the_lake_table() {
        for t in EvmTable::ALL {
            let schema = t.schema();
            for col in etl_columns(t, EtlVersion::V2_4) {
                assert!(
                    schema.field_with_name(col.source).is_ok(),
                    "{t}: {} missing",
                    col.source
                );
            }
        }
    }

    #[test]
    fn versions_differ_only_by_blob_columns() {
        assert_eq!(
            etl_columns(EvmTable::Blocks, EtlVersion::V2_3)
                .last()
                .unwrap()
                .name,
            "withdrawals"
        );
        assert_eq!(
            etl_columns(EvmTable::Transactions, EtlVersion::V2_3)
                .last()
                .unwrap()
                .name,
            "transaction_type"
        );
        assert_eq!(
            etl_columns(EvmTable::Receipts, EtlVersion::V2_4)
                .last()
                .unwrap()
                .name,
            "blob_gas_used"
        );
    }
}
