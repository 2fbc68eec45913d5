//! The lake tables the entity layer writes (`crypto_<chain>.<table>` in SQL).

use ledgerflow_core::table::{Sats, Timestamp};

ledgerflow_core::table! {
    /// `addresses`: one dense id per address, in order of first appearance (block, then
    /// transaction, inputs before outputs), so every other table joins on integers.
    pub struct AddressRow = "addresses" {
        /// Dense id from 0.
        id: i64,
        /// The address (bare multisig: its key addresses joined by `,`).
        address: String,
        /// Script class of the first output that paid it.
        type_ = "type": String,
        /// First block it appears in.
        first_block: i64,
        /// Last block it appears in.
        last_block: i64,
        /// Value received in outputs (base units).
        received: Sats,
        /// Value spent from it.
        sent: Sats,
        /// Outputs paying it.
        output_count: i64,
        /// Inputs spending from it.
        input_count: i64,
    }
}

ledgerflow_core::table! {
    /// `address_entity`: the entity of every address.
    pub struct AddressEntityRow = "address_entity" {
        /// Address id.
        address_id: i64,
        /// The address.
        address: String,
        /// Entity id: the smallest address id in the entity (stable across rebuilds).
        entity_id: i64,
    }
}

ledgerflow_core::table! {
    /// `entities`: one row per entity.
    pub struct EntityRow = "entities" {
        /// Entity id (its smallest address id).
        entity_id: i64,
        /// Number of addresses.
        address_count: i64,
        /// First block any of its addresses appears in.
        first_block: i64,
        /// Last block.
        last_block: i64,
        /// Time of the first block.
        first_seen: Timestamp,
        /// Time of the last block.
        last_seen: Timestamp,
        /// Value received (outputs paying its addresses, change included).
        received: Sats,
        /// Value spent.
        sent: Sats,
        /// received − sent: what its addresses hold at the lake's last block.
        balance: Sats,
        /// Transactions with an input or an output of the entity.
        tx_count: i64,
        /// Transactions paying it.
        received_tx_count: i64,
        /// Transactions spending from it.
        sent_tx_count: i64,
        /// Addresses by script class: `pubkeyhash:3,scripthash:1`.
        script_types: String,
        /// Detected CoinJoins it put an input into.
        coinjoin_count: i64,
    }
}

ledgerflow_core::table! {
    /// `entity_merges`: every union of two clusters and every refused one, the evidence
    /// behind `ledgerflow entities why`.
    pub struct EntityMergeRow = "entity_merges" {
        /// Block of the transaction.
        block_number: i64,
        /// The transaction.
        transaction_hash: String,
        /// `multi-input` or `change`.
        rule: String,
        /// For `change`: the heuristics that picked the output (`optimal+address-type`).
        heuristics: Option<String>,
        /// For `change`: the change output's position.
        output_index: Option<i64>,
        /// The spender's address id (the transaction's first input).
        address_id_a: i64,
        /// Its address.
        address_a: String,
        /// The address joined to it.
        address_id_b: i64,
        /// Its address.
        address_b: String,
        /// 1 for multi-input; the change pick's confidence.
        confidence: f64,
        /// `merged`, `refused-guard` or `refused-confidence`.
        status: String,
        /// Addresses in `a`'s cluster before.
        size_a: i64,
        /// Addresses in `b`'s cluster before.
        size_b: i64,
    }
}

ledgerflow_core::table! {
    /// `coinjoins`: each detected CoinJoin with the rule that fired.
    pub struct CoinJoinRow = "coinjoins" {
        /// Block.
        block_number: i64,
        /// The transaction.
        transaction_hash: String,
        /// `whirlpool`, `wasabi2`, `wasabi1`, `equal-output` or `joinmarket`.
        rule: String,
        /// Inputs.
        input_count: i64,
        /// Outputs.
        output_count: i64,
        /// The most repeated output value.
        equal_value: Sats,
        /// How often it repeats.
        equal_count: i64,
    }
}

ledgerflow_core::table! {
    /// `change_outputs`: the change output picked in each transaction.
    pub struct ChangeOutputRow = "change_outputs" {
        /// Block.
        block_number: i64,
        /// The transaction.
        transaction_hash: String,
        /// Position of the change output.
        output_index: i64,
        /// Its address.
        address: String,
        /// Its value.
        value: Sats,
        /// The heuristics (`optimal+address-type`).
        heuristics: String,
        /// Confidence of the pick.
        confidence: f64,
    }
}

/// The tables a build rewrites whole.
pub const WHOLE_TABLES: [&str; 3] = ["addresses", "address_entity", "entities"];
/// The tables a build appends to (one chunk per block range it processed).
pub const EVIDENCE_TABLES: [&str; 3] = ["entity_merges", "coinjoins", "change_outputs"];

ledgerflow_core::table! {
    /// `address_labels`: public labels of addresses (`ledgerflow labels import`), one row
    /// per address, category and source.
    pub struct AddressLabelRow = "address_labels" {
        /// The address (EVM: lower case).
        address: String,
        /// The category (exchange, miner, mixer, gambling, ransomware, phishing, …;
        /// lower case).
        category: String,
        /// The label's name (a TagPack's `label`, e.g. an exchange's name; the category
        /// when the file has none).
        label: String,
        /// Where the label comes from (a URL, a data set's name).
        source: String,
        /// Confidence in [0, 1], when the file gives one.
        confidence: Option<f64>,
        /// The file it was imported from.
        file: String,
        /// Whether the address appears on the chain in the lake.
        known: bool,
        /// Its address id (UTXO chains with `entities build`), when known.
        address_id: Option<i64>,
        /// Its entity (`address_entity`), when entities are built.
        entity_id: Option<i64>,
    }
}

ledgerflow_core::table! {
    /// `entity_labels`: labels propagated from addresses to their entities.
    pub struct EntityLabelRow = "entity_labels" {
        /// Entity id.
        entity_id: i64,
        /// The category most of its labelled addresses carry (ties: alphabetical).
        category: String,
        /// Its labelled addresses.
        labelled_addresses: i64,
        /// Every category with its number of addresses: `exchange:3,mixer:1`.
        categories: String,
        /// Whether its addresses carry more than one category.
        conflict: bool,
        /// Share of its labelled addresses in the chosen category.
        agreement: f64,
    }
}
