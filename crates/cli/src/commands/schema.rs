//! `ledgerflow schema`: the table contract (parsing and descriptions live in
//! `ledgerflow_core::tables::list`).

use std::process::ExitCode;

use ledgerflow_core::tables::bitcoin::BtcTable;
use ledgerflow_core::tables::evm::EvmTable;

use crate::args::SchemaArgs;

pub fn run(a: SchemaArgs) -> eyre::Result<ExitCode> {
    match a.family.as_str() {
        "evm" | "ethereum" => {
            for t in EvmTable::parse_list(&a.tables)? {
                print!("{}", t.describe());
            }
        }
        "bitcoin" | "utxo" => {
            for t in BtcTable::parse_list(&a.tables, None)? {
                print!("{}", t.describe());
            }
        }
        other => eyre::bail!("--family {other:?}: expected evm or bitcoin"),
    }
    Ok(ExitCode::SUCCESS)
}
