//! Parsing of the hex encodings in JSON-RPC answers, with exact 256-bit arithmetic.

use std::fmt;

use alloy_primitives::U256;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON-RPC quantity (`"0x1a"`), parsed as it is read. Also accepts a JSON integer or a
/// decimal string, which some nodes send. A string that is no quantity is kept as sent and
/// reported where it is used, with the block and field (a node may send junk in a field the
/// asked tables never read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Q {
    /// A value that fits 64 bits.
    U64(u64),
    /// A wider value (up to 256 bits).
    Big(U256),
    /// Not a quantity: the text as sent.
    Bad(String),
}

impl Default for Q {
    fn default() -> Self {
        Q::U64(0)
    }
}

impl Q {
    /// Parses a quantity's text (never fails: junk becomes [`Q::Bad`]).
    pub fn parse(s: &str) -> Q {
        match digits(s) {
            Ok((d, 16)) if d.len() <= 16 => match u64_of_hex(d.as_bytes()) {
                Some(v) => Q::U64(v),
                None => Q::Bad(s.to_string()),
            },
            Ok(_) => match u256_of(s) {
                Ok(v) => match u64::try_from(v) {
                    Ok(small) => Q::U64(small),
                    Err(_) => Q::Big(v),
                },
                Err(_) => Q::Bad(s.to_string()),
            },
            Err(_) => Q::Bad(s.to_string()),
        }
    }

    /// The value, which must fit 64 bits.
    pub fn u64(&self) -> HexResult<u64> {
        match self {
            Q::U64(v) => Ok(*v),
            Q::Big(v) => Err(format!("\"{v:#x}\" is not a 64-bit quantity")),
            Q::Bad(s) => u64_of(s),
        }
    }

    /// The value for an INT64 column: it must fit a signed 64-bit integer.
    pub fn i64(&self) -> HexResult<i64> {
        let v = self.u64()?;
        i64::try_from(v).map_err(|_| format!("\"{v:#x}\" ({v}) does not fit the INT64 column"))
    }

    /// The exact decimal text of the value.
    pub fn dec(&self) -> HexResult<String> {
        match self {
            Q::U64(v) => Ok(v.to_string()),
            Q::Big(v) => Ok(v.to_string()),
            Q::Bad(s) => dec_of(s),
        }
    }
}

/// Hex digits (no prefix, at most 16) as a `u64`; `None` on a non-hex character.
fn u64_of_hex(d: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &b in d {
        let n = HEX_VALUE[b as usize];
        if n == INVALID {
            return None;
        }
        v = (v << 4) | n as u64;
    }
    Some(v)
}

impl<'de> Deserialize<'de> for Q {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Q;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex quantity string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Q, E> {
                Ok(Q::parse(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Q, E> {
                Ok(Q::U64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Q, E> {
                if v < 0 {
                    return Err(E::custom(format!("negative quantity {v}")));
                }
                Ok(Q::U64(v as u64))
            }
        }
        d.deserialize_any(V)
    }
}

const INVALID: u8 = 0xff;

/// Each byte's value as a hex digit (`INVALID` for a non-digit).
static HEX_VALUE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

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

/// Scans hex digits: `Err(byte)` with the first non-digit, else whether any digit is
/// upper-case. Branch-free over 64-byte blocks so that it vectorises (hashes, addresses and
/// call data are most of what an export reads).
fn scan_hex(h: &[u8]) -> Result<bool, u8> {
    let mut upper = 0u8;
    for block in h.chunks(64) {
        let mut bad = 0u8;
        for &b in block {
            let digit = (b.wrapping_sub(b'0') < 10) as u8;
            let lower = (b.wrapping_sub(b'a') < 6) as u8;
            let up = (b.wrapping_sub(b'A') < 6) as u8;
            bad |= 1 ^ (digit | lower | up);
            upper |= up;
        }
        if bad != 0 {
            let first = block.iter().find(|b| !b.is_ascii_hexdigit());
            return Err(first.copied().unwrap_or(b'?'));
        }
    }
    Ok(upper != 0)
}

fn bad_char(s: &str, b: u8) -> String {
    format!(
        "{:?} has a non-hex character {:?}",
        abbreviate(s),
        b as char
    )
}

/// Checks that `s` is `0x`-prefixed hex data of `len` characters (any length when
/// `None`, with the name of what `len` means) and lower-cases it in place. Errors quote
/// `s` as sent.
fn checked(mut s: String, len: Option<(usize, &str)>) -> HexResult<String> {
    let Some(h) = s.as_bytes().strip_prefix(b"0x") else {
        return Err(format!("{:?} does not start with 0x", abbreviate(&s)));
    };
    let upper = scan_hex(h).map_err(|b| bad_char(&s, b))?;
    if let Some((n, what)) = len {
        if s.len() != n {
            return Err(format!("{:?} is not a {what}", abbreviate(&s)));
        }
    }
    if upper {
        s.make_ascii_lowercase();
    }
    Ok(s)
}

/// Checks that `s` is `0x`-prefixed hex data and returns it lower-cased, in place (no copy).
pub fn data_owned(s: String) -> HexResult<String> {
    checked(s, None)
}

/// Like [`address_of`], in place.
pub fn address_owned(s: String) -> HexResult<String> {
    checked(s, Some((42, "20-byte address")))
}

/// Like [`hash_of`], in place.
pub fn hash_owned(s: String) -> HexResult<String> {
    checked(s, Some((66, "32-byte hash")))
}

/// Checks that `s` is `0x`-prefixed hex data and returns it lower-cased.
pub fn data_of(s: &str) -> HexResult<String> {
    data_owned(s.to_string())
}

/// Checks that `s` is a 20-byte address and returns it lower-cased.
pub fn address_of(s: &str) -> HexResult<String> {
    address_owned(s.to_string())
}

/// Checks that `s` is a 32-byte hash and returns it lower-cased.
pub fn hash_of(s: &str) -> HexResult<String> {
    hash_owned(s.to_string())
}

/// Decodes hex data (with or without `0x`) into bytes.
pub fn bytes_of(s: &str) -> HexResult<Vec<u8>> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if !h.len().is_multiple_of(2) {
        return Err(format!(
            "{:?} has an odd number of hex digits",
            abbreviate(s)
        ));
    }
    // SIMD-accelerated (contract bytecode is decoded for every created contract); it would
    // take a second prefix, which is no hex
    if h.starts_with("0x") || h.starts_with("0X") {
        return Err(format!("{:?} is not hex", abbreviate(s)));
    }
    alloy_primitives::hex::decode(h).map_err(|_| format!("{:?} is not hex", abbreviate(s)))
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
        for (text, small) in [
            ("0x0", Some(0)),
            ("0x1a", Some(26)),
            ("26", Some(26)),
            ("0x00000000000000000001", Some(1)),
            ("0xFFFFFFFFFFFFFFFF", Some(u64::MAX)),
            ("0x10000000000000000", None),
            ("0x", None),
            ("0xzz", None),
            ("-1", None),
            ("", None),
        ] {
            let q = Q::parse(text);
            assert_eq!(q.u64().ok(), small, "{text}");
            assert_eq!(q.u64().is_ok(), u64_of(text).is_ok(), "{text}");
            assert_eq!(q.dec().ok(), dec_of(text).ok(), "{text}");
        }
        assert!(matches!(Q::parse("0x10000000000000000"), Q::Big(_)));
        assert!(matches!(Q::parse("0xzz"), Q::Bad(_)));
        assert!(Q::parse("0xffffffffffffffff")
            .i64()
            .unwrap_err()
            .contains("INT64"));
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
        assert_eq!(bytes_of("0A0b").unwrap(), vec![10, 11]);
        assert!(bytes_of("0x0g").unwrap_err().contains("not hex"));
        assert!(bytes_of("0x0x").is_err());
        assert!(bytes_of("0X12").is_err());
        assert_eq!(data_owned("0xAb09fF".into()).unwrap(), "0xab09ff");
        assert_eq!(data_owned("0x".into()).unwrap(), "0x");
        assert!(data_owned("0xag".into()).unwrap_err().contains("'g'"));
        assert!(data_owned("0x-1".into()).is_err());
        assert!(data_owned("ab".into()).is_err());
        assert!(hash_owned("0x12".into()).is_err());
        assert!(address_owned(format!("0x{}", "AB".repeat(20))).is_ok());
        for b in 0u8..=255 {
            let s = format!("0x{}", b as char);
            assert_eq!(data_of(&s).is_ok(), (b as char).is_ascii_hexdigit(), "{b}");
        }
    }

    #[test]
    fn q_accepts_ints_and_strings() {
        let q: Vec<Q> = serde_json::from_str(r#"["0x10", 16]"#).unwrap();
        assert_eq!(q[0], Q::U64(16));
        assert_eq!(q[1], Q::U64(16));
        assert!(serde_json::from_str::<Q>("-1").is_err());
    }
}
