//! Graphs in the lake: reading an edge table (`address_graph`, `entity_graph`) into a
//! [`Csr`] with the node names, and writing result tables (one file per table, replacing
//! the previous result).

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use ledgerflow_core::table::Timestamp;
use ledgerflow_core::BlockRange;
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::{Lake, WriteOptions};
use rustc_hash::FxHashMap;

use crate::csr::{Csr, Edge};
use crate::error::GraphError;
use crate::tables::EdgeRow;

/// Graph level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Addresses.
    Address,
    /// Entities (clusters).
    #[default]
    Entity,
}

impl Level {
    /// `address` or `entity`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Address => "address",
            Level::Entity => "entity",
        }
    }

    /// The table of a result at this level: `entity_pagerank`, `address_graph`, ….
    pub fn table(self, what: &str) -> String {
        format!("{}_{what}", self.name())
    }
}

/// A graph read from the lake: nodes are the endpoints of its edges, numbered densely in
/// the order of their lake ids.
#[derive(Debug, Clone)]
pub struct LakeGraph {
    /// The graph (local node numbers).
    pub csr: Csr,
    /// Lake id of each local node.
    pub ids: Vec<i64>,
    /// Address of each local node.
    pub names: Vec<String>,
    /// Blocks the edges span.
    pub range: BlockRange,
    /// The edge rows as read.
    pub edges: Vec<EdgeRow>,
    by_name: FxHashMap<String, u32>,
}

impl LakeGraph {
    /// Builds from edge rows.
    pub fn from_rows(edges: Vec<EdgeRow>) -> LakeGraph {
        let mut ids: Vec<(i64, String)> = Vec::with_capacity(edges.len());
        for e in &edges {
            ids.push((e.src_id, e.src.clone()));
            ids.push((e.dst_id, e.dst.clone()));
        }
        ids.sort_unstable_by_key(|x| x.0);
        ids.dedup_by_key(|x| x.0);
        let local: FxHashMap<i64, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i as u32))
            .collect();
        let list: Vec<Edge> = edges
            .iter()
            .map(|e| Edge {
                src: local[&e.src_id],
                dst: local[&e.dst_id],
                weight: e.value,
            })
            .collect();
        let csr = Csr::from_edges(ids.len(), &list);
        let lo = edges
            .iter()
            .map(|e| e.first_block)
            .min()
            .unwrap_or(0)
            .max(0) as u64;
        let hi = edges.iter().map(|e| e.last_block).max().unwrap_or(0).max(0) as u64;
        let by_name = ids
            .iter()
            .enumerate()
            .map(|(i, (_, n))| (n.clone(), i as u32))
            .collect();
        LakeGraph {
            csr,
            names: ids.iter().map(|x| x.1.clone()).collect(),
            ids: ids.into_iter().map(|x| x.0).collect(),
            range: BlockRange::new(lo, hi.max(lo)),
            edges,
            by_name,
        }
    }

    /// Reads `<level>_graph` of a chain.
    pub fn load(lake: &Lake, chain: &str, level: Level) -> Result<LakeGraph, GraphError> {
        let table = level.table("graph");
        let (chunks, _) = lake.parquet_chunks(chain, &table)?;
        if chunks.is_empty() {
            return Err(GraphError::NoGraph {
                chain: chain.into(),
                table,
                dir: lake.table_dir(chain, &level.table("graph")),
            });
        }
        let mut rows = Vec::new();
        for c in chunks {
            read_edges(&c.path, &mut rows)?;
        }
        Ok(LakeGraph::from_rows(rows))
    }

    /// The local node of an address (or, at entity level, of any address naming an
    /// entity: its smallest one).
    pub fn node(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }
}

fn read_edges(path: &Path, out: &mut Vec<EdgeRow>) -> Result<(), GraphError> {
    let bad = |what: String| GraphError::BadFile {
        path: path.to_path_buf(),
        what,
    };
    for_each_batch(path, Columns::All, None, |b| {
        let int = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| bad(format!("no Int64 column {n}")))
        };
        let string = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| bad(format!("no string column {n}")))
        };
        let ts = |n: &str| {
            b.column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
                .ok_or_else(|| bad(format!("no timestamp column {n}")))
        };
        let (si, di, s, d) = (
            int("src_id")?,
            int("dst_id")?,
            string("src")?,
            string("dst")?,
        );
        let v = b
            .column_by_name("value")
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
            .ok_or_else(|| bad("no Float64 column value".into()))?;
        let (tc, fb, lb) = (int("tx_count")?, int("first_block")?, int("last_block")?);
        let (fs, ls) = (ts("first_seen")?, ts("last_seen")?);
        for i in 0..b.num_rows() {
            if si.is_null(i) || di.is_null(i) {
                continue;
            }
            out.push(EdgeRow {
                src_id: si.value(i),
                dst_id: di.value(i),
                src: s.value(i).to_string(),
                dst: d.value(i).to_string(),
                value: v.value(i),
                tx_count: tc.value(i),
                first_block: fb.value(i),
                last_block: lb.value(i),
                first_seen: Timestamp(fs.value(i).div_euclid(1_000_000)),
                last_seen: Timestamp(ls.value(i).div_euclid(1_000_000)),
            });
        }
        Ok(())
    })
}

/// Writes `batch` as the one file of `table` (named by `range`) and removes the table's
/// other chunk files: a result replaces the previous one.
pub fn replace_table(
    lake: &Lake,
    chain: &str,
    table: &str,
    range: BlockRange,
    batch: Result<RecordBatch, arrow_schema::ArrowError>,
) -> Result<PathBuf, GraphError> {
    Ok(ledgerflow_lake::writer::replace_table(
        lake,
        chain,
        table,
        range,
        batch,
        &WriteOptions::default(),
    )?)
}
