//! `ledgerflow schema`: the table contract.

use std::process::ExitCode;

use ledgerflow_core::tables::evm::EvmTable;

use crate::args::SchemaArgs;

pub fn run(a: SchemaArgs) -> eyre::Result<ExitCode> {
    let tables = crate::commands::export_evm::parse_tables(&a.tables)?;
    for t in EvmTable::ALL.into_iter().filter(|t| tables.contains(t)) {
        print!("{}", describe(t));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn describe(t: EvmTable) -> String {
    let mut s = format!("crypto_<chain>.{}\n", t.name());
    for f in t.schema().fields() {
        s.push_str(&format!(
            "  {:<32} {}{}\n",
            f.name(),
            f.data_type(),
            if f.is_nullable() { "" } else { " NOT NULL" }
        ));
    }
    s
}
