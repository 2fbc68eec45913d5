//! The table contract against the BigQuery `crypto_ethereum` schemas in
//! `../shared/schemas`: every lake table starts with exactly BigQuery's columns, in
//! BigQuery's order, with the mapped types; what follows starts with `chain_id`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use arrow_schema::{DataType, TimeUnit};
use ledgerflow_core::tables::evm::EvmTable;

fn schemas_dir() -> Option<PathBuf> {
    let shared = ledgerflow_testkit::shared_dir("bigquery_schemas")?;
    Some(shared.join("schemas/ethereum-etl-airflow/dags/resources/stages"))
}

fn expected_type(bq: &serde_json::Value) -> String {
    let repeated = bq["mode"] == "REPEATED";
    let base = match bq["type"].as_str().unwrap() {
        "INT64" | "INTEGER" => "Int64".to_string(),
        "STRING" | "NUMERIC" | "BIGNUMERIC" => "Utf8".to_string(),
        "BOOLEAN" => "Boolean".to_string(),
        "TIMESTAMP" => "Timestamp".to_string(),
        "RECORD" => {
            let fields: Vec<String> = bq["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{}:{}", f["name"].as_str().unwrap(), expected_type(f)))
                .collect();
            format!("Struct({})", fields.join(","))
        }
        other => panic!("unmapped BigQuery type {other}"),
    };
    if repeated {
        format!("List({base})")
    } else {
        base
    }
}

fn actual_type(t: &DataType) -> String {
    match t {
        DataType::Int64 => "Int64".into(),
        DataType::Utf8 => "Utf8".into(),
        DataType::Boolean => "Boolean".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            "Timestamp".into()
        }
        DataType::List(f) => format!("List({})", actual_type(f.data_type())),
        DataType::Struct(fs) => format!(
            "Struct({})",
            fs.iter()
                .map(|f| format!("{}:{}", f.name(), actual_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

#[test]
fn lake_tables_follow_bigquery() {
    let Some(dir) = schemas_dir() else { return };
    for t in EvmTable::ALL {
        // receipts exist only in the raw stage; everything else in the enriched one
        let stage = if t == EvmTable::Receipts {
            "raw"
        } else {
            "enrich"
        };
        let path = dir
            .join(stage)
            .join("schemas")
            .join(format!("{}.json", t.name()));
        let bq: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ours = t.schema();
        assert!(ours.fields().len() > bq.len(), "{t}: has extras");
        for (i, col) in bq.iter().enumerate() {
            let f = ours.field(i);
            assert_eq!(f.name(), col["name"].as_str().unwrap(), "{t}: column {i}");
            assert_eq!(
                actual_type(f.data_type()),
                expected_type(col),
                "{t}.{}: type",
                f.name()
            );
        }
        assert_eq!(
            ours.field(bq.len()).name(),
            "chain_id",
            "{t}: extras start with chain_id"
        );
    }
}

/// The `crypto_bitcoin` contract: blocks and transactions start with BigQuery's enriched
/// columns (NUMERIC as an exact `Decimal128(29, 0)` amount, DATE as `Date32`), nested
/// inputs/outputs field for field; extras start with `chain`.
#[test]
fn bitcoin_tables_follow_bigquery() {
    use ledgerflow_core::tables::bitcoin::BtcTable;
    let Some(shared) = ledgerflow_testkit::shared_dir("bigquery_schemas") else {
        return;
    };
    let dir = shared.join("schemas/bitcoin-etl-airflow/dags/resources/stages/enrich/schemas");
    fn bq_type(bq: &serde_json::Value) -> String {
        let repeated = bq["mode"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case("REPEATED"));
        let base = match bq["type"].as_str().unwrap().to_ascii_uppercase().as_str() {
            "INT64" | "INTEGER" => "Int64".to_string(),
            "STRING" => "Utf8".to_string(),
            "NUMERIC" => "Decimal128(29, 0)".to_string(),
            "BOOLEAN" => "Boolean".to_string(),
            "TIMESTAMP" => "Timestamp".to_string(),
            "DATE" => "Date32".to_string(),
            "RECORD" => format!(
                "Struct({})",
                bq["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| format!("{}:{}", f["name"].as_str().unwrap(), bq_type(f)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            other => panic!("unmapped BigQuery type {other}"),
        };
        if repeated {
            format!("List({base})")
        } else {
            base
        }
    }
    fn ours(t: &DataType) -> String {
        match t {
            DataType::Decimal128(p, s) => format!("Decimal128({p}, {s})"),
            DataType::Date32 => "Date32".into(),
            DataType::List(f) => format!("List({})", ours(f.data_type())),
            DataType::Struct(fs) => format!(
                "Struct({})",
                fs.iter()
                    .map(|f| format!("{}:{}", f.name(), ours(f.data_type())))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            other => actual_type(other),
        }
    }
    for t in [BtcTable::Blocks, BtcTable::Transactions] {
        let path = dir.join(format!("{}.json", t.name()));
        let bq: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let schema = t.schema();
        for (i, col) in bq.iter().enumerate() {
            let f = schema.field(i);
            assert_eq!(f.name(), col["name"].as_str().unwrap(), "{t}: column {i}");
            // nested inputs/outputs: BigQuery's field names and types
            assert_eq!(ours(f.data_type()), bq_type(col), "{t}.{}: type", f.name());
        }
        assert_eq!(
            schema.field(bq.len()).name(),
            "chain",
            "{t}: extras start with chain"
        );
    }
}
