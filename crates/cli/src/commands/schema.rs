//! `ledgerflow schema`: the table contract.

use std::process::ExitCode;

use arrow::datatypes::SchemaRef;
use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_lake::Format;

use crate::args::SchemaArgs;

pub fn run(a: SchemaArgs) -> eyre::Result<ExitCode> {
    match a.family.as_str() {
        "evm" | "ethereum" => {
            let tables = crate::commands::export_evm::parse_tables(&a.tables)?;
            for t in EvmTable::ALL.into_iter().filter(|t| tables.contains(t)) {
                print!("{}", describe(t));
            }
        }
        "bitcoin" | "utxo" => {
            let tables = crate::commands::export_bitcoin::parse_tables(&a.tables, Format::Parquet)?;
            for t in tables {
                print!("{}", describe_schema(t.name(), &t.schema()));
            }
        }
        other => eyre::bail!("--family {other:?}: expected evm or bitcoin"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn describe(t: EvmTable) -> String {
    describe_schema(t.name(), &t.schema())
}

pub fn describe_schema(name: &str, schema: &SchemaRef) -> String {
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
