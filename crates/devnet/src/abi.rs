//! A minimal Solidity ABI encoder for the workload's calls (static and dynamic arguments).

use alloy_primitives::{keccak256, Address, U256};

/// One ABI argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `address`
    Addr(Address),
    /// `uint256` (also `uint8`, `bool` as 0/1)
    Uint(U256),
    /// `bytes32`
    B32([u8; 32]),
    /// `string`
    Str(String),
    /// `bytes`
    Bytes(Vec<u8>),
    /// `uint256[]`
    UintArray(Vec<U256>),
    /// `address[]`
    AddrArray(Vec<Address>),
}

impl Arg {
    fn is_dynamic(&self) -> bool {
        matches!(
            self,
            Arg::Str(_) | Arg::Bytes(_) | Arg::UintArray(_) | Arg::AddrArray(_)
        )
    }
}

fn word_u(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn word_a(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn padded(b: &[u8]) -> Vec<u8> {
    let mut out = word_u(U256::from(b.len())).to_vec();
    out.extend_from_slice(b);
    out.resize(32 + b.len().div_ceil(32) * 32, 0);
    out
}

/// ABI-encodes arguments (no selector).
pub fn encode(args: &[Arg]) -> Vec<u8> {
    let mut head = Vec::with_capacity(32 * args.len());
    let mut tail = Vec::new();
    for a in args {
        if a.is_dynamic() {
            head.extend_from_slice(&word_u(U256::from(32 * args.len() + tail.len())));
            match a {
                Arg::Str(s) => tail.extend(padded(s.as_bytes())),
                Arg::Bytes(b) => tail.extend(padded(b)),
                Arg::UintArray(v) => {
                    tail.extend_from_slice(&word_u(U256::from(v.len())));
                    v.iter().for_each(|x| tail.extend_from_slice(&word_u(*x)));
                }
                Arg::AddrArray(v) => {
                    tail.extend_from_slice(&word_u(U256::from(v.len())));
                    v.iter().for_each(|x| tail.extend_from_slice(&word_a(*x)));
                }
                _ => {}
            }
        } else {
            match a {
                Arg::Addr(x) => head.extend_from_slice(&word_a(*x)),
                Arg::Uint(x) => head.extend_from_slice(&word_u(*x)),
                Arg::B32(x) => head.extend_from_slice(x),
                _ => {}
            }
        }
    }
    head.extend(tail);
    head
}

/// Calldata of `signature(args…)`.
pub fn call(signature: &str, args: &[Arg]) -> Vec<u8> {
    let mut out = keccak256(signature.as_bytes())[..4].to_vec();
    out.extend(encode(args));
    out
}

/// `0x`-hex of bytes.
pub fn hex(b: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_calldata() {
        let to: Address = "0x00000000000000000000000000000000000000aa"
            .parse()
            .unwrap();
        let d = call(
            "transfer(address,uint256)",
            &[Arg::Addr(to), Arg::Uint(U256::from(5))],
        );
        assert_eq!(hex(&d[..4]), "0xa9059cbb");
        assert_eq!(d.len(), 4 + 64);
        assert_eq!(d[4 + 31], 0xaa);
        assert_eq!(d[4 + 63], 5);
    }

    #[test]
    fn dynamic_arguments() {
        // (string "ab", uint256 7): head = offset 64, 7; tail = len 2, "ab" padded
        let e = encode(&[Arg::Str("ab".into()), Arg::Uint(U256::from(7))]);
        assert_eq!(e.len(), 4 * 32);
        assert_eq!(e[31], 64);
        assert_eq!(e[63], 7);
        assert_eq!(e[95], 2);
        assert_eq!(&e[96..98], b"ab");
        // two arrays: offsets 64 and 64 + 32*(1+2)
        let e = encode(&[
            Arg::UintArray(vec![U256::from(1), U256::from(2)]),
            Arg::UintArray(vec![U256::from(3), U256::from(4)]),
        ]);
        assert_eq!(e[31], 64);
        assert_eq!(e[63], 160);
    }
}
