//! Aggregating transfers into graph edges.

use ledgerflow_core::table::Timestamp;
use rustc_hash::FxHashMap;

use crate::tables::EdgeRow;

#[derive(Debug, Clone, Copy)]
struct Agg {
    value: f64,
    txs: i64,
    last_tx: u64,
    first_block: i64,
    last_block: i64,
    first_time: i64,
    last_time: i64,
}

/// Sums transfers per directed pair of nodes; transfers must come in chain order.
#[derive(Debug, Default)]
pub struct EdgeBuilder {
    map: FxHashMap<(u32, u32), Agg>,
}

impl EdgeBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` moved from `src` to `dst` by transaction number `tx` (several
    /// transfers of one transaction count it once) at `block` / `time`.
    pub fn add(&mut self, src: u32, dst: u32, value: f64, tx: u64, block: i64, time: i64) {
        let a = self.map.entry((src, dst)).or_insert(Agg {
            value: 0.0,
            txs: 0,
            last_tx: u64::MAX,
            first_block: block,
            last_block: block,
            first_time: time,
            last_time: time,
        });
        a.value += value;
        if a.last_tx != tx {
            a.txs += 1;
            a.last_tx = tx;
        }
        a.last_block = a.last_block.max(block);
        a.first_block = a.first_block.min(block);
        a.last_time = a.last_time.max(time);
        a.first_time = a.first_time.min(time);
    }

    /// Number of edges so far.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The edge rows, sorted by (source, target); `name` gives a node's address and `id`
    /// its lake id.
    pub fn rows(self, name: impl Fn(u32) -> String, id: impl Fn(u32) -> i64) -> Vec<EdgeRow> {
        let mut v: Vec<((u32, u32), Agg)> = self.map.into_iter().collect();
        v.sort_unstable_by_key(|x| x.0);
        v.into_iter()
            .map(|((s, d), a)| EdgeRow {
                src_id: id(s),
                dst_id: id(d),
                src: name(s),
                dst: name(d),
                value: a.value,
                tx_count: a.txs,
                first_block: a.first_block,
                last_block: a.last_block,
                first_seen: Timestamp(a.first_time),
                last_seen: Timestamp(a.last_time),
            })
            .collect()
    }
}
