//! Block headers of an EVM node (`eth_getBlockByNumber` without transactions).

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
    pub async fn head(&self) -> Result<u64, StreamError> {
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
