//! Parsing of the hex encodings in JSON-RPC answers, with exact 256-bit arithmetic.

use std::fmt;

use alloy_primitives::U256;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON-RPC quantity as sent (`"0x1a"`). Also accepts a JSON integer or a decimal string,
/// which some nodes send; the value is parsed later, where the block and field are known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Q(pub String);

impl<'de> Deserialize<'de> for Q {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Q;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex quantity string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Q, E> {
                Ok(Q(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Q, E> {
                Ok(Q(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Q, E> {
                Ok(Q(format!("{v:#x}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Q, E> {
                if v < 0 {
                    return Err(E::custom(format!("negative quantity {v}")));
                }
                Ok(Q(format!("{v:#x}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Why a value could not be parsed.
pub type HexResult<T> = Result<T, String>;

fn digits(s: &str) -> HexResult<(&str, u32)> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return Err(format!("{s:?} has no digits"));
        }
        Ok((h, 16))
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok((s, 10))
    } else {
        Err(format!("{s:?} is not a hex quantity"))
    }
}

/// Parses a quantity that must fit 64 bits.
pub fn u64_of(s: &str) -> HexResult<u64> {
    let (d, radix) = digits(s)?;
    u64::from_str_radix(d, radix).map_err(|e| format!("{s:?} is not a 64-bit quantity ({e})"))
}

/// Parses a quantity stored in an INT64 column: it must fit a signed 64-bit integer.
pub fn i64_of(s: &str) -> HexResult<i64> {
    let v = u64_of(s)?;
    i64::try_from(v).map_err(|_| format!("{s:?} ({v}) does not fit the INT64 column"))
}

/// Parses a 256-bit quantity.
pub fn u256_of(s: &str) -> HexResult<U256> {
    let (d, radix) = digits(s)?;
    U256::from_str_radix(d, radix as u64)
        .map_err(|e| format!("{s:?} is not a 256-bit quantity ({e})"))
}

/// Parses a 256-bit quantity into its exact decimal string.
pub fn dec_of(s: &str) -> HexResult<String> {
    let (d, radix) = digits(s)?;
    if radix == 10 {
        return u256_of(s).map(|v| v.to_string());
    }
    if d.len() <= 16 {
        return u64::from_str_radix(d, 16)
            .map(|v| v.to_string())
            .map_err(|e| format!("{s:?}: {e}"));
    }
    u256_of(s).map(|v| v.to_string())
}

/// Checks that `s` is `0x`-prefixed hex data and returns it lower-cased.
pub fn data_of(s: &str) -> HexResult<String> {
    let h = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("{:?} does not start with 0x", abbreviate(s)))?;
    if let Some(bad) = h.bytes().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "{:?} has a non-hex character {:?}",
            abbreviate(s),
            bad as char
        ));
    }
    if h.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Ok(s.to_string())
    }
}

/// Like [`data_of`], but validates and lower-cases `s` in place (no copy).
pub fn data_owned(mut s: String) -> HexResult<String> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 || &bytes[..2] != b"0x" {
        return Err(format!("{:?} does not start with 0x", abbreviate(&s)));
    }
    let mut upper = false;
    for &b in &bytes[2..] {
        match b {
            b'0'..=b'9' | b'a'..=b'f' => {}
            b'A'..=b'F' => upper = true,
            _ => {
                return Err(format!(
                    "{:?} has a non-hex character {:?}",
                    abbreviate(&s),
                    b as char
                ))
            }
        }
    }
    if upper {
        s.make_ascii_lowercase();
    }
    Ok(s)
}

/// Checks that `s` is a 20-byte address and returns it lower-cased.
pub fn address_of(s: &str) -> HexResult<String> {
    let out = data_of(s)?;
    if out.len() != 42 {
        return Err(format!("{s:?} is not a 20-byte address"));
    }
    Ok(out)
}

/// Checks that `s` is a 32-byte hash and returns it lower-cased.
pub fn hash_of(s: &str) -> HexResult<String> {
    let out = data_of(s)?;
    if out.len() != 66 {
        return Err(format!("{:?} is not a 32-byte hash", abbreviate(s)));
    }
    Ok(out)
}

/// Decodes hex data into bytes.
pub fn bytes_of(s: &str) -> HexResult<Vec<u8>> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if !h.len().is_multiple_of(2) {
        return Err(format!(
            "{:?} has an odd number of hex digits",
            abbreviate(s)
        ));
    }
    (0..h.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&h[i..i + 2], 16)
                .map_err(|_| format!("{:?} is not hex", abbreviate(s)))
        })
        .collect()
}

fn abbreviate(s: &str) -> String {
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(77).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(u64_of("0x0").unwrap(), 0);
        assert_eq!(u64_of("0x1a").unwrap(), 26);
        assert_eq!(u64_of("26").unwrap(), 26);
        assert!(u64_of("0x").is_err());
        assert!(u64_of("0xzz").is_err());
        assert!(u64_of("0x10000000000000000").is_err());
        assert!(i64_of("0xffffffffffffffff").unwrap_err().contains("INT64"));
        assert_eq!(
            dec_of("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff").unwrap(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(dec_of("0xde0b6b3a7640000").unwrap(), "1000000000000000000");
        assert!(
            dec_of("0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff").is_err()
        );
    }

    #[test]
    fn data_and_addresses() {
        assert_eq!(
            address_of("0xAbCdEf0000000000000000000000000000000001").unwrap(),
            "0xabcdef0000000000000000000000000000000001"
        );
        assert!(address_of("0x1234").is_err());
        assert!(data_of("1234").is_err());
        assert!(data_of("0x12g4").is_err());
        assert_eq!(bytes_of("0x0102ff").unwrap(), vec![1, 2, 255]);
        assert!(bytes_of("0x123").is_err());
    }

    #[test]
    fn q_accepts_ints_and_strings() {
        let q: Vec<Q> = serde_json::from_str(r#"["0x10", 16]"#).unwrap();
        assert_eq!(q[0].0, "0x10");
        assert_eq!(q[1].0, "0x10");
        assert!(serde_json::from_str::<Q>("-1").is_err());
    }
}
