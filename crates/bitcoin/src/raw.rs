//! Consensus decoding of raw blocks and transactions (Bitcoin Core's serialization, with
//! segwit, Litecoin's MWEB flag and Dogecoin/Namecoin AuxPoW headers).
//!
//! Decoding never panics: every failure is a [`DecodeError`] naming what was being read and
//! the byte offset inside the block or transaction.

use crate::hash::sha256d;
use crate::model::{Block, Tx, TxIn, TxOut};

/// Why bytes are not a valid block or transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}: {reason}")]
pub struct DecodeError {
    /// What was being read (`tx 3 input 1 script`).
    pub what: String,
    /// Offset from the start of the block (or transaction).
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// Decoding switches of a chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Format {
    /// Segwit serialization may appear (marker 0x00, flag).
    pub segwit: bool,
    /// Litecoin MWEB: transaction flag bit 8 and extension data after the transactions.
    pub mweb: bool,
    /// Headers with version bit 8 carry AuxPoW data.
    pub auxpow: bool,
}

impl Format {
    /// The format of a chain.
    pub fn of(params: &crate::chain::ChainParams) -> Format {
        Format {
            segwit: params.addresses.hrp.is_some(),
            mweb: params.mweb,
            auxpow: params.auxpow,
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where we are, for error messages only (set cheaply, formatted on error).
    tx: Option<usize>,
    item: Option<(&'static str, usize)>,
}

/// Caps on counts so that a corrupted varint cannot ask for absurd allocations.
const MAX_ITEMS: u64 = 4_000_000;

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader {
            buf,
            pos,
            tx: None,
            item: None,
        }
    }

    fn err(&self, what: &str, reason: impl Into<String>) -> DecodeError {
        let mut w = String::new();
        if let Some(t) = self.tx {
            w.push_str(&format!("tx {t} "));
        }
        if let Some((section, i)) = self.item {
            w.push_str(&format!("{section} {i} "));
        }
        w.push_str(what);
        DecodeError {
            what: w,
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                self.err(
                    what,
                    format!("needs {n} bytes, {} left", self.buf.len() - self.pos),
                )
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    fn hash(&mut self, what: &str) -> Result<[u8; 32], DecodeError> {
        let b = self.take(32, what)?;
        let mut h = [0u8; 32];
        h.copy_from_slice(b);
        Ok(h)
    }

    fn varint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let first = self.u8(what)?;
        let v = match first {
            0xfd => {
                let b = self.take(2, what)?;
                u16::from_le_bytes([b[0], b[1]]) as u64
            }
            0xfe => self.u32(what)? as u64,
            0xff => {
                let b = self.take(8, what)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_le_bytes(a)
            }
            n => n as u64,
        };
        Ok(v)
    }

    fn count(&mut self, what: &str) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        // every item needs at least one byte
        if n > MAX_ITEMS || n as usize > self.buf.len() - self.pos {
            return Err(self.err(what, format!("count {n} exceeds the remaining data")));
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], DecodeError> {
        let n = self.varint(what)?;
        if n as usize > self.buf.len() - self.pos {
            return Err(self.err(what, format!("length {n} exceeds the remaining data")));
        }
        self.take(n as usize, what)
    }
}

/// The parsed 80-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Block hash (SHA-256d of the 80 bytes), internal order.
    pub hash: [u8; 32],
    /// nVersion.
    pub version: i32,
    /// Parent hash.
    pub prev: [u8; 32],
    /// Merkle root.
    pub merkle_root: [u8; 32],
    /// nTime.
    pub time: u32,
    /// nBits.
    pub bits: u32,
    /// nNonce.
    pub nonce: u32,
}

/// Parses an 80-byte header.
pub fn parse_header(b: &[u8]) -> Result<Header, DecodeError> {
    let mut r = Reader::new(b, 0);
    let raw = r.take(80, "header")?;
    let mut r = Reader::new(raw, 0);
    let version = r.u32("header version")? as i32;
    let prev = r.hash("header prev")?;
    let merkle_root = r.hash("header merkle root")?;
    let time = r.u32("header time")?;
    let bits = r.u32("header bits")?;
    let nonce = r.u32("header nonce")?;
    Ok(Header {
        hash: sha256d(raw),
        version,
        prev,
        merkle_root,
        time,
        bits,
        nonce,
    })
}

fn tx(r: &mut Reader<'_>, fmt: Format) -> Result<Tx, DecodeError> {
    let start = r.pos;
    r.item = None;
    let version = r.u32("version")? as i32;
    let mut flags = 0u8;
    if fmt.segwit || fmt.mweb {
        // marker 0x00 then a non-zero flag byte
        if r.buf.get(r.pos) == Some(&0) && r.buf.get(r.pos + 1).is_some_and(|&f| f != 0) {
            r.pos += 1;
            flags = r.u8("flag")?;
            let known = 1 | if fmt.mweb { 8 } else { 0 };
            if flags & !known != 0 {
                return Err(r.err("flag", format!("unknown flags 0x{flags:02x}")));
            }
        }
    }
    let body_start = r.pos;
    let n_in = r.count("input count")?;
    let mut inputs = Vec::with_capacity(n_in);
    for i in 0..n_in {
        r.item = Some(("input", i));
        let prev_hash = r.hash("outpoint")?;
        let vout = r.u32("outpoint")?;
        let script = r.bytes("script")?;
        let sequence = r.u32("sequence")?;
        let prev = if prev_hash == [0u8; 32] && vout == u32::MAX {
            None
        } else {
            Some((prev_hash, vout))
        };
        inputs.push(TxIn {
            prev,
            script_sig: script.to_vec(),
            sequence,
            witness: Vec::new(),
            node_asm: None,
        });
    }
    r.item = None;
    let n_out = r.count("output count")?;
    let mut outputs = Vec::with_capacity(n_out);
    for i in 0..n_out {
        r.item = Some(("output", i));
        let value = r.i64("value")?;
        let script = r.bytes("script")?;
        outputs.push(TxOut {
            value,
            script: script.to_vec(),
            node: None,
        });
    }
    let body_end = r.pos;
    if flags & 1 != 0 {
        for (i, input) in inputs.iter_mut().enumerate() {
            r.item = Some(("input", i));
            let n = r.count("witness count")?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.bytes("witness item")?.to_vec());
            }
            input.witness = items;
        }
        r.item = None;
    }
    r.item = None;
    if flags & 8 != 0 {
        let present = r.u8("MWEB transaction")?;
        if present != 0 {
            return Err(r.err(
                "MWEB transaction",
                "an embedded MWEB transaction body; only HogEx (null body) is expected in blocks",
            ));
        }
    }
    let lock_pos = r.pos;
    let lock_time = r.u32("lock time")?;
    let end = r.pos;
    let full = &r.buf[start..end];
    let (txid, stripped) = if flags == 0 {
        (sha256d(full), full.len())
    } else {
        // the txid covers version ‖ inputs ‖ outputs ‖ lock time: hashed piecewise
        use sha2::{Digest, Sha256};
        let first = Sha256::new()
            .chain_update(&r.buf[start..start + 4])
            .chain_update(&r.buf[body_start..body_end])
            .chain_update(&r.buf[lock_pos..end])
            .finalize();
        (
            Sha256::digest(first).into(),
            4 + (body_end - body_start) + (end - lock_pos),
        )
    };
    let size = full.len() as i64;
    let weight = stripped as i64 * 3 + size;
    Ok(Tx {
        txid,
        wtxid: Some(if flags & 1 != 0 { sha256d(full) } else { txid }),
        version: version as i64,
        lock_time: lock_time as i64,
        size: Some(size),
        vsize: Some((weight + 3) / 4),
        weight: Some(weight),
        inputs,
        outputs,
        shielded_inputs: Vec::new(),
        shielded_outputs: Vec::new(),
    })
}

/// Decodes one transaction (all bytes must be used).
pub fn decode_tx(bytes: &[u8], fmt: Format) -> Result<Tx, DecodeError> {
    let mut r = Reader::new(bytes, 0);
    r.tx = Some(0);
    let t = tx(&mut r, fmt)?;
    if r.pos != bytes.len() {
        return Err(r.err("tx", format!("{} trailing bytes", bytes.len() - r.pos)));
    }
    Ok(t)
}

fn skip_auxpow(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    // the parent chain's coinbase transaction
    let plain = Format {
        segwit: false,
        mweb: false,
        auxpow: false,
    };
    let _ = tx(r, plain).map_err(|mut e| {
        e.what = format!("auxpow coinbase {}", e.what);
        e
    })?;
    r.take(32, "auxpow parent block hash")?;
    for what in ["auxpow coinbase branch", "auxpow chain branch"] {
        let n = r.count(what)?;
        r.take(
            n.checked_mul(32).ok_or_else(|| r.err(what, "too long"))?,
            what,
        )?;
        r.take(4, what)?;
    }
    r.take(80, "auxpow parent header")?;
    Ok(())
}

/// Decodes a block at `height`. Bytes after the last transaction are an error, except
/// Litecoin's MWEB extension block, which is skipped (its contents are not visible on the
/// transparent chain).
pub fn decode_block(bytes: &[u8], height: i64, fmt: Format) -> Result<Block, DecodeError> {
    let h = parse_header(bytes)?;
    let mut r = Reader::new(bytes, 80);
    if fmt.auxpow && h.version & 0x100 != 0 {
        skip_auxpow(&mut r)?;
    }
    let n = r.count("transaction count")?;
    let mut txs = Vec::with_capacity(n);
    let mut stripped = r.pos as i64;
    for i in 0..n {
        r.tx = Some(i);
        let t = tx(&mut r, fmt)?;
        stripped += t.weight.unwrap_or(0).saturating_sub(t.size.unwrap_or(0)) / 3;
        txs.push(t);
    }
    r.tx = None;
    let mut size = r.pos;
    if r.pos != bytes.len() {
        if fmt.mweb && bytes[r.pos] <= 1 {
            // OptionalPtr<mw::Block>: counted in the block's size as the node reports it
            size = bytes.len();
        } else {
            return Err(r.err(
                "block",
                format!("{} bytes after the last transaction", bytes.len() - r.pos),
            ));
        }
    }
    let size = size as i64;
    Ok(Block {
        hash: h.hash,
        height,
        version: h.version as i64,
        prev: h.prev,
        merkle_root: crate::hash::hash_hex(&h.merkle_root),
        time: h.time as i64,
        bits: format!("{:08x}", h.bits),
        nonce: format!("{:x}", h.nonce),
        size: Some(size),
        stripped_size: Some(stripped),
        weight: Some(stripped * 3 + size),
        txs,
    })
}

/// The merkle root of a block's transactions (to check a decoded block).
pub fn merkle_root(txids: &[[u8; 32]]) -> [u8; 32] {
    if txids.is_empty() {
        return [0; 32];
    }
    let mut level: Vec<[u8; 32]> = txids.to_vec();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            if let Some(&last) = level.last() {
                level.push(last);
            }
        }
        level = level
            .chunks(2)
            .map(|p| {
                let mut b = [0u8; 64];
                b[..32].copy_from_slice(&p[0]);
                b[32..].copy_from_slice(&p[1]);
                sha256d(&b)
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal legacy transaction: one input, one output.
    fn legacy_tx(tag: u8) -> Vec<u8> {
        let mut t = vec![1, 0, 0, 0, 1];
        t.extend_from_slice(&[tag; 32]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(&[1, 0x51]); // scriptSig: OP_1
        t.extend_from_slice(&[0xff; 4]);
        t.push(1);
        t.extend_from_slice(&1000i64.to_le_bytes());
        t.extend_from_slice(&[1, 0x51]);
        t.extend_from_slice(&[0; 4]);
        t
    }

    fn header(version: u32) -> Vec<u8> {
        let mut h = version.to_le_bytes().to_vec();
        h.extend_from_slice(&[0; 68]);
        h.extend_from_slice(&0x207fffffu32.to_le_bytes());
        h.extend_from_slice(&[0; 4]);
        h
    }

    #[test]
    fn mweb_hogex_flag_and_extension_block() {
        let base = legacy_tx(7);
        // the same transaction with marker 0x00, flag 0x08 and a null MWEB body
        let mut hog = base[..4].to_vec();
        hog.extend_from_slice(&[0x00, 0x08]);
        hog.extend_from_slice(&base[4..base.len() - 4]);
        hog.push(0x00);
        hog.extend_from_slice(&base[base.len() - 4..]);
        let mweb = Format {
            segwit: true,
            mweb: true,
            auxpow: false,
        };
        let t = decode_tx(&hog, mweb).unwrap();
        assert_eq!(
            t.txid,
            sha256d(&base),
            "txid excludes the MWEB flag and body"
        );
        assert!(decode_tx(
            &hog,
            Format {
                segwit: true,
                mweb: false,
                auxpow: false
            }
        )
        .is_err());
        // an embedded MWEB body is reported, not misread
        let mut body = hog.clone();
        let n = body.len();
        body[n - 5] = 0x01;
        let e = decode_tx(&body, mweb).unwrap_err();
        assert!(e.to_string().contains("MWEB"), "{e}");
        // a block with extension data after its transactions
        let mut block = header(0x2000_0000);
        block.push(1);
        block.extend_from_slice(&hog);
        block.extend_from_slice(&[0x01, 0xaa, 0xbb, 0xcc]);
        let b = decode_block(&block, 5, mweb).unwrap();
        assert_eq!(b.txs.len(), 1);
        assert_eq!(b.size, Some(block.len() as i64));
        let e = decode_block(
            &block,
            5,
            Format {
                segwit: true,
                mweb: false,
                auxpow: false,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("flag"), "{e}");
    }

    #[test]
    fn auxpow_headers_are_skipped() {
        let mut block = header(0x0062_0104); // Dogecoin: chain id 0x62, AuxPoW bit
        block.extend_from_slice(&legacy_tx(1)); // parent coinbase
        block.extend_from_slice(&[9; 32]); // parent block hash
        block.push(1);
        block.extend_from_slice(&[8; 32]);
        block.extend_from_slice(&[0; 4]); // coinbase branch
        block.push(0);
        block.extend_from_slice(&[0; 4]); // chain branch
        block.extend_from_slice(&header(1)); // parent header
        block.push(1);
        let tx = legacy_tx(2);
        block.extend_from_slice(&tx);
        let fmt = Format {
            segwit: false,
            mweb: false,
            auxpow: true,
        };
        let b = decode_block(&block, 3, fmt).unwrap();
        assert_eq!(b.txs.len(), 1);
        assert_eq!(b.txs[0].txid, sha256d(&tx));
        assert_eq!(b.hash, sha256d(&block[..80]));
        // cut inside the AuxPoW: a clear error
        let e = decode_block(&block[..150], 3, fmt).unwrap_err();
        assert!(e.what.starts_with("auxpow"), "{e}");
    }
}
