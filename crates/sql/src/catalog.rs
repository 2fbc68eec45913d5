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
    /// Parquet chunks sorted by block range.
    pub chunks: Vec<Chunk>,
    /// Chunk files in other formats (CSV, JSON lines), which SQL does not read.
    pub other_files: usize,
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

/// The dataset name of a chain folder.
pub fn dataset_name(folder: &str) -> String {
    let mut s = String::from("crypto_");
    for c in folder.chars() {
        s.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    s
}

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
    let entries = std::fs::read_dir(root).map_err(|e| SqlError::Lake {
        path: root.to_path_buf(),
        message: format!("cannot list the lake folder: {e}"),
    })?;
    let lake = Lake::new(root);
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SqlError::Lake {
            path: root.to_path_buf(),
            message: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() || name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        folders.push(name);
    }
    folders.sort();
    let mut out = Vec::new();
    for folder in folders {
        let mut tables = BTreeMap::new();
        let dir = root.join(&folder);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| SqlError::Lake {
                path: dir.clone(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
            .collect();
        names.sort();
        for table in names {
            let files = lake.chunks(&folder, &table).map_err(|e| SqlError::Lake {
                path: dir.join(&table),
                message: e.to_string(),
            })?;
            let other_files = files.iter().filter(|c| c.ext != "parquet").count();
            // chunks inside a larger one (an interrupted compaction) would double rows
            let shadow = ledgerflow_lake::layout::shadowed(&files);
            let files: Vec<_> = files
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !shadow.contains(i))
                .map(|(_, c)| c)
                .collect();
            let chunks: Vec<Chunk> = files
                .into_iter()
                .filter(|c| c.ext == "parquet" && c.table == table)
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
                    other_files,
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
                        other_files: 0,
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
