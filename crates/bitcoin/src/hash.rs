//! Hashes and hex in the forms Bitcoin uses.

use sha2::{Digest, Sha256};

/// SHA-256 twice (block and transaction ids, Base58Check checksums).
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    Sha256::digest(first).into()
}

/// SHA-256 once.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// RIPEMD-160 of SHA-256 (public key hashes).
pub fn hash160(data: &[u8]) -> [u8; 20] {
    use ripemd::Ripemd160;
    Ripemd160::digest(Sha256::digest(data)).into()
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends lower-case hex (encoded a block at a time with `const-hex`'s SIMD encoder).
pub fn push_hex(s: &mut String, bytes: &[u8]) {
    const BLOCK: usize = 256;
    let mut buf = [0u8; 2 * BLOCK];
    s.reserve(bytes.len() * 2);
    for part in bytes.chunks(BLOCK) {
        let out = &mut buf[..2 * part.len()];
        // the output is exactly twice the input, so neither step can fail
        if const_hex::encode_to_slice(part, out).is_ok() {
            if let Ok(text) = std::str::from_utf8(out) {
                s.push_str(text);
            }
        }
    }
}

/// Hex of a hash in display order (byte-reversed, as RPC prints ids).
pub fn hash_hex(hash: &[u8; 32]) -> String {
    let mut rev = *hash;
    rev.reverse();
    to_hex(&rev)
}

/// Parses hex (either case); None when not hex or of odd length.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Parses a display-order hash (64 hex digits) into internal byte order.
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let v = from_hex(s)?;
    let mut h: [u8; 32] = v.try_into().ok()?;
    h.reverse();
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        assert_eq!(
            to_hex(&sha256d(b"hello")),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
        assert_eq!(
            to_hex(&hash160(b"")),
            "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb"
        );
        let h =
            parse_hash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f").unwrap();
        assert_eq!(h[31], 0);
        assert_eq!(
            hash_hex(&h),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert!(from_hex("0g").is_none());
        // longer than one encoding block, and empty
        let long: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        assert_eq!(from_hex(&to_hex(&long)).unwrap(), long);
        assert_eq!(&to_hex(&long)[..8], "00010203");
        assert_eq!(to_hex(&[]), "");
        assert!(from_hex("abc").is_none());
    }
}
