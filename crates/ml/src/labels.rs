//! `labels import`: label files into the lake's `address_labels` table (and
//! `entity_labels` where entities are built), with unknown addresses and conflicts
//! counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use ledgerflow_core::BlockRange;
use ledgerflow_entities::labels::{self, Label};
use ledgerflow_entities::tables::{AddressLabelRow, EntityLabelRow};
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::writer::{replace_table, WriteOptions};
use ledgerflow_lake::Lake;
use serde::Serialize;

use crate::error::{MlError, Result};

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub chain: String,
    pub files: Vec<PathBuf>,
    /// Labels read from the files.
    pub read: u64,
    /// Rows of `address_labels` after the import (duplicates merged).
    pub rows: u64,
    /// Distinct labelled addresses.
    pub addresses: u64,
    /// Labelled addresses that do not appear on the chain (kept, `known = false`).
    pub unknown: u64,
    /// Up to ten of them.
    pub unknown_examples: Vec<String>,
    /// Addresses whose labels give more than one category.
    pub address_conflicts: u64,
    /// Entities with a labelled address (`entity_labels` rows).
    pub entities: u64,
    /// Entities whose addresses carry more than one category.
    pub entity_conflicts: u64,
    /// Up to ten conflicting entities: `entity: exchange:3,mixer:1`.
    pub entity_conflict_examples: Vec<String>,
    /// Labelled addresses per category.
    pub categories: BTreeMap<String, u64>,
}

fn err(e: ledgerflow_entities::EntityError) -> MlError {
    MlError::Invalid(e.to_string())
}

/// Address → (address id, entity id), where known.
type Known = BTreeMap<String, (Option<i64>, Option<i64>)>;

/// Known addresses of a chain.
fn known_addresses(lake: &Lake, chain: &str) -> Result<Known> {
    let mut out = BTreeMap::new();
    if lake.table_dir(chain, "address_entity").is_dir() {
        let (chunks, _) = lake.parquet_chunks(chain, "address_entity")?;
        for c in chunks {
            let p = c.path.clone();
            for_each_batch(
                &p,
                Columns::Named(&["address_id", "address", "entity_id"]),
                None,
                |b| {
                    let bad = |w: &str| MlError::table(&p, format!("address_entity: {w}"));
                    let id = b
                        .column_by_name("address_id")
                        .and_then(|c| c.as_primitive_opt::<Int64Type>())
                        .ok_or_else(|| bad("no integer address_id"))?;
                    let a = b
                        .column_by_name("address")
                        .and_then(|c| c.as_string_opt::<i32>())
                        .ok_or_else(|| bad("no text address"))?;
                    let e = b
                        .column_by_name("entity_id")
                        .and_then(|c| c.as_primitive_opt::<Int64Type>())
                        .ok_or_else(|| bad("no integer entity_id"))?;
                    for r in 0..b.num_rows() {
                        if !a.is_null(r) {
                            out.insert(
                                a.value(r).to_string(),
                                (Some(id.value(r)), (!e.is_null(r)).then(|| e.value(r))),
                            );
                        }
                    }
                    Ok::<(), MlError>(())
                },
            )?;
        }
        return Ok(out);
    }
    if ledgerflow_entities::ledger::is_utxo(lake, chain).map_err(err)? {
        let l = ledgerflow_entities::Ledger::load(lake, chain, None, Default::default())
            .map_err(err)?;
        for (i, n) in l.book.names.iter().enumerate() {
            out.insert(n.to_string(), (Some(i as i64), None));
        }
        return Ok(out);
    }
    let c = crate::features::lake::read_evm(
        lake,
        chain,
        i64::MAX,
        &["transactions".into(), "token_transfers".into()],
    )?;
    for n in c.names {
        out.insert(n, (None, None));
    }
    Ok(out)
}

/// Imports label files into the lake. Nothing is written when a file cannot be read.
pub fn import(
    lake_dir: &std::path::Path,
    chain: &str,
    files: &[PathBuf],
    replace: bool,
) -> Result<ImportReport> {
    let lake = Lake::new(lake_dir);
    if !lake_dir.join(chain).is_dir() {
        return Err(MlError::Invalid(format!(
            "{}: no chain {chain:?} in this lake",
            lake_dir.display()
        )));
    }
    if files.is_empty() {
        return Err(MlError::Invalid("no label file given".into()));
    }
    let mut read: Vec<Label> = Vec::new();
    for f in files {
        read.extend(labels::read_file(f).map_err(err)?);
    }
    let known = known_addresses(&lake, chain)?;
    let mut rows: BTreeMap<(String, String, String), AddressLabelRow> = BTreeMap::new();
    if !replace {
        for r in labels::read_table(&lake, chain).map_err(err)? {
            rows.insert((r.address.clone(), r.category.clone(), r.source.clone()), r);
        }
    }
    for l in &read {
        let k = known.get(&l.address);
        rows.insert(
            (l.address.clone(), l.category.clone(), l.source.clone()),
            AddressLabelRow {
                address: l.address.clone(),
                category: l.category.clone(),
                label: l.label.clone(),
                source: l.source.clone(),
                confidence: l.confidence,
                file: l.file.clone(),
                known: k.is_some(),
                address_id: k.and_then(|k| k.0),
                entity_id: k.and_then(|k| k.1),
            },
        );
    }
    // re-resolve earlier rows against the chain as it is now
    for r in rows.values_mut() {
        let k = known.get(&r.address);
        r.known = k.is_some();
        r.address_id = k.and_then(|k| k.0);
        r.entity_id = k.and_then(|k| k.1);
    }
    let rows: Vec<AddressLabelRow> = rows.into_values().collect();
    let (cats, conflicts) = labels::address_categories(&rows);
    let unknown: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.known)
        .map(|r| r.address.as_str())
        .collect();
    let ents: Vec<EntityLabelRow> = labels::propagate(&rows);
    let whole = BlockRange::new(0, 0);
    let opts = WriteOptions::default();
    replace_table(
        &lake,
        chain,
        "address_labels",
        whole,
        AddressLabelRow::to_batch(&rows),
        &opts,
    )?;
    if !ents.is_empty() || lake.table_dir(chain, "entity_labels").is_dir() {
        replace_table(
            &lake,
            chain,
            "entity_labels",
            whole,
            EntityLabelRow::to_batch(&ents),
            &opts,
        )?;
    }
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    for c in cats.values() {
        *categories.entry(c.clone()).or_default() += 1;
    }
    Ok(ImportReport {
        chain: chain.to_string(),
        files: files.to_vec(),
        read: read.len() as u64,
        rows: rows.len() as u64,
        addresses: cats.len() as u64,
        unknown: unknown.len() as u64,
        unknown_examples: unknown.iter().take(10).map(|s| s.to_string()).collect(),
        address_conflicts: conflicts.len() as u64,
        entities: ents.len() as u64,
        entity_conflicts: ents.iter().filter(|e| e.conflict).count() as u64,
        entity_conflict_examples: ents
            .iter()
            .filter(|e| e.conflict)
            .take(10)
            .map(|e| format!("{}: {}", e.entity_id, e.categories))
            .collect(),
        categories,
    })
}
