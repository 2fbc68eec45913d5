//! Which datasets and tables a lake holds.
//!
//! Every chain folder of the lake (`anvil`, `ethereum`, `litecoin-regtest`, …) becomes a
//! BigQuery-style dataset `crypto_<folder>` (`-` → `_`), and every table folder in it with
//! at least one Parquet chunk becomes `crypto_<folder>.<table>`. Where the name is free, a
//! test network also answers to its chain's dataset name (`crypto_litecoin` for
//! `litecoin-regtest`) and the lake's only EVM chain to `crypto_ethereum`, so the queries
//! written for BigQuery's public datasets run unchanged on a local chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledgerflow_core::BlockRange;
use ledgerflow_lake::Lake;

use crate::error::SqlError;

/// The two chain families: their tables differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Ethereum and other EVM chains (`crypto_ethereum` tables).
    Evm,
    /// Bitcoin-family UTXO chains (`crypto_bitcoin` tables).
    Utxo,
}

/// One Parquet chunk of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The file.
    pub path: PathBuf,
    /// The blocks it holds (from its name).
    pub range: BlockRange,
}

/// One table of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeTableInfo {
    /// The table name (`transactions`).
    pub name: String,
    /// Parquet chunks sorted by block range (CSV and JSON chunks are not read).
    pub chunks: Vec<Chunk>,
}

/// One chain folder of the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The dataset name (`crypto_anvil`).
    pub name: String,
    /// Other names it answers to (`crypto_ethereum`).
    pub aliases: Vec<String>,
    /// The chain folder (`anvil`).
    pub folder: String,
    /// Its family.
    pub family: Family,
    /// Its tables, by name.
    pub tables: BTreeMap<String, LakeTableInfo>,
}

impl Dataset {
    /// Whether the dataset has all of these tables.
    pub fn has(&self, tables: &[&str]) -> bool {
        tables.iter().all(|t| self.tables.contains_key(*t))
    }
}

pub use ledgerflow_lake::layout::dataset_name;

const UTXO_CHAINS: &[&str] = &[
    "bitcoin",
    "bitcoin_cash",
    "litecoin",
    "dogecoin",
    "dash",
    "zcash",
];

fn family_of(folder: &str, tables: &BTreeMap<String, LakeTableInfo>) -> Family {
    if tables.contains_key("inputs") || tables.contains_key("outputs") {
        return Family::Utxo;
    }
    let evm_only = [
        "logs",
        "receipts",
        "traces",
        "token_transfers",
        "contracts",
        "tokens",
    ];
    if evm_only.iter().any(|t| tables.contains_key(*t)) {
        return Family::Evm;
    }
    let chain = folder.split('-').next().unwrap_or(folder);
    if UTXO_CHAINS.contains(&chain) {
        Family::Utxo
    } else {
        Family::Evm
    }
}

/// Finds every dataset and table of the lake at `root`, with the automatic aliases, then
/// `explicit` aliases (`(alias, folder)`) on top.
pub fn discover(root: &Path, explicit: &[(String, String)]) -> Result<Vec<Dataset>, SqlError> {
    let lake = Lake::new(root);
    let lake_err = |path: PathBuf| {
        move |e: ledgerflow_lake::LakeError| SqlError::Lake {
            path,
            message: e.to_string(),
        }
    };
    let mut out = Vec::new();
    for folder in lake.chains().map_err(lake_err(root.to_path_buf()))? {
        let mut tables = BTreeMap::new();
        let dir = root.join(&folder);
        for table in lake.tables(&folder).map_err(lake_err(dir.clone()))? {
            // chunks inside a larger one (an interrupted compaction) would double rows
            let (files, _shadowed) = lake
                .parquet_chunks(&folder, &table)
                .map_err(lake_err(dir.join(&table)))?;
            let chunks: Vec<Chunk> = files
                .into_iter()
                .filter(|c| c.table == table)
                .map(|c| Chunk {
                    path: c.path,
                    range: c.range,
                })
                .collect();
            if chunks.is_empty() {
                continue;
            }
            tables.insert(
                table.clone(),
                LakeTableInfo {
                    name: table,
                    chunks,
                },
            );
        }
        if tables.is_empty() {
            continue;
        }
        out.push(Dataset {
            name: dataset_name(&folder),
            aliases: Vec::new(),
            family: family_of(&folder, &tables),
            folder,
            tables,
        });
    }
    add_aliases(&mut out, explicit)?;
    Ok(out)
}

fn add_aliases(sets: &mut [Dataset], explicit: &[(String, String)]) -> Result<(), SqlError> {
    let taken = |sets: &[Dataset], n: &str| {
        sets.iter()
            .any(|d| d.name == n || d.aliases.iter().any(|a| a == n))
    };
    // explicit first: they win over the automatic ones
    for (alias, folder) in explicit {
        let alias = if alias.starts_with("crypto_") {
            alias.clone()
        } else {
            format!("crypto_{alias}")
        };
        if taken(sets, &alias) {
            return Err(SqlError::Alias(format!(
                "dataset name {alias} is already taken"
            )));
        }
        let Some(d) = sets
            .iter_mut()
            .find(|d| d.folder == *folder || d.name == *folder)
        else {
            return Err(SqlError::Alias(format!(
                "no chain folder {folder:?} in the lake for alias {alias}"
            )));
        };
        d.aliases.push(alias);
    }
    // `litecoin-regtest` → `crypto_litecoin`, when that chain has only one network here
    for i in 0..sets.len() {
        let Some((chain, _)) = sets[i].folder.split_once('-') else {
            continue;
        };
        let alias = dataset_name(chain);
        let same_chain = sets
            .iter()
            .filter(|d| d.folder.split('-').next() == Some(chain))
            .count();
        if same_chain == 1 && !taken(sets, &alias) {
            sets[i].aliases.push(alias);
        }
    }
    // the only EVM chain of the lake → `crypto_ethereum`
    let evm: Vec<usize> = (0..sets.len())
        .filter(|&i| sets[i].family == Family::Evm)
        .collect();
    if evm.len() == 1 && !taken(sets, "crypto_ethereum") {
        sets[evm[0]].aliases.push("crypto_ethereum".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(folder: &str, tables: &[&str]) -> Dataset {
        let tables = tables
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    LakeTableInfo {
                        name: t.to_string(),
                        chunks: vec![],
                    },
                )
            })
            .collect::<BTreeMap<_, _>>();
        Dataset {
            name: dataset_name(folder),
            aliases: vec![],
            family: family_of(folder, &tables),
            folder: folder.into(),
            tables,
        }
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(dataset_name("litecoin-regtest"), "crypto_litecoin_regtest");
        assert_eq!(dataset_name("evm-999"), "crypto_evm_999");
        let mut sets = vec![
            ds("anvil", &["blocks", "logs"]),
            ds("bitcoin-regtest", &["blocks", "inputs"]),
            ds("bitcoin-testnet", &["blocks"]),
            ds("litecoin-regtest", &["blocks", "outputs"]),
        ];
        add_aliases(&mut sets, &[]).unwrap();
        assert_eq!(sets[0].aliases, vec!["crypto_ethereum"]);
        assert!(sets[1].aliases.is_empty(), "two bitcoin networks: no alias");
        assert_eq!(sets[2].family, Family::Utxo);
        assert_eq!(sets[3].aliases, vec!["crypto_litecoin"]);

        let mut sets = vec![ds("anvil", &["blocks"]), ds("sepolia", &["blocks"])];
        add_aliases(&mut sets, &[("ethereum".into(), "sepolia".into())]).unwrap();
        assert_eq!(sets[1].aliases, vec!["crypto_ethereum"]);
        assert!(sets[0].aliases.is_empty());
        let mut sets = vec![ds("anvil", &["blocks"])];
        let e = add_aliases(&mut sets, &[("x".into(), "nope".into())]).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
