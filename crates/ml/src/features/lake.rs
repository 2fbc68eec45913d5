//! The extract side of features: where windows end in the chain, reading the lake up to
//! there and no further, the Merkle root of what was read, and the Parquet file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit, TimestampMicrosecondType};
use arrow_schema::ArrowError;
use ledgerflow_entities::ledger::Ledger;
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::writer::WriteOptions;
use ledgerflow_lake::Lake;
use serde::{Deserialize, Serialize};

use super::evm::{EvmChain, EvmInput, EvmTransfer, EvmTx};
use super::utxo::UtxoInput;
use super::{AddressLabels, FeatureDef, Level, WindowFeatures};
use crate::error::{MlError, Result};
use crate::table::LakeInput;

/// The key of the feature metadata in the Parquet footer.
pub const META_KEY: &str = crate::table::FEATURES_META_KEY;
/// The lake table labels are read from.
pub const LABELS_TABLE: &str = "address_labels";

/// What to extract.
#[derive(Debug, Clone)]
pub struct Request {
    pub lake: PathBuf,
    pub chain: String,
    pub level: Level,
    /// Window length, seconds.
    pub window: i64,
    /// End of the last window (Unix seconds, inclusive); `None`: the last block's time.
    pub until: Option<i64>,
    /// Read no block above this one, whatever the windows' times say (blocks can share a
    /// timestamp, so a time alone cannot stop at a given block): the oracle's `train`
    /// job stops at its dataset's last block. `None`: no cap.
    pub until_block: Option<i64>,
    /// Seconds between window ends.
    pub step: i64,
    /// Number of windows.
    pub windows: usize,
    /// Use `address_labels` (neighbour label shares and the `label` column) when the lake
    /// has it.
    pub labels: bool,
    /// With labels: also the neighbour label shares (off: the label columns only, so no
    /// feature is computed from labels, e.g. when evaluating look-alikes).
    pub label_features: bool,
    pub threads: usize,
}

/// Which kind of chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Utxo,
    Evm,
}

/// One window as recorded in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowMeta {
    pub start: i64,
    pub end: i64,
    pub first_block: Option<i64>,
    pub last_block: Option<i64>,
    pub rows: u64,
}

/// The metadata a feature file carries (JSON under [`META_KEY`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    pub format: String,
    pub version: u32,
    pub kind: ChainKind,
    pub level: Level,
    pub id_column: String,
    /// Columns that are not features (the loader leaves them out by itself).
    pub non_features: Vec<String>,
    pub windows: Vec<WindowMeta>,
    pub columns: Vec<FeatureDef>,
    pub lake: LakeInput,
    pub labels: Option<LabelsMeta>,
}

/// Which labels went into the features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsMeta {
    pub categories: Vec<String>,
    pub addresses: u64,
}

/// A finished extraction.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub windows: Vec<WindowFeatures>,
    pub meta: FeatureMeta,
}

fn lake_err(e: ledgerflow_lake::LakeError) -> MlError {
    MlError::Lake(e)
}

fn bad(path: &Path, what: impl Into<String>) -> MlError {
    MlError::table(path, what)
}

/// Typed columns of one record batch of `table`, with errors naming the file.
struct Cols<'a> {
    b: &'a RecordBatch,
    path: &'a Path,
    table: &'a str,
}

impl<'a> Cols<'a> {
    fn text(&self, n: &str) -> Result<&'a StringArray> {
        self.b
            .column_by_name(n)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| bad(self.path, format!("{}: no text column `{n}`", self.table)))
    }

    fn int(&self, n: &str) -> Result<&'a arrow::array::Int64Array> {
        self.b
            .column_by_name(n)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| {
                bad(
                    self.path,
                    format!("{}: no 64-bit integer column `{n}`", self.table),
                )
            })
    }

    fn micros(&self, n: &str) -> Result<&'a arrow::array::TimestampMicrosecondArray> {
        self.b
            .column_by_name(n)
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or_else(|| {
                bad(
                    self.path,
                    format!("{}: no microsecond timestamp column `{n}`", self.table),
                )
            })
    }
}

/// Block number and time (seconds) of every block of the chain, in number order: from
/// the `blocks` table, or, in a lake without one, from the `block_number` and
/// `block_timestamp` columns of `transactions` (only those two columns are read).
pub fn block_times(lake: &Lake, chain: &str) -> Result<Vec<(i64, i64)>> {
    let (mut chunks, _) = lake.parquet_chunks(chain, "blocks").map_err(lake_err)?;
    let (mut num_col, mut ts_col, mut table) = ("number", "timestamp", "blocks");
    if chunks.is_empty() {
        chunks = lake
            .parquet_chunks(chain, "transactions")
            .map_err(lake_err)?
            .0;
        (num_col, ts_col, table) = ("block_number", "block_timestamp", "transactions");
    }
    let mut out: Vec<(i64, i64)> = Vec::new();
    for c in &chunks {
        let p = &c.path;
        for_each_batch(p, Columns::Named(&[num_col, ts_col]), None, |b| {
            let c = Cols { b, path: p, table };
            let (num, ts) = (c.int(num_col)?, c.micros(ts_col)?);
            for r in 0..b.num_rows() {
                out.push((num.value(r), ts.value(r).div_euclid(1_000_000)));
            }
            Ok::<(), MlError>(())
        })?;
    }
    out.sort_unstable();
    out.dedup_by_key(|b| b.0);
    Ok(out)
}

/// The last block of the chain prefix that ends at `t`: the block before the first one
/// stamped after `t` (`None`: the first block already is).
pub fn cut(blocks: &[(i64, i64)], t: i64) -> Option<i64> {
    match blocks.iter().position(|&(_, bt)| bt > t) {
        Some(0) => None,
        Some(i) => Some(blocks[i - 1].0),
        None => blocks.last().map(|b| b.0),
    }
}

/// Address → (its majority category, the source of its first label in it).
pub type LabelMap = BTreeMap<String, (String, String)>;

/// Reads the `address_labels` table, if the lake has one.
pub fn read_labels(lake: &Lake, chain: &str) -> Result<Option<LabelMap>> {
    if !lake.table_dir(chain, LABELS_TABLE).is_dir() {
        return Ok(None);
    }
    let rows = ledgerflow_entities::labels::read_table(lake, chain)
        .map_err(|e| MlError::Invalid(e.to_string()))?;
    let (cats, _) = ledgerflow_entities::labels::address_categories(&rows);
    let mut out = LabelMap::new();
    for r in &rows {
        if cats.get(&r.address) == Some(&r.category) {
            out.entry(r.address.clone())
                .or_insert_with(|| (r.category.clone(), r.source.clone()));
        }
    }
    Ok(Some(out))
}

fn address_labels(
    raw: Option<&LabelMap>,
    id: impl Fn(&str) -> Option<u32>,
) -> Option<AddressLabels> {
    let raw = raw?;
    let mut categories: Vec<String> = raw.values().map(|v| v.0.clone()).collect();
    categories.sort();
    categories.dedup();
    let mut of = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for (a, (c, src)) in raw {
        if let Some(i) = id(a) {
            if let Ok(k) = categories.binary_search(c) {
                of.insert(i, k as u16);
                sources.insert(i, src.clone());
            }
        }
    }
    Some(AddressLabels {
        categories,
        of,
        sources,
    })
}

/// The Merkle root of the chunks a feature run read (also what `model verify`
/// re-derives).
pub fn lake_root(input: &LakeInput) -> Result<String> {
    let lake = Lake::new(&input.lake);
    let h = ledgerflow_lake::hash::hash_chain(
        &lake,
        &input.chain,
        Some(&input.tables),
        input.until_block.map(|b| b as u64),
    )
    .map_err(lake_err)?;
    Ok(h.root)
}

/// Extracts the features of every window.
pub fn extract(req: &Request) -> Result<Extracted> {
    let lake = Lake::new(&req.lake);
    if !req.lake.join(&req.chain).is_dir() {
        return Err(MlError::Invalid(format!(
            "{}: no chain {:?} in this lake (export it first, or check --chain)",
            req.lake.display(),
            req.chain
        )));
    }
    let mut blocks = block_times(&lake, &req.chain)?;
    if let Some(b) = req.until_block {
        blocks.retain(|x| x.0 <= b);
    }
    let Some(&(_, last_time)) = blocks.iter().max_by_key(|b| b.1) else {
        return Err(MlError::Invalid(format!(
            "{}: chain {:?} has no blocks (export blocks and transactions first)",
            req.lake.display(),
            req.chain
        )));
    };
    let until = req.until.unwrap_or(last_time);
    let wins = super::windows(until, req.window, req.step, req.windows.max(1));
    let cuts: Vec<(Option<i64>, Option<i64>)> = wins
        .iter()
        .map(|w| (cut(&blocks, w.start), cut(&blocks, w.end)))
        .collect();
    let Some(top) = cuts.iter().filter_map(|c| c.1).max() else {
        return Err(MlError::Invalid(format!(
            "every window ends before the chain's first block (stamped {}): move --until later",
            blocks[0].1
        )));
    };
    let tables: Vec<String> = lake.tables(&req.chain).map_err(lake_err)?;
    let utxo = ledgerflow_entities::ledger::is_utxo(&lake, &req.chain)
        .map_err(|e| MlError::Invalid(e.to_string()))?;
    let labels_raw = if req.labels {
        read_labels(&lake, &req.chain)?
    } else {
        None
    };
    let mut out: Vec<WindowFeatures> = Vec::with_capacity(wins.len());
    let (kind, mut read_tables, labels_meta);
    if utxo {
        kind = ChainKind::Utxo;
        read_tables = vec!["transactions".to_string()];
        let mut ledger = Ledger::load_upto(&lake, &req.chain, top)
            .map_err(|e| MlError::Invalid(e.to_string()))?;
        let lab = address_labels(labels_raw.as_ref(), |a| ledger.book.id(a));
        labels_meta = lab.as_ref().map(|l| LabelsMeta {
            categories: l.categories.clone(),
            addresses: l.of.len() as u64,
        });
        // Latest window first: each one truncates the ledger further.
        for (w, &(c0, c1)) in wins.iter().zip(&cuts).rev() {
            let n = match c1 {
                Some(c) => ledger.txs.partition_point(|t| t.height <= c),
                None => 0,
            };
            ledger.truncate(n);
            let start_tx = match c0 {
                Some(c) => ledger.txs.partition_point(|t| t.height <= c),
                None => 0,
            };
            let entity_of = match req.level {
                Level::Address => None,
                Level::Entity => {
                    let mut c = ledgerflow_entities::cluster(
                        &ledger,
                        &ledgerflow_entities::Options::default(),
                    );
                    Some(c.entity_ids())
                }
            };
            let lab_w = lab.as_ref().map(|l| AddressLabels {
                categories: l.categories.clone(),
                of: l
                    .of
                    .range(..ledger.book.len() as u32)
                    .map(|(a, c)| (*a, *c))
                    .collect(),
                sources: l.sources.clone(),
            });
            out.push(super::utxo::compute(&UtxoInput {
                ledger: &ledger,
                start_tx,
                window: *w,
                level: req.level,
                entity_of: entity_of.as_deref(),
                labels: lab_w.as_ref(),
                threads: req.threads,
            }));
        }
        out.reverse();
    } else {
        if req.level == Level::Entity {
            return Err(MlError::Invalid(format!(
                "chain {:?} is an account chain: its actors are addresses (use --level address)",
                req.chain
            )));
        }
        kind = ChainKind::Evm;
        read_tables = vec!["transactions".to_string()];
        for t in ["token_transfers", "contracts"] {
            if tables.iter().any(|x| x == t) {
                read_tables.push(t.to_string());
            }
        }
        let full = read_evm(&lake, &req.chain, top, &read_tables)?;
        let names_index: BTreeMap<&str, u32> = full
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect();
        let lab = address_labels(labels_raw.as_ref(), |a| {
            names_index.get(a.to_ascii_lowercase().as_str()).copied()
        });
        labels_meta = lab.as_ref().map(|l| LabelsMeta {
            categories: l.categories.clone(),
            addresses: l.of.len() as u64,
        });
        for (w, &(c0, c1)) in wins.iter().zip(&cuts) {
            let c1 = c1.unwrap_or(i64::MIN);
            let chain = EvmChain {
                names: full.names.clone(),
                txs: full.txs.iter().filter(|t| t.block <= c1).cloned().collect(),
                transfers: full
                    .transfers
                    .iter()
                    .filter(|t| t.block <= c1)
                    .cloned()
                    .collect(),
                contracts: full
                    .contracts
                    .iter()
                    .filter(|(_, (b, _))| *b <= c1)
                    .map(|(a, v)| (*a, *v))
                    .collect(),
            };
            out.push(super::evm::compute(&EvmInput {
                chain: &chain,
                start_block: c0.map_or(i64::MIN, |c| c + 1),
                window: *w,
                labels: lab.as_ref(),
                threads: req.threads,
            }));
        }
    }
    if labels_raw.is_some() {
        read_tables.push(LABELS_TABLE.to_string());
        if !req.label_features {
            for w in &mut out {
                let keep: Vec<bool> = w
                    .defs
                    .iter()
                    .map(|d| {
                        d.name != super::LABELLED_SHARE
                            && !d.name.starts_with(super::LABEL_SHARE_PREFIX)
                    })
                    .collect();
                let mut k = keep.iter();
                w.defs.retain(|_| *k.next().unwrap_or(&true));
                let mut k = keep.iter();
                w.columns.retain(|_| *k.next().unwrap_or(&true));
            }
        }
    }
    read_tables.sort();
    let abs = std::fs::canonicalize(&req.lake).unwrap_or_else(|_| req.lake.clone());
    let h =
        ledgerflow_lake::hash::hash_chain(&lake, &req.chain, Some(&read_tables), Some(top as u64))
            .map_err(lake_err)?;
    let defs = out.last().map(|w| w.defs.clone()).unwrap_or_default();
    let id_column = id_column(req.level).to_string();
    let mut non_features = vec![
        "window_start".to_string(),
        "window_end".into(),
        "first_block".into(),
        "last_block".into(),
    ];
    if req.level == Level::Entity {
        non_features.insert(0, "entity_address".into());
    }
    if labels_meta.is_some() {
        non_features.push("label".into());
        non_features.push("label_source".into());
    }
    let meta = FeatureMeta {
        format: "ledgerflow-features".into(),
        version: 1,
        kind,
        level: req.level,
        id_column,
        non_features,
        windows: out
            .iter()
            .map(|w| WindowMeta {
                start: w.window.start,
                end: w.window.end,
                first_block: w.blocks.map(|b| b.0),
                last_block: w.blocks.map(|b| b.1),
                rows: w.ids.len() as u64,
            })
            .collect(),
        columns: defs,
        lake: LakeInput {
            lake: abs,
            chain: req.chain.clone(),
            merkle_root: h.root,
            chunks: h.chunks.len() as u64,
            tables: read_tables,
            until_block: Some(top),
        },
        labels: labels_meta,
    };
    Ok(Extracted { windows: out, meta })
}

/// The id column of a level.
pub fn id_column(level: Level) -> &'static str {
    match level {
        Level::Address => "address",
        Level::Entity => "entity",
    }
}

/// The record batch of an extraction (every window, oldest first) and its schema with
/// every column described.
/// The feature columns are moved out of `x` (its metadata stays).
pub fn to_batch(x: &mut Extracted) -> Result<RecordBatch> {
    let level = x.meta.level;
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let describe = |f: Field, d: &str, family: &str| {
        f.with_metadata(
            [
                ("description".to_string(), d.to_string()),
                ("family".to_string(), family.to_string()),
            ]
            .into_iter()
            .collect(),
        )
    };
    let rows: usize = x.windows.iter().map(|w| w.ids.len()).sum();
    match level {
        Level::Address => {
            fields.push(describe(
                Field::new("address", DataType::Utf8, false),
                "The address.",
                "id",
            ));
            let v: Vec<&str> = x
                .windows
                .iter()
                .flat_map(|w| w.ids.iter().map(String::as_str))
                .collect();
            cols.push(Arc::new(StringArray::from(v)));
        }
        Level::Entity => {
            fields.push(describe(
                Field::new("entity", DataType::Int64, false),
                "The entity, clustered (multi-input, CoinJoins excluded) from the chain up to \
                 the window end: its smallest address id. Later merges are not seen, so it \
                 may differ from the lake's address_entity.",
                "id",
            ));
            let ids: std::result::Result<Vec<i64>, _> = x
                .windows
                .iter()
                .flat_map(|w| w.ids.iter())
                .map(|s| s.parse::<i64>())
                .collect();
            cols.push(Arc::new(Int64Array::from(
                ids.map_err(|e| MlError::Invalid(format!("entity id: {e}")))?,
            )));
            fields.push(describe(
                Field::new("entity_address", DataType::Utf8, false),
                "The address whose id is the entity's id.",
                "id",
            ));
            let v: Vec<&str> = x
                .windows
                .iter()
                .flat_map(|w| w.representative.iter().map(String::as_str))
                .collect();
            cols.push(Arc::new(StringArray::from(v)));
        }
    }
    let per_window = |f: &dyn Fn(&WindowFeatures) -> Option<i64>| -> Vec<Option<i64>> {
        x.windows
            .iter()
            .flat_map(|w| std::iter::repeat_n(f(w), w.ids.len()))
            .collect()
    };
    let ts = |v: Vec<Option<i64>>| {
        Arc::new(
            TimestampMicrosecondArray::from(
                v.into_iter()
                    .map(|t| t.map(|t| t * 1_000_000))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ) as ArrayRef
    };
    let tsf = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        )
    };
    fields.push(describe(
        tsf("window_start"),
        "Start of the window (exclusive).",
        "window",
    ));
    cols.push(ts(per_window(&|w| Some(w.window.start))));
    fields.push(describe(
        tsf("window_end"),
        "End of the window (inclusive): nothing after it was read.",
        "window",
    ));
    cols.push(ts(per_window(&|w| Some(w.window.end))));
    fields.push(describe(
        Field::new("first_block", DataType::Int64, true),
        "First block of the window.",
        "window",
    ));
    cols.push(Arc::new(Int64Array::from(per_window(&|w| {
        w.blocks.map(|b| b.0)
    }))));
    fields.push(describe(
        Field::new("last_block", DataType::Int64, true),
        "Last block of the window.",
        "window",
    ));
    cols.push(Arc::new(Int64Array::from(per_window(&|w| {
        w.blocks.map(|b| b.1)
    }))));
    if x.meta.labels.is_some() {
        fields.push(describe(
            Field::new("label", DataType::Utf8, true),
            "The actor's label from address_labels (an entity: the most frequent label of its \
             addresses); empty when unlabelled. The target for look-alikes, not a feature.",
            "label",
        ));
        cols.push(Arc::new(StringArray::from(
            x.windows
                .iter()
                .flat_map(|w| w.labels.iter().cloned())
                .collect::<Vec<Option<String>>>(),
        )));
        fields.push(describe(
            Field::new("label_source", DataType::Utf8, true),
            "The source of the actor's label (address_labels.source; an entity: of its first \
             address in that category): a group column for splits by who labelled what.",
            "label",
        ));
        cols.push(Arc::new(StringArray::from(
            x.windows
                .iter()
                .flat_map(|w| w.label_sources.iter().cloned())
                .collect::<Vec<Option<String>>>(),
        )));
    }
    for (k, d) in x.meta.columns.iter().enumerate() {
        fields.push(describe(
            Field::new(&d.name, DataType::Float64, true),
            &d.definition,
            d.family.name(),
        ));
        // moved, not copied: one window's column becomes the array's buffer as it is
        let mut v: Vec<f64> = Vec::new();
        for w in &mut x.windows {
            let n = w.ids.len();
            match w.columns.get_mut(k) {
                Some(c) if v.is_empty() => v = std::mem::take(c),
                Some(c) => v.append(c),
                None => v.extend(std::iter::repeat_n(f64::NAN, n)),
            }
        }
        debug_assert_eq!(v.len(), rows);
        let valid: arrow::buffer::NullBuffer = v.iter().map(|x| !x.is_nan()).collect();
        let valid = (valid.null_count() > 0).then_some(valid);
        cols.push(Arc::new(Float64Array::new(v.into(), valid)));
    }
    let meta_json = serde_json::to_string(&x.meta).map_err(|e| MlError::Invalid(e.to_string()))?;
    let schema = Schema::new(fields)
        .with_metadata([(META_KEY.to_string(), meta_json)].into_iter().collect());
    RecordBatch::try_new(Arc::new(schema), cols)
        .map_err(|e: ArrowError| MlError::Invalid(format!("building the feature table: {e}")))
}

/// Writes an extraction as one Parquet file (atomically), the metadata in its footer.
/// The feature columns are moved out of `x`.
pub fn write_parquet(x: &mut Extracted, path: &Path) -> Result<u64> {
    let batch = to_batch(x)?;
    let meta_json = serde_json::to_string(&x.meta).map_err(|e| MlError::Invalid(e.to_string()))?;
    let opts = WriteOptions {
        metadata: vec![(META_KEY.to_string(), meta_json)],
        // dictionaries only where values repeat; floats are mostly distinct
        dictionary_columns: Some(&["entity_address", "label", "label_source"]),
        ..WriteOptions::default()
    };
    ledgerflow_lake::writer::write_parquet(path, std::slice::from_ref(&batch), &opts)?;
    Ok(batch.num_rows() as u64)
}

/// Reads the feature metadata of a Parquet file, if it has some.
pub fn read_meta(path: &Path) -> Result<Option<FeatureMeta>> {
    let f = std::fs::File::open(path).map_err(|e| MlError::io(path, e))?;
    let r = parquet::file::reader::SerializedFileReader::new(f)
        .map_err(|e| bad(path, format!("not a readable Parquet file: {e}")))?;
    use parquet::file::reader::FileReader;
    let kv = r
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    match kv
        .iter()
        .find(|k| k.key == META_KEY)
        .and_then(|k| k.value.clone())
    {
        None => Ok(None),
        Some(v) => serde_json::from_str(&v)
            .map(Some)
            .map_err(|e| bad(path, format!("{META_KEY} metadata: {e}"))),
    }
}

/// Decoded EVM rows of the chain up to block `upto`.
pub fn read_evm(lake: &Lake, chain: &str, upto: i64, tables: &[String]) -> Result<EvmChain> {
    /// block, index, time, from, to, the row, the contract it created
    type RawTx = (i64, i64, i64, String, Option<String>, EvmTx, Option<String>);
    #[derive(Default)]
    struct Raw {
        txs: Vec<RawTx>,
        transfers: Vec<(i64, i64, i64, String, String, String, bool)>,
        contracts: Vec<(String, i64, i64)>,
    }
    let mut raw = Raw::default();
    let chunks = |t: &str| -> Result<Vec<PathBuf>> {
        let (c, _) = lake.parquet_chunks(chain, t).map_err(lake_err)?;
        Ok(c.into_iter()
            .filter(|c| c.range.start as i64 <= upto)
            .map(|c| c.path)
            .collect())
    };
    const TX: &[&str] = &[
        "from_address",
        "to_address",
        "value",
        "gas",
        "gas_price",
        "receipt_gas_used",
        "receipt_status",
        "receipt_effective_gas_price",
        "max_priority_fee_per_gas",
        "transaction_type",
        "input",
        "receipt_contract_address",
        "block_number",
        "block_timestamp",
        "transaction_index",
    ];
    for p in chunks("transactions")? {
        for_each_batch(&p, Columns::Named(TX), None, |b| {
            let c = Cols {
                b,
                path: &p,
                table: "transactions",
            };
            let s = |n: &str| c.text(n);
            let i = |n: &str| c.int(n);
            let (from, to, value, input) = (
                s("from_address")?,
                s("to_address")?,
                s("value")?,
                s("input")?,
            );
            let created = s("receipt_contract_address")?;
            let (gas, price, used, status, eff, prio, ty, block, idx) = (
                i("gas")?,
                i("gas_price")?,
                i("receipt_gas_used")?,
                i("receipt_status")?,
                i("receipt_effective_gas_price")?,
                i("max_priority_fee_per_gas")?,
                i("transaction_type")?,
                i("block_number")?,
                i("transaction_index")?,
            );
            let ts = c.micros("block_timestamp")?;
            let opt = |a: &arrow::array::PrimitiveArray<Int64Type>, r: usize| {
                (!a.is_null(r)).then(|| a.value(r))
            };
            for r in 0..b.num_rows() {
                let bn = block.value(r);
                if bn > upto {
                    continue;
                }
                let inp = if input.is_null(r) { "" } else { input.value(r) };
                let hexlen = inp.strip_prefix("0x").unwrap_or(inp).len();
                let selector = (hexlen >= 8)
                    .then(|| {
                        u32::from_str_radix(&inp[inp.len() - hexlen..inp.len() - hexlen + 8], 16)
                            .ok()
                    })
                    .flatten();
                let v = if value.is_null(r) {
                    0.0
                } else {
                    value.value(r).parse::<f64>().unwrap_or(0.0) / 1e18
                };
                let price_r = opt(eff, r).or(opt(price, r)).unwrap_or(0) as f64;
                let tx = EvmTx {
                    block: bn,
                    time: ts.value(r).div_euclid(1_000_000),
                    from: 0,
                    to: None,
                    value: v,
                    gas_limit: opt(gas, r).unwrap_or(0) as f64,
                    gas_price: price_r,
                    gas_used: opt(used, r).unwrap_or(0) as f64,
                    priority_fee: opt(prio, r).map(|x| x as f64),
                    tx_type: opt(ty, r).unwrap_or(0),
                    success: opt(status, r).map(|s| s != 0),
                    input_len: (hexlen / 2) as u32,
                    selector,
                    created: None,
                };
                raw.txs.push((
                    bn,
                    idx.value(r),
                    tx.time,
                    from.value(r).to_ascii_lowercase(),
                    (!to.is_null(r)).then(|| to.value(r).to_ascii_lowercase()),
                    tx,
                    (!created.is_null(r) && !created.value(r).is_empty())
                        .then(|| created.value(r).to_ascii_lowercase()),
                ));
            }
            Ok::<(), MlError>(())
        })?;
    }
    if tables.iter().any(|t| t == "token_transfers") {
        const TT: &[&str] = &[
            "token_address",
            "from_address",
            "to_address",
            "block_number",
            "block_timestamp",
            "log_index",
            "token_standard",
        ];
        for p in chunks("token_transfers")? {
            for_each_batch(&p, Columns::Named(TT), None, |b| {
                let c = Cols {
                    b,
                    path: &p,
                    table: "token_transfers",
                };
                let s = |n: &str| c.text(n);
                let i = |n: &str| c.int(n);
                let (tok, from, to, std_) = (
                    s("token_address")?,
                    s("from_address")?,
                    s("to_address")?,
                    s("token_standard")?,
                );
                let (block, li) = (i("block_number")?, i("log_index")?);
                let ts = c.micros("block_timestamp")?;
                for r in 0..b.num_rows() {
                    let bn = block.value(r);
                    if bn > upto || from.is_null(r) || to.is_null(r) {
                        continue;
                    }
                    let st = if std_.is_null(r) { "" } else { std_.value(r) };
                    raw.transfers.push((
                        bn,
                        li.value(r),
                        ts.value(r).div_euclid(1_000_000),
                        tok.value(r).to_ascii_lowercase(),
                        from.value(r).to_ascii_lowercase(),
                        to.value(r).to_ascii_lowercase(),
                        st.eq_ignore_ascii_case("erc721") || st.eq_ignore_ascii_case("erc1155"),
                    ));
                }
                Ok::<(), MlError>(())
            })?;
        }
    }
    if tables.iter().any(|t| t == "contracts") {
        for p in chunks("contracts")? {
            for_each_batch(
                &p,
                Columns::Named(&["address", "block_number", "block_timestamp"]),
                None,
                |b| {
                    let c = Cols {
                        b,
                        path: &p,
                        table: "contracts",
                    };
                    let (a, bn, ts) = (
                        c.text("address")?,
                        c.int("block_number")?,
                        c.micros("block_timestamp")?,
                    );
                    for r in 0..b.num_rows() {
                        if bn.value(r) <= upto {
                            raw.contracts.push((
                                a.value(r).to_ascii_lowercase(),
                                bn.value(r),
                                ts.value(r).div_euclid(1_000_000),
                            ));
                        }
                    }
                    Ok::<(), MlError>(())
                },
            )?;
        }
    }
    raw.txs.sort_by_key(|t| (t.0, t.1));
    raw.transfers.sort_by_key(|t| (t.0, t.1));
    // Addresses in order of first appearance: transactions, then transfers, then
    // contracts, each in chain order.
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut id = |s: &str, names: &mut Vec<String>| -> u32 {
        if let Some(&i) = ids.get(s) {
            return i;
        }
        let i = names.len() as u32;
        ids.insert(s.to_string(), i);
        names.push(s.to_string());
        i
    };
    let mut chain = EvmChain::default();
    let mut contracts: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
    for (bn, _, time, from, to, mut tx, created) in raw.txs {
        tx.from = id(&from, &mut names);
        tx.to = to.as_deref().map(|t| id(t, &mut names));
        if let Some(c) = created {
            let c = id(&c, &mut names);
            tx.created = Some(c);
            contracts.entry(c).or_insert((bn, time));
        }
        chain.txs.push(tx);
    }
    for (bn, _, time, tok, from, to, nft) in raw.transfers {
        let token = id(&tok, &mut names);
        chain.transfers.push(EvmTransfer {
            block: bn,
            time,
            token,
            from: id(&from, &mut names),
            to: id(&to, &mut names),
            nft,
        });
    }
    for (a, bn, time) in raw.contracts {
        let c = id(&a, &mut names);
        let e = contracts.entry(c).or_insert((bn, time));
        if (bn, time) < *e {
            *e = (bn, time);
        }
    }
    chain.names = names;
    chain.contracts = contracts;
    Ok(chain)
}
