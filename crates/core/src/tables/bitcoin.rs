//! The UTXO-chain tables (`crypto_bitcoin` family: Bitcoin, Litecoin, Bitcoin Cash,
//! Dogecoin, Dash, Zcash, …).
//!
//! Conventions shared by every table:
//! * column names, order and types follow BigQuery's enriched `crypto_bitcoin` schemas
//!   (`blocks`, `transactions` with nested `inputs`/`outputs`) and the public flat `inputs`
//!   and `outputs` tables; extras follow, starting with `chain`;
//! * hashes are lower-case hex in the node's display byte order (as RPC prints them);
//! * amounts are exact integers in the chain's base unit (satoshi), NUMERIC as
//!   `Decimal128(29, 0)`;
//! * an output without an address (OP_RETURN, non-standard scripts, and — as bitcoin-etl
//!   does — everything the node gives no address for) has type `nonstandard` and the
//!   address `nonstandard` + the first 40 hex digits of SHA-256(script), as bitcoin-etl
//!   names them; the precise script class is in the extra column `script_type`.

use std::sync::Arc;

use arrow_array::builder::Decimal128Builder;
use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields, SchemaRef};

use crate::table::{build_struct_list, sats_type, struct_field, ArrowCol, Date, Sats, Timestamp};

/// One element of `transactions.inputs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxInput {
    /// Position of the input in the transaction.
    pub index: i64,
    /// Hash of the transaction whose output this input spends.
    pub spent_transaction_hash: Option<String>,
    /// Position of the spent output in that transaction.
    pub spent_output_index: Option<i64>,
    /// The unlocking script (scriptSig) in Bitcoin Core's asm notation.
    pub script_asm: Option<String>,
    /// The unlocking script, hex.
    pub script_hex: Option<String>,
    /// nSequence.
    pub sequence: Option<i64>,
    /// Required signatures of the spent output (enrichment).
    pub required_signatures: Option<i64>,
    /// Type of the spent output (enrichment).
    pub type_: Option<String>,
    /// Addresses of the spent output (enrichment).
    pub addresses: Vec<String>,
    /// Value of the spent output (enrichment).
    pub value: Option<Sats>,
}

/// One element of `transactions.outputs`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxOutput {
    /// Position of the output in the transaction.
    pub index: i64,
    /// The locking script (scriptPubKey) in asm notation.
    pub script_asm: Option<String>,
    /// The locking script, hex.
    pub script_hex: Option<String>,
    /// Signatures needed to spend it (Bitcoin Core's `reqSigs`).
    pub required_signatures: Option<i64>,
    /// Bitcoin Core's script type name, or `nonstandard` when it has no address.
    pub type_: Option<String>,
    /// Addresses (one for single-key scripts, one per key for bare multisig).
    pub addresses: Vec<String>,
    /// Value in base units.
    pub value: Option<Sats>,
}

fn input_fields() -> Fields {
    Fields::from(vec![
        Field::new("index", DataType::Int64, false),
        Field::new("spent_transaction_hash", DataType::Utf8, true),
        Field::new("spent_output_index", DataType::Int64, true),
        Field::new("script_asm", DataType::Utf8, true),
        Field::new("script_hex", DataType::Utf8, true),
        Field::new("sequence", DataType::Int64, true),
        Field::new("required_signatures", DataType::Int64, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("addresses", utf8_list(), true),
        Field::new("value", sats_type(), true),
    ])
}

fn output_fields() -> Fields {
    Fields::from(vec![
        Field::new("index", DataType::Int64, false),
        Field::new("script_asm", DataType::Utf8, true),
        Field::new("script_hex", DataType::Utf8, true),
        Field::new("required_signatures", DataType::Int64, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("addresses", utf8_list(), true),
        Field::new("value", sats_type(), true),
    ])
}

fn utf8_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn append_addresses(s: &mut StructBuilder, i: usize, addresses: &[String]) {
    let l = struct_field::<ListBuilder<Box<dyn arrow_array::builder::ArrayBuilder>>>(s, i);
    let v = l
        .values()
        .as_any_mut()
        .downcast_mut::<StringBuilder>()
        .expect("addresses is a list of strings");
    for a in addresses {
        v.append_value(a);
    }
    l.append(true);
}

fn append_sats(s: &mut StructBuilder, i: usize, v: Option<Sats>) {
    struct_field::<Decimal128Builder>(s, i).append_option(v.map(|x| x.0 as i128));
}

impl ArrowCol for Vec<TxInput> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(input_fields()),
            true,
        )))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        build_struct_list(input_fields(), values, |s, x: &TxInput| {
            struct_field::<Int64Builder>(s, 0).append_value(x.index);
            struct_field::<StringBuilder>(s, 1).append_option(x.spent_transaction_hash.as_deref());
            struct_field::<Int64Builder>(s, 2).append_option(x.spent_output_index);
            struct_field::<StringBuilder>(s, 3).append_option(x.script_asm.as_deref());
            struct_field::<StringBuilder>(s, 4).append_option(x.script_hex.as_deref());
            struct_field::<Int64Builder>(s, 5).append_option(x.sequence);
            struct_field::<Int64Builder>(s, 6).append_option(x.required_signatures);
            struct_field::<StringBuilder>(s, 7).append_option(x.type_.as_deref());
            append_addresses(s, 8, &x.addresses);
            append_sats(s, 9, x.value);
        })
    }
}

impl ArrowCol for Vec<TxOutput> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(output_fields()),
            true,
        )))
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl ExactSizeIterator<Item = &'a Self>) -> ArrayRef {
        build_struct_list(output_fields(), values, |s, x: &TxOutput| {
            struct_field::<Int64Builder>(s, 0).append_value(x.index);
            struct_field::<StringBuilder>(s, 1).append_option(x.script_asm.as_deref());
            struct_field::<StringBuilder>(s, 2).append_option(x.script_hex.as_deref());
            struct_field::<Int64Builder>(s, 3).append_option(x.required_signatures);
            struct_field::<StringBuilder>(s, 4).append_option(x.type_.as_deref());
            append_addresses(s, 5, &x.addresses);
            append_sats(s, 6, x.value);
        })
    }
}

/// Key of the Parquet footer metadata naming a Bitcoin-family chunk file's chain (what
/// marks a file as a Bitcoin-family table, e.g. for `lake compact`).
pub const CHAIN_KEY: &str = "ledgerflow.chain";

/// Columns whose values repeat (block keys, script types): Parquet dictionary encoding for
/// these, plain elsewhere (hashes and scripts are nearly all distinct).
pub const DICTIONARY_COLUMNS: &[&str] = &[
    "chain",
    "block_hash",
    "type",
    "script_type",
    "version",
    "bits",
];

crate::table! {
    /// `crypto_bitcoin.blocks`: one row per block of the best chain.
    pub struct BtcBlockRow = "blocks" {
        hash: String,
        size: Option<i64>,
        stripped_size: Option<i64>,
        weight: Option<i64>,
        number: i64,
        version: Option<i64>,
        merkle_root: Option<String>,
        timestamp: Timestamp,
        timestamp_month: Date,
        nonce: Option<String>,
        bits: Option<String>,
        coinbase_param: Option<String>,
        transaction_count: Option<i64>,
        /// Extra: the chain (`bitcoin`, `litecoin`, `bitcoin_cash`, `dogecoin`, …).
        chain: String,
        /// Extra: hash of the parent block.
        previous_block_hash: Option<String>,
    }
}

crate::table! {
    /// `crypto_bitcoin.transactions`: one row per transaction, inputs and outputs nested.
    pub struct BtcTransactionRow = "transactions" {
        hash: String,
        size: Option<i64>,
        virtual_size: Option<i64>,
        version: Option<i64>,
        lock_time: Option<i64>,
        block_hash: String,
        block_number: i64,
        block_timestamp: Timestamp,
        block_timestamp_month: Date,
        input_count: Option<i64>,
        output_count: Option<i64>,
        input_value: Option<Sats>,
        output_value: Option<Sats>,
        is_coinbase: Option<bool>,
        fee: Option<Sats>,
        inputs: Vec<TxInput>,
        outputs: Vec<TxOutput>,
        /// Extra: the chain.
        chain: String,
        /// Extra: position of the transaction in its block.
        index: i64,
        /// Extra: BIP-141 weight.
        weight: Option<i64>,
        /// Extra: witness txid (equals `hash` without witness data).
        wtxid: Option<String>,
    }
}

crate::table! {
    /// `crypto_bitcoin.inputs`: one row per (non-coinbase) input, enriched with the output it
    /// spends.
    pub struct BtcInputRow = "inputs" {
        transaction_hash: String,
        block_hash: String,
        block_number: i64,
        block_timestamp: Timestamp,
        index: i64,
        spent_transaction_hash: Option<String>,
        spent_output_index: Option<i64>,
        script_asm: Option<String>,
        script_hex: Option<String>,
        sequence: Option<i64>,
        required_signatures: Option<i64>,
        type_ = "type": Option<String>,
        addresses: Vec<String>,
        value: Option<Sats>,
        /// Extra: the chain.
        chain: String,
        /// Extra: the witness stack, hex items.
        witness: Vec<String>,
        /// Extra: the precise class of the spent script (`nulldata`, `multisig`, `pubkey`, …).
        script_type: Option<String>,
        /// Extra: height of the block that created the spent output.
        spent_block_number: Option<i64>,
    }
}

crate::table! {
    /// `crypto_bitcoin.outputs`: one row per output.
    pub struct BtcOutputRow = "outputs" {
        transaction_hash: String,
        block_hash: String,
        block_number: i64,
        block_timestamp: Timestamp,
        index: i64,
        script_asm: Option<String>,
        script_hex: Option<String>,
        required_signatures: Option<i64>,
        type_ = "type": Option<String>,
        addresses: Vec<String>,
        value: Option<Sats>,
        /// Extra: the chain.
        chain: String,
        /// Extra: the precise script class (`nulldata`, `multisig`, `pubkey`, …), where `type`
        /// follows bitcoin-etl and says `nonstandard` for every addressless script.
        script_type: Option<String>,
    }
}

/// The Bitcoin-family tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BtcTable {
    /// `blocks`
    Blocks,
    /// `transactions` (nested inputs and outputs)
    Transactions,
    /// `inputs` (flat)
    Inputs,
    /// `outputs` (flat)
    Outputs,
}

impl BtcTable {
    /// Every table, in dependency order.
    pub const ALL: [BtcTable; 4] = [
        BtcTable::Blocks,
        BtcTable::Transactions,
        BtcTable::Inputs,
        BtcTable::Outputs,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            BtcTable::Blocks => BtcBlockRow::TABLE,
            BtcTable::Transactions => BtcTransactionRow::TABLE,
            BtcTable::Inputs => BtcInputRow::TABLE,
            BtcTable::Outputs => BtcOutputRow::TABLE,
        }
    }

    /// Parses a table name.
    pub fn parse(s: &str) -> Option<BtcTable> {
        BtcTable::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            BtcTable::Blocks => BtcBlockRow::schema(),
            BtcTable::Transactions => BtcTransactionRow::schema(),
            BtcTable::Inputs => BtcInputRow::schema(),
            BtcTable::Outputs => BtcOutputRow::schema(),
        }
    }
}

impl std::fmt::Display for BtcTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lists_build() {
        let rows = vec![BtcTransactionRow {
            hash: "ab".into(),
            inputs: vec![TxInput {
                index: 0,
                addresses: vec!["1abc".into()],
                value: Some(Sats(5)),
                ..Default::default()
            }],
            outputs: vec![TxOutput::default(), TxOutput::default()],
            ..Default::default()
        }];
        let b = BtcTransactionRow::to_batch(&rows).unwrap();
        assert_eq!(b.num_rows(), 1);
        assert_eq!(
            b.schema().field_with_name("inputs").unwrap().data_type(),
            &<Vec<TxInput> as ArrowCol>::data_type()
        );
    }

    #[test]
    fn month() {
        // 2010-04-10 16:31:40 UTC -> 2010-04-01
        let d = Date::month_of(1_270_917_100);
        assert_eq!(crate::table::civil_from_days(d.0 as i64), (2010, 4, 1));
    }
}
