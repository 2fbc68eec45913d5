//! The spent-output index: every unspent output the pipeline has seen, so that each input
//! is enriched with the value, type and address of the output it spends in the same pass.
//!
//! Layout (sized for a full Bitcoin mainnet run in well under 16 GB):
//! * the key is the first 20 bytes of the txid plus the output index (24 bytes). A 160-bit
//!   txid prefix is as collision-resistant as the addresses Bitcoin itself uses; an
//!   accidental collision among mainnet's ~10^9 transactions has probability ~10^-30;
//! * the value holds the amount (8 bytes), the creating height (4 bytes) and the script in
//!   compressed form: the 20-byte hash of P2PKH/P2SH/P2WPKH (one map, 57-byte entries),
//!   the 32-byte program of P2WSH/P2TR (a second map, 69-byte entries), or the whole script
//!   for everything else (a third map, boxed);
//! * OP_RETURN outputs are never stored (they cannot be spent);
//! * keys are already uniformly random, so the maps hash with the key's first 8 bytes;
//! * 16 shards, so a table that doubles copies 1/16 of the index, not all of it.
//!
//! [`UtxoIndex::heap_bytes`] reports the memory held, from which `ledgerflow` prints the
//! bytes per unspent output at the end of a run.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes with the first 8 bytes of the key (keys are txid bytes: already random).
#[derive(Default, Clone, Copy)]
pub struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
    fn write_usize(&mut self, _: usize) {}
}

type Map<V> = HashMap<Key, V, BuildHasherDefault<PrefixHasher>>;
type Key = [u8; 24];

/// An unspent output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coin {
    /// Value in base units.
    pub value: i64,
    /// Height of the block that created it (-1 when unknown).
    pub height: i32,
    /// The scriptPubKey.
    pub script: Vec<u8>,
}

const TAG_P2PKH: u8 = 1;
const TAG_P2SH: u8 = 2;
const TAG_P2WPKH: u8 = 3;
const TAG_P2WSH: u8 = 4;
const TAG_P2TR: u8 = 5;

/// One shard of the index (by the txid's first byte).
#[derive(Default)]
struct Shard {
    short: Map<[u8; 33]>,
    long: Map<[u8; 45]>,
    other: Map<(i64, i32, Box<[u8]>)>,
}

/// Shards: each hash table grows (doubles) on its own, so growing never needs a second
/// copy of the whole index at once.
const SHARDS: usize = 16;

/// The index.
pub struct UtxoIndex {
    shards: Vec<Shard>,
    other_bytes: usize,
}

impl Default for UtxoIndex {
    fn default() -> Self {
        UtxoIndex {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            other_bytes: 0,
        }
    }
}

fn shard_of(k: &Key) -> usize {
    // the hash uses bytes 0..8; the shard uses byte 8 so both stay uniform
    k[8] as usize % SHARDS
}

fn key(txid: &[u8; 32], vout: u32) -> Key {
    let mut k = [0u8; 24];
    k[..20].copy_from_slice(&txid[..20]);
    k[20..].copy_from_slice(&vout.to_le_bytes());
    k
}

fn head(value: i64, height: i32, tag: u8, out: &mut [u8]) {
    out[..8].copy_from_slice(&value.to_le_bytes());
    out[8..12].copy_from_slice(&height.to_le_bytes());
    out[12] = tag;
}

fn read_head(b: &[u8]) -> (i64, i32, u8) {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[..8]);
    let mut h = [0u8; 4];
    h.copy_from_slice(&b[8..12]);
    (i64::from_le_bytes(v), i32::from_le_bytes(h), b[12])
}

impl UtxoIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of unspent outputs held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.short.len() + s.long.len() + s.other.len())
            .sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an output (OP_RETURN outputs are ignored: they can never be spent). A second
    /// output with the same outpoint replaces the first, as Bitcoin did for the duplicate
    /// coinbase transactions before BIP-30.
    pub fn insert(&mut self, txid: &[u8; 32], vout: u32, value: i64, height: i32, script: &[u8]) {
        if script.first() == Some(&0x6a) {
            return;
        }
        let k = key(txid, vout);
        self.remove_key(&k);
        let n = script.len();
        let short = if n == 25 && script[..3] == [0x76, 0xa9, 0x14] && script[23..] == [0x88, 0xac]
        {
            Some((TAG_P2PKH, &script[3..23]))
        } else if n == 23 && script[..2] == [0xa9, 0x14] && script[22] == 0x87 {
            Some((TAG_P2SH, &script[2..22]))
        } else if n == 22 && script[..2] == [0x00, 0x14] {
            Some((TAG_P2WPKH, &script[2..22]))
        } else {
            None
        };
        let sh = shard_of(&k);
        if let Some((tag, h)) = short {
            let mut v = [0u8; 33];
            head(value, height, tag, &mut v);
            v[13..].copy_from_slice(h);
            self.shards[sh].short.insert(k, v);
            return;
        }
        let long = if n == 34 && script[..2] == [0x00, 0x20] {
            Some(TAG_P2WSH)
        } else if n == 34 && script[..2] == [0x51, 0x20] {
            Some(TAG_P2TR)
        } else {
            None
        };
        if let Some(tag) = long {
            let mut v = [0u8; 45];
            head(value, height, tag, &mut v);
            v[13..].copy_from_slice(&script[2..34]);
            self.shards[sh].long.insert(k, v);
            return;
        }
        self.other_bytes += n;
        self.shards[sh]
            .other
            .insert(k, (value, height, script.into()));
    }

    fn remove_key(&mut self, k: &Key) -> Option<Coin> {
        let sh = &mut self.shards[shard_of(k)];
        if let Some(v) = sh.short.remove(k) {
            let (value, height, tag) = read_head(&v);
            let h = &v[13..33];
            let script = match tag {
                TAG_P2PKH => [&[0x76, 0xa9, 0x14][..], h, &[0x88, 0xac]].concat(),
                TAG_P2SH => [&[0xa9, 0x14][..], h, &[0x87]].concat(),
                _ => [&[0x00, 0x14][..], h].concat(),
            };
            return Some(Coin {
                value,
                height,
                script,
            });
        }
        if let Some(v) = sh.long.remove(k) {
            let (value, height, tag) = read_head(&v);
            let prefix: [u8; 2] = if tag == TAG_P2TR {
                [0x51, 0x20]
            } else {
                [0x00, 0x20]
            };
            return Some(Coin {
                value,
                height,
                script: [&prefix[..], &v[13..45]].concat(),
            });
        }
        let (value, height, script) = sh.other.remove(k)?;
        self.other_bytes -= script.len();
        Some(Coin {
            value,
            height,
            script: script.into_vec(),
        })
    }

    /// Removes and returns the output `txid:vout` (an input spends it).
    pub fn spend(&mut self, txid: &[u8; 32], vout: u32) -> Option<Coin> {
        self.remove_key(&key(txid, vout))
    }

    /// Whether `txid:vout` is unspent here.
    pub fn contains(&self, txid: &[u8; 32], vout: u32) -> bool {
        let k = key(txid, vout);
        let sh = &self.shards[shard_of(&k)];
        sh.short.contains_key(&k) || sh.long.contains_key(&k) || sh.other.contains_key(&k)
    }

    /// Heap bytes held: table slots (entry + control byte, at the current capacity) plus
    /// out-of-line scripts.
    pub fn heap_bytes(&self) -> usize {
        fn slots<V>(m: &Map<V>) -> usize {
            // hashbrown keeps capacity*8/7 buckets (rounded to a power of two)
            let buckets = if m.capacity() == 0 {
                0
            } else {
                (m.capacity() * 8 / 7).next_power_of_two()
            };
            buckets * (std::mem::size_of::<(Key, V)>() + 1)
        }
        self.shards
            .iter()
            .map(|s| slots(&s.short) + slots(&s.long) + slots(&s.other))
            .sum::<usize>()
            + self.other_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_script_kind() {
        let mut ix = UtxoIndex::new();
        let t = [7u8; 32];
        let scripts: Vec<Vec<u8>> = vec![
            [&[0x76, 0xa9, 0x14][..], &[1; 20], &[0x88, 0xac]].concat(),
            [&[0xa9, 0x14][..], &[2; 20], &[0x87]].concat(),
            [&[0x00, 0x14][..], &[3; 20]].concat(),
            [&[0x00, 0x20][..], &[4; 32]].concat(),
            [&[0x51, 0x20][..], &[5; 32]].concat(),
            vec![0x41; 67],
            vec![],
        ];
        for (i, s) in scripts.iter().enumerate() {
            ix.insert(&t, i as u32, 100 + i as i64, 9, s);
        }
        ix.insert(&t, 99, 1, 9, &[0x6a, 0x01, 0x02]);
        assert_eq!(ix.len(), scripts.len());
        assert!(ix.heap_bytes() > 0);
        for (i, s) in scripts.iter().enumerate() {
            let c = ix.spend(&t, i as u32).unwrap();
            assert_eq!((&c.script, c.value, c.height), (s, 100 + i as i64, 9));
            assert!(ix.spend(&t, i as u32).is_none());
        }
        assert!(ix.is_empty());
    }
}
