//! A Bitcoin-family node as a stream source: block headers (`getblockhash` +
//! `getblockheader`) for following the chain, and the rows of the blocks an event applies
//! (decoded from `getblock`, checked against the resolved hashes), with every input
//! enriched with the output it spends.

use std::sync::Arc;

use ledgerflow_bitcoin::hash::hash_hex;
use ledgerflow_bitcoin::source::RpcSource;
use ledgerflow_bitcoin::transform::{block_rows, BtcRows, Want};
use ledgerflow_bitcoin::utxo::UtxoIndex;
use ledgerflow_core::tables::bitcoin::{
    BtcBlockRow, BtcInputRow, BtcOutputRow, BtcTable, BtcTransactionRow,
};
use ledgerflow_rpc::{RpcClient, RpcError};
use serde::Deserialize;
use serde_json::json;

use crate::chain::{BlockRef, Headers};
use crate::driver::{last_timestamp, Fetched, RowSource};
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

/// A Bitcoin-family node: headers and enriched rows.
pub struct BtcNode {
    client: Arc<RpcClient>,
    source: RpcSource,
    tables: Vec<BtcTable>,
}

impl BtcNode {
    /// Rows through `source` (its client also answers the headers), for `tables`.
    pub fn new(source: RpcSource, tables: Vec<BtcTable>) -> Self {
        BtcNode {
            client: source.client.clone(),
            source,
            tables,
        }
    }
}

impl Headers for BtcNode {
    type Error = StreamError;
    async fn header(&self, number: u64) -> Result<Option<BlockRef>, StreamError> {
        BitcoinHeaders::new(&self.client).header(number).await
    }
    async fn head(&self) -> Result<u64, StreamError> {
        BitcoinHeaders::new(&self.client).head_number().await
    }
}

impl RowSource for BtcNode {
    fn tables(&self) -> Vec<&'static str> {
        self.tables.iter().map(|t| t.name()).collect()
    }

    /// The blocks' rows. Inputs are enriched without state kept between events (a
    /// reorganisation has nothing to restore): outputs created in these blocks are
    /// indexed as they are transformed, older ones are fetched with `getrawtransaction`
    /// (the node needs `txindex=1`).
    async fn fetch(&self, blocks: &[BlockRef]) -> Result<Fetched, StreamError> {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            return Ok(Fetched::default());
        };
        let range = format!("{}:{}", first.number, last.number);
        let fetch_err = |e: ledgerflow_bitcoin::BtcError| StreamError::Fetch {
            range: range.clone(),
            source: Box::new(e),
        };
        let got = self
            .source
            .blocks(first.number as i64, last.number as i64)
            .await
            .map_err(fetch_err)?;
        for (want, b) in blocks.iter().zip(
            got.iter()
                .map(|b| Some(hash_hex(&b.hash)))
                .chain(std::iter::repeat(None)),
        ) {
            if b.as_deref() != Some(want.hash.as_str()) {
                return Err(StreamError::Moved {
                    number: want.number,
                    expected: want.hash.clone(),
                    got: b.unwrap_or_default(),
                });
            }
        }
        let mut index = UtxoIndex::new();
        self.source
            .load_missing_prevouts(&mut index, &got)
            .await
            .map_err(fetch_err)?;
        let mut rows = BtcRows::default();
        for b in &got {
            block_rows(
                b,
                self.source.params,
                Want::ALL,
                Some(&mut index),
                &mut rows,
            );
        }
        let mut tables = Vec::new();
        for t in &self.tables {
            let batch = match t {
                BtcTable::Blocks => BtcBlockRow::to_batch(&rows.blocks),
                BtcTable::Transactions => BtcTransactionRow::to_batch(&rows.transactions),
                BtcTable::Inputs => BtcInputRow::to_batch(&rows.inputs),
                BtcTable::Outputs => BtcOutputRow::to_batch(&rows.outputs),
            }
            .map_err(|e| StreamError::Answer {
                what: format!("rows of blocks {range}"),
                reason: e.to_string(),
            })?;
            tables.push((t.name(), batch));
        }
        let tip_timestamp = tables
            .iter()
            .find(|(t, _)| *t == "blocks")
            .and_then(|(_, b)| last_timestamp(b));
        Ok(Fetched {
            tables,
            tip_timestamp,
        })
    }
}
