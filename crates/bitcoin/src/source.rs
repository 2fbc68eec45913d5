//! The sources: a node's JSON-RPC and a data directory's block files. Both hand out
//! decoded blocks of the best chain for a height range, in height order.

use std::collections::HashMap;
use std::sync::Arc;

use ledgerflow_rpc::{Request, RpcClient, RpcError};
use serde_json::json;
use serde_json::value::RawValue;

use crate::blkfiles::DataDir;
use crate::chain::ChainParams;
use crate::error::BtcError;
use crate::hash::{from_hex, hash_hex};
use crate::model::Block;
use crate::raw;
use crate::utxo::Coin;
use crate::verbose;

/// How blocks are asked for over RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcMode {
    /// `getblock <hash> 0`, decoded here (the fast path).
    Raw,
    /// `getblock <hash> 2` (or, on old-API chains, `getblock <hash> true` plus
    /// `getrawtransaction`), with the node's asm, types and addresses.
    Verbose,
}

impl RpcMode {
    /// Raw where the chain's blocks can be decoded here, verbose otherwise.
    pub fn auto(params: &ChainParams) -> RpcMode {
        if params.raw_decodable {
            RpcMode::Raw
        } else {
            RpcMode::Verbose
        }
    }
}

/// A node over JSON-RPC.
#[derive(Clone)]
pub struct RpcSource {
    /// The client.
    pub client: Arc<RpcClient>,
    /// Chain parameters.
    pub params: &'static ChainParams,
    /// Raw or verbose blocks.
    pub mode: RpcMode,
}

fn text(raw: &RawValue) -> Result<String, serde_json::Error> {
    serde_json::from_str::<String>(raw.get())
}

impl RpcSource {
    fn rpc_err(method: &'static str, block: impl ToString, source: RpcError) -> BtcError {
        BtcError::Rpc {
            method,
            block: block.to_string(),
            source,
        }
    }

    fn malformed(method: &'static str, block: impl ToString, reason: String) -> BtcError {
        BtcError::Rpc {
            method,
            block: block.to_string(),
            source: RpcError::Malformed {
                method: method.into(),
                reason,
            },
        }
    }

    /// The node's block count (height of its tip).
    pub async fn head(&self) -> Result<i64, BtcError> {
        let v = self
            .client
            .call("getblockcount", json!([]))
            .await
            .map_err(|e| Self::rpc_err("getblockcount", "tip", e))?;
        v.get().trim().parse().map_err(|_| {
            Self::malformed("getblockcount", "tip", format!("not a number: {}", v.get()))
        })
    }

    /// Checks that the node's genesis block is the chain's.
    pub async fn check_genesis(&self) -> Result<(), BtcError> {
        let h = self.hashes(0, 0).await?;
        if h.first().map(String::as_str) != Some(self.params.genesis) {
            return Err(BtcError::WrongChain(format!(
                "the node's genesis block is {}, {} starts with {}",
                h.first().cloned().unwrap_or_default(),
                self.params,
                self.params.genesis
            )));
        }
        Ok(())
    }

    async fn hashes(&self, start: i64, end: i64) -> Result<Vec<String>, BtcError> {
        let reqs: Vec<Request> = (start..=end)
            .map(|h| Request::new("getblockhash", json!([h])))
            .collect();
        let answers = self.client.batch(reqs).await;
        answers
            .into_iter()
            .zip(start..=end)
            .map(|(a, h)| {
                let raw = a.map_err(|e| Self::rpc_err("getblockhash", h, e))?;
                text(&raw).map_err(|e| Self::malformed("getblockhash", h, e.to_string()))
            })
            .collect()
    }

    /// Blocks `start..=end`, decoded, in height order.
    pub async fn blocks(&self, start: i64, end: i64) -> Result<Vec<Block>, BtcError> {
        if end < start {
            return Ok(Vec::new());
        }
        let hashes = self.hashes(start, end).await?;
        match self.mode {
            RpcMode::Raw => self.raw_blocks(start, &hashes).await,
            RpcMode::Verbose => self.verbose_blocks(start, &hashes).await,
        }
    }

    async fn raw_blocks(&self, start: i64, hashes: &[String]) -> Result<Vec<Block>, BtcError> {
        let fmt = raw::Format::of(self.params);
        let reqs: Vec<Request> = hashes
            .iter()
            .map(|h| Request::new("getblock", json!([h, 0])))
            .collect();
        let answers = self.client.batch(reqs).await;
        let mut out = Vec::with_capacity(hashes.len());
        for (i, a) in answers.into_iter().enumerate() {
            let height = start + i as i64;
            let hash = &hashes[i];
            let raw = a.map_err(|e| Self::rpc_err("getblock", hash, e))?;
            let hex = text(&raw).map_err(|e| Self::malformed("getblock", hash, e.to_string()))?;
            let bytes = from_hex(&hex).ok_or_else(|| {
                Self::malformed("getblock", hash, "the raw block is not hex".into())
            })?;
            let block = raw::decode_block(&bytes, height, fmt).map_err(|e| BtcError::Decode {
                hash: hash.clone(),
                location: format!("getblock {hash} 0 (height {height})"),
                source: e,
            })?;
            if &hash_hex(&block.hash) != hash {
                return Err(Self::malformed(
                    "getblock",
                    hash,
                    format!("the raw block hashes to {}", hash_hex(&block.hash)),
                ));
            }
            out.push(block);
        }
        Ok(out)
    }

    async fn verbose_blocks(&self, start: i64, hashes: &[String]) -> Result<Vec<Block>, BtcError> {
        let old = self.params.old_api;
        let reqs: Vec<Request> = hashes
            .iter()
            .map(|h| {
                if old {
                    Request::new("getblock", json!([h, true]))
                } else {
                    Request::new("getblock", json!([h, 2]))
                }
            })
            .collect();
        let answers = self.client.batch(reqs).await;
        let mut out = Vec::with_capacity(hashes.len());
        let mut need: Vec<(usize, Vec<String>)> = Vec::new();
        for (i, a) in answers.into_iter().enumerate() {
            let hash = &hashes[i];
            let raw = a.map_err(|e| Self::rpc_err("getblock", hash, e))?;
            let vb = verbose::parse_block(raw.get()).map_err(|e| BtcError::Verbose {
                method: "getblock",
                block: hash.clone(),
                source: e,
            })?;
            let mut block = vb.block;
            if block.height < 0 {
                block.height = start + i as i64;
            }
            if !vb.txids.is_empty() {
                need.push((i, vb.txids));
            }
            out.push(block);
        }
        // old API: the transactions one by one (genesis coinbase from the raw block)
        for (i, txids) in need {
            let reqs: Vec<Request> = txids
                .iter()
                .map(|t| Request::new("getrawtransaction", json!([t, 1])))
                .collect();
            let answers = self.client.batch(reqs).await;
            let hash = hashes[i].clone();
            let mut txs = Vec::with_capacity(txids.len());
            for (k, a) in answers.into_iter().enumerate() {
                match a {
                    Ok(raw) => {
                        let (tx, _) =
                            verbose::parse_tx(raw.get()).map_err(|e| BtcError::Verbose {
                                method: "getrawtransaction",
                                block: hash.clone(),
                                source: e,
                            })?;
                        txs.push(tx);
                    }
                    Err(e) if out[i].height == 0 && k == 0 => {
                        // the genesis coinbase is not a transaction to the node
                        tracing::debug!(target: "ledgerflow::bitcoin", error = %e, "genesis coinbase from the raw block");
                        let raw_block = self.raw_blocks(0, std::slice::from_ref(&hash)).await?;
                        if let Some(t) = raw_block
                            .into_iter()
                            .next()
                            .and_then(|b| b.txs.into_iter().next())
                        {
                            txs.push(t);
                        }
                    }
                    Err(e) => return Err(Self::rpc_err("getrawtransaction", &hash, e)),
                }
            }
            out[i].txs = txs;
        }
        Ok(out)
    }

    /// Loads into `index` the outputs spent by `blocks` (in chain order) that neither
    /// `index` nor the blocks themselves hold (created before them), with
    /// `getrawtransaction`. Returns how many were fetched.
    pub async fn load_missing_prevouts(
        &self,
        index: &mut crate::utxo::UtxoIndex,
        blocks: &[Block],
    ) -> Result<u64, BtcError> {
        let mut created: std::collections::HashSet<[u8; 32]> = std::collections::HashSet::new();
        for b in blocks {
            for t in &b.txs {
                created.insert(t.txid);
            }
        }
        let mut missing = Vec::new();
        for b in blocks {
            for t in &b.txs {
                for i in &t.inputs {
                    if let Some((txid, vout)) = i.prev {
                        if !created.contains(&txid) && !index.contains(&txid, vout) {
                            missing.push((txid, vout));
                        }
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(0);
        }
        let coins = self.prevouts(&missing).await?;
        let n = coins.len() as u64;
        for ((t, v), c) in coins {
            index.insert(&t, v, c.value, c.height, &c.script);
        }
        Ok(n)
    }

    /// The outputs `txid:vout` from `getrawtransaction` (needs `txindex=1` on the node for
    /// confirmed transactions), for inputs that spend outputs created before the exported
    /// range.
    pub async fn prevouts(
        &self,
        outpoints: &[([u8; 32], u32)],
    ) -> Result<HashMap<([u8; 32], u32), Coin>, BtcError> {
        let mut txids: Vec<[u8; 32]> = outpoints.iter().map(|(t, _)| *t).collect();
        txids.sort();
        txids.dedup();
        let reqs: Vec<Request> = txids
            .iter()
            .map(|t| Request::new("getrawtransaction", json!([hash_hex(t), 1])))
            .collect();
        let answers = self.client.batch(reqs).await;
        let mut by_tx: HashMap<[u8; 32], (crate::model::Tx, Option<String>)> = HashMap::new();
        for (t, a) in txids.iter().zip(answers) {
            let raw = a.map_err(|e| BtcError::UnknownPrevout {
                tx: "-".into(),
                input: 0,
                prevout: hash_hex(t),
                height: -1,
                hint: format!("getrawtransaction failed ({e}); start the node with txindex=1 or export from block 0"),
            })?;
            let (tx, blockhash) = verbose::parse_tx(raw.get()).map_err(|e| BtcError::Verbose {
                method: "getrawtransaction",
                block: hash_hex(t),
                source: e,
            })?;
            by_tx.insert(*t, (tx, blockhash));
        }
        // the heights of the blocks that created them
        let mut blocks: Vec<String> = by_tx.values().filter_map(|(_, b)| b.clone()).collect();
        blocks.sort();
        blocks.dedup();
        let answers = self
            .client
            .batch(
                blocks
                    .iter()
                    .map(|b| Request::new("getblockheader", json!([b, true])))
                    .collect(),
            )
            .await;
        let mut heights: HashMap<String, i32> = HashMap::new();
        // best effort: a node without getblockheader leaves spent_block_number null
        for (b, a) in blocks.iter().zip(answers) {
            match a {
                Ok(raw) => {
                    let v: serde_json::Value = serde_json::from_str(raw.get())
                        .map_err(|e| Self::malformed("getblockheader", b, e.to_string()))?;
                    if let Some(h) = v["height"].as_i64() {
                        heights.insert(b.clone(), h as i32);
                    }
                }
                Err(e) => {
                    tracing::debug!(target: "ledgerflow::bitcoin", block = %b, error = %e, "no height for a spent output's block");
                }
            }
        }
        let mut out = HashMap::new();
        for (t, v) in outpoints {
            let entry = by_tx.get(t);
            let height = entry
                .and_then(|(_, b)| b.as_ref())
                .and_then(|b| heights.get(b))
                .copied()
                .unwrap_or(-1);
            let o = entry
                .and_then(|(tx, _)| tx.outputs.get(*v as usize))
                .ok_or_else(|| BtcError::UnknownPrevout {
                    tx: "-".into(),
                    input: 0,
                    prevout: format!("{}:{v}", hash_hex(t)),
                    height: -1,
                    hint: "the transaction has no such output".into(),
                })?;
            out.insert(
                (*t, *v),
                Coin {
                    value: o.value,
                    height,
                    script: o.script.clone(),
                },
            );
        }
        Ok(out)
    }
}

/// Where blocks come from.
#[derive(Clone)]
pub enum Source {
    /// A node.
    Rpc(RpcSource),
    /// A data directory.
    Files(Arc<DataDir>),
}

impl Source {
    /// Height of the tip.
    pub async fn head(&self) -> Result<i64, BtcError> {
        match self {
            Source::Rpc(r) => r.head().await,
            Source::Files(d) => Ok(d.tip()),
        }
    }

    /// Blocks `start..=end` in height order.
    pub async fn blocks(&self, start: i64, end: i64) -> Result<Vec<Block>, BtcError> {
        match self {
            Source::Rpc(r) => r.blocks(start, end).await,
            Source::Files(d) => {
                let d = d.clone();
                tokio::task::spawn_blocking(move || d.blocks(start, end))
                    .await
                    .map_err(|e| BtcError::Missing {
                        height: start,
                        reason: format!("reader task failed: {e}"),
                    })?
            }
        }
    }

    /// The chain parameters.
    pub fn params(&self) -> &'static ChainParams {
        match self {
            Source::Rpc(r) => r.params,
            Source::Files(d) => d.params,
        }
    }
}
