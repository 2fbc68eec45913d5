//! Many argument-less static calls in one `eth_call` (pure encoding and decoding).
//!
//! Token metadata needs four calls per token contract (`symbol()`, `name()`, `decimals()`,
//! `totalSupply()`), read at an old block. Many nodes rebuild the state of an old block for
//! every `eth_call` (anvil: ~7 ms each against ~0.4 ms at `latest`), so one call per function
//! makes the token table cost more than every other table together. Instead, the creation
//! code of `contracts/BatchStaticCall.sol` plus the list of calls is sent as the `data` of
//! an `eth_call` without `to`: its constructor makes the calls and returns their answers as
//! the would-be deployed code, which the node hands back as the call's result. Nothing is
//! deployed and no special node API is needed (a node without support answers with an
//! error, and the caller falls back to one `eth_call` per function).
//!
//! An answer equals the direct call's except where the callee looks at `msg.sender` (the
//! batch's would-be address instead of the zero address). Answers the batch could not give
//! as a direct call would (cut at [`MAX_RETURN`] bytes, ran out of its gas cap, or not made
//! for lack of gas) come back as [`BatchAnswer::Redo`] and are asked again one by one.

use std::sync::LazyLock;

/// Calls per batch: with [`MAX_RETURN`] the answer stays under the 24,576-byte limit on
/// deployed code (EIP-170) that a creation `eth_call` also obeys.
pub const CALLS_PER_BATCH: usize = 96;
/// Bytes of each answer kept (a `string` of up to 128 bytes fits); longer answers are
/// asked again directly.
pub const MAX_RETURN: usize = 224;
/// Gas each call may use (a direct `eth_call` gets the node's whole cap; a call that uses
/// all of this is asked again directly).
pub const GAS_PER_CALL: u64 = 2_000_000;

const ARTIFACTS: &str = include_str!("../contracts/artifacts.json");

/// The creation code of `BatchStaticCall`, hex without `0x`.
static CREATION_CODE: LazyLock<String> = LazyLock::new(|| {
    let v: serde_json::Value = serde_json::from_str(ARTIFACTS).unwrap_or_default();
    v["contracts"]["BatchStaticCall"]["bytecode"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("0x")
        .to_string()
});

/// What the batch learned about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAnswer {
    /// The call reverted (a direct `eth_call` gives an execution error).
    Reverted,
    /// The call returned these bytes.
    Returned(Vec<u8>),
    /// Ask this one again with its own `eth_call`.
    Redo,
}

/// The `data` of the `eth_call` that makes `calls` (`(address, selector)`), `0x`-prefixed:
/// the creation code followed by the constructor's arguments,
/// `abi.encode(address[] targets, bytes4[] selectors, uint256 gasPerCall, uint256 maxReturn)`.
pub fn encode(calls: &[([u8; 20], [u8; 4])]) -> String {
    use crate::abi::{self, Value};
    use alloy_primitives::{Address, U256};
    let args = abi::encode(&[
        Value::addresses(calls.iter().map(|(a, _)| Address::from(*a))),
        Value::Array(
            calls
                .iter()
                .map(|(_, sel)| Value::FixedBytes(sel.to_vec()))
                .collect(),
        ),
        Value::Uint(U256::from(GAS_PER_CALL)),
        Value::Uint(U256::from(MAX_RETURN)),
    ]);
    let mut s = String::with_capacity(2 + CREATION_CODE.len() + 2 * args.len());
    s.push_str("0x");
    s.push_str(&CREATION_CODE);
    s.push_str(&alloy_primitives::hex::encode(args));
    s
}

/// Reads the answer of a batch of `n` calls (see `BatchStaticCall.sol` for the layout).
pub fn decode(answer: &[u8], n: usize) -> Result<Vec<BatchAnswer>, String> {
    if answer.first() != Some(&0) {
        return Err(format!(
            "batch answer of {} bytes does not start with the 0x00 marker",
            answer.len()
        ));
    }
    let mut p = 1;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let head = answer
            .get(p..p + 5)
            .ok_or_else(|| format!("batch answer ends at byte {p} inside call {i} of {n}"))?;
        let status = head[0];
        let size = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        p += 5;
        // a call that returned or reverted is followed by its (return or revert) data
        let kept = if status < 2 { size.min(MAX_RETURN) } else { 0 };
        let data = answer.get(p..p + kept).ok_or_else(|| {
            format!("batch answer ends at byte {p} inside the data of call {i} of {n}")
        })?;
        p += kept;
        let a = match status {
            0 => BatchAnswer::Reverted,
            1 if kept < size => BatchAnswer::Redo,
            1 => BatchAnswer::Returned(data.to_vec()),
            2 | 3 => BatchAnswer::Redo,
            other => return Err(format!("batch answer: unknown status {other} for call {i}")),
        };
        out.push(a);
    }
    if p != answer.len() {
        return Err(format!(
            "batch answer has {} bytes after the {n} calls",
            answer.len() - p
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_code_is_embedded() {
        assert!(CREATION_CODE.len() > 1000);
        assert!(CREATION_CODE.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn encodes_the_constructor_arguments() {
        let calls = [
            ([0x11; 20], [0x06, 0xfd, 0xde, 0x03]),
            ([0x22; 20], [1, 2, 3, 4]),
        ];
        let s = encode(&calls);
        let args = &s[2 + CREATION_CODE.len()..];
        let words: Vec<&str> = (0..args.len() / 64)
            .map(|i| &args[64 * i..64 * i + 64])
            .collect();
        assert_eq!(words.len(), 4 + 1 + 2 + 1 + 2);
        assert_eq!(u64::from_str_radix(words[0], 16).unwrap(), 128);
        assert_eq!(u64::from_str_radix(words[1], 16).unwrap(), 128 + 32 + 64);
        assert_eq!(u64::from_str_radix(words[2], 16).unwrap(), GAS_PER_CALL);
        assert_eq!(
            u64::from_str_radix(words[3], 16).unwrap(),
            MAX_RETURN as u64
        );
        assert_eq!(words[4], format!("{:064x}", 2));
        assert_eq!(words[5], format!("{}{}", "0".repeat(24), "11".repeat(20)));
        assert_eq!(words[8], format!("06fdde03{}", "0".repeat(56)));
        assert_eq!(words[9], format!("01020304{}", "0".repeat(56)));
    }

    #[test]
    fn decodes_every_status() {
        let mut a = vec![0u8];
        a.extend([1, 0, 0, 0, 2, 0xab, 0xcd]); // returned 2 bytes
        a.extend([0, 0, 0, 0, 0]); // reverted
        a.extend([0, 0, 0, 0, 4, 8, 0xc3, 0x79, 0xa0]); // reverted with data
        a.extend([2, 0, 0, 0, 0]); // out of gas
        a.extend([3, 0, 0, 0, 0]); // not made
        a.extend([1, 0, 0, 1, 0]); // 256 bytes returned, MAX_RETURN kept
        a.extend(vec![7u8; MAX_RETURN]);
        a.extend([1, 0, 0, 0, 0]); // returned nothing
        let d = decode(&a, 7).unwrap();
        assert_eq!(
            d,
            vec![
                BatchAnswer::Returned(vec![0xab, 0xcd]),
                BatchAnswer::Reverted,
                BatchAnswer::Reverted,
                BatchAnswer::Redo,
                BatchAnswer::Redo,
                BatchAnswer::Redo,
                BatchAnswer::Returned(vec![]),
            ]
        );
    }

    #[test]
    fn rejects_malformed_answers() {
        assert!(decode(&[], 0).is_err());
        assert!(decode(&[0xef], 0).is_err());
        assert!(decode(&[0], 0).unwrap().is_empty());
        assert!(decode(&[0, 1, 0, 0, 0, 4, 1, 2], 1).is_err()); // data cut short
        assert!(decode(&[0, 1, 0, 0], 1).is_err()); // header cut short
        assert!(decode(&[0, 9, 0, 0, 0, 0], 1).is_err()); // unknown status
        assert!(decode(&[0, 0, 0, 0, 0, 0, 5], 1).is_err()); // trailing bytes
    }
}
