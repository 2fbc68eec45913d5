//! An EVM node as a stream source: block headers (`eth_getBlockByNumber` without
//! transactions) for following the chain, and the rows of the blocks an event applies,
//! checked to belong to exactly those blocks.

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use ledgerflow_core::tables::evm::EvmTable;
use ledgerflow_core::BlockRange;
use ledgerflow_evm::{EvmSource, Want};
use ledgerflow_rpc::{RpcClient, RpcError};
use serde::Deserialize;
use serde_json::json;

use crate::chain::{BlockRef, ChainError, Headers};

/// A streaming failure.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The chain's blocks do not fit the stored ones.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A node call failed (after the client's retries).
    #[error("{what}")]
    Rpc {
        /// The call.
        what: String,
        /// Cause.
        #[source]
        source: RpcError,
    },
    /// Fetching the rows of a block range failed.
    #[error("fetching blocks {range}")]
    Fetch {
        /// The blocks.
        range: String,
        /// Cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The node answered for another block than the one resolved (it changed branch in
    /// between); the follower resolves again.
    #[error(
        "block {number} changed while its rows were fetched ({expected} resolved, {got} fetched)"
    )]
    Moved {
        /// Height.
        number: u64,
        /// The hash resolved.
        expected: String,
        /// The hash of the rows fetched.
        got: String,
    },
    /// A node answer could not be read.
    #[error("{what}: unexpected answer: {reason}")]
    Answer {
        /// The call.
        what: String,
        /// What was wrong.
        reason: String,
    },
}

/// Headers from an EVM node.
pub struct EvmHeaders<'a> {
    client: &'a RpcClient,
}

impl<'a> EvmHeaders<'a> {
    /// Headers through `client`.
    pub fn new(client: &'a RpcClient) -> Self {
        EvmHeaders { client }
    }

    /// The node's head block number.
    pub async fn head_number(&self) -> Result<u64, StreamError> {
        let raw = self
            .client
            .call("eth_blockNumber", json!([]))
            .await
            .map_err(|source| StreamError::Rpc {
                what: "eth_blockNumber".into(),
                source,
            })?;
        let s: String = serde_json::from_str(raw.get()).map_err(|e| StreamError::Answer {
            what: "eth_blockNumber".into(),
            reason: e.to_string(),
        })?;
        hex_u64(&s).ok_or_else(|| StreamError::Answer {
            what: "eth_blockNumber".into(),
            reason: format!("{s:?} is not a hex quantity"),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    number: String,
    hash: String,
    parent_hash: String,
}

fn hex_u64(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

impl Headers for EvmHeaders<'_> {
    type Error = StreamError;

    async fn head(&self) -> Result<u64, StreamError> {
        self.head_number().await
    }

    async fn header(&self, number: u64) -> Result<Option<BlockRef>, StreamError> {
        let what = format!("eth_getBlockByNumber({number})");
        let raw = self
            .client
            .call(
                "eth_getBlockByNumber",
                json!([format!("0x{number:x}"), false]),
            )
            .await
            .map_err(|source| StreamError::Rpc {
                what: what.clone(),
                source,
            })?;
        let h: Option<Header> =
            serde_json::from_str(raw.get()).map_err(|e| StreamError::Answer {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let Some(h) = h else {
            return Ok(None);
        };
        if hex_u64(&h.number) != Some(number) {
            return Err(StreamError::Answer {
                what,
                reason: format!("the node answered block {}", h.number),
            });
        }
        Ok(Some(BlockRef {
            number,
            hash: h.hash.to_ascii_lowercase(),
            parent_hash: h.parent_hash.to_ascii_lowercase(),
        }))
    }
}

/// The rows of a run of blocks, fetched for a `Committed` or `Reorged` event.
#[derive(Debug, Default)]
pub struct BlockRows {
    /// The blocks the rows belong to, as the fetched `blocks` rows link them.
    pub blocks: Vec<BlockRef>,
    /// Each table's rows, batch by batch, in block order (only the tables asked for).
    pub tables: Vec<(EvmTable, RecordBatch)>,
}

/// Fetches the rows of `blocks` (linked, in height order) and checks that the node
/// answered for exactly these blocks: the fetched `blocks` rows must carry the same
/// hashes. A node that changed branch in between gives [`StreamError::Moved`]; the
/// follower then resolves the chain again. Nothing is returned half.
pub async fn fetch_rows(
    source: &EvmSource,
    blocks: &[BlockRef],
    tables: &[EvmTable],
) -> Result<BlockRows, StreamError> {
    let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
        return Ok(BlockRows::default());
    };
    let range = BlockRange::new(first.number, last.number);
    // blocks are always fetched: they carry the hashes checked below
    let mut all = tables.to_vec();
    if !all.contains(&EvmTable::Blocks) {
        all.push(EvmTable::Blocks);
    }
    let want = Want::of_tables(&all);
    let mut out = BlockRows::default();
    let mut fetched: Vec<BlockRef> = Vec::new();
    source
        .fetch_into(range, &want, &all, |t, batch| {
            if t == EvmTable::Blocks {
                fetched.extend(block_refs(batch)?);
            }
            if tables.contains(&t) {
                out.tables.push((t, batch.clone()));
            }
            Ok::<(), StreamError>(())
        })
        .await
        .map_err(|e| StreamError::Fetch {
            range: range.to_string(),
            source: Box::new(e),
        })?;
    for (want, got) in blocks
        .iter()
        .zip(fetched.iter().chain(std::iter::repeat(&BlockRef {
            number: u64::MAX,
            hash: String::new(),
            parent_hash: String::new(),
        })))
    {
        if want != got {
            return Err(StreamError::Moved {
                number: want.number,
                expected: want.hash.clone(),
                got: got.hash.clone(),
            });
        }
    }
    out.blocks = fetched;
    Ok(out)
}

/// (number, hash, parent_hash) of every row of a `blocks` batch.
fn block_refs(batch: &RecordBatch) -> Result<Vec<BlockRef>, StreamError> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| StreamError::Answer {
                what: "blocks rows".into(),
                reason: format!("no column {name}"),
            })
    };
    let number = col("number")?
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| StreamError::Answer {
            what: "blocks rows".into(),
            reason: "number is not Int64".into(),
        })?;
    let strings = |name: &str| -> Result<&StringArray, StreamError> {
        col(name)?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| StreamError::Answer {
                what: "blocks rows".into(),
                reason: format!("{name} is not a string column"),
            })
    };
    let (hash, parent) = (strings("hash")?, strings("parent_hash")?);
    Ok((0..batch.num_rows())
        .map(|i| BlockRef {
            number: number.value(i) as u64,
            hash: hash.value(i).to_string(),
            parent_hash: parent.value(i).to_string(),
        })
        .collect())
}
