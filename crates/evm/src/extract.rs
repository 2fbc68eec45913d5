//! Extraction: fetch a block range from a node and transform it into rows.
//!
//! Per range: one batch of `eth_getBlockByNumber(n, true)`, and at the same time one batch of
//! `eth_getBlockReceipts(n)` (falling back to `eth_getTransactionReceipt` per transaction
//! when the node lacks it) and one batch of `trace_block(n)` or
//! `debug_traceBlockByNumber(n, callTracer)`. Token metadata then needs `eth_call`s for the
//! token contracts created in the range.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use arrow_array::RecordBatch;
use ledgerflow_core::tables::evm::{EvmTable, TokenRow};
use ledgerflow_core::BlockRange;
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::value::RawValue;

use crate::error::{EvmError, RpcError};
use crate::json::{GethTxTrace, ParityTrace, RpcBlock, RpcReceipt};
use crate::rpc::{Answer, Request, RpcClient};
use crate::transform::{self, tokens, BlockData, BlockTraces, EvmRows, Want};

/// Which trace API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceMode {
    /// Try `trace_block`; use `debug_traceBlockByNumber` if the node lacks it.
    #[default]
    Auto,
    /// `trace_block` (Parity, OpenEthereum, Erigon, Reth, Nethermind, anvil).
    Parity,
    /// `debug_traceBlockByNumber` with `callTracer` (Geth and most others).
    Geth,
}

impl std::str::FromStr for TraceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(TraceMode::Auto),
            "parity" | "trace_block" | "trace" | "erigon" | "reth" => Ok(TraceMode::Parity),
            "geth" | "debug" | "calltracer" | "debug_traceblockbynumber" => Ok(TraceMode::Geth),
            other => Err(format!("unknown trace mode {other:?} (auto, parity, geth)")),
        }
    }
}

/// At which block token metadata (`eth_call`) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenBlock {
    /// The last block of the chunk that holds the token's creation (deterministic).
    #[default]
    ChunkEnd,
    /// The block that created the token.
    Creation,
    /// The node's `latest` (what ethereum-etl does; not reproducible).
    Latest,
}

impl std::str::FromStr for TokenBlock {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "chunk-end" | "chunk_end" | "end" => Ok(TokenBlock::ChunkEnd),
            "creation" | "created" => Ok(TokenBlock::Creation),
            "latest" => Ok(TokenBlock::Latest),
            other => Err(format!(
                "unknown token block {other:?} (chunk-end, creation, latest)"
            )),
        }
    }
}

/// Source settings.
#[derive(Debug, Clone, Default)]
pub struct SourceConfig {
    /// Chain id; asked from the node (`eth_chainId`) when `None`.
    pub chain_id: Option<u64>,
    /// Trace API.
    pub trace_mode: TraceMode,
    /// Block of token metadata calls.
    pub token_block: TokenBlock,
    /// Never use `eth_getBlockReceipts` (fetch each receipt).
    pub per_tx_receipts: bool,
    /// Blocks fetched together (one group of batches per method); 0 means 100. Answers of
    /// a group are decoded and dropped before more groups are fetched, which bounds memory.
    pub group_blocks: u64,
    /// Groups fetched at once; 0 means 3.
    pub groups_in_flight: usize,
    /// One `eth_call` per token function instead of batching them into one creation call
    /// ([`crate::calls`]); batching falls back to this by itself where a node refuses it.
    pub direct_token_calls: bool,
}

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// An EVM node as a source of table rows.
#[derive(Debug)]
pub struct EvmSource {
    client: RpcClient,
    chain_id: u64,
    cfg: SourceConfig,
    block_receipts: AtomicU8,
    parity_traces: AtomicU8,
    batched_calls: AtomicU8,
}

fn hexq(n: u64) -> String {
    format!("{n:#x}")
}

fn parse<T: DeserializeOwned>(raw: &RawValue, block: u64, method: &str) -> Result<T, EvmError> {
    // fast path; on failure parse again, tracking the path for the error message
    if let Ok(v) = serde_json::from_str(raw.get()) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| EvmError::Decode {
        block,
        method: method.to_string(),
        field: e.path().to_string(),
        reason: e.inner().to_string(),
    })
}

impl EvmSource {
    /// Connects: asks the chain id unless configured.
    pub async fn connect(client: RpcClient, cfg: SourceConfig) -> Result<Self, EvmError> {
        let chain_id = match cfg.chain_id {
            Some(id) => id,
            None => {
                let raw =
                    client
                        .call("eth_chainId", json!([]))
                        .await
                        .map_err(|e| EvmError::Call {
                            what: "eth_chainId".into(),
                            source: e,
                        })?;
                let s: String = serde_json::from_str(raw.get()).map_err(|e| EvmError::Decode {
                    block: 0,
                    method: "eth_chainId".into(),
                    field: "result".into(),
                    reason: e.to_string(),
                })?;
                crate::hex::u64_of(&s).map_err(|r| EvmError::Decode {
                    block: 0,
                    method: "eth_chainId".into(),
                    field: "result".into(),
                    reason: r,
                })?
            }
        };
        let parity = match cfg.trace_mode {
            TraceMode::Auto => UNKNOWN,
            TraceMode::Parity => YES,
            TraceMode::Geth => NO,
        };
        let block_receipts = if cfg.per_tx_receipts { NO } else { UNKNOWN };
        Ok(EvmSource {
            client,
            chain_id,
            cfg,
            block_receipts: AtomicU8::new(block_receipts),
            parity_traces: AtomicU8::new(parity),
            batched_calls: AtomicU8::new(UNKNOWN),
        })
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The RPC client.
    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    /// The trace API in use (`None` until the first traces are fetched in auto mode).
    pub fn trace_api(&self) -> Option<&'static str> {
        match self.parity_traces.load(Ordering::Relaxed) {
            YES => Some("trace_block"),
            NO => Some("debug_traceBlockByNumber"),
            _ => None,
        }
    }

    /// The receipts API in use (`None` until known).
    pub fn receipts_api(&self) -> Option<&'static str> {
        match self.block_receipts.load(Ordering::Relaxed) {
            YES => Some("eth_getBlockReceipts"),
            NO => Some("eth_getTransactionReceipt"),
            _ => None,
        }
    }

    /// The head block number.
    pub async fn head(&self) -> Result<u64, EvmError> {
        let raw = self
            .client
            .call("eth_blockNumber", json!([]))
            .await
            .map_err(|e| EvmError::Call {
                what: "eth_blockNumber".into(),
                source: e,
            })?;
        let s: String = parse(&raw, 0, "eth_blockNumber")?;
        crate::hex::u64_of(&s).map_err(|r| EvmError::Decode {
            block: 0,
            method: "eth_blockNumber".into(),
            field: "result".into(),
            reason: r,
        })
    }

    /// Fetches one JSON-RPC method for every block of `numbers`, retrying `null` answers
    /// (a node behind a load balancer may not have the block yet).
    async fn per_block<T: DeserializeOwned + Send>(
        &self,
        method: &'static str,
        numbers: &[u64],
        extra: Option<serde_json::Value>,
    ) -> Result<Vec<T>, EvmError> {
        let mut out: Vec<Option<T>> = numbers.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..numbers.len()).collect();
        let mut attempt = 0;
        loop {
            let reqs = pending
                .iter()
                .map(|&i| {
                    let mut p = vec![json!(hexq(numbers[i]))];
                    if let Some(e) = &extra {
                        p.push(e.clone());
                    }
                    Request::new(method, serde_json::Value::Array(p))
                })
                .collect();
            // decoded as the HTTP answers are read; a batch with a bad answer comes back
            // raw and is parsed here, where the error can name the block and field
            let answers = self.client.batch_as::<T>(reqs).await;
            let mut missing = Vec::new();
            for (&i, a) in pending.iter().zip(answers) {
                let answer = a.map_err(|e| EvmError::Fetch {
                    block: numbers[i],
                    method: method.into(),
                    source: e,
                })?;
                match answer {
                    Answer::Value(Some(v)) => out[i] = Some(v),
                    Answer::Value(None) => missing.push(i),
                    Answer::Raw(raw) if raw.get() == "null" => missing.push(i),
                    Answer::Raw(raw) => out[i] = Some(parse(&raw, numbers[i], method)?),
                }
            }
            if missing.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > self.client.config().max_retries {
                return Err(EvmError::Missing {
                    block: numbers[missing[0]],
                    method: method.into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
            pending = missing;
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every pending index is filled or the loop returned"))
            .collect())
    }

    async fn receipts(
        &self,
        numbers: &[u64],
        blocks: &[RpcBlock],
    ) -> Result<Vec<Vec<RpcReceipt>>, EvmError> {
        if self.block_receipts.load(Ordering::Relaxed) != NO {
            match self
                .per_block::<Vec<RpcReceipt>>("eth_getBlockReceipts", numbers, None)
                .await
            {
                Ok(r) => {
                    self.block_receipts.store(YES, Ordering::Relaxed);
                    return Ok(r);
                }
                Err(EvmError::Fetch { source, .. }) if source.is_unsupported_method() => {
                    tracing::info!(target: "ledgerflow::evm", "node lacks eth_getBlockReceipts; fetching receipts per transaction");
                    self.block_receipts.store(NO, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        // fallback: one eth_getTransactionReceipt per transaction
        let mut reqs = Vec::new();
        let mut owner = Vec::new();
        for (b, block) in numbers.iter().zip(blocks) {
            for tx in &block.transactions {
                let h = tx.hash().unwrap_or_default().to_string();
                reqs.push(Request::new("eth_getTransactionReceipt", json!([h])));
                owner.push(*b);
            }
        }
        let answers = self.client.batch(reqs).await;
        let mut out: Vec<Vec<RpcReceipt>> = blocks
            .iter()
            .map(|b| Vec::with_capacity(b.transactions.len()))
            .collect();
        let mut k = 0;
        for (bi, block) in blocks.iter().enumerate() {
            for _ in &block.transactions {
                let n = owner[k];
                let raw = answers
                    .get(k)
                    .ok_or_else(|| EvmError::Missing {
                        block: n,
                        method: "eth_getTransactionReceipt".into(),
                    })?
                    .as_ref()
                    .map_err(|e| EvmError::Fetch {
                        block: n,
                        method: "eth_getTransactionReceipt".into(),
                        source: clone_rpc(e),
                    })?;
                if raw.get() == "null" {
                    return Err(EvmError::Missing {
                        block: n,
                        method: "eth_getTransactionReceipt".into(),
                    });
                }
                out[bi].push(parse(raw, n, "eth_getTransactionReceipt")?);
                k += 1;
            }
        }
        Ok(out)
    }

    async fn traces(&self, numbers: &[u64]) -> Result<Vec<BlockTraces>, EvmError> {
        if self.parity_traces.load(Ordering::Relaxed) != NO {
            match self
                .per_block::<Vec<ParityTrace>>("trace_block", numbers, None)
                .await
            {
                Ok(t) => {
                    self.parity_traces.store(YES, Ordering::Relaxed);
                    return Ok(t.into_iter().map(BlockTraces::Parity).collect());
                }
                Err(EvmError::Fetch { source, .. })
                    if source.is_unsupported_method() && self.cfg.trace_mode == TraceMode::Auto =>
                {
                    tracing::info!(target: "ledgerflow::evm", "node lacks trace_block; using debug_traceBlockByNumber with callTracer");
                    self.parity_traces.store(NO, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        let t = self
            .per_block::<Vec<GethTxTrace>>(
                "debug_traceBlockByNumber",
                numbers,
                Some(json!({"tracer": "callTracer"})),
            )
            .await?;
        Ok(t.into_iter().map(BlockTraces::Geth).collect())
    }

    /// Fetches the answers for a range (the I/O half of [`fetch_range`](Self::fetch_range)).
    pub async fn fetch_data(
        &self,
        range: BlockRange,
        want: &Want,
    ) -> Result<Vec<BlockData>, EvmError> {
        let numbers: Vec<u64> = range.iter().collect();
        let blocks_f = self.per_block::<RpcBlock>(
            "eth_getBlockByNumber",
            &numbers,
            Some(json!(want.transactions)),
        );
        let traces_f = async {
            if want.needs_traces() {
                self.traces(&numbers).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let block_receipts_f = async {
            if want.needs_receipts() && self.block_receipts.load(Ordering::Relaxed) == YES {
                self.per_block::<Vec<RpcReceipt>>("eth_getBlockReceipts", &numbers, None)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        let (blocks, traces, receipts) = tokio::join!(blocks_f, traces_f, block_receipts_f);
        let blocks = blocks?;
        let traces = traces?;
        let receipts = match receipts? {
            Some(r) => Some(r),
            None if want.needs_receipts() => Some(self.receipts(&numbers, &blocks).await?),
            None => None,
        };
        let mut receipts = receipts.map(|r| r.into_iter());
        let mut traces = traces.map(|t| t.into_iter());
        Ok(blocks
            .into_iter()
            .map(|block| BlockData {
                block,
                receipts: receipts.as_mut().and_then(|r| r.next()),
                traces: traces.as_mut().and_then(|t| t.next()),
            })
            .collect())
    }

    /// Fetches only the traces of a range (no block), as ethereum-etl's `export_traces`
    /// does; used to check trace decoding against recorded answers.
    pub async fn fetch_traces_only(&self, range: BlockRange) -> Result<Vec<BlockTraces>, EvmError> {
        let numbers: Vec<u64> = range.iter().collect();
        self.traces(&numbers).await
    }

    /// Fetches and transforms a block range into rows of the wanted tables.
    pub async fn fetch_range(&self, range: BlockRange, want: &Want) -> Result<EvmRows, EvmError> {
        let mut all = EvmRows::default();
        self.for_each_group(range, want, |rows| {
            all.append(rows);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// Fetches a block range and hands each table's rows to `sink` as Arrow batches, group
    /// by group of blocks (in block order), so a chunk never sits in memory whole. `sink`
    /// runs synchronously between groups.
    pub async fn fetch_into<E>(
        &self,
        range: BlockRange,
        want: &Want,
        tables: &[EvmTable],
        mut sink: impl FnMut(EvmTable, &RecordBatch) -> Result<(), E>,
    ) -> Result<(), EvmError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        self.for_each_group(range, want, |rows| {
            for t in tables {
                let b = rows.to_batch(*t)?;
                if b.num_rows() > 0 {
                    sink(*t, &b).map_err(|e| EvmError::Sink {
                        range: range.to_string(),
                        source: Box::new(e),
                    })?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Fetches `range` in pipelined groups of blocks and hands each group's rows (tokens
    /// included) to `sink`, in block order.
    async fn for_each_group(
        &self,
        range: BlockRange,
        want: &Want,
        mut sink: impl FnMut(&mut EvmRows) -> Result<(), EvmError>,
    ) -> Result<(), EvmError> {
        use futures::StreamExt;
        let group = if self.cfg.group_blocks == 0 {
            100
        } else {
            self.cfg.group_blocks
        };
        let in_flight = if self.cfg.groups_in_flight == 0 {
            3
        } else {
            self.cfg.groups_in_flight
        };
        let mut groups = futures::stream::iter(
            range
                .aligned_chunks(group)
                .into_iter()
                .map(|g| async move { (g, self.fetch_data(g, want).await) }),
        )
        .buffered(in_flight);
        // No await in this loop but `next()`: the groups in flight hold connection permits
        // while they are not polled, so awaiting anything else here could deadlock.
        let mut token_candidates = EvmRows::default();
        while let Some((g, data)) = groups.next().await {
            let mut data = data?;
            let mut rows = EvmRows::default();
            for (n, d) in g.iter().zip(data.iter_mut()) {
                transform::transform_block(self.chain_id as i64, n, d, want, &mut rows)?;
            }
            drop(data);
            if want.tokens {
                token_candidates.contracts.extend(
                    rows.contracts
                        .iter()
                        .filter(|c| {
                            c.is_erc20 == Some(true)
                                || c.is_erc721 == Some(true)
                                || c.is_erc1155 == Some(true)
                        })
                        .cloned(),
                );
            }
            if !want.contracts {
                rows.contracts.clear();
            }
            sink(&mut rows)?;
        }
        drop(groups);
        if want.tokens {
            let mut rows = EvmRows {
                tokens: self.tokens(&token_candidates, range).await?,
                ..Default::default()
            };
            sink(&mut rows)?;
        }
        Ok(())
    }

    /// Token metadata for the token contracts in `rows.contracts`.
    pub async fn tokens(
        &self,
        rows: &EvmRows,
        range: BlockRange,
    ) -> Result<Vec<TokenRow>, EvmError> {
        let candidates: Vec<_> = rows
            .contracts
            .iter()
            .filter(|c| {
                c.is_erc20 == Some(true) || c.is_erc721 == Some(true) || c.is_erc1155 == Some(true)
            })
            .collect();
        // one batch of calls per block tag (a single one unless reading at creation blocks)
        let tag_of = |c: &ledgerflow_core::tables::evm::ContractRow| match self.cfg.token_block {
            TokenBlock::ChunkEnd => json!(hexq(range.end)),
            TokenBlock::Creation => json!(hexq(c.block_number as u64)),
            TokenBlock::Latest => json!("latest"),
        };
        let mut by_tag: Vec<(serde_json::Value, Vec<usize>)> = Vec::new();
        for (i, c) in candidates.iter().enumerate() {
            let tag = tag_of(c);
            match by_tag.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, v)) => v.push(i),
                None => by_tag.push((tag, vec![i])),
            }
        }
        let mut meta: Vec<[Option<String>; 4]> = vec![Default::default(); candidates.len()];
        // the tags' calls go out together (the client bounds what is in flight)
        let answers = futures::future::try_join_all(by_tag.iter().map(|(tag, idx)| {
            let addresses: Vec<String> =
                idx.iter().map(|&i| candidates[i].address.clone()).collect();
            let block = candidates[idx[0]].block_number as u64;
            async move { self.call_token_functions(&addresses, tag, block).await }
        }))
        .await?;
        for ((_, idx), m) in by_tag.iter().zip(answers) {
            for (&i, v) in idx.iter().zip(m) {
                meta[i] = v;
            }
        }
        Ok(candidates
            .iter()
            .zip(meta)
            .map(|(c, m)| {
                let standard = if c.is_erc20 == Some(true) {
                    "erc20"
                } else if c.is_erc721 == Some(true) {
                    "erc721"
                } else {
                    "erc1155"
                };
                let [symbol, name, decimals, total_supply] = m;
                TokenRow {
                    address: c.address.clone(),
                    symbol,
                    name,
                    decimals,
                    total_supply,
                    block_timestamp: c.block_timestamp,
                    block_number: c.block_number,
                    block_hash: c.block_hash.clone(),
                    chain_id: c.chain_id,
                    token_standard: Some(standard.to_string()),
                }
            })
            .collect())
    }

    /// Calls symbol/name/decimals/totalSupply (with the upper-case fallbacks) on each address
    /// at block `tag`; returns `[symbol, name, decimals, total_supply]` per address.
    pub async fn call_token_functions(
        &self,
        addresses: &[String],
        tag: &serde_json::Value,
        block: u64,
    ) -> Result<Vec<[Option<String>; 4]>, EvmError> {
        let decode = |field: usize, bytes: &[u8]| -> Option<String> {
            match field {
                0 | 1 => tokens::decode_text(bytes),
                2 => tokens::decode_uint8(bytes),
                _ => tokens::decode_uint256(bytes).map(|v| v.to_string()),
            }
        };
        let mut out: Vec<[Option<String>; 4]> = vec![Default::default(); addresses.len()];
        let calls: Vec<(usize, usize, &str)> = (0..addresses.len())
            .flat_map(|ai| {
                tokens::CALLS
                    .iter()
                    .enumerate()
                    .map(move |(fi, (_, sig, _))| (ai, fi, *sig))
            })
            .collect();
        let answers = self
            .static_calls(
                calls
                    .iter()
                    .map(|&(ai, _, sig)| (addresses[ai].as_str(), sig)),
                tag,
                block,
            )
            .await?;
        let mut fallbacks = Vec::new();
        for (&(ai, fi, _), answer) in calls.iter().zip(answers) {
            let v = answer.and_then(|b| decode(fi, &b));
            if v.is_none() {
                if let Some(fb) = tokens::CALLS[fi].2 {
                    fallbacks.push((ai, fi, fb));
                }
            }
            out[ai][fi] = v;
        }
        if !fallbacks.is_empty() {
            let answers = self
                .static_calls(
                    fallbacks
                        .iter()
                        .map(|&(ai, _, sig)| (addresses[ai].as_str(), sig)),
                    tag,
                    block,
                )
                .await?;
            for (&(ai, fi, _), answer) in fallbacks.iter().zip(answers) {
                out[ai][fi] = answer.and_then(|b| decode(fi, &b));
            }
        }
        Ok(out)
    }

    /// Calls each `(address, function signature)` without arguments at block `tag`: the
    /// bytes it returned, or `None` where it reverted or the node refused the call for good.
    /// Batched into creation calls of [`crate::calls`] (96 per `eth_call`) unless configured
    /// off or the node refuses them; whatever a batch could not answer exactly is asked
    /// with one `eth_call` each.
    async fn static_calls<'a>(
        &self,
        calls: impl Iterator<Item = (&'a str, &'a str)>,
        tag: &serde_json::Value,
        block: u64,
    ) -> Result<Vec<Option<Vec<u8>>>, EvmError> {
        let calls: Vec<(&str, String)> = calls
            .map(|(a, sig)| (a, transform::bytecode::selector(sig)))
            .collect();
        let fetch_err = |e: &RpcError| EvmError::Fetch {
            block,
            method: "eth_call".into(),
            source: clone_rpc(e),
        };
        // None: not answered yet
        let mut out: Vec<Option<Option<Vec<u8>>>> = vec![None; calls.len()];
        if !self.cfg.direct_token_calls
            && calls.len() > 1
            && self.batched_calls.load(Ordering::Relaxed) != NO
        {
            // (index in `calls`, address, selector)
            type Parsed = (usize, [u8; 20], [u8; 4]);
            let parsed: Vec<Parsed> = calls
                .iter()
                .enumerate()
                .filter_map(|(i, (a, sel))| {
                    let a: [u8; 20] = crate::hex::bytes_of(a).ok()?.try_into().ok()?;
                    let sel: [u8; 4] = crate::hex::bytes_of(sel).ok()?.try_into().ok()?;
                    Some((i, a, sel))
                })
                .collect();
            let groups: Vec<&[Parsed]> = parsed.chunks(crate::calls::CALLS_PER_BATCH).collect();
            let reqs = groups
                .iter()
                .map(|g| {
                    let pairs: Vec<([u8; 20], [u8; 4])> =
                        g.iter().map(|&(_, a, sel)| (a, sel)).collect();
                    Request::new(
                        "eth_call",
                        json!([{"data": crate::calls::encode(&pairs)}, tag]),
                    )
                })
                .collect();
            let answers = self.client.batch(reqs).await;
            for (g, answer) in groups.iter().zip(&answers) {
                let decoded = match answer {
                    Ok(raw) => serde_json::from_str::<String>(raw.get())
                        .map_err(|e| e.to_string())
                        .and_then(|s| crate::hex::bytes_of(&s).map_err(|e| e.to_string()))
                        .and_then(|b| crate::calls::decode(&b, g.len())),
                    // a node's own error (it may not take creation calls, or cap their
                    // gas) turns batching off below; a connection that failed is not the
                    // batch's fault: these calls are just made directly (and fail there
                    // if the node stays unreachable)
                    Err(e @ RpcError::Node { .. }) => Err(e.to_string()),
                    Err(_) => continue,
                };
                match decoded {
                    Ok(d) => {
                        let mut any = false;
                        for (&(i, _, _), a) in g.iter().zip(d) {
                            out[i] = match a {
                                crate::calls::BatchAnswer::Returned(b) => Some(Some(b)),
                                crate::calls::BatchAnswer::Reverted => Some(None),
                                crate::calls::BatchAnswer::Redo => None,
                            };
                            any |= out[i].is_some();
                        }
                        if any {
                            self.batched_calls.store(YES, Ordering::Relaxed);
                        }
                    }
                    Err(reason) => {
                        // a node that refuses creation calls (or answers them oddly) gets
                        // one eth_call per function from now on; once batching has worked
                        // a failed batch is only asked again directly
                        if self.batched_calls.load(Ordering::Relaxed) == UNKNOWN {
                            tracing::debug!(
                                block,
                                %reason,
                                "batched eth_call refused; calling token functions one by one"
                            );
                            self.batched_calls.store(NO, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        let rest: Vec<usize> = (0..calls.len()).filter(|&i| out[i].is_none()).collect();
        if !rest.is_empty() {
            let reqs = rest
                .iter()
                .map(|&i| {
                    let (a, sel) = &calls[i];
                    Request::new("eth_call", json!([{"to": a, "data": sel}, tag]))
                })
                .collect();
            let answers = self.client.batch(reqs).await;
            for (&i, answer) in rest.iter().zip(&answers) {
                out[i] = Some(match answer {
                    Ok(raw) => serde_json::from_str::<String>(raw.get())
                        .ok()
                        .and_then(|s| crate::hex::bytes_of(&s).ok()),
                    // a revert or any non-transient node error: the function is not there
                    Err(e) if !e.class().is_retryable() => None,
                    Err(e) => return Err(fetch_err(e)),
                });
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }
}

/// `RpcError` holds a `reqwest::Error` that cannot be cloned; keep its message.
fn clone_rpc(e: &RpcError) -> RpcError {
    match e {
        RpcError::Timeout {
            method,
            url,
            timeout_ms,
        } => RpcError::Timeout {
            method: method.clone(),
            url: url.clone(),
            timeout_ms: *timeout_ms,
        },
        RpcError::Http {
            method,
            url,
            status,
            body,
        } => RpcError::Http {
            method: method.clone(),
            url: url.clone(),
            status: *status,
            body: body.clone(),
        },
        RpcError::Malformed { method, reason } => RpcError::Malformed {
            method: method.clone(),
            reason: reason.clone(),
        },
        RpcError::Node {
            method,
            code,
            message,
        } => RpcError::Node {
            method: method.clone(),
            code: *code,
            message: message.clone(),
        },
        RpcError::Connection {
            method,
            url,
            source,
        } => RpcError::Malformed {
            method: method.clone(),
            reason: format!("connection to {url} failed: {source}"),
        },
    }
}
