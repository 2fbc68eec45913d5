//! `entities build`: read the chain's transactions, cluster (from scratch or from where the
//! last build stopped), and write the entity tables into the chain folder.
//!
//! A build keeps `<lake>/<chain>/_entities/state.json`: the options, the number of
//! transactions clustered and the last one's hash. The next build with the same options,
//! on a lake that only grew (that transaction is still where it was), restores the
//! partition from `address_entity`, clusters only the new transactions and appends their
//! evidence (`entity_merges`, `coinjoins`, `change_outputs`) as a chunk for the new
//! blocks; the whole-chain tables (`addresses`, `address_entity`, `entities`) are
//! rewritten. Anything else (other options, a lake that changed below the old tip,
//! `--rebuild`, or a change heuristic that looks at later spends: `locktime`,
//! `peeling-chain`, `spent`) clusters from scratch. Either way the result equals a build
//! from scratch.
//!
//! Nothing is written until everything is computed; each file is written atomically, the
//! state last, and superseded files are removed after it.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::Array;
use ledgerflow_core::table::{Sats, Timestamp};
use ledgerflow_core::BlockRange;
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::writer::{write_bytes_atomic, write_table_chunk};
use ledgerflow_lake::{Lake, WriteOptions};
use serde::{Deserialize, Serialize};

use crate::cluster::{Clustering, MergeRule, Options};
use crate::error::{io, EntityError};
use crate::ledger::{AddrType, AddressBook, Ledger, NONE};
use crate::tables::*;

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The chain folder.
    pub chain: String,
    /// Blocks covered.
    pub first_block: i64,
    /// Last block.
    pub last_block: i64,
    /// Transactions in the lake.
    pub transactions: u64,
    /// Transactions clustered by this run (all of them, or the new ones on resume).
    pub clustered: u64,
    /// Inputs in the lake.
    pub inputs: u64,
    /// Addresses.
    pub addresses: u64,
    /// Entities.
    pub entities: u64,
    /// Entities with more than one address.
    pub multi_address_entities: u64,
    /// The largest entity's address count.
    pub largest_entity: u64,
    /// Unions made.
    pub merges: u64,
    /// Unions refused by the guard (both clusters too large, or differently labelled).
    pub refused_guard: u64,
    /// Change picks refused for low confidence.
    pub refused_confidence: u64,
    /// CoinJoins detected (whole chain).
    pub coinjoins: u64,
    /// Change outputs picked (whole chain).
    pub change_outputs: u64,
    /// `resumed` or `rebuilt` (with why).
    pub mode: String,
    /// The options.
    pub options: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct State {
    version: u32,
    options: String,
    tx_count: u64,
    last_tx: String,
    last_block: i64,
    /// Totals of the evidence tables so far (for the report).
    merges: u64,
    refused_guard: u64,
    refused_confidence: u64,
    coinjoins: u64,
    change_outputs: u64,
}

const STATE_VERSION: u32 = 1;

fn state_path(lake: &Lake, chain: &str) -> PathBuf {
    lake.root().join(chain).join("_entities").join("state.json")
}

fn read_state(path: &Path) -> Result<Option<State>, EntityError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| EntityError::State {
            path: path.to_path_buf(),
            what: e.to_string(),
        })
}

/// Builds (or extends) the entity tables of `chain`.
pub fn build(
    lake: &Lake,
    chain: &str,
    opts: &Options,
    rebuild: bool,
) -> Result<BuildReport, EntityError> {
    let ledger = Ledger::load(lake, chain, None, AddressBook::default())?;
    let Some((first_block, last_block)) = ledger.heights() else {
        return Err(EntityError::NoTable {
            chain: chain.into(),
            table: "transactions".into(),
            dir: lake.table_dir(chain, "transactions"),
            hint: "its chunk files hold no transaction",
        });
    };
    let spath = state_path(lake, chain);
    let old = read_state(&spath)?;
    let described = opts.describe();
    let why_rebuild = match &old {
        _ if rebuild => Some("--rebuild".to_string()),
        None => Some("no earlier build".to_string()),
        Some(s) if s.version != STATE_VERSION => Some("an older state format".into()),
        Some(s) if s.options != described => Some(format!("other options (before: {})", s.options)),
        Some(_) if opts.change.looks_ahead() => {
            Some("a change heuristic looks at later spends (locktime, peeling-chain, spent)".into())
        }
        Some(s)
            if s.tx_count as usize > ledger.txs.len()
                || s.tx_count == 0
                || ledger.tx_hex(s.tx_count as u32 - 1) != s.last_tx =>
        {
            Some("the lake changed below the last build's tip".into())
        }
        Some(s)
            if ledger
                .txs
                .get(s.tx_count as usize)
                .is_some_and(|t| t.height <= s.last_block) =>
        {
            Some("the last build stopped inside a block".into())
        }
        Some(_) => None,
    };
    let mut c = Clustering::new(ledger.book.len());
    let (from_block, prev) = match (&why_rebuild, &old) {
        (None, Some(s)) => {
            restore(lake, chain, &mut c)?;
            c.done = s.tx_count as u32;
            (s.last_block + 1, Some(s.clone()))
        }
        _ => (first_block, None),
    };
    let before = c.done;
    c.extend(&ledger, opts);
    let clustered = (c.done - before) as u64;
    let entity_of = c.entity_ids();

    // Compute every row before writing anything.
    let addresses = address_rows(&ledger);
    let address_entity: Vec<AddressEntityRow> = (0..ledger.book.len())
        .map(|i| AddressEntityRow {
            address_id: i as i64,
            address: ledger.book.name(i as u32).to_string(),
            entity_id: entity_of[i] as i64,
        })
        .collect();
    let entities = entity_rows(&ledger, &entity_of, &c);
    let merges = merge_rows(&ledger, &c, opts);
    let coinjoins: Vec<CoinJoinRow> = c
        .coinjoins
        .iter()
        .map(|(t, d)| CoinJoinRow {
            block_number: ledger.txs[*t as usize].height,
            transaction_hash: ledger.tx_hex(*t),
            rule: d.rule.name().into(),
            input_count: ledger.inputs_of(*t).len() as i64,
            output_count: ledger.outputs_of(*t).len() as i64,
            equal_value: Sats(d.equal_value),
            equal_count: d.equal_count as i64,
        })
        .collect();
    let heur = opts.change.describe();
    let changes: Vec<ChangeOutputRow> = c
        .changes
        .iter()
        .map(|(t, pos, conf)| {
            let o = ledger.outputs_of(*t)[*pos as usize];
            ChangeOutputRow {
                block_number: ledger.txs[*t as usize].height,
                transaction_hash: ledger.tx_hex(*t),
                output_index: *pos as i64,
                address: if o.addr == NONE {
                    String::new()
                } else {
                    ledger.book.name(o.addr).to_string()
                },
                value: Sats(o.value),
                heuristics: heur.clone(),
                confidence: *conf,
            }
        })
        .collect();

    // Write.
    let wopts = WriteOptions::default();
    let whole = BlockRange::new(first_block as u64, last_block as u64);
    let mut keep: Vec<PathBuf> = Vec::new();
    let mut write = |table: &str,
                     range: BlockRange,
                     batch: Result<arrow_array::RecordBatch, arrow_schema::ArrowError>|
     -> Result<(), EntityError> {
        keep.push(write_table_chunk(lake, chain, table, range, batch, &wopts)?);
        Ok(())
    };
    write("addresses", whole, AddressRow::to_batch(&addresses))?;
    write(
        "address_entity",
        whole,
        AddressEntityRow::to_batch(&address_entity),
    )?;
    write("entities", whole, EntityRow::to_batch(&entities))?;
    let nothing_new = prev.is_some() && clustered == 0;
    if !nothing_new {
        let added = BlockRange::new(from_block.max(first_block) as u64, last_block as u64);
        write("entity_merges", added, EntityMergeRow::to_batch(&merges))?;
        write("coinjoins", added, CoinJoinRow::to_batch(&coinjoins))?;
        write("change_outputs", added, ChangeOutputRow::to_batch(&changes))?;
    }
    let count =
        |s: crate::cluster::Status| c.merges.iter().filter(|m| m.status == s).count() as u64;
    let base = prev.clone().unwrap_or(State {
        version: STATE_VERSION,
        options: described.clone(),
        tx_count: 0,
        last_tx: String::new(),
        last_block: 0,
        merges: 0,
        refused_guard: 0,
        refused_confidence: 0,
        coinjoins: 0,
        change_outputs: 0,
    });
    let state = State {
        version: STATE_VERSION,
        options: described.clone(),
        tx_count: ledger.txs.len() as u64,
        last_tx: ledger.tx_hex(ledger.txs.len() as u32 - 1),
        last_block,
        merges: base.merges + count(crate::cluster::Status::Merged),
        refused_guard: base.refused_guard
            + count(crate::cluster::Status::RefusedGuard)
            + count(crate::cluster::Status::RefusedLabels),
        refused_confidence: base.refused_confidence
            + count(crate::cluster::Status::RefusedConfidence),
        coinjoins: base.coinjoins + c.coinjoins.len() as u64,
        change_outputs: base.change_outputs + c.changes.len() as u64,
    };
    let json = serde_json::to_vec_pretty(&state).map_err(|e| EntityError::State {
        path: spath.clone(),
        what: e.to_string(),
    })?;
    if let Some(dir) = spath.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    write_bytes_atomic(&spath, &json)?;
    // Remove what the new files supersede: every other file of the whole tables; of the
    // evidence tables, everything on a rebuild and nothing on a resume.
    for table in WHOLE_TABLES.iter().chain(EVIDENCE_TABLES.iter()) {
        let evidence = EVIDENCE_TABLES.contains(table);
        if evidence && prev.is_some() {
            continue;
        }
        let keep: Vec<&Path> = keep.iter().map(PathBuf::as_path).collect();
        lake.remove_chunks_except(chain, table, &keep)?;
    }

    let multi = entities.iter().filter(|e| e.address_count > 1).count() as u64;
    Ok(BuildReport {
        chain: chain.into(),
        first_block,
        last_block,
        transactions: ledger.txs.len() as u64,
        clustered,
        inputs: ledger.inputs.len() as u64,
        addresses: ledger.book.len() as u64,
        entities: entities.len() as u64,
        multi_address_entities: multi,
        largest_entity: entities.iter().map(|e| e.address_count).max().unwrap_or(0) as u64,
        merges: state.merges,
        refused_guard: state.refused_guard,
        refused_confidence: state.refused_confidence,
        coinjoins: state.coinjoins,
        change_outputs: state.change_outputs,
        mode: match why_rebuild {
            None => "resumed".into(),
            Some(w) => format!("built from scratch ({w})"),
        },
        options: described,
    })
}

/// Restores the partition of the last build from `address_entity`.
fn restore(lake: &Lake, chain: &str, c: &mut Clustering) -> Result<(), EntityError> {
    for (id, entity) in read_pairs(lake, chain, "address_entity", "address_id", "entity_id")? {
        if id as usize >= c.uf.len() || entity as usize >= c.uf.len() || id < 0 || entity < 0 {
            return Err(EntityError::State {
                path: lake.table_dir(chain, "address_entity"),
                what: format!("address id {id} or entity {entity} is not in the lake"),
            });
        }
        c.uf.union(id as u32, entity as u32);
    }
    Ok(())
}

/// Two Int64 columns of every Parquet chunk of a table (none when it has no chunk).
pub fn read_pairs(
    lake: &Lake,
    chain: &str,
    table: &str,
    a: &str,
    b: &str,
) -> Result<Vec<(i64, i64)>, EntityError> {
    let mut out = Vec::new();
    let (chunks, _) = lake.parquet_chunks(chain, table)?;
    for ch in chunks {
        for_each_batch(&ch.path, Columns::Named(&[a, b]), None, |batch| {
            let col = |n: &str| {
                batch
                    .column_by_name(n)
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| EntityError::BadFile {
                        path: ch.path.clone(),
                        what: format!("no Int64 column {n}"),
                    })
            };
            let (x, y) = (col(a)?, col(b)?);
            for i in 0..batch.num_rows() {
                if !x.is_null(i) && !y.is_null(i) {
                    out.push((x.value(i), y.value(i)));
                }
            }
            Ok::<(), EntityError>(())
        })?;
    }
    Ok(out)
}

fn address_rows(l: &Ledger) -> Vec<AddressRow> {
    let n = l.book.len();
    let mut received = vec![0i64; n];
    let mut sent = vec![0i64; n];
    let mut outs = vec![0i64; n];
    let mut ins = vec![0i64; n];
    for o in &l.outputs {
        if o.addr != NONE {
            received[o.addr as usize] += o.value;
            outs[o.addr as usize] += 1;
        }
    }
    for i in &l.inputs {
        if i.addr != NONE {
            sent[i.addr as usize] += i.value;
            ins[i.addr as usize] += 1;
        }
    }
    (0..n)
        .map(|i| AddressRow {
            id: i as i64,
            address: l.book.names[i].to_string(),
            type_: l.book.kinds[i].name().into(),
            first_block: l.book.first_height[i],
            last_block: l.book.last_height[i],
            received: Sats(received[i]),
            sent: Sats(sent[i]),
            output_count: outs[i],
            input_count: ins[i],
        })
        .collect()
}

fn entity_rows(l: &Ledger, entity_of: &[u32], c: &Clustering) -> Vec<EntityRow> {
    // Dense index of the entities, in entity id order.
    let n = entity_of.len();
    let mut slot = vec![NONE; n];
    let mut ids: Vec<u32> = Vec::new();
    for (i, &e) in entity_of.iter().enumerate() {
        if e as usize == i {
            slot[i] = ids.len() as u32;
            ids.push(e);
        }
    }
    let m = ids.len();
    let mut rows: Vec<EntityRow> = ids
        .iter()
        .map(|&e| EntityRow {
            entity_id: e as i64,
            first_block: i64::MAX,
            last_block: i64::MIN,
            first_seen: Timestamp(i64::MAX),
            last_seen: Timestamp(i64::MIN),
            ..EntityRow::default()
        })
        .collect();
    let mut types = vec![[0u32; AddrType::ALL.len()]; m];
    for i in 0..n {
        let s = slot[entity_of[i] as usize] as usize;
        let r = &mut rows[s];
        r.address_count += 1;
        r.first_block = r.first_block.min(l.book.first_height[i]);
        r.last_block = r.last_block.max(l.book.last_height[i]);
        types[s][l.book.kinds[i].index()] += 1;
    }
    let mut cj = vec![false; l.txs.len()];
    for (t, _) in &c.coinjoins {
        cj[*t as usize] = true;
    }
    let mut seen_in: Vec<u32> = Vec::new();
    let mut seen_out: Vec<u32> = Vec::new();
    for t in 0..l.txs.len() as u32 {
        let tx = &l.txs[t as usize];
        seen_in.clear();
        seen_out.clear();
        for i in l.inputs_of(t) {
            if i.addr != NONE {
                let s = slot[entity_of[i.addr as usize] as usize];
                rows[s as usize].sent.0 += i.value;
                seen_in.push(s);
            }
        }
        for o in l.outputs_of(t) {
            if o.addr != NONE {
                let s = slot[entity_of[o.addr as usize] as usize];
                rows[s as usize].received.0 += o.value;
                seen_out.push(s);
            }
        }
        seen_in.sort_unstable();
        seen_in.dedup();
        seen_out.sort_unstable();
        seen_out.dedup();
        for &s in &seen_in {
            let r = &mut rows[s as usize];
            r.sent_tx_count += 1;
            if cj[t as usize] {
                r.coinjoin_count += 1;
            }
        }
        for &s in &seen_out {
            rows[s as usize].received_tx_count += 1;
        }
        // tx_count: the union of both lists (each sorted and unique).
        let (mut a, mut b) = (0, 0);
        while a < seen_in.len() || b < seen_out.len() {
            let s = match (seen_in.get(a), seen_out.get(b)) {
                (Some(&x), Some(&y)) if x == y => {
                    a += 1;
                    b += 1;
                    x
                }
                (Some(&x), Some(&y)) if x < y => {
                    a += 1;
                    x
                }
                (Some(_), Some(&y)) => {
                    b += 1;
                    y
                }
                (Some(&x), None) => {
                    a += 1;
                    x
                }
                (None, Some(&y)) => {
                    b += 1;
                    y
                }
                (None, None) => break,
            };
            let r = &mut rows[s as usize];
            r.tx_count += 1;
            r.first_seen = Timestamp(r.first_seen.0.min(tx.time));
            r.last_seen = Timestamp(r.last_seen.0.max(tx.time));
        }
    }
    for (s, r) in rows.iter_mut().enumerate() {
        r.balance = Sats(r.received.0 - r.sent.0);
        if r.first_seen.0 == i64::MAX {
            r.first_seen = Timestamp(0);
            r.last_seen = Timestamp(0);
        }
        r.script_types = AddrType::ALL
            .iter()
            .filter(|k| types[s][k.index()] > 0)
            .map(|k| format!("{}:{}", k.name(), types[s][k.index()]))
            .collect::<Vec<_>>()
            .join(",");
    }
    rows
}

fn merge_rows(l: &Ledger, c: &Clustering, opts: &Options) -> Vec<EntityMergeRow> {
    let heur = opts.change.describe();
    c.merges
        .iter()
        .map(|m| {
            let (rule, heuristics, output_index) = match m.rule {
                MergeRule::MultiInput => ("multi-input", None, None),
                MergeRule::Change(p) => ("change", Some(heur.clone()), Some(p as i64)),
            };
            EntityMergeRow {
                block_number: l.txs[m.tx as usize].height,
                transaction_hash: l.tx_hex(m.tx),
                rule: rule.into(),
                heuristics,
                output_index,
                address_id_a: m.a as i64,
                address_a: l.book.name(m.a).to_string(),
                address_id_b: m.b as i64,
                address_b: l.book.name(m.b).to_string(),
                confidence: m.confidence,
                status: m.status.name().into(),
                size_a: m.size_a as i64,
                size_b: m.size_b as i64,
            }
        })
        .collect()
}
