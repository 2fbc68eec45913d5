//! Token metadata from `eth_call` answers, tolerant like ethereum-etl: `name`/`symbol`
//! may be an ABI `string` or a `bytes32`; NUL characters are removed; invalid UTF-8, short
//! or empty answers and reverts give null; `decimals` that do not fit `uint8` give null.

use alloy_primitives::U256;

/// The calls made for each token, in order: (field, primary signature, fallback signature).
pub const CALLS: &[(&str, &str, Option<&str>)] = &[
    ("symbol", "symbol()", Some("SYMBOL()")),
    ("name", "name()", Some("NAME()")),
    ("decimals", "decimals()", Some("DECIMALS()")),
    ("total_supply", "totalSupply()", None),
];

/// Decodes a `string` (or, failing that, `bytes32`) answer.
pub fn decode_text(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let raw =
        decode_abi_string(bytes).or_else(|| (bytes.len() >= 32).then(|| bytes[..32].to_vec()))?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.replace('\0', ""))
}

/// The ABI `string` (or `bytes`) of an answer, read leniently (bounds only).
fn decode_abi_string(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::abi::dynamic_bytes(bytes, 0).map(|b| b.to_vec())
}

/// Decodes a `uint8` answer (`decimals`).
pub fn decode_uint8(bytes: &[u8]) -> Option<String> {
    let v = decode_uint256(bytes)?;
    (v <= U256::from(255u64)).then(|| v.to_string())
}

/// Decodes a `uint256` answer.
pub fn decode_uint256(bytes: &[u8]) -> Option<U256> {
    crate::abi::word(bytes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::bytes_of(s).unwrap()
    }

    #[test]
    fn strings_and_bytes32() {
        // string "ETH\0\0\0" (length 6) → "ETH"
        let s = hex("0x000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000064554480000000000000000000000000000000000000000000000000000000000");
        assert_eq!(decode_text(&s).as_deref(), Some("ETH"));
        // bytes32 "EOS"
        let b = hex("0x454f530000000000000000000000000000000000000000000000000000000000");
        assert_eq!(decode_text(&b).as_deref(), Some("EOS"));
        // 32 zero bytes → empty string
        assert_eq!(decode_text(&[0u8; 32]).as_deref(), Some(""));
        assert_eq!(decode_text(&[]), None);
        // invalid UTF-8 → null
        assert_eq!(decode_text(&[0xff; 32]), None);
        // offset pointing outside → falls back to bytes32 (here invalid UTF-8 → null)
        let mut bad = vec![0xffu8; 32];
        bad.extend([0u8; 32]);
        assert_eq!(decode_text(&bad), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            decode_uint8(&hex(
                "0x0000000000000000000000000000000000000000000000000000000000000012"
            ))
            .as_deref(),
            Some("18")
        );
        assert_eq!(
            decode_uint8(&hex(
                "0x0000000000000000000000000000000000000000000000000000000000000100"
            )),
            None
        );
        assert_eq!(decode_uint256(&[1, 2]), None);
        assert_eq!(
            decode_uint256(&hex(
                "0x0000000000000000000000000000000000000000033b2e3c9fd0803ce8000000"
            ))
            .unwrap()
            .to_string(),
            "1000000000000000000000000000"
        );
    }
}
