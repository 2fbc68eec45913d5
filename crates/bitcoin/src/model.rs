//! The decoded form of blocks and transactions that both sources (raw bytes and the node's
//! verbose JSON) produce and the transform turns into rows.

/// What the node said about an output script (verbose RPC answers); raw decoding leaves it
/// empty and the transform derives the same from the script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeScript {
    /// `asm`
    pub asm: Option<String>,
    /// `type`
    pub type_: Option<String>,
    /// `reqSigs` (Core < 22)
    pub req_sigs: Option<i64>,
    /// `addresses` (Core < 22) or `[address]` (Core ≥ 22)
    pub addresses: Vec<String>,
}

/// A transaction input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxIn {
    /// The spent outpoint (txid in internal byte order, output index); None for a coinbase.
    pub prev: Option<([u8; 32], u32)>,
    /// scriptSig (the coinbase data for a coinbase input).
    pub script_sig: Vec<u8>,
    /// nSequence.
    pub sequence: u32,
    /// Witness stack.
    pub witness: Vec<Vec<u8>>,
    /// The node's asm of the scriptSig, when it gave one.
    pub node_asm: Option<String>,
}

/// A transaction output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxOut {
    /// Value in base units.
    pub value: i64,
    /// scriptPubKey.
    pub script: Vec<u8>,
    /// The node's view of the script, when it gave one.
    pub node: Option<NodeScript>,
}

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tx {
    /// txid, internal byte order.
    pub txid: [u8; 32],
    /// wtxid (differs from txid only with witness data).
    pub wtxid: Option<[u8; 32]>,
    /// nVersion (signed, as Core prints it).
    pub version: i64,
    /// nLockTime.
    pub lock_time: i64,
    /// Serialized size with witness.
    pub size: Option<i64>,
    /// Virtual size (BIP-141), where known.
    pub vsize: Option<i64>,
    /// Weight (BIP-141), where known.
    pub weight: Option<i64>,
    /// Inputs, coinbase input included.
    pub inputs: Vec<TxIn>,
    /// Outputs.
    pub outputs: Vec<TxOut>,
    /// Zcash: value entering the transparent pool from shielded pools (vpub_new of
    /// JoinSplits, positive valueBalance), one entry each, in base units.
    pub shielded_inputs: Vec<i64>,
    /// Zcash: value leaving to shielded pools (vpub_old, negative valueBalance).
    pub shielded_outputs: Vec<i64>,
}

impl Tx {
    /// Whether this transaction has a coinbase input.
    pub fn is_coinbase(&self) -> bool {
        self.inputs.iter().any(|i| i.prev.is_none())
    }
}

/// A block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Block {
    /// Block hash, internal byte order.
    pub hash: [u8; 32],
    /// Height in the best chain (known from the chain index or the node).
    pub height: i64,
    /// nVersion.
    pub version: i64,
    /// Parent hash, internal byte order (zero for genesis).
    pub prev: [u8; 32],
    /// Merkle root, display hex.
    pub merkle_root: String,
    /// nTime.
    pub time: i64,
    /// nBits as 8 hex digits.
    pub bits: String,
    /// Nonce as bitcoin-etl writes it (hex without leading zeros; Zcash: 64 hex digits).
    pub nonce: String,
    /// Serialized size.
    pub size: Option<i64>,
    /// Size without witness data.
    pub stripped_size: Option<i64>,
    /// Weight.
    pub weight: Option<i64>,
    /// Transactions in block order.
    pub txs: Vec<Tx>,
}
