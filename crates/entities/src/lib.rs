//! # ledgerflow-entities
//!
//! Actors from the lake: the UTXO ledger read from a chain folder's `transactions` table
//! ([`ledger`]), dense address ids, address clustering with the multi-input heuristic
//! ([`cluster`]), CoinJoin detection ([`coinjoin`]), change heuristics ([`change`]), the
//! super-cluster guard, explainable merges ([`why`]), and the `entities build` job that
//! writes `addresses`, `address_entity`, `entities`, `entity_merges`, `coinjoins` and
//! `change_outputs` into the chain folder ([`build`]). It reads and writes lake tables
//! only; it never talks to a node.
//!
//! Extract is [`ledger::Ledger::load`] and the table writers in [`build`]; everything in
//! between is pure and tested on hand-built ledgers.

pub mod build;
pub mod change;
pub mod cluster;
pub mod coinjoin;
pub mod deposit;
pub mod error;
pub mod evm_taint;
pub mod graph;
pub mod labels;
pub mod ledger;
pub mod synthetic;
pub mod tables;
pub mod taint;
pub mod taint_run;
pub mod unionfind;
pub mod why;

pub use build::{build, BuildReport};
pub use cluster::{cluster, CoinJoinMode, Options};
pub use error::EntityError;
pub use ledger::Ledger;
