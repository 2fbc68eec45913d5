//! # ledgerflow-bitcoin
//!
//! Bitcoin-family chains (Bitcoin, Litecoin, Bitcoin Cash, Dogecoin; Dash and Zcash through
//! RPC) into the `crypto_bitcoin` tables.
//!
//! * [`chain`]: chain parameters, one entry per chain and network.
//! * [`raw`]: consensus decoding of blocks and transactions (segwit, MWEB flag, AuxPoW).
//! * [`verbose`]: the node's verbose JSON forms (both before and after Core 22).
//! * [`script`]: asm, script classes, required signatures and addresses as Core shows them.
//! * [`address`]: Base58Check, Bech32/Bech32m, CashAddr.
//! * [`utxo`]: the compact spent-output index used for enrichment in the pipeline.
//! * [`transform`]: decoded blocks → rows (pure).
//! * [`etl`]: bitcoin-etl's JSON/CSV rendering.
//! * [`blkfiles`]: reading a data directory's `blocks/blk*.dat` (XOR, best chain).
//! * [`source`]: the RPC and file sources that feed the transform in height order.
//! * [`pipeline`]: an export run: chunks fetched concurrently, enriched in height order
//!   through the shared index, rows handed to each chunk's writer.

pub mod address;
pub mod blkfiles;
pub mod chain;
pub mod error;
pub mod etl;
pub mod fuzz;
pub mod hash;
pub mod model;
pub mod pipeline;
pub mod raw;
pub mod script;
pub mod source;
pub mod transform;
pub mod utxo;
pub mod verbose;

pub use chain::ChainParams;
pub use error::BtcError;
pub use transform::{BtcRows, Want};
