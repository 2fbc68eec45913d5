//! The UTXO ledger in memory, read from a chain folder's `transactions` table: transactions
//! in chain order, their inputs and outputs in flat arrays, addresses as dense ids and the
//! spend links between outputs and the transactions that spend them.
//!
//! Extract (Parquet files) is [`Ledger::load`]; everything else in the crate is a pure
//! function of a [`Ledger`], so the tests build ledgers by hand with [`LedgerBuilder`].

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ListArray, RecordBatch, StringArray, StructArray};
use ledgerflow_lake::reader::{for_each_batch, Columns};
use ledgerflow_lake::Lake;
use rustc_hash::FxHashMap;

use crate::error::EntityError;

/// "None" for a `u32` index: no address, a spend outside the lake, an unspent output.
pub const NONE: u32 = u32::MAX;

/// The first paying transaction of an address seen so far only in an input whose spent
/// transaction comes later in the same block (Bitcoin Cash's txid order).
pub const UNSET: u32 = u32::MAX - 1;

/// The script class of an output (or of the output an input spends), as the lake names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum AddrType {
    /// `pubkey` (P2PK)
    PubKey,
    /// `pubkeyhash` (P2PKH)
    PubKeyHash,
    /// `scripthash` (P2SH)
    ScriptHash,
    /// `multisig` (bare multisig)
    Multisig,
    /// `witness_v0_keyhash` (P2WPKH)
    WitnessV0KeyHash,
    /// `witness_v0_scripthash` (P2WSH)
    WitnessV0ScriptHash,
    /// `witness_v1_taproot` (P2TR)
    WitnessV1Taproot,
    /// `witness_unknown`
    WitnessUnknown,
    /// `nonstandard` (anything else with a bitcoin-etl address)
    NonStandard,
    /// An OP_RETURN output: unspendable, no address.
    NullData,
}

impl AddrType {
    /// Every class, in the order of [`AddrType::index`].
    pub const ALL: [AddrType; 10] = [
        AddrType::PubKey,
        AddrType::PubKeyHash,
        AddrType::ScriptHash,
        AddrType::Multisig,
        AddrType::WitnessV0KeyHash,
        AddrType::WitnessV0ScriptHash,
        AddrType::WitnessV1Taproot,
        AddrType::WitnessUnknown,
        AddrType::NonStandard,
        AddrType::NullData,
    ];

    /// The class of a lake `type` value.
    pub fn parse(s: &str) -> AddrType {
        match s {
            "pubkey" => AddrType::PubKey,
            "pubkeyhash" => AddrType::PubKeyHash,
            "scripthash" => AddrType::ScriptHash,
            "multisig" => AddrType::Multisig,
            "witness_v0_keyhash" => AddrType::WitnessV0KeyHash,
            "witness_v0_scripthash" => AddrType::WitnessV0ScriptHash,
            "witness_v1_taproot" => AddrType::WitnessV1Taproot,
            "witness_unknown" => AddrType::WitnessUnknown,
            "nulldata" => AddrType::NullData,
            _ => AddrType::NonStandard,
        }
    }

    /// The lake's name of the class.
    pub fn name(self) -> &'static str {
        match self {
            AddrType::PubKey => "pubkey",
            AddrType::PubKeyHash => "pubkeyhash",
            AddrType::ScriptHash => "scripthash",
            AddrType::Multisig => "multisig",
            AddrType::WitnessV0KeyHash => "witness_v0_keyhash",
            AddrType::WitnessV0ScriptHash => "witness_v0_scripthash",
            AddrType::WitnessV1Taproot => "witness_v1_taproot",
            AddrType::WitnessUnknown => "witness_unknown",
            AddrType::NonStandard => "nonstandard",
            AddrType::NullData => "nulldata",
        }
    }

    /// Position in [`AddrType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One transaction. Its inputs are `inputs[in_start..in_end]`, its outputs
/// `outputs[out_start..out_end]` of the [`Ledger`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    /// The txid, display byte order.
    pub hash: [u8; 32],
    /// Block height.
    pub height: i64,
    /// Block time, seconds since the epoch.
    pub time: i64,
    /// Position in the block.
    pub index: i64,
    /// nLockTime.
    pub lock_time: i64,
    /// Whether it is the block's coinbase.
    pub coinbase: bool,
    /// First input.
    pub in_start: u32,
    /// One past the last input.
    pub in_end: u32,
    /// First output.
    pub out_start: u32,
    /// One past the last output.
    pub out_end: u32,
}

/// One (non-coinbase) input: the output it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    /// Address id of the spent output ([`NONE`] when it has none).
    pub addr: u32,
    /// Value of the spent output.
    pub value: i64,
    /// Script class of the spent output.
    pub kind: AddrType,
    /// The transaction that created the spent output ([`NONE`]: before the lake's range).
    pub spent_tx: u32,
    /// Position of the spent output in that transaction.
    pub spent_index: u32,
}

/// One output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// Address id ([`NONE`] for OP_RETURN).
    pub addr: u32,
    /// Value.
    pub value: i64,
    /// Script class.
    pub kind: AddrType,
    /// The transaction that spends it ([`NONE`]: unspent in the lake).
    pub spent_by: u32,
}

impl Output {
    /// Whether the output can be spent (not OP_RETURN).
    pub fn spendable(&self) -> bool {
        self.kind != AddrType::NullData && self.addr != NONE
    }
}

/// Dense address ids, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct AddressBook {
    index: FxHashMap<Box<str>, u32>,
    /// Address text by id.
    pub names: Vec<Box<str>>,
    /// Script class of the first output seen paying the address.
    pub kinds: Vec<AddrType>,
    /// Height of the first block the address appears in.
    pub first_height: Vec<i64>,
    /// Height of the last block the address appears in.
    pub last_height: Vec<i64>,
    /// The ledger transaction that first pays the address (BlockSci's first transaction of
    /// an address; [`NONE`]: before the lake's range or an earlier build).
    pub first_tx: Vec<u32>,
}

impl AddressBook {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The id of an address, if known.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The text of an address id.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Adds an address known from an earlier build (its id must be the next one).
    pub fn seed(&mut self, name: &str, kind: AddrType, first: i64, last: i64) -> u32 {
        let id = self.names.len() as u32;
        self.index.insert(name.into(), id);
        self.names.push(name.into());
        self.kinds.push(kind);
        self.first_height.push(first);
        self.last_height.push(last);
        self.first_tx.push(NONE);
        id
    }

    /// The id of `name`, assigning the next one on first sight; `tx` is the transaction
    /// paying it, or [`UNSET`] when it is seen in an input first.
    pub fn intern(&mut self, name: &str, kind: AddrType, height: i64, tx: u32) -> u32 {
        if let Some(&id) = self.index.get(name) {
            let i = id as usize;
            if height > self.last_height[i] {
                self.last_height[i] = height;
            }
            if self.first_tx[i] == UNSET && tx != UNSET {
                self.first_tx[i] = tx;
            }
            return id;
        }
        let id = self.names.len() as u32;
        self.index.insert(name.into(), id);
        self.names.push(name.into());
        self.kinds.push(kind);
        self.first_height.push(height);
        self.last_height.push(height);
        self.first_tx.push(tx);
        id
    }
}

/// Transactions, inputs, outputs and addresses of a chain, in chain order.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Transactions in chain order (height, then position in the block).
    pub txs: Vec<Tx>,
    /// Inputs, grouped by transaction.
    pub inputs: Vec<Input>,
    /// Outputs, grouped by transaction.
    pub outputs: Vec<Output>,
    /// The addresses.
    pub book: AddressBook,
    by_hash: FxHashMap<[u8; 32], u32>,
    /// Hash of the last block read (display order hex), for resuming.
    pub tip_hash: Option<String>,
}

impl Ledger {
    /// The inputs of transaction `t`.
    pub fn inputs_of(&self, t: u32) -> &[Input] {
        let tx = &self.txs[t as usize];
        &self.inputs[tx.in_start as usize..tx.in_end as usize]
    }

    /// The outputs of transaction `t`.
    pub fn outputs_of(&self, t: u32) -> &[Output] {
        let tx = &self.txs[t as usize];
        &self.outputs[tx.out_start as usize..tx.out_end as usize]
    }

    /// The transaction an input belongs to (binary search over the input ranges).
    pub fn inputs_owner(&self, input: u32) -> u32 {
        let k = self.txs.partition_point(|t| t.in_end <= input);
        k as u32
    }

    /// The ordinal of a transaction by txid.
    pub fn tx_by_hash(&self, hash: &[u8; 32]) -> Option<u32> {
        self.by_hash.get(hash).copied()
    }

    /// The ordinal of a transaction by its hex txid.
    pub fn tx_by_hex(&self, hex: &str) -> Option<u32> {
        parse_hash(hex).and_then(|h| self.tx_by_hash(&h))
    }

    /// The txid of transaction `t` as hex.
    pub fn tx_hex(&self, t: u32) -> String {
        to_hex(&self.txs[t as usize].hash)
    }

    /// Keeps the first `n` transactions only, as if nothing after them had been read:
    /// spends by later transactions are forgotten (their outputs read as unspent),
    /// addresses first seen later are dropped (ids are in order of first appearance, so
    /// the kept ones keep their ids; seeded addresses that no kept transaction names are
    /// dropped with them when they come last) and the address book's heights are
    /// recomputed.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.txs.len() {
            return;
        }
        self.txs.truncate(n);
        let (ins, outs) = self
            .txs
            .last()
            .map(|t| (t.in_end as usize, t.out_end as usize))
            .unwrap_or((0, 0));
        self.inputs.truncate(ins);
        self.outputs.truncate(outs);
        let n32 = n as u32;
        for o in &mut self.outputs {
            if o.spent_by != NONE && o.spent_by >= n32 {
                o.spent_by = NONE;
            }
        }
        self.by_hash.retain(|_, t| *t < n32);
        self.tip_hash = None;
        let used = self
            .inputs
            .iter()
            .map(|i| i.addr)
            .chain(self.outputs.iter().map(|o| o.addr))
            .filter(|&a| a != NONE)
            .map(|a| a as usize + 1)
            .max()
            .unwrap_or(0);
        let b = &mut self.book;
        let keep = used.min(b.len());
        b.names.truncate(keep);
        b.kinds.truncate(keep);
        b.first_height.truncate(keep);
        b.last_height.truncate(keep);
        b.first_tx.truncate(keep);
        b.index.retain(|_, id| (*id as usize) < keep);
        for f in &mut b.first_tx {
            if *f != NONE && *f != UNSET && *f >= n32 {
                *f = UNSET;
            }
        }
        let mut last: Vec<i64> = b.first_height.clone();
        for tx in &self.txs {
            for a in self.inputs[tx.in_start as usize..tx.in_end as usize]
                .iter()
                .map(|i| i.addr)
                .chain(
                    self.outputs[tx.out_start as usize..tx.out_end as usize]
                        .iter()
                        .map(|o| o.addr),
                )
            {
                if a != NONE {
                    let l = &mut last[a as usize];
                    *l = (*l).max(tx.height);
                }
            }
        }
        b.last_height = last;
    }

    /// Lowest and highest block height, if any transaction.
    pub fn heights(&self) -> Option<(i64, i64)> {
        Some((self.txs.first()?.height, self.txs.last()?.height))
    }

    /// Reads the `transactions` table of `chain` (its inputs enriched), all of it or the
    /// blocks above `after` with the addresses of an earlier build in `book`.
    pub fn load(
        lake: &Lake,
        chain: &str,
        after: Option<i64>,
        book: AddressBook,
    ) -> Result<Ledger, EntityError> {
        Self::load_range(lake, chain, after, None, book)
    }

    /// Reads the blocks up to `upto` (inclusive) only: chunks that start after it are not
    /// opened and rows above it are dropped as they are decoded, so nothing the ledger
    /// holds comes from a later block (feature windows rely on this).
    pub fn load_upto(lake: &Lake, chain: &str, upto: i64) -> Result<Ledger, EntityError> {
        Self::load_range(lake, chain, None, Some(upto), AddressBook::default())
    }

    fn load_range(
        lake: &Lake,
        chain: &str,
        after: Option<i64>,
        upto: Option<i64>,
        book: AddressBook,
    ) -> Result<Ledger, EntityError> {
        check_chain(lake, chain)?;
        let (chunks, _) = lake.parquet_chunks(chain, "transactions")?;
        if chunks.is_empty() {
            return Err(EntityError::NoTable {
                chain: chain.to_string(),
                table: "transactions".into(),
                dir: lake.table_dir(chain, "transactions"),
                hint: "export the chain with `ledgerflow export bitcoin` first (the transactions \
                       table with its nested inputs and outputs)",
            });
        }
        if !is_utxo(lake, chain)? {
            return Err(EntityError::NotUtxo {
                chain: chain.to_string(),
            });
        }
        let mut b = LedgerBuilder::with_book(book);
        for c in chunks {
            if let Some(after) = after {
                if c.range.end as i64 <= after {
                    continue;
                }
            }
            if upto.is_some_and(|u| c.range.start as i64 > u) {
                continue;
            }
            read_file(&c.path, after, upto, &mut b)?;
        }
        Ok(b.finish())
    }
}

/// The error for a chain folder that is not in the lake.
pub fn check_chain(lake: &Lake, chain: &str) -> Result<(), EntityError> {
    if lake.root().join(chain).is_dir() {
        return Ok(());
    }
    let known = lake.chains().unwrap_or_default();
    Err(EntityError::NoChain {
        chain: chain.to_string(),
        lake: lake.root().to_path_buf(),
        known: if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        },
    })
}

/// An input as the builder takes it.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The spent output's txid (hex).
    pub spent_hash: String,
    /// The spent output's position.
    pub spent_index: u32,
    /// The spent output's address (empty: none).
    pub address: String,
    /// Its script class.
    pub kind: AddrType,
    /// Its value.
    pub value: i64,
}

/// An output as the builder takes it.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// The address (empty: none).
    pub address: String,
    /// Script class.
    pub kind: AddrType,
    /// Value.
    pub value: i64,
}

/// Builds a [`Ledger`] transaction by transaction, in chain order.
#[derive(Debug, Default)]
pub struct LedgerBuilder {
    l: Ledger,
    last: Option<(i64, i64)>,
    /// Inputs of the current block that spend a transaction not seen yet (Bitcoin Cash
    /// orders a block's transactions by txid, so a spender can come before what it
    /// spends): txid → (input, spent position).
    forward: FxHashMap<[u8; 32], Vec<(u32, u32)>>,
}

impl LedgerBuilder {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger whose addresses start with those of an earlier build.
    pub fn with_book(book: AddressBook) -> Self {
        LedgerBuilder {
            l: Ledger {
                book,
                ..Ledger::default()
            },
            last: None,
            forward: FxHashMap::default(),
        }
    }

    /// Appends a transaction (it must come after the last one in chain order).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        hash: &str,
        height: i64,
        time: i64,
        index: i64,
        lock_time: i64,
        coinbase: bool,
        inputs: &[InputSpec],
        outputs: &[OutputSpec],
    ) -> Result<u32, String> {
        let hash_b = parse_hash(hash).ok_or_else(|| format!("bad transaction hash {hash:?}"))?;
        if let Some(last) = self.last {
            if (height, index) <= last {
                return Err(format!(
                    "transaction {hash} (block {height}, position {index}) comes after block {}, \
                     position {}: rows are not in chain order",
                    last.0, last.1
                ));
            }
        }
        if self.last.is_some_and(|l| l.0 != height) {
            self.close_block();
        }
        self.last = Some((height, index));
        let t = self.l.txs.len() as u32;
        let in_start = self.l.inputs.len() as u32;
        for i in inputs {
            // An input's address was paid before (first_tx set then), or before the
            // lake's range, or later in this block.
            let addr = if i.address.is_empty() {
                NONE
            } else {
                self.l.book.intern(&i.address, i.kind, height, UNSET)
            };
            let spent_hash = parse_hash(&i.spent_hash);
            let spent_tx = spent_hash
                .and_then(|h| self.l.by_hash.get(&h).copied())
                .unwrap_or(NONE);
            if spent_tx == NONE {
                if let Some(h) = spent_hash {
                    let input = self.l.inputs.len() as u32;
                    self.forward
                        .entry(h)
                        .or_default()
                        .push((input, i.spent_index));
                }
            }
            if spent_tx != NONE {
                let stx = &self.l.txs[spent_tx as usize];
                let pos = stx.out_start as usize + i.spent_index as usize;
                if pos < stx.out_end as usize {
                    self.l.outputs[pos].spent_by = t;
                }
            }
            self.l.inputs.push(Input {
                addr,
                value: i.value,
                kind: i.kind,
                spent_tx,
                spent_index: i.spent_index,
            });
        }
        let out_start = self.l.outputs.len() as u32;
        for o in outputs {
            let addr = if o.address.is_empty() || o.kind == AddrType::NullData {
                NONE
            } else {
                self.l.book.intern(&o.address, o.kind, height, t)
            };
            self.l.outputs.push(Output {
                addr,
                value: o.value,
                kind: o.kind,
                spent_by: NONE,
            });
        }
        self.l.txs.push(Tx {
            hash: hash_b,
            height,
            time,
            index,
            lock_time,
            coinbase,
            in_start,
            in_end: self.l.inputs.len() as u32,
            out_start,
            out_end: self.l.outputs.len() as u32,
        });
        self.l.by_hash.insert(hash_b, t);
        if let Some(spenders) = self.forward.remove(&hash_b) {
            for (input, pos) in spenders {
                let o = out_start as usize + pos as usize;
                if o >= self.l.outputs.len() {
                    continue;
                }
                let inp = &mut self.l.inputs[input as usize];
                inp.spent_tx = t;
                // the spender is the earlier row of the two
                let spender = self.l.inputs_owner(input);
                self.l.outputs[o].spent_by = spender;
            }
        }
        Ok(t)
    }

    /// Records the hash of the last block read.
    pub fn set_tip_hash(&mut self, hash: &str) {
        self.l.tip_hash = Some(hash.to_string());
    }

    /// Inputs whose spent transaction did not come in their block spend from before the
    /// lake: their addresses were paid before it.
    fn close_block(&mut self) {
        for (_, spenders) in self.forward.drain() {
            for (input, _) in spenders {
                let a = self.l.inputs[input as usize].addr;
                if a != NONE && self.l.book.first_tx[a as usize] == UNSET {
                    self.l.book.first_tx[a as usize] = NONE;
                }
            }
        }
    }

    /// The ledger.
    pub fn finish(mut self) -> Ledger {
        self.close_block();
        self.l
    }
}

/// Parses a 64-digit hex txid.
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = nibble(b[2 * i])?;
        let lo = nibble(b[2 * i + 1])?;
        *o = (hi << 4) | lo;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of a hash.
pub fn to_hex(h: &[u8; 32]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in h {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// The address text of an output or spent output: its one address, or for bare multisig
/// the key addresses joined by `,` (one actor: the multisig), empty when it has none.
fn address_text(list: &ListArray, values: &StringArray, row: usize, buf: &mut String) {
    buf.clear();
    if list.is_null(row) {
        return;
    }
    let offs = list.value_offsets();
    for i in offs[row] as usize..offs[row + 1] as usize {
        if values.is_null(i) {
            continue;
        }
        if !buf.is_empty() {
            buf.push(',');
        }
        buf.push_str(values.value(i));
    }
}

/// Whether a leaf column (its path parts) is one the ledger needs.
fn needed(parts: &[String]) -> bool {
    const TOP: &[&str] = &[
        "hash",
        "block_hash",
        "block_number",
        "block_timestamp",
        "index",
        "lock_time",
        "is_coinbase",
    ];
    const INPUTS: &[&str] = &[
        "spent_transaction_hash",
        "spent_output_index",
        "type",
        "addresses",
        "value",
    ];
    const OUTPUTS: &[&str] = &["index", "type", "addresses", "value", "script_hex"];
    match parts.first().map(String::as_str) {
        Some("inputs") => parts.get(3).is_some_and(|p| INPUTS.contains(&p.as_str())),
        Some("outputs") => parts.get(3).is_some_and(|p| OUTPUTS.contains(&p.as_str())),
        Some(p) => parts.len() == 1 && TOP.contains(&p),
        None => false,
    }
}

fn bad(path: &Path, what: impl Into<String>) -> EntityError {
    EntityError::BadFile {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn column<'a>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a dyn Array, EntityError> {
    b.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| {
        bad(
            path,
            format!("no column {name} (not a transactions table?)"),
        )
    })
}

fn field<'a>(s: &'a StructArray, name: &str, path: &Path) -> Result<&'a dyn Array, EntityError> {
    s.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| bad(path, format!("the nested rows have no field {name}")))
}

fn read_file(
    path: &Path,
    after: Option<i64>,
    upto: Option<i64>,
    b: &mut LedgerBuilder,
) -> Result<(), EntityError> {
    let mut ins: Vec<InputSpec> = Vec::new();
    let mut outs: Vec<OutputSpec> = Vec::new();
    let mut buf = String::new();
    for_each_batch(path, Columns::Leaves(&needed), Some(8192), |batch| {
        let hash = column(batch, "hash", path)?
            .as_string_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column hash is not of the Bitcoin-family transactions type",
                )
            })?;
        let block_hash = column(batch, "block_hash", path)?
            .as_string_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column block_hash is not of the Bitcoin-family transactions type",
                )
            })?;
        let height = column(batch, "block_number", path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column block_number is not of the Bitcoin-family transactions type",
                )
            })?;
        let time = column(batch, "block_timestamp", path)?
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(|| bad(path, "block_timestamp is not a microsecond timestamp"))?;
        let index = column(batch, "index", path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column index is not of the Bitcoin-family transactions type",
                )
            })?;
        let lock_time = column(batch, "lock_time", path)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column lock_time is not of the Bitcoin-family transactions type",
                )
            })?;
        let coinbase = column(batch, "is_coinbase", path)?
            .as_boolean_opt()
            .ok_or_else(|| {
                bad(
                    path,
                    "column is_coinbase is not of the Bitcoin-family transactions type",
                )
            })?;
        let inputs = column(batch, "inputs", path)?
            .as_list_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column inputs is not of the Bitcoin-family transactions type",
                )
            })?;
        let outputs = column(batch, "outputs", path)?
            .as_list_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column outputs is not of the Bitcoin-family transactions type",
                )
            })?;
        let in_s = inputs.values().as_struct_opt().ok_or_else(|| {
            bad(
                path,
                "column inputs is not of the Bitcoin-family transactions type",
            )
        })?;
        let out_s = outputs.values().as_struct_opt().ok_or_else(|| {
            bad(
                path,
                "column outputs is not of the Bitcoin-family transactions type",
            )
        })?;
        let in_hash = field(in_s, "spent_transaction_hash", path)?.as_string_opt::<i32>()
            .ok_or_else(|| bad(path, "column inputs.spent_transaction_hash is not of the Bitcoin-family transactions type"))?;
        let in_index = field(in_s, "spent_output_index", path)?.as_primitive_opt::<Int64Type>()
            .ok_or_else(|| bad(path, "column inputs.spent_output_index is not of the Bitcoin-family transactions type"))?;
        let in_type = field(in_s, "type", path)?
            .as_string_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column inputs.type is not of the Bitcoin-family transactions type",
                )
            })?;
        let in_addr = field(in_s, "addresses", path)?
            .as_list_opt::<i32>()
            .ok_or_else(|| bad(path, "column inputs.addresses is not a list"))?;
        let in_addr_v = in_addr
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| bad(path, "column inputs.addresses is not a list of strings"))?;
        let in_value = field(in_s, "value", path)?
            .as_primitive_opt::<Decimal128Type>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column inputs.value is not of the Bitcoin-family transactions type",
                )
            })?;
        let out_type = field(out_s, "type", path)?
            .as_string_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column outputs.type is not of the Bitcoin-family transactions type",
                )
            })?;
        let out_addr = field(out_s, "addresses", path)?
            .as_list_opt::<i32>()
            .ok_or_else(|| bad(path, "column outputs.addresses is not a list"))?;
        let out_addr_v = out_addr
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| bad(path, "column outputs.addresses is not a list of strings"))?;
        let out_value = field(out_s, "value", path)?
            .as_primitive_opt::<Decimal128Type>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column outputs.value is not of the Bitcoin-family transactions type",
                )
            })?;
        let out_script = field(out_s, "script_hex", path)?
            .as_string_opt::<i32>()
            .ok_or_else(|| {
                bad(
                    path,
                    "column outputs.script_hex is not of the Bitcoin-family transactions type",
                )
            })?;
        let offs_in = inputs.value_offsets();
        let offs_out = outputs.value_offsets();
        for r in 0..batch.num_rows() {
            let h = height.value(r);
            if after.is_some_and(|a| h <= a) || upto.is_some_and(|u| h > u) {
                continue;
            }
            let is_cb = !coinbase.is_null(r) && coinbase.value(r);
            ins.clear();
            if !is_cb {
                for j in offs_in[r] as usize..offs_in[r + 1] as usize {
                    if in_value.is_null(j) {
                        return Err(EntityError::NotEnriched {
                            path: path.to_path_buf(),
                            tx: hash.value(r).to_string(),
                            input: (j - offs_in[r] as usize) as i64,
                            what: "value",
                        });
                    }
                    address_text(in_addr, in_addr_v, j, &mut buf);
                    let kind = if in_type.is_null(j) {
                        AddrType::NonStandard
                    } else {
                        AddrType::parse(in_type.value(j))
                    };
                    ins.push(InputSpec {
                        spent_hash: if in_hash.is_null(j) {
                            String::new()
                        } else {
                            in_hash.value(j).to_string()
                        },
                        spent_index: if in_index.is_null(j) {
                            0
                        } else {
                            in_index.value(j) as u32
                        },
                        address: buf.clone(),
                        kind,
                        value: in_value.value(j) as i64,
                    });
                }
            }
            outs.clear();
            for j in offs_out[r] as usize..offs_out[r + 1] as usize {
                let script = if out_script.is_null(j) {
                    ""
                } else {
                    out_script.value(j)
                };
                let kind = if script.starts_with("6a") {
                    AddrType::NullData
                } else if out_type.is_null(j) {
                    AddrType::NonStandard
                } else {
                    AddrType::parse(out_type.value(j))
                };
                address_text(out_addr, out_addr_v, j, &mut buf);
                outs.push(OutputSpec {
                    address: buf.clone(),
                    kind,
                    value: if out_value.is_null(j) {
                        0
                    } else {
                        out_value.value(j) as i64
                    },
                });
            }
            let lt = if lock_time.is_null(r) {
                0
            } else {
                lock_time.value(r)
            };
            b.push(
                hash.value(r),
                h,
                time.value(r).div_euclid(1_000_000),
                index.value(r),
                lt,
                is_cb,
                &ins,
                &outs,
            )
            .map_err(|e| bad(path, e))?;
            b.set_tip_hash(block_hash.value(r));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = "00000000000000000000000000000000000000000000000000000000000000ff";
        assert_eq!(to_hex(&parse_hash(h).unwrap()), h);
        assert!(parse_hash("zz").is_none());
    }

    #[test]
    fn truncate_is_the_ledger_of_the_prefix() {
        use testing::{h, inp, out};
        let txs: Vec<(i64, Vec<InputSpec>, Vec<OutputSpec>)> = vec![
            (1, vec![], vec![out("a", 50)]),
            (
                2,
                vec![inp(0, 0, "a", 50)],
                vec![out("b", 30), out("a", 19)],
            ),
            (3, vec![inp(1, 0, "b", 30)], vec![out("c", 29)]),
            (3, vec![inp(1, 1, "a", 19)], vec![out("a", 18)]),
        ];
        let build = |k: usize| {
            let mut b = LedgerBuilder::new();
            for (n, (height, ins, outs)) in txs.iter().take(k).enumerate() {
                b.push(
                    &h(n as u32),
                    *height,
                    100 * height,
                    n as i64,
                    0,
                    ins.is_empty(),
                    ins,
                    outs,
                )
                .unwrap();
            }
            b.finish()
        };
        for k in 0..=txs.len() {
            let mut full = build(txs.len());
            full.truncate(k);
            let want = build(k);
            assert_eq!(full.txs, want.txs, "k={k}");
            assert_eq!(full.inputs, want.inputs, "k={k}");
            assert_eq!(full.outputs, want.outputs, "k={k}");
            assert_eq!(full.book.names, want.book.names, "k={k}");
            assert_eq!(full.book.first_height, want.book.first_height, "k={k}");
            assert_eq!(full.book.last_height, want.book.last_height, "k={k}");
            assert_eq!(full.book.first_tx, want.book.first_tx, "k={k}");
            assert_eq!(full.book.id("c"), want.book.id("c"), "k={k}");
            assert_eq!(full.tx_by_hex(&h(2)), want.tx_by_hex(&h(2)), "k={k}");
        }
    }
}

/// Whether `chain` in the lake is a UTXO chain: it has an `inputs` table, or its
/// `transactions` chunks carry nested inputs (a lake exported with only that table, or
/// written by `bench lake`). An account chain (EVM) has neither.
pub fn is_utxo(lake: &Lake, chain: &str) -> Result<bool, EntityError> {
    if lake.tables(chain)?.iter().any(|t| t == "inputs") {
        return Ok(true);
    }
    let (chunks, _) = lake.parquet_chunks(chain, "transactions")?;
    Ok(chunks.first().is_some_and(|c| {
        ledgerflow_lake::reader::file_schema(&c.path)
            .is_ok_and(|s| s.field_with_name("inputs").is_ok())
    }))
}

/// Builders of hand-made ledgers for the unit tests of the heuristics and models.
#[cfg(test)]
pub(crate) mod testing {
    use super::{AddrType, InputSpec, OutputSpec};

    /// The transaction hash numbered `n`.
    pub fn h(n: u32) -> String {
        format!("{n:064x}")
    }

    /// A P2PKH output of `v` to address `a`.
    pub fn out(a: &str, v: i64) -> OutputSpec {
        OutputSpec {
            address: a.into(),
            kind: AddrType::PubKeyHash,
            value: v,
        }
    }

    /// An input spending output `i` of transaction `h(tx)`, of `v` held by `a`.
    pub fn inp(tx: u32, i: u32, a: &str, v: i64) -> InputSpec {
        InputSpec {
            spent_hash: h(tx),
            spent_index: i,
            address: a.into(),
            kind: AddrType::PubKeyHash,
            value: v,
        }
    }
}
