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
