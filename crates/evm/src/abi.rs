//! The Solidity ABI codec of the workspace: calldata and constructor arguments (the devnet
//! workload, the batched token calls, the oracle's fulfilment calls) and the decoding of
//! return data and event data (token metadata, the oracle's requests).
//!
//! Types parse from their Solidity spelling (`uint256`, `address[]`, `bytes4`,
//! `(uint64,string)[2]`); [`encode`] and [`decode`] follow the ABI specification's head /
//! tail layout for a tuple of values. Decoding is strict (it refuses dirty padding, bools
//! other than 0/1, out-of-range offsets and values wider than their type) and names the
//! byte offset of what it refuses. The lenient readers that token metadata needs
//! ([`word`], [`dynamic_bytes`]) are the same primitives, without the checks.

use alloy_primitives::{keccak256, Address, B256, I256, U256};

/// An ABI type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `address`
    Address,
    /// `bool`
    Bool,
    /// `uint<bits>` (8..=256, multiple of 8; `uint` is `uint256`)
    Uint(u16),
    /// `int<bits>`
    Int(u16),
    /// `bytes<n>` (1..=32)
    FixedBytes(u8),
    /// `bytes`
    Bytes,
    /// `string`
    String,
    /// `T[]`
    Array(Box<Type>),
    /// `T[n]`
    FixedArray(Box<Type>, usize),
    /// `(T1,T2,…)`
    Tuple(Vec<Type>),
}

/// An ABI value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `address`
    Address(Address),
    /// `bool`
    Bool(bool),
    /// `uint<N>`
    Uint(U256),
    /// `int<N>`
    Int(I256),
    /// `bytes<n>`: up to 32 bytes, left-aligned in their word
    FixedBytes(Vec<u8>),
    /// `bytes`
    Bytes(Vec<u8>),
    /// `string`
    String(String),
    /// `T[]`
    Array(Vec<Value>),
    /// `T[n]`
    FixedArray(Vec<Value>),
    /// `(T1,T2,…)`
    Tuple(Vec<Value>),
}

/// Data the decoder refuses, or a type that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    /// A type name that is no ABI type.
    #[error("unknown ABI type {0:?}")]
    BadType(String),
    /// The data ends before a word or a tail it needs.
    #[error("ABI data of {len} bytes ends inside {what} at byte {offset}")]
    Short {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
        /// The data's length.
        len: usize,
    },
    /// A word that does not hold a value of its type.
    #[error("ABI {ty} at byte {offset}: {reason}")]
    Bad {
        /// The type.
        ty: String,
        /// Where.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl Value {
    /// `uint256[]` of `v`.
    pub fn uints(v: impl IntoIterator<Item = U256>) -> Value {
        Value::Array(v.into_iter().map(Value::Uint).collect())
    }

    /// `address[]` of `v`.
    pub fn addresses(v: impl IntoIterator<Item = Address>) -> Value {
        Value::Array(v.into_iter().map(Value::Address).collect())
    }

    /// Whether the value's encoding lives in the tail (dynamic types).
    fn is_dynamic(&self) -> bool {
        match self {
            Value::Bytes(_) | Value::String(_) | Value::Array(_) => true,
            Value::FixedArray(v) | Value::Tuple(v) => v.iter().any(Value::is_dynamic),
            _ => false,
        }
    }

    /// The value as a `uint`, if it is one.
    pub fn as_uint(&self) -> Option<U256> {
        match self {
            Value::Uint(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an `address`, if it is one.
    pub fn as_address(&self) -> Option<Address> {
        match self {
            Value::Address(a) => Some(*a),
            _ => None,
        }
    }

    /// The value as bytes (`bytes`, `bytes<n>`) or text (`string`), if it is one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) | Value::FixedBytes(b) => Some(b),
            Value::String(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

impl Type {
    /// Whether values of the type are encoded in the tail.
    fn is_dynamic(&self) -> bool {
        match self {
            Type::Bytes | Type::String | Type::Array(_) => true,
            Type::FixedArray(t, _) => t.is_dynamic(),
            Type::Tuple(ts) => ts.iter().any(Type::is_dynamic),
            _ => false,
        }
    }

    /// Bytes the type takes in the head.
    fn head_size(&self) -> usize {
        match self {
            _ if self.is_dynamic() => 32,
            Type::FixedArray(t, n) => t.head_size() * n,
            Type::Tuple(ts) => ts.iter().map(Type::head_size).sum(),
            _ => 32,
        }
    }

    /// The type's canonical Solidity spelling (as in signatures).
    pub fn canonical(&self) -> String {
        match self {
            Type::Address => "address".into(),
            Type::Bool => "bool".into(),
            Type::Uint(b) => format!("uint{b}"),
            Type::Int(b) => format!("int{b}"),
            Type::FixedBytes(n) => format!("bytes{n}"),
            Type::Bytes => "bytes".into(),
            Type::String => "string".into(),
            Type::Array(t) => format!("{}[]", t.canonical()),
            Type::FixedArray(t, n) => format!("{}[{n}]", t.canonical()),
            Type::Tuple(ts) => format!(
                "({})",
                ts.iter().map(Type::canonical).collect::<Vec<_>>().join(",")
            ),
        }
    }

    /// Parses a comma-separated type list (`uint256,address[]`; empty: none).
    pub fn parse_list(s: &str) -> Result<Vec<Type>, AbiError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Vec::new());
        }
        split_top(s)
            .map_err(|_| AbiError::BadType(s.to_string()))?
            .into_iter()
            .map(str::parse)
            .collect()
    }
}

/// Splits at the commas outside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, ()> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(());
                }
            }
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(());
    }
    out.push(s[start..].trim());
    Ok(out)
}

impl std::str::FromStr for Type {
    type Err = AbiError;

    fn from_str(s: &str) -> Result<Type, AbiError> {
        let s = s.trim();
        let bad = || AbiError::BadType(s.to_string());
        if let Some(inner) = s.strip_suffix(']') {
            let open = inner.rfind('[').ok_or_else(bad)?;
            let elem: Type = inner[..open].parse().map_err(|_| bad())?;
            let n = &inner[open + 1..];
            return Ok(if n.is_empty() {
                Type::Array(Box::new(elem))
            } else {
                Type::FixedArray(Box::new(elem), n.parse().map_err(|_| bad())?)
            });
        }
        if let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            return Ok(Type::Tuple(Type::parse_list(inner).map_err(|_| bad())?));
        }
        let bits = |digits: &str| -> Result<u16, AbiError> {
            if digits.is_empty() {
                return Ok(256);
            }
            let b: u16 = digits.parse().map_err(|_| bad())?;
            if b == 0 || b > 256 || !b.is_multiple_of(8) {
                return Err(bad());
            }
            Ok(b)
        };
        Ok(match s {
            "address" => Type::Address,
            "bool" => Type::Bool,
            "bytes" => Type::Bytes,
            "string" => Type::String,
            _ if s.starts_with("uint") => Type::Uint(bits(&s[4..])?),
            _ if s.starts_with("int") => Type::Int(bits(&s[3..])?),
            _ if s.starts_with("bytes") => {
                let n: u8 = s[5..].parse().map_err(|_| bad())?;
                if n == 0 || n > 32 {
                    return Err(bad());
                }
                Type::FixedBytes(n)
            }
            _ => return Err(bad()),
        })
    }
}

fn uint_word(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

/// Appends the head/tail encoding of `values` as one tuple.
fn encode_into(values: &[Value], out: &mut Vec<u8>) {
    let head_len: usize = values
        .iter()
        .map(|v| match v {
            _ if v.is_dynamic() => 32,
            Value::FixedArray(x) | Value::Tuple(x) => {
                let mut b = Vec::new();
                encode_into(x, &mut b);
                b.len()
            }
            _ => 32,
        })
        .sum();
    let mut tail = Vec::new();
    for v in values {
        if v.is_dynamic() {
            out.extend_from_slice(&uint_word(U256::from(head_len + tail.len())));
            encode_value(v, &mut tail);
        } else {
            encode_value(v, out);
        }
    }
    out.extend(tail);
}

/// Appends one value's own encoding (what a head slot points to, for dynamic values).
fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Address(a) => {
            out.extend_from_slice(&[0u8; 12]);
            out.extend_from_slice(a.as_slice());
        }
        Value::Bool(b) => out.extend_from_slice(&uint_word(U256::from(*b as u8))),
        Value::Uint(x) => out.extend_from_slice(&uint_word(*x)),
        Value::Int(x) => out.extend_from_slice(&x.into_raw().to_be_bytes::<32>()),
        Value::FixedBytes(b) => {
            let mut w = [0u8; 32];
            let n = b.len().min(32);
            w[..n].copy_from_slice(&b[..n]);
            out.extend_from_slice(&w);
        }
        Value::Bytes(b) => padded(b, out),
        Value::String(s) => padded(s.as_bytes(), out),
        Value::Array(x) => {
            out.extend_from_slice(&uint_word(U256::from(x.len())));
            encode_into(x, out);
        }
        Value::FixedArray(x) | Value::Tuple(x) => encode_into(x, out),
    }
}

fn padded(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&uint_word(U256::from(b.len())));
    out.extend_from_slice(b);
    out.resize(out.len() + (32 - b.len() % 32) % 32, 0);
}

/// ABI-encodes `values` as a tuple (function arguments, constructor arguments, return
/// data), without a selector. Whether a value is dynamic is read from the value itself,
/// so a zero-length fixed array of a dynamic type (`string[0]`) encodes as static.
pub fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * values.len());
    encode_into(values, &mut out);
    out
}

/// The 4-byte selector of a function signature (`transfer(address,uint256)`).
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// The topic of an event signature (`Transfer(address,address,uint256)`).
pub fn event_topic(signature: &str) -> B256 {
    keccak256(signature.as_bytes())
}

/// Calldata of `signature(args…)`: selector, then the encoded arguments.
pub fn call(signature: &str, args: &[Value]) -> Vec<u8> {
    let mut out = selector(signature).to_vec();
    encode_into(args, &mut out);
    out
}

/// `0x`-hex of bytes.
pub fn hex(b: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(b))
}

/// The 32-byte word at `offset` as a number (lenient: `None` past the end).
pub fn word(data: &[u8], offset: usize) -> Option<U256> {
    data.get(offset..offset.checked_add(32)?)
        .map(U256::from_be_slice)
}

/// The `bytes`/`string` whose head word is at `head` (offset, then length and contents),
/// without any check beyond the bounds (lenient: `None` when anything is out of range).
pub fn dynamic_bytes(data: &[u8], head: usize) -> Option<&[u8]> {
    let offset = usize::try_from(word(data, head)?).ok()?;
    let len = usize::try_from(word(data, offset)?).ok()?;
    let start = offset.checked_add(32)?;
    data.get(start..start.checked_add(len)?)
}

/// Decodes `data` as a tuple of `types` (return data, event data, calldata after the
/// selector). Strict: see the module documentation.
pub fn decode(types: &[Type], data: &[u8]) -> Result<Vec<Value>, AbiError> {
    decode_tuple(types, data, 0)
}

/// Decodes calldata: checks the selector of `signature` and decodes its arguments (the
/// types are read from the signature).
pub fn decode_call(signature: &str, data: &[u8]) -> Result<Vec<Value>, AbiError> {
    let open = signature
        .find('(')
        .filter(|_| signature.ends_with(')'))
        .ok_or_else(|| AbiError::BadType(signature.to_string()))?;
    let types = Type::parse_list(&signature[open + 1..signature.len() - 1])?;
    if data.get(..4) != Some(&selector(signature)[..]) {
        return Err(AbiError::Bad {
            ty: signature.to_string(),
            offset: 0,
            reason: "the selector is not this function's",
        });
    }
    decode(&types, &data[4..])
}

fn read_word<'a>(data: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8; 32], AbiError> {
    at.checked_add(32)
        .and_then(|end| data.get(at..end))
        .and_then(|w| w.try_into().ok())
        .ok_or(AbiError::Short {
            what,
            offset: at,
            len: data.len(),
        })
}

fn read_usize(data: &[u8], at: usize, what: &'static str) -> Result<usize, AbiError> {
    let w = read_word(data, at, what)?;
    usize::try_from(U256::from_be_bytes(*w)).map_err(|_| AbiError::Bad {
        ty: what.to_string(),
        offset: at,
        reason: "an offset or length larger than the data",
    })
}

/// Decodes a tuple whose head starts at `base` (offsets are relative to `base`).
fn decode_tuple(types: &[Type], data: &[u8], base: usize) -> Result<Vec<Value>, AbiError> {
    let mut out = Vec::with_capacity(types.len());
    let mut at = base;
    for t in types {
        if t.is_dynamic() {
            let rel = read_usize(data, at, "an offset")?;
            let start = base.checked_add(rel).ok_or(AbiError::Short {
                what: "an offset",
                offset: at,
                len: data.len(),
            })?;
            out.push(decode_at(t, data, start)?);
        } else {
            out.push(decode_at(t, data, at)?);
        }
        at += t.head_size();
    }
    Ok(out)
}

/// Decodes one value whose encoding starts at `at`.
fn decode_at(t: &Type, data: &[u8], at: usize) -> Result<Value, AbiError> {
    let bad = |reason| AbiError::Bad {
        ty: t.canonical(),
        offset: at,
        reason,
    };
    Ok(match t {
        Type::Address => {
            let w = read_word(data, at, "an address")?;
            if w[..12].iter().any(|&b| b != 0) {
                return Err(bad("dirty high bytes"));
            }
            Value::Address(Address::from_slice(&w[12..]))
        }
        Type::Bool => {
            let w = read_word(data, at, "a bool")?;
            match U256::from_be_bytes(*w) {
                v if v == U256::ZERO => Value::Bool(false),
                v if v == U256::from(1u8) => Value::Bool(true),
                _ => return Err(bad("a bool that is neither 0 nor 1")),
            }
        }
        Type::Uint(bits) => {
            let v = U256::from_be_bytes(*read_word(data, at, "a uint")?);
            if *bits < 256 && v >> (*bits as usize) != U256::ZERO {
                return Err(bad("a value wider than its type"));
            }
            Value::Uint(v)
        }
        Type::Int(bits) => {
            let raw = U256::from_be_bytes(*read_word(data, at, "an int")?);
            let v = I256::from_raw(raw);
            if *bits < 256 {
                let lim = I256::from_raw(U256::from(1u8) << (*bits as usize - 1));
                if v >= lim || v < -lim {
                    return Err(bad("a value wider than its type"));
                }
            }
            Value::Int(v)
        }
        Type::FixedBytes(n) => {
            let w = read_word(data, at, "fixed bytes")?;
            if w[*n as usize..].iter().any(|&b| b != 0) {
                return Err(bad("dirty padding"));
            }
            Value::FixedBytes(w[..*n as usize].to_vec())
        }
        Type::Bytes | Type::String => {
            let len = read_usize(data, at, "a length")?;
            let start = at + 32;
            let b = start
                .checked_add(len)
                .and_then(|end| data.get(start..end))
                .ok_or(AbiError::Short {
                    what: "bytes",
                    offset: start,
                    len: data.len(),
                })?;
            if matches!(t, Type::String) {
                Value::String(String::from_utf8(b.to_vec()).map_err(|_| bad("not UTF-8"))?)
            } else {
                Value::Bytes(b.to_vec())
            }
        }
        Type::Array(elem) => {
            let n = read_usize(data, at, "an array length")?;
            // every element takes at least one word: a length beyond the data is refused
            // before anything is allocated
            if n > data.len() / 32 {
                return Err(bad("an array longer than the data"));
            }
            let types = vec![(**elem).clone(); n];
            Value::Array(decode_tuple(&types, data, at + 32)?)
        }
        Type::FixedArray(elem, n) => {
            let types = vec![(**elem).clone(); *n];
            Value::FixedArray(decode_tuple(&types, data, at)?)
        }
        Type::Tuple(ts) => Value::Tuple(decode_tuple(ts, data, at)?),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::{Rng, SeedableRng};

    fn t(s: &str) -> Type {
        s.parse().unwrap()
    }

    #[test]
    fn transfer_calldata() {
        let to: Address = "0x00000000000000000000000000000000000000aa"
            .parse()
            .unwrap();
        let d = call(
            "transfer(address,uint256)",
            &[Value::Address(to), Value::Uint(U256::from(5))],
        );
        assert_eq!(hex(&d[..4]), "0xa9059cbb");
        assert_eq!(d.len(), 4 + 64);
        assert_eq!(d[4 + 31], 0xaa);
        assert_eq!(d[4 + 63], 5);
        assert_eq!(
            decode_call("transfer(address,uint256)", &d).unwrap(),
            vec![Value::Address(to), Value::Uint(U256::from(5))]
        );
        assert!(decode_call("approve(address,uint256)", &d).is_err());
    }

    #[test]
    fn dynamic_arguments() {
        // (string "ab", uint256 7): head = offset 64, 7; tail = len 2, "ab" padded
        let e = encode(&[Value::String("ab".into()), Value::Uint(U256::from(7))]);
        assert_eq!(e.len(), 4 * 32);
        assert_eq!(e[31], 64);
        assert_eq!(e[63], 7);
        assert_eq!(e[95], 2);
        assert_eq!(&e[96..98], b"ab");
        // two arrays: offsets 64 and 64 + 32*(1+2)
        let e = encode(&[
            Value::uints([U256::from(1), U256::from(2)]),
            Value::uints([U256::from(3), U256::from(4)]),
        ]);
        assert_eq!(e[31], 64);
        assert_eq!(e[63], 160);
        assert_eq!(
            decode(&[t("uint256[]"), t("uint256[]")], &e).unwrap(),
            vec![
                Value::uints([U256::from(1), U256::from(2)]),
                Value::uints([U256::from(3), U256::from(4)])
            ]
        );
    }

    /// The specification's worked example: `f(uint256,uint32[],bytes10,bytes)` with
    /// `(0x123, [0x456, 0x789], "1234567890", "Hello, world!")`.
    #[test]
    fn specification_example() {
        let args = [
            Value::Uint(U256::from(0x123)),
            Value::Array(vec![
                Value::Uint(U256::from(0x456)),
                Value::Uint(U256::from(0x789)),
            ]),
            Value::FixedBytes(b"1234567890".to_vec()),
            Value::Bytes(b"Hello, world!".to_vec()),
        ];
        let d = call("f(uint256,uint32[],bytes10,bytes)", &args);
        let want = "0x8be65246\
            0000000000000000000000000000000000000000000000000000000000000123\
            0000000000000000000000000000000000000000000000000000000000000080\
            3132333435363738393000000000000000000000000000000000000000000000\
            00000000000000000000000000000000000000000000000000000000000000e0\
            0000000000000000000000000000000000000000000000000000000000000002\
            0000000000000000000000000000000000000000000000000000000000000456\
            0000000000000000000000000000000000000000000000000000000000000789\
            000000000000000000000000000000000000000000000000000000000000000d\
            48656c6c6f2c20776f726c642100000000000000000000000000000000000000";
        assert_eq!(hex(&d), want);
        assert_eq!(
            decode_call("f(uint256,uint32[],bytes10,bytes)", &d).unwrap(),
            args
        );
    }

    #[test]
    fn types_parse_and_print() {
        for s in [
            "uint256",
            "int8",
            "address[]",
            "bytes4[3]",
            "(uint64,string)[2]",
            "((bool,bytes),address[])",
        ] {
            assert_eq!(t(s).canonical(), s);
        }
        assert_eq!(t("uint").canonical(), "uint256");
        for bad in ["uint7", "bytes33", "int0", "(uint256", "foo", "uint256[x]"] {
            assert!(bad.parse::<Type>().is_err(), "{bad}");
        }
    }

    #[test]
    fn strict_decoding_refuses_what_solidity_would() {
        let one = |w: U256| uint_word(w).to_vec();
        assert!(decode(&[t("bool")], &one(U256::from(2))).is_err());
        assert!(decode(&[t("uint8")], &one(U256::from(256))).is_err());
        assert!(decode(&[t("address")], &[0xff; 32]).is_err());
        assert!(decode(&[t("bytes1")], &one(U256::from(1))).is_err());
        let e = decode(&[t("uint256")], &[0; 31]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ABI data of 31 bytes ends inside a uint at byte 0"
        );
        // an array claiming 2^64 elements is refused before allocating
        let mut d = one(U256::from(32));
        d.extend(one(U256::from(u64::MAX)));
        assert!(decode(&[t("uint256[]")], &d).is_err());
        // int8 -1 round-trips; 128 does not fit
        let minus_one = I256::try_from(-1i64).unwrap();
        let e = encode(&[Value::Int(minus_one)]);
        assert_eq!(
            decode(&[t("int8")], &e).unwrap(),
            vec![Value::Int(minus_one)]
        );
        assert!(decode(&[t("int8")], &one(U256::from(128))).is_err());
    }

    fn random_type(r: &mut impl Rng, depth: u32) -> Type {
        match r.gen_range(0..if depth > 2 { 7 } else { 10 }) {
            0 => Type::Address,
            1 => Type::Bool,
            2 => Type::Uint(8 * r.gen_range(1..=32)),
            3 => Type::Int(8 * r.gen_range(1..=32)),
            4 => Type::FixedBytes(r.gen_range(1..=32)),
            5 => Type::Bytes,
            6 => Type::String,
            7 => Type::Array(Box::new(random_type(r, depth + 1))),
            // (no T[0] of a dynamic T and no empty tuple: values alone cannot tell those)
            8 => Type::FixedArray(Box::new(random_type(r, depth + 1)), r.gen_range(1..3)),
            _ => Type::Tuple(
                (0..r.gen_range(1..3))
                    .map(|_| random_type(r, depth + 1))
                    .collect(),
            ),
        }
    }

    fn random_value(r: &mut impl Rng, ty: &Type) -> Value {
        match ty {
            Type::Address => Value::Address(Address::from(r.gen::<[u8; 20]>())),
            Type::Bool => Value::Bool(r.gen()),
            Type::Uint(b) => {
                let v = U256::from_be_bytes(r.gen::<[u8; 32]>());
                Value::Uint(if *b == 256 {
                    v
                } else {
                    v >> (256 - *b as usize)
                })
            }
            Type::Int(b) => {
                let v = I256::from_raw(U256::from_be_bytes(r.gen::<[u8; 32]>()));
                Value::Int(v.asr(256 - *b as usize))
            }
            Type::FixedBytes(n) => Value::FixedBytes((0..*n).map(|_| r.gen()).collect()),
            Type::Bytes => Value::Bytes((0..r.gen_range(0..70)).map(|_| r.gen()).collect()),
            Type::String => Value::String(
                (0..r.gen_range(0..40))
                    .map(|_| r.gen_range('a'..='é'))
                    .collect(),
            ),
            Type::Array(e) => {
                Value::Array((0..r.gen_range(0..3)).map(|_| random_value(r, e)).collect())
            }
            Type::FixedArray(e, n) => {
                Value::FixedArray((0..*n).map(|_| random_value(r, e)).collect())
            }
            Type::Tuple(ts) => Value::Tuple(ts.iter().map(|t| random_value(r, t)).collect()),
        }
    }

    /// Seeded round trips over random nested types (SEED picks another sequence).
    #[test]
    fn random_values_round_trip() {
        let seed = std::env::var("SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7u64);
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..2000 {
            let types: Vec<Type> = (0..r.gen_range(0..4))
                .map(|_| random_type(&mut r, 0))
                .collect();
            let values: Vec<Value> = types.iter().map(|t| random_value(&mut r, t)).collect();
            let e = encode(&values);
            assert_eq!(e.len() % 32, 0);
            let back = decode(&types, &e).unwrap_or_else(|err| panic!("{types:?}: {err}"));
            assert_eq!(back, values, "{types:?}");
            // the signature spelling parses back to the same types
            let sig = types
                .iter()
                .map(Type::canonical)
                .collect::<Vec<_>>()
                .join(",");
            assert_eq!(Type::parse_list(&sig).unwrap(), types);
            // cut data never panics
            for cut in [0, e.len() / 2, e.len().saturating_sub(1)] {
                let _ = decode(&types, &e[..cut]);
            }
        }
    }

    #[test]
    fn lenient_readers() {
        let e = encode(&[Value::String("ETH".into())]);
        assert_eq!(dynamic_bytes(&e, 0), Some(&b"ETH"[..]));
        assert_eq!(word(&e, 32), Some(U256::from(3)));
        assert_eq!(word(&e, 90), None);
        assert_eq!(dynamic_bytes(&e[..40], 0), None);
    }
}
