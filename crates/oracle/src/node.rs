//! The JSON-RPC calls the oracle makes: reads (`eth_call`, logs, receipts, blocks), fee
//! quotes, and raw transactions it signed itself.

use alloy_primitives::{Address, B256, U256};
use ledgerflow_evm::abi::{self, Type, Value};
use ledgerflow_rpc::{RpcClient, RpcError};
use serde_json::{json, Value as Json};

use crate::keys::PrivateKey;
use crate::tx::Eip1559;

/// A failed node call.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error("{method}: unexpected answer: {reason}")]
    Answer { method: String, reason: String },
    /// A call or transaction that would revert, with its reason when the node gave one.
    #[error("{what} would revert: {reason}")]
    Reverted { what: String, reason: String },
    #[error("signing: {0}")]
    Sign(String),
}

fn estimate_params(from: Address, to: Option<Address>, value: U256, data: &[u8]) -> Json {
    let mut tx = json!({"from": format!("{from:#x}"), "input": abi::hex(data), "value": format!("{value:#x}")});
    if let Some(t) = to {
        tx["to"] = json!(format!("{t:#x}"));
    }
    json!([tx])
}

/// An `eth_estimateGas` answer: the gas, or the revert with its reason.
fn gas_of(r: Result<Box<serde_json::value::RawValue>, RpcError>) -> Result<u64, NodeError> {
    match r {
        Ok(raw) => {
            let s: String = serde_json::from_str(raw.get()).unwrap_or_default();
            quantity(&s)
                .map(|g| g as u64)
                .ok_or_else(|| NodeError::Answer {
                    method: "eth_estimateGas".into(),
                    reason: format!("{s:?}"),
                })
        }
        Err(e) => match reason_of(&e) {
            Some(reason) => Err(NodeError::Reverted {
                what: "the transaction".into(),
                reason,
            }),
            None => Err(e.into()),
        },
    }
}

fn hash_of(v: &Json) -> Result<B256, NodeError> {
    v.as_str()
        .and_then(crate::jobs::parse_b256)
        .ok_or_else(|| NodeError::Answer {
            method: "eth_sendRawTransaction".into(),
            reason: format!("{v}"),
        })
}

/// A node.
#[derive(Clone)]
pub struct Node {
    pub rpc: RpcClient,
}

fn q(v: u64) -> String {
    format!("{v:#x}")
}

/// A hex quantity.
pub fn quantity(s: &str) -> Option<u128> {
    u128::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// The revert reason in a node's error message or data (anvil puts the decoded reason in
/// the message: `execution reverted: Oracle: ...`).
pub fn reason_of(e: &RpcError) -> Option<String> {
    match e {
        RpcError::Node { message, .. } if message.contains("revert") => Some(
            message
                .split_once("execution reverted: ")
                .map_or(message.as_str(), |(_, r)| r)
                .to_string(),
        ),
        _ => None,
    }
}

impl Node {
    pub fn new(rpc: RpcClient) -> Node {
        Node { rpc }
    }

    /// A call whose answer is JSON.
    pub async fn get(&self, method: &'static str, params: Json) -> Result<Json, NodeError> {
        let raw = self.rpc.call(method, params).await?;
        serde_json::from_str(raw.get()).map_err(|e| NodeError::Answer {
            method: method.into(),
            reason: e.to_string(),
        })
    }

    async fn quantity(&self, method: &'static str, params: Json) -> Result<u128, NodeError> {
        let v = self.get(method, params).await?;
        v.as_str()
            .and_then(quantity)
            .ok_or_else(|| NodeError::Answer {
                method: method.into(),
                reason: format!("{v} is not a hex quantity"),
            })
    }

    pub async fn chain_id(&self) -> Result<u64, NodeError> {
        Ok(self.quantity("eth_chainId", json!([])).await? as u64)
    }

    pub async fn head(&self) -> Result<u64, NodeError> {
        Ok(self.quantity("eth_blockNumber", json!([])).await? as u64)
    }

    /// A block header (`latest` or a number).
    pub async fn block(&self, tag: &str) -> Result<Json, NodeError> {
        self.get("eth_getBlockByNumber", json!([tag, false])).await
    }

    /// The latest block's timestamp and base fee.
    pub async fn latest_time_and_base_fee(&self) -> Result<(u64, u128), NodeError> {
        let b = self.block("latest").await?;
        let t = b["timestamp"].as_str().and_then(quantity).unwrap_or(0) as u64;
        let base = b["baseFeePerGas"].as_str().and_then(quantity).unwrap_or(0);
        Ok((t, base))
    }

    /// `eth_call` of `data` to `to` at `latest`; the revert reason as an error.
    pub async fn call(&self, to: Address, data: &[u8]) -> Result<Vec<u8>, NodeError> {
        self.call_from(None, to, data, "latest").await
    }

    /// `eth_call` from `from` at block `tag`.
    pub async fn call_from(
        &self,
        from: Option<Address>,
        to: Address,
        data: &[u8],
        tag: &str,
    ) -> Result<Vec<u8>, NodeError> {
        let mut tx = json!({"to": format!("{to:#x}"), "input": abi::hex(data)});
        if let Some(f) = from {
            tx["from"] = json!(format!("{f:#x}"));
        }
        match self.rpc.call("eth_call", json!([tx, tag])).await {
            Ok(raw) => {
                let s: String = serde_json::from_str(raw.get()).map_err(|e| NodeError::Answer {
                    method: "eth_call".into(),
                    reason: e.to_string(),
                })?;
                alloy_primitives::hex::decode(&s).map_err(|e| NodeError::Answer {
                    method: "eth_call".into(),
                    reason: e.to_string(),
                })
            }
            Err(e) => match reason_of(&e) {
                Some(reason) => Err(NodeError::Reverted {
                    what: "the call".into(),
                    reason,
                }),
                None => Err(e.into()),
            },
        }
    }

    /// `eth_call` of `signature(args)` decoded as `returns`.
    pub async fn view(
        &self,
        to: Address,
        signature: &str,
        args: &[Value],
        returns: &str,
    ) -> Result<Vec<Value>, NodeError> {
        let out = self.call(to, &abi::call(signature, args)).await?;
        let types = Type::parse_list(returns).map_err(|e| NodeError::Answer {
            method: signature.into(),
            reason: e.to_string(),
        })?;
        abi::decode(&types, &out).map_err(|e| NodeError::Answer {
            method: signature.into(),
            reason: e.to_string(),
        })
    }

    /// Logs of `addresses` in block `hash` (by hash: the logs of exactly that block).
    pub async fn logs_of_block(
        &self,
        addresses: &[Address],
        hash: &str,
    ) -> Result<Vec<Json>, NodeError> {
        let list: Vec<String> = addresses.iter().map(|a| format!("{a:#x}")).collect();
        let v = self
            .get("eth_getLogs", json!([{"blockHash": hash, "address": list}]))
            .await?;
        v.as_array().cloned().ok_or_else(|| NodeError::Answer {
            method: "eth_getLogs".into(),
            reason: "not a list".into(),
        })
    }

    /// Logs of `address` with `topic0` over a block range.
    pub async fn logs(
        &self,
        address: Address,
        topic0: Option<B256>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Json>, NodeError> {
        let mut f =
            json!({"fromBlock": q(from), "toBlock": q(to), "address": format!("{address:#x}")});
        if let Some(t) = topic0 {
            f["topics"] = json!([format!("{t:#x}")]);
        }
        let v = self.get("eth_getLogs", json!([f])).await?;
        v.as_array().cloned().ok_or_else(|| NodeError::Answer {
            method: "eth_getLogs".into(),
            reason: "not a list".into(),
        })
    }

    /// The account's transaction count at `tag` (`latest`, `pending`).
    pub async fn nonce(&self, a: Address, tag: &str) -> Result<u64, NodeError> {
        Ok(self
            .quantity("eth_getTransactionCount", json!([format!("{a:#x}"), tag]))
            .await? as u64)
    }

    /// The priority fee the node suggests (1 gwei when it has no opinion).
    pub async fn priority_fee(&self) -> u128 {
        self.quantity("eth_maxPriorityFeePerGas", json!([]))
            .await
            .unwrap_or(1_000_000_000)
    }

    /// Gas for a transaction; a revert comes back with its reason.
    pub async fn estimate_gas(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: &[u8],
    ) -> Result<u64, NodeError> {
        let r = self
            .rpc
            .call("eth_estimateGas", estimate_params(from, to, value, data))
            .await;
        gas_of(r)
    }

    /// Gas for many calls from `from` (no value) in one batch, in order.
    pub async fn estimate_gas_many(
        &self,
        from: Address,
        calls: &[(Address, Vec<u8>)],
    ) -> Vec<Result<u64, NodeError>> {
        let reqs = calls
            .iter()
            .map(|(to, data)| {
                ledgerflow_rpc::Request::new(
                    "eth_estimateGas",
                    estimate_params(from, Some(*to), U256::ZERO, data),
                )
            })
            .collect();
        self.rpc.batch(reqs).await.into_iter().map(gas_of).collect()
    }

    /// Sends signed bytes; the transaction hash.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<B256, NodeError> {
        let v = self
            .get("eth_sendRawTransaction", json!([abi::hex(raw)]))
            .await?;
        hash_of(&v)
    }

    /// A receipt, if the transaction is mined.
    pub async fn receipt(&self, hash: &str) -> Result<Option<Json>, NodeError> {
        let v = self.get("eth_getTransactionReceipt", json!([hash])).await?;
        Ok((!v.is_null()).then_some(v))
    }

    /// Receipts of many transactions in one batch (`None`: not mined), in order.
    pub async fn receipts(&self, hashes: &[String]) -> Result<Vec<Option<Json>>, NodeError> {
        let reqs = hashes
            .iter()
            .map(|h| ledgerflow_rpc::Request::new("eth_getTransactionReceipt", json!([h])))
            .collect();
        let mut out = Vec::with_capacity(hashes.len());
        for a in self.rpc.batch(reqs).await {
            let raw = a?;
            let v: Json = serde_json::from_str(raw.get()).map_err(|e| NodeError::Answer {
                method: "eth_getTransactionReceipt".into(),
                reason: e.to_string(),
            })?;
            out.push((!v.is_null()).then_some(v));
        }
        Ok(out)
    }

    /// Whether the node knows the transaction (mined or in its pool).
    pub async fn knows(&self, hash: &str) -> Result<bool, NodeError> {
        let v = self.get("eth_getTransactionByHash", json!([hash])).await?;
        Ok(!v.is_null())
    }

    /// Signs and sends a transaction with the next nonce of `key` from the node, waits
    /// for its receipt (polling) and returns it; a revert is an error with its reason.
    /// For operator commands (deploy, register, request), not the worker.
    pub async fn transact(
        &self,
        key: &PrivateKey,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Json, NodeError> {
        let from = key.address();
        let gas = self.estimate_gas(from, to, value, &data).await?;
        let chain_id = self.chain_id().await?;
        let nonce = self.nonce(from, "pending").await?;
        let (_, base) = self.latest_time_and_base_fee().await?;
        let tip = self.priority_fee().await;
        let tx = Eip1559 {
            chain_id,
            nonce,
            max_priority_fee_per_gas: tip,
            max_fee_per_gas: base * 2 + tip,
            gas: gas + gas / 4 + 20_000,
            to,
            value,
            data,
        };
        let signed = tx.sign(key).map_err(|e| NodeError::Sign(e.to_string()))?;
        let hash = self.send_raw(&signed.raw).await?;
        let h = format!("{hash:#x}");
        for i in 0..600u32 {
            if let Some(r) = self.receipt(&h).await? {
                if r["status"].as_str() != Some("0x1") {
                    return Err(NodeError::Reverted {
                        what: format!("transaction {h}"),
                        reason: "status 0".into(),
                    });
                }
                return Ok(r);
            }
            tokio::time::sleep(std::time::Duration::from_millis(if i < 20 {
                50
            } else {
                250
            }))
            .await;
        }
        Err(NodeError::Answer {
            method: "eth_getTransactionReceipt".into(),
            reason: format!("transaction {h} not mined after 150 s"),
        })
    }
}
