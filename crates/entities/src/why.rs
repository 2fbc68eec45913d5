//! `entities why A B`: the chain of transactions and heuristics that put two addresses in
//! one entity, read back from `entity_merges` (the merged unions of an entity form a tree,
//! so the path between two of its addresses is unique).

use std::collections::VecDeque;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use ledgerflow_lake::reader::{read_batches, Columns};
use ledgerflow_lake::Lake;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::error::EntityError;
use crate::ledger::check_chain;

/// One hop of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// The address the hop starts from.
    pub from: String,
    /// The address it reaches.
    pub to: String,
    /// `multi-input` or `change`.
    pub rule: String,
    /// The change heuristics, for `change`.
    pub heuristics: Option<String>,
    /// The change output's position, for `change`.
    pub output_index: Option<i64>,
    /// The transaction.
    pub transaction_hash: String,
    /// Its block.
    pub block_number: i64,
    /// Confidence of the merge.
    pub confidence: f64,
}

/// The answer of `why`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// First address.
    pub a: String,
    /// Second address.
    pub b: String,
    /// Entity of `a`.
    pub entity_a: i64,
    /// Entity of `b`.
    pub entity_b: i64,
    /// Whether they are one entity.
    pub same_entity: bool,
    /// The hops from `a` to `b` (empty when apart).
    pub path: Vec<Hop>,
}

struct Edge {
    a: i64,
    b: i64,
    hop: Hop,
}

fn string_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &std::path::Path,
) -> Result<&'a arrow_array::StringArray, EntityError> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| EntityError::BadFile {
            path: path.to_path_buf(),
            what: format!("no string column {name}"),
        })
}

fn int_col<'a>(
    b: &'a RecordBatch,
    name: &str,
    path: &std::path::Path,
) -> Result<&'a arrow_array::Int64Array, EntityError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| EntityError::BadFile {
            path: path.to_path_buf(),
            what: format!("no Int64 column {name}"),
        })
}

fn batches(
    lake: &Lake,
    chain: &str,
    table: &str,
) -> Result<Vec<(std::path::PathBuf, RecordBatch)>, EntityError> {
    let (chunks, _) = lake.parquet_chunks(chain, table)?;
    if chunks.is_empty() {
        return Err(EntityError::NoTable {
            chain: chain.into(),
            table: table.into(),
            dir: lake.table_dir(chain, table),
            hint: "run `ledgerflow entities build` first",
        });
    }
    let mut out = Vec::new();
    for ch in chunks {
        for b in read_batches(&ch.path, Columns::All)? {
            out.push((ch.path.clone(), b));
        }
    }
    Ok(out)
}

/// Address → (address id, entity id), from `address_entity`.
pub fn address_index(
    lake: &Lake,
    chain: &str,
) -> Result<FxHashMap<String, (i64, i64)>, EntityError> {
    let mut m = FxHashMap::default();
    for (path, b) in batches(lake, chain, "address_entity")? {
        let addr = string_col(&b, "address", &path)?;
        let id = int_col(&b, "address_id", &path)?;
        let e = int_col(&b, "entity_id", &path)?;
        for i in 0..b.num_rows() {
            m.insert(addr.value(i).to_string(), (id.value(i), e.value(i)));
        }
    }
    Ok(m)
}

/// Explains why `a` and `b` are (or are not) one entity.
pub fn why(lake: &Lake, chain: &str, a: &str, b: &str) -> Result<Explanation, EntityError> {
    check_chain(lake, chain)?;
    if a == b {
        return Err(EntityError::Usage(format!(
            "`why` needs two different addresses (got {a} twice)"
        )));
    }
    let index = address_index(lake, chain)?;
    let find = |x: &str| {
        index.get(x).copied().ok_or_else(|| {
            EntityError::NotFound(format!(
                "address {x} is not in chain {chain} of the lake (no output pays it)"
            ))
        })
    };
    let (ia, ea) = find(a)?;
    let (ib, eb) = find(b)?;
    let mut e = Explanation {
        a: a.into(),
        b: b.into(),
        entity_a: ea,
        entity_b: eb,
        same_entity: ea == eb,
        path: Vec::new(),
    };
    if ea != eb {
        return Ok(e);
    }
    // The merged edges inside the entity.
    let mut edges: Vec<Edge> = Vec::new();
    for (path, batch) in batches(lake, chain, "entity_merges")? {
        let status = string_col(&batch, "status", &path)?;
        let ida = int_col(&batch, "address_id_a", &path)?;
        let idb = int_col(&batch, "address_id_b", &path)?;
        let adda = string_col(&batch, "address_a", &path)?;
        let addb = string_col(&batch, "address_b", &path)?;
        let rule = string_col(&batch, "rule", &path)?;
        let heur = string_col(&batch, "heuristics", &path)?;
        let pos = int_col(&batch, "output_index", &path)?;
        let tx = string_col(&batch, "transaction_hash", &path)?;
        let block = int_col(&batch, "block_number", &path)?;
        let conf = batch
            .column_by_name("confidence")
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
            .ok_or_else(|| EntityError::BadFile {
                path: path.clone(),
                what: "no Float64 column confidence".into(),
            })?;
        for i in 0..batch.num_rows() {
            if status.value(i) != "merged" {
                continue;
            }
            let (x, y) = (ida.value(i), idb.value(i));
            let in_entity = |addr: &str| index.get(addr).is_some_and(|&(_, en)| en == ea);
            if !in_entity(adda.value(i)) || !in_entity(addb.value(i)) {
                continue;
            }
            edges.push(Edge {
                a: x,
                b: y,
                hop: Hop {
                    from: adda.value(i).to_string(),
                    to: addb.value(i).to_string(),
                    rule: rule.value(i).to_string(),
                    heuristics: (!heur.is_null(i)).then(|| heur.value(i).to_string()),
                    output_index: (!pos.is_null(i)).then(|| pos.value(i)),
                    transaction_hash: tx.value(i).to_string(),
                    block_number: block.value(i),
                    confidence: conf.value(i),
                },
            });
        }
    }
    let mut adj: FxHashMap<i64, Vec<usize>> = FxHashMap::default();
    for (k, ed) in edges.iter().enumerate() {
        adj.entry(ed.a).or_default().push(k);
        adj.entry(ed.b).or_default().push(k);
    }
    // Breadth-first from a to b.
    let mut prev: FxHashMap<i64, usize> = FxHashMap::default();
    let mut queue = VecDeque::from([ia]);
    let mut seen = rustc_hash::FxHashSet::default();
    seen.insert(ia);
    while let Some(x) = queue.pop_front() {
        if x == ib {
            break;
        }
        for &k in adj.get(&x).map(Vec::as_slice).unwrap_or(&[]) {
            let y = if edges[k].a == x {
                edges[k].b
            } else {
                edges[k].a
            };
            if seen.insert(y) {
                prev.insert(y, k);
                queue.push_back(y);
            }
        }
    }
    if !seen.contains(&ib) {
        return Err(EntityError::State {
            path: lake.table_dir(chain, "entity_merges"),
            what: format!(
                "{a} and {b} share entity {ea} but entity_merges holds no chain of merges between \
                 them (the tables come from different builds?); run `entities build --rebuild`"
            ),
        });
    }
    let mut x = ib;
    let mut hops = Vec::new();
    while x != ia {
        let k = prev[&x];
        let ed = &edges[k];
        let mut hop = ed.hop.clone();
        let other = if ed.a == x { ed.b } else { ed.a };
        if ed.a == x {
            // walk it from `other` to `x`
            std::mem::swap(&mut hop.from, &mut hop.to);
        }
        hops.push(hop);
        x = other;
    }
    hops.reverse();
    e.path = hops;
    Ok(e)
}

/// The explanation as text, one hop per line.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    if !e.same_entity {
        s.push_str(&format!(
            "{} (entity {}) and {} (entity {}) are not in one entity.\n",
            e.a, e.entity_a, e.b, e.entity_b
        ));
        return s;
    }
    s.push_str(&format!(
        "{} and {} are both in entity {}, by {} merge{}:\n",
        e.a,
        e.b,
        e.entity_a,
        e.path.len(),
        if e.path.len() == 1 { "" } else { "s" }
    ));
    for (k, h) in e.path.iter().enumerate() {
        let what = match (h.rule.as_str(), &h.heuristics, h.output_index) {
            ("change", Some(hs), Some(p)) => format!(
                "change output {p} picked by {hs} (confidence {:.2})",
                h.confidence
            ),
            ("deposit", hs, _) => format!(
                "deposit address forwarding {} to its hot wallet ({:.0} % of what it received)",
                hs.as_deref().unwrap_or("value"),
                h.confidence * 100.0
            ),
            _ => "spent together (multi-input)".to_string(),
        };
        s.push_str(&format!(
            "  {}. {} -> {}: {} in transaction {} (block {})\n",
            k + 1,
            h.from,
            h.to,
            what,
            h.transaction_hash,
            h.block_number
        ));
    }
    s
}
