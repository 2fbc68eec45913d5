//! Address encodings: Base58Check, Bech32/Bech32m (BIP-173/350) and CashAddr.

use crate::hash::sha256d;

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58Check of `version ‖ payload`.
pub fn base58check(version: &[u8], payload: &[u8]) -> String {
    let mut data = Vec::with_capacity(version.len() + payload.len() + 4);
    data.extend_from_slice(version);
    data.extend_from_slice(payload);
    let check = sha256d(&data);
    data.extend_from_slice(&check[..4]);
    base58(&data)
}

/// Base58 of bytes (leading zero bytes become `1`s). The big number is kept in limbs of
/// base 58^10 (each fits a u64), so a 25-byte address takes ~100 multiply-adds.
pub fn base58(data: &[u8]) -> String {
    const BASE: u64 = 430_804_206_899_405_824; // 58^10
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let mut limbs: Vec<u64> = Vec::with_capacity(data.len() / 7 + 1); // little-endian
    for &byte in &data[zeros..] {
        let mut carry = byte as u128;
        for l in limbs.iter_mut() {
            let v = ((*l as u128) << 8) + carry;
            *l = (v % BASE as u128) as u64;
            carry = v / BASE as u128;
        }
        while carry > 0 {
            limbs.push((carry % BASE as u128) as u64);
            carry /= BASE as u128;
        }
    }
    // digits, most significant first
    let mut digits: Vec<u8> = Vec::with_capacity(limbs.len() * 10);
    for (i, l) in limbs.iter().rev().enumerate() {
        let mut chunk = [0u8; 10];
        let mut v = *l;
        for d in chunk.iter_mut().rev() {
            *d = (v % 58) as u8;
            v /= 58;
        }
        if i == 0 {
            let first = chunk.iter().position(|&d| d != 0).unwrap_or(10);
            digits.extend_from_slice(&chunk[first..]);
        } else {
            digits.extend_from_slice(&chunk);
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().map(|&d| B58[d as usize] as char));
    s
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for &v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Regroups bits (8 -> 5 with padding).
fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Vec<u8> {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let maxv: u32 = (1 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = (acc << from) | v as u32;
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & maxv) as u8);
        }
    }
    if pad && bits > 0 {
        out.push(((acc << (to - bits)) & maxv) as u8);
    }
    out
}

/// A segwit address: Bech32 for version 0, Bech32m for versions 1..16.
pub fn segwit(hrp: &str, version: u8, program: &[u8]) -> String {
    let mut data = vec![version];
    data.extend(convert_bits(program, 8, 5, true));
    let constant: u32 = if version == 0 { 1 } else { 0x2bc830a3 };
    let hrp_bytes = hrp.as_bytes();
    let mut values: Vec<u8> = hrp_bytes.iter().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp_bytes.iter().map(|c| c & 31));
    values.extend_from_slice(&data);
    values.extend_from_slice(&[0; 6]);
    let pm = bech32_polymod(&values) ^ constant;
    let mut s = String::with_capacity(hrp.len() + 1 + data.len() + 6);
    s.push_str(hrp);
    s.push('1');
    for d in data {
        s.push(BECH32_CHARSET[d as usize] as char);
    }
    for i in 0..6 {
        s.push(BECH32_CHARSET[((pm >> (5 * (5 - i))) & 31) as usize] as char);
    }
    s
}

fn cashaddr_polymod(values: &[u8]) -> u64 {
    let mut c: u64 = 1;
    for &d in values {
        let c0 = (c >> 35) as u8;
        c = ((c & 0x07_ffff_ffff) << 5) ^ d as u64;
        if c0 & 0x01 != 0 {
            c ^= 0x98_f2bc_8e61;
        }
        if c0 & 0x02 != 0 {
            c ^= 0x79_b76d_99e2;
        }
        if c0 & 0x04 != 0 {
            c ^= 0xf3_3e5f_b3c4;
        }
        if c0 & 0x08 != 0 {
            c ^= 0xae_2eab_e2a8;
        }
        if c0 & 0x10 != 0 {
            c ^= 0x1e_4f43_e470;
        }
    }
    c ^ 1
}

/// A CashAddr address (`prefix:payload`) of a 20-byte hash; `script` selects P2SH.
pub fn cashaddr(prefix: &str, script: bool, hash: &[u8; 20]) -> String {
    // version byte: type (0 key hash, 1 script hash) << 3 | size code 0 (160 bits)
    let version: u8 = if script { 8 } else { 0 };
    let mut payload = vec![version];
    payload.extend_from_slice(hash);
    let data = convert_bits(&payload, 8, 5, true);
    let mut values: Vec<u8> = prefix.bytes().map(|c| c & 31).collect();
    values.push(0);
    values.extend_from_slice(&data);
    values.extend_from_slice(&[0; 8]);
    let pm = cashaddr_polymod(&values);
    let mut s = String::with_capacity(prefix.len() + 1 + data.len() + 8);
    s.push_str(prefix);
    s.push(':');
    for d in data {
        s.push(BECH32_CHARSET[d as usize] as char);
    }
    for i in 0..8 {
        s.push(BECH32_CHARSET[((pm >> (5 * (7 - i))) & 31) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::from_hex;

    #[test]
    fn known_addresses() {
        // Satoshi's genesis output key
        let h = crate::hash::hash160(&from_hex("04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f").unwrap());
        assert_eq!(base58check(&[0], &h), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
        assert_eq!(
            cashaddr("bitcoincash", false, &h),
            "bitcoincash:qp3wjpa3tjlj042z2wv7hahsldgwhwy0rq9sywjpyy"
        );
        // BIP-173 / BIP-350 vectors
        let p = from_hex("751e76e8199196d454941c45d1b3a323f1433bd6").unwrap();
        assert_eq!(
            segwit("bc", 0, &p),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
        let t =
            from_hex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798").unwrap();
        assert_eq!(
            segwit("bc", 1, &t),
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
        );
        // Zcash two-byte version
        assert!(base58check(&[0x1c, 0xb8], &[0u8; 20]).starts_with("t1"));
        // edge cases of the limb conversion
        assert_eq!(base58(&[]), "");
        assert_eq!(base58(&[0, 0]), "11");
        assert_eq!(base58(&[57]), "z");
        assert_eq!(base58(&[58]), "21");
        assert_eq!(base58(&[0, 1, 0]), "15R");
        assert_eq!(base58(&[0xff; 8]), "jpXCZedGfVQ");
    }
}
