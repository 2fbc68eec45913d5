//! The oracle contract's events, decoded from `eth_getLogs` answers: what the worker
//! follows (requests, fulfilments, cancellations) and what `oracle verify` reads back.

use alloy_primitives::{Address, B256, U256};
use ledgerflow_evm::abi::{self, Type, Value};
use serde_json::Value as Json;

/// `Request(...)`'s signature.
pub const REQUEST: &str =
    "Request(bytes32,address,bytes32,bytes32,bytes,address,bytes4,uint64,uint256,uint256)";
/// `Fulfilled(...)`'s signature.
pub const FULFILLED: &str = "Fulfilled(bytes32,address,bytes,bytes32,bytes32,bytes32,bytes32,bool)";
/// `Cancelled(...)`'s signature.
pub const CANCELLED: &str = "Cancelled(bytes32,address,uint256)";

/// Where a log sits on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPlace {
    /// The contract that emitted it.
    pub address: Address,
    pub block_number: u64,
    /// Lower-case `0x` hex, as the stream's block references keep it.
    pub block_hash: String,
    pub tx_hash: B256,
    pub log_index: u64,
}

/// A request as its event states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    pub request_id: B256,
    pub requester: Address,
    pub job_id: B256,
    pub model_hash: B256,
    pub params: Vec<u8>,
    pub callback: Address,
    pub selector: [u8; 4],
    pub expiry: u64,
    pub payment: U256,
    pub nonce: U256,
}

/// A fulfilment as its event states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilledEvent {
    pub request_id: B256,
    pub worker: Address,
    pub result: Vec<u8>,
    pub result_hash: B256,
    pub dataset_root: B256,
    pub model_hash: B256,
    pub code_version: B256,
    pub callback_ok: bool,
}

/// A request made through a Chainlink `Operator` (its `OracleRequest` event; decoded
/// in `chainlink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleRequest {
    pub spec_id: B256,
    pub requester: Address,
    pub request_id: B256,
    pub payment: U256,
    pub callback: Address,
    pub selector: [u8; 4],
    pub cancel_expiration: u64,
    pub data_version: U256,
    /// The CBOR parameters, as sent.
    pub data: Vec<u8>,
}

/// One of the oracle's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OracleEvent {
    Request(RequestEvent),
    Fulfilled(FulfilledEvent),
    Cancelled {
        request_id: B256,
        requester: Address,
        refund: U256,
    },
    /// A request made through a Chainlink `Operator`.
    Chainlink(OracleRequest),
    /// A Chainlink `Operator` answered a request (`OracleResponse`).
    ChainlinkResponse {
        request_id: B256,
    },
}

/// The topics the worker asks `eth_getLogs` for (any of them, in topic position 0).
pub fn topics() -> [B256; 3] {
    [
        abi::event_topic(REQUEST),
        abi::event_topic(FULFILLED),
        abi::event_topic(CANCELLED),
    ]
}

fn hex_field<'a>(log: &'a Json, key: &str) -> Result<&'a str, String> {
    log[key]
        .as_str()
        .ok_or_else(|| format!("the log has no {key}"))
}

fn bytes_of(s: &str, what: &str) -> Result<Vec<u8>, String> {
    alloy_primitives::hex::decode(s).map_err(|e| format!("{what}: {e}"))
}

fn b256_of(s: &str, what: &str) -> Result<B256, String> {
    let b = bytes_of(s, what)?;
    if b.len() != 32 {
        return Err(format!("{what}: {} bytes, not 32", b.len()));
    }
    Ok(B256::from_slice(&b))
}

fn word_address(w: &B256) -> Address {
    Address::from_slice(&w[12..])
}

fn fixed32(v: &Value) -> B256 {
    match v.as_bytes() {
        Some(b) if b.len() == 32 => B256::from_slice(b),
        _ => B256::ZERO,
    }
}

/// Where `log` (an `eth_getLogs` entry) sits.
pub fn place(log: &Json) -> Result<LogPlace, String> {
    let number = ledgerflow_evm::hex::u64_of(hex_field(log, "blockNumber")?)
        .map_err(|e| format!("blockNumber: {e}"))?;
    let index = ledgerflow_evm::hex::u64_of(hex_field(log, "logIndex")?)
        .map_err(|e| format!("logIndex: {e}"))?;
    Ok(LogPlace {
        address: hex_field(log, "address")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or_default(),
        block_number: number,
        block_hash: hex_field(log, "blockHash")?.to_ascii_lowercase(),
        tx_hash: b256_of(hex_field(log, "transactionHash")?, "transactionHash")?,
        log_index: index,
    })
}

/// Decodes an oracle log; `Ok(None)` for a log of another event. The error names what is
/// wrong (the caller adds the block and log index).
pub fn decode(log: &Json) -> Result<Option<OracleEvent>, String> {
    let event_topics = topics;
    let topics: Vec<B256> = log["topics"]
        .as_array()
        .ok_or("the log has no topics")?
        .iter()
        .map(|t| b256_of(t.as_str().unwrap_or_default(), "topic"))
        .collect::<Result<_, _>>()?;
    let Some(t0) = topics.first() else {
        return Ok(None);
    };
    let data = bytes_of(hex_field(log, "data")?, "data")?;
    let [request, fulfilled, cancelled] = event_topics();
    let need = |n: usize| {
        if topics.len() == n {
            Ok(())
        } else {
            Err(format!("{} topics, expected {n}", topics.len()))
        }
    };
    let types = |s: &str| Type::parse_list(s).map_err(|e| e.to_string());
    if *t0 == request {
        need(4)?;
        let v = abi::decode(
            &types("bytes32,bytes,address,bytes4,uint64,uint256,uint256")?,
            &data,
        )
        .map_err(|e| format!("Request data: {e}"))?;
        let mut selector = [0u8; 4];
        selector.copy_from_slice(v[3].as_bytes().unwrap_or(&[0; 4]));
        return Ok(Some(OracleEvent::Request(RequestEvent {
            request_id: topics[1],
            requester: word_address(&topics[2]),
            job_id: topics[3],
            model_hash: fixed32(&v[0]),
            params: v[1].as_bytes().unwrap_or_default().to_vec(),
            callback: v[2].as_address().unwrap_or_default(),
            selector,
            expiry: v[4].as_uint().map_or(0, |x| x.to::<u64>()),
            payment: v[5].as_uint().unwrap_or_default(),
            nonce: v[6].as_uint().unwrap_or_default(),
        })));
    }
    if *t0 == fulfilled {
        need(3)?;
        let v = abi::decode(&types("bytes,bytes32,bytes32,bytes32,bytes32,bool")?, &data)
            .map_err(|e| format!("Fulfilled data: {e}"))?;
        return Ok(Some(OracleEvent::Fulfilled(FulfilledEvent {
            request_id: topics[1],
            worker: word_address(&topics[2]),
            result: v[0].as_bytes().unwrap_or_default().to_vec(),
            result_hash: fixed32(&v[1]),
            dataset_root: fixed32(&v[2]),
            model_hash: fixed32(&v[3]),
            code_version: fixed32(&v[4]),
            callback_ok: v[5] == Value::Bool(true),
        })));
    }
    if *t0 == cancelled {
        need(3)?;
        let v =
            abi::decode(&types("uint256")?, &data).map_err(|e| format!("Cancelled data: {e}"))?;
        return Ok(Some(OracleEvent::Cancelled {
            request_id: topics[1],
            requester: word_address(&topics[2]),
            refund: v[0].as_uint().unwrap_or_default(),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn word(b: &[u8]) -> String {
        let mut w = [0u8; 32];
        w[32 - b.len()..].copy_from_slice(b);
        abi::hex(&w)
    }

    #[test]
    fn request_fulfilled_and_cancelled_decode() {
        let id = [7u8; 32];
        let requester = Address::repeat_byte(0x11);
        let job = crate::job_id("sql");
        let data = abi::encode(&[
            Value::FixedBytes(vec![0; 32]),
            Value::Bytes(vec![1, 2, 3]),
            Value::Address(Address::repeat_byte(0x22)),
            Value::FixedBytes(vec![0xde, 0xad, 0xbe, 0xef]),
            Value::Uint(U256::from(99u64)),
            Value::Uint(U256::from(5u64)),
            Value::Uint(U256::from(3u64)),
        ]);
        let log = json!({
            "topics": [format!("{:#x}", abi::event_topic(REQUEST)), abi::hex(&id),
                       word(requester.as_slice()), abi::hex(&job)],
            "data": abi::hex(&data),
            "blockNumber": "0x10", "blockHash": format!("0x{}", "AB".repeat(32)),
            "transactionHash": abi::hex(&[1; 32]), "logIndex": "0x2",
        });
        let Some(OracleEvent::Request(r)) = decode(&log).unwrap() else {
            panic!()
        };
        assert_eq!(r.request_id, B256::from(id));
        assert_eq!(r.requester, requester);
        assert_eq!(r.job_id, B256::from(job));
        assert_eq!(r.params, vec![1, 2, 3]);
        assert_eq!(r.selector, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            (r.expiry, r.payment, r.nonce),
            (99, U256::from(5), U256::from(3))
        );
        let p = place(&log).unwrap();
        assert_eq!((p.block_number, p.log_index), (16, 2));
        assert_eq!(p.block_hash, format!("0x{}", "ab".repeat(32)));

        let data = abi::encode(&[
            Value::Bytes(vec![9; 40]),
            Value::FixedBytes(vec![1; 32]),
            Value::FixedBytes(vec![2; 32]),
            Value::FixedBytes(vec![3; 32]),
            Value::FixedBytes(vec![4; 32]),
            Value::Bool(true),
        ]);
        let log = json!({
            "topics": [format!("{:#x}", abi::event_topic(FULFILLED)), abi::hex(&id),
                       word(&[0x33; 20])],
            "data": abi::hex(&data),
        });
        let Some(OracleEvent::Fulfilled(f)) = decode(&log).unwrap() else {
            panic!()
        };
        assert_eq!(f.result, vec![9; 40]);
        assert_eq!(f.dataset_root, B256::repeat_byte(2));
        assert!(f.callback_ok);

        let log = json!({
            "topics": [format!("{:#x}", abi::event_topic(CANCELLED)), abi::hex(&id),
                       word(requester.as_slice())],
            "data": word(&[5]),
        });
        assert_eq!(
            decode(&log).unwrap(),
            Some(OracleEvent::Cancelled {
                request_id: B256::from(id),
                requester,
                refund: U256::from(5)
            })
        );
        // Another contract's event, and damaged ones.
        let other = json!({"topics": [abi::hex(&[5; 32])], "data": "0x"});
        assert_eq!(decode(&other).unwrap(), None);
        let short =
            json!({"topics": [format!("{:#x}", abi::event_topic(CANCELLED))], "data": "0x"});
        assert!(decode(&short).unwrap_err().contains("topics"));
        let bad = json!({
            "topics": [format!("{:#x}", abi::event_topic(CANCELLED)), abi::hex(&id),
                       word(requester.as_slice())],
            "data": "0x01",
        });
        assert!(decode(&bad).unwrap_err().contains("Cancelled data"));
    }
}
