//! The UTXO transaction graph: an edge from each input address (or entity) to each
//! output address (or entity) of a transaction, carrying the output's value times the
//! input's share of the transaction's input value (GraphSense's estimated value), so a
//! transaction's edges sum to its output value. Self-edges (change back to a spender)
//! and, at entity level, edges inside one entity are left out; coinbase transactions have
//! no sender and give no edge.

use ledgerflow_graph::edges::EdgeBuilder;
use ledgerflow_graph::tables::EdgeRow;
use rustc_hash::FxHashMap;

use crate::ledger::{Ledger, NONE};

/// The edges of the ledger. With `entity_of` (address id → entity id), between entities.
pub fn utxo_edges(l: &Ledger, entity_of: Option<&[u32]>) -> Vec<EdgeRow> {
    let node = |a: u32| match entity_of {
        Some(e) => e[a as usize],
        None => a,
    };
    let mut b = EdgeBuilder::new();
    let mut ins: FxHashMap<u32, i64> = FxHashMap::default();
    let mut outs: FxHashMap<u32, i64> = FxHashMap::default();
    let mut in_list: Vec<(u32, i64)> = Vec::new();
    let mut out_list: Vec<(u32, i64)> = Vec::new();
    for t in 0..l.txs.len() as u32 {
        let tx = &l.txs[t as usize];
        if tx.coinbase {
            continue;
        }
        ins.clear();
        outs.clear();
        for i in l.inputs_of(t) {
            if i.addr != NONE {
                *ins.entry(node(i.addr)).or_default() += i.value;
            }
        }
        for o in l.outputs_of(t) {
            if o.addr != NONE {
                *outs.entry(node(o.addr)).or_default() += o.value;
            }
        }
        let total: i64 = ins.values().sum();
        if total <= 0 {
            continue;
        }
        in_list.clear();
        in_list.extend(ins.iter().map(|(k, v)| (*k, *v)));
        in_list.sort_unstable();
        out_list.clear();
        out_list.extend(outs.iter().map(|(k, v)| (*k, *v)));
        out_list.sort_unstable();
        for &(a, va) in &in_list {
            let share = va as f64 / total as f64;
            for &(d, vd) in &out_list {
                if a != d {
                    b.add(a, d, vd as f64 * share, t as u64, tx.height, tx.time);
                }
            }
        }
    }
    b.rows(|i| l.book.name(i).to_string(), |i| i as i64)
}
