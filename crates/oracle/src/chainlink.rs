//! Chainlink compatibility: the `OracleRequest` events of Chainlink's own `Operator`
//! contract and the CBOR parameters `ChainlinkClient` writes into them, decoded; the
//! `fulfillOracleRequest2` call that answers them.
//!
//! `ChainlinkClient` writes a request's parameters as CBOR key/value pairs without the
//! map's header (`Chainlink.Request.buf`); the Operator passes them on unchanged in the
//! event's `data`. [`decode_params`] reads them as the indefinite-length map the Chainlink
//! node reads them as (`0xbf ‖ data ‖ 0xff`).

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, I256, U256};
use ledgerflow_evm::abi::{self, Type, Value};
use serde_json::Value as Json;

/// `OracleRequest(...)`'s signature (Operator).
pub const ORACLE_REQUEST: &str =
    "OracleRequest(bytes32,address,bytes32,uint256,address,bytes4,uint256,uint256,bytes)";
/// `CancelOracleRequest(bytes32)`'s signature.
pub const CANCEL_ORACLE_REQUEST: &str = "CancelOracleRequest(bytes32)";
/// `OracleResponse(bytes32)`'s signature: the Operator fulfilled a request.
pub const ORACLE_RESPONSE: &str = "OracleResponse(bytes32)";

pub use crate::events::OracleRequest;

/// A CBOR value of a Chainlink request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cbor {
    Uint(U256),
    Int(I256),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    Null,
}

impl Cbor {
    /// The value as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cbor::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer.
    pub fn as_int(&self) -> Option<I256> {
        match self {
            Cbor::Uint(u) => I256::try_from(*u).ok(),
            Cbor::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Decodes any of an Operator's events the worker follows (`OracleRequest`,
/// `OracleResponse`, `CancelOracleRequest`); `Ok(None)` for the others.
pub fn decode_event(log: &Json) -> Result<Option<crate::events::OracleEvent>, String> {
    use crate::events::OracleEvent;
    if let Some(r) = decode_request(log)? {
        return Ok(Some(OracleEvent::Chainlink(r)));
    }
    let topics: Vec<&str> = log["topics"]
        .as_array()
        .ok_or("the log has no topics")?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    let id = || {
        topics
            .get(1)
            .and_then(|t| crate::jobs::parse_b256(t))
            .ok_or_else(|| "the event has no request id topic".to_string())
    };
    let t0 = topics.first().copied().unwrap_or_default();
    if t0 == format!("{:#x}", abi::event_topic(ORACLE_RESPONSE)) {
        return Ok(Some(OracleEvent::ChainlinkResponse { request_id: id()? }));
    }
    if t0 == format!("{:#x}", abi::event_topic(CANCEL_ORACLE_REQUEST)) {
        return Ok(Some(OracleEvent::Cancelled {
            request_id: id()?,
            requester: Address::ZERO,
            refund: U256::ZERO,
        }));
    }
    Ok(None)
}

/// A Chainlink request's CBOR parameters as the ABI parameters of the ledgerflow job it
/// names: `sql` (`template`, `dataset`, then the template's parameters by name) or
/// `score` (`account`, optional `class`).
pub fn job_params(
    job: &str,
    data: &[u8],
    templates: &[crate::templates::Template],
) -> Result<Vec<u8>, String> {
    let p = decode_params(data)?;
    let text = |k: &str| {
        p.get(k)
            .and_then(Cbor::as_text)
            .ok_or_else(|| format!("the Chainlink request has no text parameter {k:?}"))
    };
    match job {
        "sql" => {
            let name = text("template")?;
            let root = crate::jobs::parse_b256(text("dataset")?)
                .ok_or("the parameter \"dataset\" is not 32 bytes of hex")?;
            let t = templates
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| format!("no query template {name:?}"))?;
            let mut args = Vec::new();
            for param in &t.params {
                let v = p.get(&param.name).ok_or_else(|| {
                    format!("the Chainlink request has no parameter {:?}", param.name)
                })?;
                let as_text = match v {
                    Cbor::Text(s) => s.clone(),
                    Cbor::Uint(u) => u.to_string(),
                    Cbor::Int(i) => i.to_string(),
                    Cbor::Bool(b) => b.to_string(),
                    Cbor::Bytes(b) => abi::hex(b),
                    _ => return Err(format!("parameter {:?} is not a value", param.name)),
                };
                args.push(
                    crate::templates::parse_value(&param.ty, &as_text).ok_or_else(|| {
                        format!(
                            "parameter {:?} ({as_text}) is not a {}",
                            param.name, param.ty
                        )
                    })?,
                );
            }
            Ok(crate::jobs::sql_params(name, root, &args))
        }
        "score" | "gnn-score" => {
            let account: Address = text("account")?
                .parse()
                .map_err(|_| "the parameter \"account\" is not an address".to_string())?;
            let class = p.get("class").and_then(Cbor::as_text);
            Ok(crate::jobs::score_params(account, class))
        }
        "train" => {
            let root = crate::jobs::parse_b256(text("dataset")?)
                .ok_or("the parameter \"dataset\" is not 32 bytes of hex")?;
            let algo = p.get("algo").and_then(Cbor::as_text).unwrap_or("forest");
            let num = |k: &str, default: u64| -> Result<u64, String> {
                match p.get(k) {
                    None => Ok(default),
                    Some(Cbor::Uint(u)) if *u <= U256::from(u64::MAX) => Ok(u.to::<u64>()),
                    Some(Cbor::Text(t)) => t
                        .parse()
                        .map_err(|_| format!("parameter {k:?} ({t}) is not a whole number")),
                    Some(_) => Err(format!("parameter {k:?} is not a whole number")),
                }
            };
            Ok(crate::jobs::train_params(
                root,
                algo,
                num("trees", 100)?,
                num("seed", 0)?,
            ))
        }
        other => Err(format!("job {other} takes no Chainlink request")),
    }
}

/// Decodes an `OracleRequest` log; `Ok(None)` for another event.
pub fn decode_request(log: &Json) -> Result<Option<OracleRequest>, String> {
    let topics: Vec<&str> = log["topics"]
        .as_array()
        .ok_or("the log has no topics")?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    if topics.first().copied() != Some(&format!("{:#x}", abi::event_topic(ORACLE_REQUEST))) {
        return Ok(None);
    }
    if topics.len() != 2 {
        return Err(format!("{} topics, expected 2", topics.len()));
    }
    let spec_id = crate::jobs::parse_b256(topics[1]).ok_or("a topic is not 32 bytes")?;
    let data = alloy_primitives::hex::decode(log["data"].as_str().unwrap_or_default())
        .map_err(|e| format!("data: {e}"))?;
    let types = Type::parse_list("address,bytes32,uint256,address,bytes4,uint256,uint256,bytes")
        .map_err(|e| e.to_string())?;
    let v = abi::decode(&types, &data).map_err(|e| format!("OracleRequest data: {e}"))?;
    let mut selector = [0u8; 4];
    selector.copy_from_slice(v[4].as_bytes().unwrap_or(&[0; 4]));
    Ok(Some(OracleRequest {
        spec_id,
        requester: v[0].as_address().unwrap_or_default(),
        request_id: B256::from_slice(v[1].as_bytes().unwrap_or(&[0; 32])),
        payment: v[2].as_uint().unwrap_or_default(),
        callback: v[3].as_address().unwrap_or_default(),
        selector,
        cancel_expiration: v[5].as_uint().map_or(0, |x| x.saturating_to::<u64>()),
        data_version: v[6].as_uint().unwrap_or_default(),
        data: v[7].as_bytes().unwrap_or_default().to_vec(),
    }))
}

/// The parameters of a request: the CBOR pairs read as a map (text keys; a repeated key
/// keeps its last value, as the node does).
pub fn decode_params(data: &[u8]) -> Result<BTreeMap<String, Cbor>, String> {
    let mut framed = Vec::with_capacity(data.len() + 2);
    framed.push(0xbf);
    framed.extend_from_slice(data);
    framed.push(0xff);
    let mut r = Reader { b: &framed, at: 0 };
    let v = r.value()?;
    if r.at != framed.len() {
        return Err(format!(
            "CBOR parameters: {} bytes left after the map",
            framed.len() - r.at
        ));
    }
    let Cbor::Map(pairs) = v else {
        return Err("CBOR parameters are not a map".into());
    };
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let Cbor::Text(k) = k else {
            return Err("a CBOR parameter's key is not text".into());
        };
        out.insert(k, v);
    }
    Ok(out)
}

const MAX_DEPTH: usize = 16;

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let x = *self
            .b
            .get(self.at)
            .ok_or_else(|| format!("CBOR ends at byte {}", self.at))?;
        self.at += 1;
        Ok(x)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("CBOR ends inside a {n}-byte item at byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// The argument of an initial byte: `None` for indefinite length.
    fn arg(&mut self, info: u8) -> Result<Option<u64>, String> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().unwrap_or([0; 2]),
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().unwrap_or([0; 4]),
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap_or([0; 8])),
            31 => return Ok(None),
            _ => {
                return Err(format!(
                    "CBOR: reserved length {info} at byte {}",
                    self.at - 1
                ))
            }
        }))
    }

    fn value(&mut self) -> Result<Cbor, String> {
        self.value_at(0)
    }

    fn len(&self, n: u64) -> Result<usize, String> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.b.len())
            .ok_or_else(|| format!("CBOR: a length of {n} at byte {}", self.at))
    }

    fn value_at(&mut self, depth: usize) -> Result<Cbor, String> {
        if depth > MAX_DEPTH {
            return Err("CBOR nested too deeply".into());
        }
        let start = self.at;
        let ib = self.byte()?;
        let (major, info) = (ib >> 5, ib & 0x1f);
        let arg = self.arg(info)?;
        match (major, arg) {
            (0, Some(n)) => Ok(Cbor::Uint(U256::from(n))),
            (1, Some(n)) => Ok(Cbor::Int(
                -I256::try_from(n).unwrap_or_default() - I256::ONE,
            )),
            (2 | 3, Some(n)) => {
                let n = self.len(n)?;
                let b = self.take(n)?.to_vec();
                if major == 2 {
                    Ok(Cbor::Bytes(b))
                } else {
                    String::from_utf8(b)
                        .map(Cbor::Text)
                        .map_err(|_| format!("CBOR: text at byte {start} is not UTF-8"))
                }
            }
            (2 | 3, None) => {
                // chunks of the same major type up to a break
                let mut all = Vec::new();
                loop {
                    if self.b.get(self.at) == Some(&0xff) {
                        self.at += 1;
                        break;
                    }
                    match self.value_at(depth + 1)? {
                        Cbor::Bytes(b) if major == 2 => all.extend(b),
                        Cbor::Text(t) if major == 3 => all.extend(t.into_bytes()),
                        _ => {
                            return Err(format!("CBOR: a bad chunk in the string at byte {start}"))
                        }
                    }
                }
                if major == 2 {
                    Ok(Cbor::Bytes(all))
                } else {
                    String::from_utf8(all)
                        .map(Cbor::Text)
                        .map_err(|_| format!("CBOR: text at byte {start} is not UTF-8"))
                }
            }
            (4, n) => {
                let mut items = Vec::new();
                match n {
                    Some(n) => {
                        for _ in 0..self.len(n)? {
                            items.push(self.value_at(depth + 1)?);
                        }
                    }
                    None => loop {
                        if self.b.get(self.at) == Some(&0xff) {
                            self.at += 1;
                            break;
                        }
                        items.push(self.value_at(depth + 1)?);
                    },
                }
                Ok(Cbor::Array(items))
            }
            (5, n) => {
                let mut pairs = Vec::new();
                match n {
                    Some(n) => {
                        for _ in 0..self.len(n)? {
                            let k = self.value_at(depth + 1)?;
                            pairs.push((k, self.value_at(depth + 1)?));
                        }
                    }
                    None => loop {
                        if self.b.get(self.at) == Some(&0xff) {
                            self.at += 1;
                            break;
                        }
                        let k = self.value_at(depth + 1)?;
                        pairs.push((k, self.value_at(depth + 1)?));
                    },
                }
                Ok(Cbor::Map(pairs))
            }
            (6, Some(tag @ (2 | 3))) => {
                // bignums: a byte string, big-endian
                let Cbor::Bytes(b) = self.value_at(depth + 1)? else {
                    return Err(format!("CBOR: bignum tag at byte {start} without bytes"));
                };
                if b.len() > 32 {
                    return Err(format!(
                        "CBOR: a bignum of {} bytes at byte {start}",
                        b.len()
                    ));
                }
                let u = U256::from_be_slice(&b);
                if tag == 2 {
                    Ok(Cbor::Uint(u))
                } else {
                    let i = I256::try_from(u).map_err(|_| {
                        format!("CBOR: a negative bignum too large at byte {start}")
                    })?;
                    Ok(Cbor::Int(-i - I256::ONE))
                }
            }
            (7, Some(20)) => Ok(Cbor::Bool(false)),
            (7, Some(21)) => Ok(Cbor::Bool(true)),
            (7, Some(22 | 23)) => Ok(Cbor::Null),
            _ => Err(format!(
                "CBOR: an item Chainlink requests do not use (0x{ib:02x}) at byte {start}"
            )),
        }
    }
}

/// The calldata of `fulfillOracleRequest2`: the request's fields as the Operator stored
/// them, and `data` = the request id and the ABI-encoded result (the Operator checks the
/// first word and calls the consumer with its selector and `data`).
pub fn fulfil_call(r: &OracleRequest, result: &[u8]) -> Vec<u8> {
    let mut data = r.request_id.to_vec();
    data.extend_from_slice(result);
    abi::call(
        "fulfillOracleRequest2(bytes32,uint256,address,bytes4,uint256,bytes)",
        &[
            Value::FixedBytes(r.request_id.to_vec()),
            Value::Uint(r.payment),
            Value::Address(r.callback),
            Value::FixedBytes(r.selector.to_vec()),
            Value::Uint(U256::from(r.cancel_expiration)),
            Value::Bytes(data),
        ],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What `Chainlink.Request._add("template", "tx_count")`, `_addInt("to_block", 39)`,
    /// `_addInt("x", -2)`, `_addUint("big", 2^70)` and a string array write.
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        let text = |b: &mut Vec<u8>, s: &str| {
            b.push(0x60 | s.len() as u8);
            b.extend_from_slice(s.as_bytes());
        };
        text(&mut b, "template");
        text(&mut b, "tx_count");
        text(&mut b, "to_block");
        b.extend_from_slice(&[0x18, 39]);
        text(&mut b, "x");
        b.push(0x21); // -2
        text(&mut b, "big");
        b.extend_from_slice(&[0xc2, 0x49, 0x40, 0, 0, 0, 0, 0, 0, 0, 0]); // 2^70
        text(&mut b, "list");
        b.push(0x9f);
        text(&mut b, "a");
        text(&mut b, "b");
        b.push(0xff);
        b
    }

    #[test]
    fn chainlink_cbor_parameters_decode() {
        let p = decode_params(&sample()).unwrap();
        assert_eq!(p["template"].as_text(), Some("tx_count"));
        assert_eq!(p["to_block"].as_int(), Some(I256::try_from(39).unwrap()));
        assert_eq!(p["x"].as_int(), Some(I256::try_from(-2).unwrap()));
        assert_eq!(p["big"], Cbor::Uint(U256::from(1u128 << 70)));
        assert_eq!(
            p["list"],
            Cbor::Array(vec![Cbor::Text("a".into()), Cbor::Text("b".into())])
        );
        // damaged parameters are refused with where, never a panic
        let s = sample();
        for cut in 0..s.len() {
            let _ = decode_params(&s[..cut]);
        }
        assert!(decode_params(&[0x63, b'a']).unwrap_err().contains("ends"));
        assert!(decode_params(&[0x78, 200]).unwrap_err().contains("length"));
        assert!(decode_params(&[0x01, 0x02])
            .unwrap_err()
            .contains("not text"));
        let deep = vec![0x81; 40];
        assert!(decode_params(&[&[0x61, b'k'][..], &deep].concat()).is_err());
    }

    #[test]
    fn train_parameters_from_cbor() {
        let mut b = Vec::new();
        let text = |b: &mut Vec<u8>, s: &str| {
            b.push(0x60 | s.len() as u8);
            b.extend_from_slice(s.as_bytes());
        };
        let root = format!("{:#x}", B256::repeat_byte(9));
        text(&mut b, "dataset");
        b.extend_from_slice(&[0x78, root.len() as u8]);
        b.extend_from_slice(root.as_bytes());
        text(&mut b, "algo");
        text(&mut b, "gbt");
        text(&mut b, "trees");
        b.extend_from_slice(&[0x18, 40]);
        let p = job_params("train", &b, &[]).unwrap();
        assert_eq!(
            p,
            crate::jobs::train_params(B256::repeat_byte(9), "gbt", 40, 0)
        );
        text(&mut b, "seed");
        text(&mut b, "x");
        assert!(job_params("train", &b, &[])
            .unwrap_err()
            .contains("not a whole number"));
    }

    #[test]
    fn fulfil_data_starts_with_the_request_id() {
        let r = OracleRequest {
            spec_id: B256::ZERO,
            requester: Address::ZERO,
            request_id: B256::repeat_byte(7),
            payment: U256::from(5u64),
            callback: Address::repeat_byte(1),
            selector: [1, 2, 3, 4],
            cancel_expiration: 99,
            data_version: U256::from(2u64),
            data: Vec::new(),
        };
        let call = fulfil_call(&r, &abi::encode(&[Value::Uint(U256::from(42u64))]));
        let v = abi::decode_call(
            "fulfillOracleRequest2(bytes32,uint256,address,bytes4,uint256,bytes)",
            &call,
        )
        .unwrap();
        let data = v[5].as_bytes().unwrap();
        assert_eq!(&data[..32], &[7; 32]);
        assert_eq!(U256::from_be_slice(&data[32..64]), U256::from(42u64));
        assert_eq!(v[3].as_bytes().unwrap(), &[1, 2, 3, 4]);
    }
}
