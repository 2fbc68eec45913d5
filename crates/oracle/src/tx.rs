//! EIP-1559 transactions, encoded and signed here (the worker sends them raw with
//! `eth_sendRawTransaction`, so any node works, not only one holding the key).

use alloy_primitives::{keccak256, Address, B256, U256};
use k256::ecdsa::SigningKey;

use crate::keys::PrivateKey;

/// A type-2 (EIP-1559) transaction without an access list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip1559 {
    pub chain_id: u64,
    pub nonce: u64,
    pub max_priority_fee_per_gas: u128,
    pub max_fee_per_gas: u128,
    pub gas: u64,
    /// `None`: a contract creation.
    pub to: Option<Address>,
    pub value: U256,
    pub data: Vec<u8>,
}

/// A signed transaction: the bytes for `eth_sendRawTransaction` and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub raw: Vec<u8>,
    pub hash: B256,
}

fn rlp_bytes(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() == 1 && b[0] < 0x80 {
        out.push(b[0]);
    } else {
        rlp_len(out, b.len(), 0x80);
        out.extend_from_slice(b);
    }
}

fn rlp_len(out: &mut Vec<u8>, len: usize, base: u8) {
    if len <= 55 {
        out.push(base + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|&&x| x == 0).count();
        out.push(base + 55 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

fn rlp_uint(out: &mut Vec<u8>, be: &[u8]) {
    let skip = be.iter().take_while(|&&x| x == 0).count();
    rlp_bytes(out, &be[skip..]);
}

fn rlp_list(items: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() + 9);
    rlp_len(&mut out, items.len(), 0xc0);
    out.extend_from_slice(items);
    out
}

impl Eip1559 {
    fn fields(&self) -> Vec<u8> {
        let mut f = Vec::new();
        rlp_uint(&mut f, &self.chain_id.to_be_bytes());
        rlp_uint(&mut f, &self.nonce.to_be_bytes());
        rlp_uint(&mut f, &self.max_priority_fee_per_gas.to_be_bytes());
        rlp_uint(&mut f, &self.max_fee_per_gas.to_be_bytes());
        rlp_uint(&mut f, &self.gas.to_be_bytes());
        match self.to {
            Some(a) => rlp_bytes(&mut f, a.as_slice()),
            None => rlp_bytes(&mut f, &[]),
        }
        rlp_uint(&mut f, &self.value.to_be_bytes::<32>());
        rlp_bytes(&mut f, &self.data);
        f.push(0xc0); // empty access list
        f
    }

    /// The hash the sender signs: keccak256(0x02 ‖ rlp([fields…])).
    pub fn signing_hash(&self) -> B256 {
        let mut b = vec![0x02];
        b.extend(rlp_list(&self.fields()));
        keccak256(&b)
    }

    /// Signs with `key`.
    pub fn sign(&self, key: &PrivateKey) -> Result<Signed, k256::ecdsa::Error> {
        let sk: &SigningKey = key.signing_key();
        let (sig, rec) = sk.sign_prehash_recoverable(self.signing_hash().as_slice())?;
        // Ethereum accepts only low-s signatures; flipping s flips the parity of y.
        let (sig, rec) = match sig.normalize_s() {
            Some(low) => (
                low,
                k256::ecdsa::RecoveryId::new(!rec.is_y_odd(), rec.is_x_reduced()),
            ),
            None => (sig, rec),
        };
        let (r, s) = sig.split_bytes();
        let mut f = self.fields();
        rlp_uint(&mut f, &[u8::from(rec.is_y_odd())]);
        rlp_uint(&mut f, &r);
        rlp_uint(&mut f, &s);
        let mut raw = vec![0x02];
        raw.extend(rlp_list(&f));
        let hash = keccak256(&raw);
        Ok(Signed { raw, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlp_follows_the_yellow_paper() {
        let mut o = Vec::new();
        rlp_bytes(&mut o, b"dog");
        assert_eq!(o, [0x83, b'd', b'o', b'g']);
        let mut o = Vec::new();
        rlp_uint(&mut o, &0u64.to_be_bytes());
        assert_eq!(o, [0x80]);
        let mut o = Vec::new();
        rlp_uint(&mut o, &1024u64.to_be_bytes());
        assert_eq!(o, [0x82, 0x04, 0x00]);
        let mut o = Vec::new();
        rlp_uint(&mut o, &15u64.to_be_bytes());
        assert_eq!(o, [0x0f]);
        let long = vec![b'a'; 56];
        let mut o = Vec::new();
        rlp_bytes(&mut o, &long);
        assert_eq!(&o[..2], &[0xb8, 56]);
        assert_eq!(rlp_list(&[]), vec![0xc0]);
    }
}
