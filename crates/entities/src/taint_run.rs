//! `ledgerflow taint`: seeds from the command line, propagation over the lake's ledger,
//! the result tables (`taint_outputs`, `taint_addresses`, `taint_entities`,
//! `taint_summary`) and a summary.

use std::collections::BTreeMap;

use ledgerflow_core::table::Sats;
use ledgerflow_core::BlockRange;
use ledgerflow_lake::writer::write_table_chunk;
use ledgerflow_lake::{Lake, WriteOptions};
use serde::Serialize;

use crate::error::EntityError;
use crate::ledger::{parse_hash, AddressBook, Ledger, NONE};
use crate::taint::{output_index, output_owner, propagate, unspent_at, TaintOptions};

/// One `--seed`: `[FAMILY=]TXID:N`, `[FAMILY=]TXID` (all its outputs) or
/// `[FAMILY=]ADDRESS` (every output paying it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSpec {
    /// The family (default `seed`).
    pub family: String,
    /// The text after `FAMILY=`.
    pub spec: String,
}

impl SeedSpec {
    /// Splits the family off; checks the outpoint syntax.
    pub fn parse(s: &str) -> Result<SeedSpec, EntityError> {
        let (family, spec) = match s.split_once('=') {
            Some((f, x)) if !f.is_empty() => (f.to_string(), x.to_string()),
            _ => ("seed".to_string(), s.to_string()),
        };
        if spec.is_empty() {
            return Err(EntityError::Usage(format!(
                "--seed {s:?}: nothing after the family name"
            )));
        }
        if let Some((tx, n)) = spec.split_once(':') {
            if parse_hash(tx).is_none() || n.parse::<u32>().is_err() {
                return Err(EntityError::Usage(format!(
                    "--seed {s:?}: a malformed outpoint (TXID:N needs a 64-digit hex txid and an \
                     output number)"
                )));
            }
        }
        Ok(SeedSpec { family, spec })
    }
}

ledgerflow_core::table! {
    /// `taint_outputs`: every output that received taint (seeds included).
    pub struct TaintOutputRow = "taint_outputs" {
        /// Seed family.
        family: String,
        /// Model.
        model: String,
        /// Block of the output.
        block_number: i64,
        /// Its transaction.
        transaction_hash: String,
        /// Its position.
        output_index: i64,
        /// Its address.
        address: String,
        /// Its value.
        value: Sats,
        /// Tainted base units.
        tainted: Sats,
        /// Transactions from the nearest seed.
        hops: i64,
        /// Whether it is unspent at the height bound (what `total_tainted` counts).
        unspent: bool,
    }
}

ledgerflow_core::table! {
    /// `taint_addresses`: taint per address.
    pub struct TaintAddressRow = "taint_addresses" {
        /// Seed family.
        family: String,
        /// The address.
        address: String,
        /// Its entity.
        entity_id: i64,
        /// Taint received over all its outputs.
        received: Sats,
        /// Taint held in its unspent outputs.
        held: Sats,
        /// Tainted outputs.
        outputs: i64,
    }
}

ledgerflow_core::table! {
    /// `taint_entities`: exposure per entity.
    pub struct TaintEntityRow = "taint_entities" {
        /// Seed family.
        family: String,
        /// Entity id (the address id when the chain has no `address_entity`).
        entity_id: i64,
        /// Its smallest address.
        entity: String,
        /// Taint received.
        received: Sats,
        /// Taint held unspent.
        held: Sats,
        /// Share of the family's seed value it received.
        exposure: f64,
        /// Nearest hop.
        min_hops: i64,
    }
}

ledgerflow_core::table! {
    /// `taint_summary`: one row per family.
    pub struct TaintSummaryRow = "taint_summary" {
        /// Seed family.
        family: String,
        /// Model.
        model: String,
        /// The seeds as given.
        seeds: String,
        /// Their value.
        seed_value: Sats,
        /// Taint held unspent at the height bound.
        total_tainted: Sats,
        /// Taint paid as fees.
        fee_taint: Sats,
        /// Taint cut off under --min-value.
        cut_off: Sats,
        /// Tainted outputs.
        outputs: i64,
        /// Addresses with taint.
        addresses: i64,
        /// Entities with taint.
        entities: i64,
        /// Largest hop count.
        max_hops: i64,
        /// The height bound (the lake's last block when none was given).
        max_height: i64,
    }
}

/// A family's summary.
#[derive(Debug, Clone, Serialize)]
pub struct FamilySummary {
    /// Name.
    pub family: String,
    /// Seeds as given.
    pub seeds: Vec<String>,
    /// Seed value, exact decimal.
    pub seed_value: String,
    /// Taint unspent at the bound, exact decimal.
    pub total_tainted: String,
    /// Taint paid as fees.
    pub fee_taint: String,
    /// Taint cut off.
    pub cut_off: String,
    /// Tainted outputs.
    pub outputs: u64,
    /// Addresses.
    pub addresses: u64,
    /// Entities.
    pub entities: u64,
    /// Largest hop.
    pub max_hops: u64,
    /// Taint received per hop (index = hops).
    pub by_hop: Vec<String>,
    /// The entities receiving most taint: (entity address, received).
    pub top_entities: Vec<(String, String)>,
}

/// What a taint run found.
#[derive(Debug, Clone, Serialize)]
pub struct TaintReport {
    /// Model.
    pub model: String,
    /// All seeds as given.
    pub seeds: Vec<String>,
    /// Total taint unspent at the bound, over the families.
    pub total_tainted: String,
    /// Tainted outputs (over the families).
    pub outputs: u64,
    /// Addresses.
    pub addresses: u64,
    /// Entities.
    pub entities: u64,
    /// Largest hop.
    pub max_hops: u64,
    /// The height bound.
    pub max_height: i64,
    /// Per family.
    pub families: Vec<FamilySummary>,
    /// Transactions in the ledger read.
    pub ledger_transactions: u64,
    /// Outputs in the ledger read.
    pub ledger_outputs: u64,
    /// Wall-clock seconds of the phases (the only part of the report that varies
    /// between runs; never written to a table).
    pub seconds: PhaseSeconds,
}

/// Wall-clock seconds of a run's phases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseSeconds {
    /// Reading the lake into the ledger.
    pub load: f64,
    /// Propagating the taint through the spend graph.
    pub propagate: f64,
    /// Building and writing the tables.
    pub write: f64,
}

fn resolve(l: &Ledger, s: &SeedSpec, chain: &str) -> Result<Vec<u32>, EntityError> {
    if let Some((tx, n)) = s.spec.split_once(':') {
        let t = l.tx_by_hex(tx).ok_or_else(|| {
            EntityError::NotFound(format!(
                "--seed {}: transaction {tx} is not in chain {chain} of the lake",
                s.spec
            ))
        })?;
        let n: u32 = n
            .parse()
            .map_err(|_| EntityError::Usage(format!("--seed {}: bad output number", s.spec)))?;
        let g = output_index(l, t, n).ok_or_else(|| {
            EntityError::NotFound(format!(
                "--seed {}: transaction {tx} has {} outputs, no output {n}",
                s.spec,
                l.outputs_of(t).len()
            ))
        })?;
        return Ok(vec![g]);
    }
    if let Some(t) = l.tx_by_hex(&s.spec) {
        let tx = &l.txs[t as usize];
        return Ok((tx.out_start..tx.out_end).collect());
    }
    if parse_hash(&s.spec).is_some() {
        return Err(EntityError::NotFound(format!(
            "--seed {}: no transaction with this txid in chain {chain} of the lake",
            s.spec
        )));
    }
    let Some(a) = l.book.id(&s.spec) else {
        return Err(EntityError::NotFound(format!(
            "--seed {}: neither an outpoint TXID:N, a txid nor an address of chain {chain} in the lake",
            s.spec
        )));
    };
    Ok((0..l.outputs.len() as u32)
        .filter(|&g| l.outputs[g as usize].addr == a)
        .collect())
}

/// Runs taint over the chain and writes the result tables (replacing an earlier run's).
pub fn run(
    lake: &Lake,
    chain: &str,
    seeds: &[SeedSpec],
    o: &TaintOptions,
) -> Result<TaintReport, EntityError> {
    if seeds.is_empty() {
        return Err(EntityError::Usage("give at least one --seed".into()));
    }
    let started = std::time::Instant::now();
    let l = Ledger::load(lake, chain, None, AddressBook::default())?;
    let load = started.elapsed().as_secs_f64();
    let last = l.heights().map(|h| h.1).unwrap_or(0);
    let bound = o.max_height.unwrap_or(last).min(last);
    // families in order of first mention
    let mut names: Vec<String> = Vec::new();
    let mut given: Vec<Vec<String>> = Vec::new();
    let mut outs: Vec<Vec<u32>> = Vec::new();
    for s in seeds {
        let k = match names.iter().position(|n| *n == s.family) {
            Some(k) => k,
            None => {
                names.push(s.family.clone());
                given.push(Vec::new());
                outs.push(Vec::new());
                names.len() - 1
            }
        };
        given[k].push(s.spec.clone());
        let g = resolve(&l, s, chain)?;
        if let Some(m) = o.max_height {
            if g.iter()
                .all(|&x| l.txs[output_owner(&l, x).0 as usize].height > m)
            {
                return Err(EntityError::Usage(format!(
                    "--seed {}: created after --max-height {m}",
                    s.spec
                )));
            }
        }
        outs[k].extend(g);
    }
    let entity_of: Vec<i64> = {
        let mut e: Vec<i64> = (0..l.book.len() as i64).collect();
        for (a, x) in
            crate::build::read_pairs(lake, chain, "address_entity", "address_id", "entity_id")?
        {
            if (a as usize) < e.len() {
                e[a as usize] = x;
            }
        }
        e
    };
    let started = std::time::Instant::now();
    let results = propagate(&l, &outs, o);
    let propagate_secs = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();

    let mut out_rows = Vec::new();
    let mut addr_rows = Vec::new();
    let mut ent_rows = Vec::new();
    let mut sum_rows = Vec::new();
    let mut fams = Vec::new();
    let (mut all_total, mut all_outputs, mut all_addrs, mut all_ents, mut all_hops) =
        (0u128, 0u64, 0u64, 0u64, 0u64);
    for (k, r) in results.iter().enumerate() {
        let fam = &names[k];
        let mut keys: Vec<u32> = r.outputs.keys().copied().collect();
        keys.sort_unstable();
        let mut per_addr: BTreeMap<u32, (u64, u64, i64)> = BTreeMap::new();
        let mut per_ent: BTreeMap<i64, (u64, u64, u32)> = BTreeMap::new();
        let mut by_hop: Vec<u64> = Vec::new();
        let mut total: u64 = 0;
        let mut max_hops = 0u32;
        for &g in &keys {
            let ot = &r.outputs[&g];
            let (t, pos) = output_owner(&l, g);
            let out = l.outputs[g as usize];
            let unspent = unspent_at(&l, g, Some(bound));
            if unspent {
                total += ot.amount;
            }
            max_hops = max_hops.max(ot.hops);
            if by_hop.len() <= ot.hops as usize {
                by_hop.resize(ot.hops as usize + 1, 0);
            }
            by_hop[ot.hops as usize] += ot.amount;
            out_rows.push(TaintOutputRow {
                family: fam.clone(),
                model: o.model.name().into(),
                block_number: l.txs[t as usize].height,
                transaction_hash: l.tx_hex(t),
                output_index: pos as i64,
                address: if out.addr == NONE {
                    String::new()
                } else {
                    l.book.name(out.addr).to_string()
                },
                value: Sats(out.value),
                tainted: Sats(ot.amount as i64),
                hops: ot.hops as i64,
                unspent,
            });
            if out.addr != NONE {
                let e = per_addr.entry(out.addr).or_default();
                e.0 += ot.amount;
                if unspent {
                    e.1 += ot.amount;
                }
                e.2 += 1;
                let en = per_ent
                    .entry(entity_of[out.addr as usize])
                    .or_insert((0, 0, u32::MAX));
                en.0 += ot.amount;
                if unspent {
                    en.1 += ot.amount;
                }
                en.2 = en.2.min(ot.hops);
            }
        }
        for (&a, &(rcv, held, n)) in &per_addr {
            addr_rows.push(TaintAddressRow {
                family: fam.clone(),
                address: l.book.name(a).to_string(),
                entity_id: entity_of[a as usize],
                received: Sats(rcv as i64),
                held: Sats(held as i64),
                outputs: n,
            });
        }
        let mut top: Vec<(i64, u64)> = per_ent.iter().map(|(&e, v)| (e, v.0)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (&e, &(rcv, held, h)) in &per_ent {
            ent_rows.push(TaintEntityRow {
                family: fam.clone(),
                entity_id: e,
                entity: l.book.name(e as u32).to_string(),
                received: Sats(rcv as i64),
                held: Sats(held as i64),
                exposure: if r.seed_value > 0 {
                    rcv as f64 / r.seed_value as f64
                } else {
                    0.0
                },
                min_hops: h as i64,
            });
        }
        sum_rows.push(TaintSummaryRow {
            family: fam.clone(),
            model: o.model.name().into(),
            seeds: given[k].join(","),
            seed_value: Sats(r.seed_value as i64),
            total_tainted: Sats(total as i64),
            fee_taint: Sats(r.fee_taint as i64),
            cut_off: Sats(r.cut_off as i64),
            outputs: keys.len() as i64,
            addresses: per_addr.len() as i64,
            entities: per_ent.len() as i64,
            max_hops: max_hops as i64,
            max_height: bound,
        });
        all_total += total as u128;
        all_outputs += keys.len() as u64;
        all_addrs += per_addr.len() as u64;
        all_ents += per_ent.len() as u64;
        all_hops = all_hops.max(max_hops as u64);
        fams.push(FamilySummary {
            family: fam.clone(),
            seeds: given[k].clone(),
            seed_value: r.seed_value.to_string(),
            total_tainted: total.to_string(),
            fee_taint: r.fee_taint.to_string(),
            cut_off: r.cut_off.to_string(),
            outputs: keys.len() as u64,
            addresses: per_addr.len() as u64,
            entities: per_ent.len() as u64,
            max_hops: max_hops as u64,
            by_hop: by_hop.iter().map(|x| x.to_string()).collect(),
            top_entities: top
                .iter()
                .take(10)
                .map(|&(e, v)| (l.book.name(e as u32).to_string(), v.to_string()))
                .collect(),
        });
    }

    let first = l.heights().map(|h| h.0).unwrap_or(0).max(0) as u64;
    let range = BlockRange::new(first, (bound.max(0) as u64).max(first));
    let wopts = WriteOptions::default();
    let mut written = Vec::new();
    let mut put = |table: &str,
                   batch: Result<arrow_array::RecordBatch, arrow_schema::ArrowError>|
     -> Result<(), EntityError> {
        let path = write_table_chunk(lake, chain, table, range, batch, &wopts)?;
        written.push((table.to_string(), path));
        Ok(())
    };
    put("taint_outputs", TaintOutputRow::to_batch(&out_rows))?;
    put("taint_addresses", TaintAddressRow::to_batch(&addr_rows))?;
    put("taint_entities", TaintEntityRow::to_batch(&ent_rows))?;
    put("taint_summary", TaintSummaryRow::to_batch(&sum_rows))?;
    for (table, path) in &written {
        lake.remove_chunks_except(chain, table, &[path.as_path()])?;
    }
    Ok(TaintReport {
        model: o.model.name().into(),
        seeds: seeds
            .iter()
            .map(|s| format!("{}={}", s.family, s.spec))
            .collect(),
        total_tainted: all_total.to_string(),
        outputs: all_outputs,
        addresses: all_addrs,
        entities: all_ents,
        max_hops: all_hops,
        max_height: bound,
        families: fams,
        ledger_transactions: l.txs.len() as u64,
        ledger_outputs: l.outputs.len() as u64,
        seconds: PhaseSeconds {
            load,
            propagate: propagate_secs,
            write: started.elapsed().as_secs_f64(),
        },
    })
}
