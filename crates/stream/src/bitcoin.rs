//! Block headers of a Bitcoin-family node (`getblockhash` + `getblockheader`).

use ledgerflow_rpc::{RpcClient, RpcError};
use serde::Deserialize;
use serde_json::json;

use crate::chain::{BlockRef, Headers};
use crate::evm::StreamError;

/// Bitcoin Core's "Block height out of range".
const OUT_OF_RANGE: i64 = -8;

/// Headers from a Bitcoin-family node.
pub struct BitcoinHeaders<'a> {
    client: &'a RpcClient,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    hash: String,
    height: u64,
    #[serde(rename = "previousblockhash")]
    previous: Option<String>,
}

impl<'a> BitcoinHeaders<'a> {
    /// Headers through `client` (with the node's auth).
    pub fn new(client: &'a RpcClient) -> Self {
        BitcoinHeaders { client }
    }

    /// The node's best height.
    pub async fn head_number(&self) -> Result<u64, StreamError> {
        let raw = self
            .client
            .call("getblockcount", json!([]))
            .await
            .map_err(|source| StreamError::Rpc {
                what: "getblockcount".into(),
                source,
            })?;
        serde_json::from_str(raw.get()).map_err(|e| StreamError::Answer {
            what: "getblockcount".into(),
            reason: e.to_string(),
        })
    }
}

impl Headers for BitcoinHeaders<'_> {
    type Error = StreamError;

    async fn head(&self) -> Result<u64, StreamError> {
        self.head_number().await
    }

    async fn header(&self, number: u64) -> Result<Option<BlockRef>, StreamError> {
        let what = format!("getblockhash({number})");
        let hash = match self.client.call("getblockhash", json!([number])).await {
            Ok(raw) => {
                serde_json::from_str::<String>(raw.get()).map_err(|e| StreamError::Answer {
                    what: what.clone(),
                    reason: e.to_string(),
                })?
            }
            Err(RpcError::Node { code, .. }) if code == OUT_OF_RANGE => return Ok(None),
            Err(source) => return Err(StreamError::Rpc { what, source }),
        };
        let what = format!("getblockheader({hash})");
        let raw = self
            .client
            .call("getblockheader", json!([hash, true]))
            .await
            .map_err(|source| StreamError::Rpc {
                what: what.clone(),
                source,
            })?;
        let h: Header = serde_json::from_str(raw.get()).map_err(|e| StreamError::Answer {
            what: what.clone(),
            reason: e.to_string(),
        })?;
        if h.height != number || h.hash != hash {
            // the node switched branch between the two calls
            return Err(StreamError::Moved {
                number,
                expected: hash,
                got: h.hash,
            });
        }
        Ok(Some(BlockRef {
            number,
            hash: h.hash,
            parent_hash: h.previous.unwrap_or_default(),
        }))
    }
}
