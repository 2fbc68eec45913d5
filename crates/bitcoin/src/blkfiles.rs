//! Reading a Bitcoin Core data directory's `blocks/blk*.dat` without a node: records
//! (`magic ‖ size ‖ block`), the XOR obfuscation of Core ≥ 28 (`blocks/xor.dat`), the
//! pre-allocated zero tails, blocks written out of height order and stale blocks. The best
//! chain is recovered from the headers alone (most cumulative work), so a copied or partial
//! directory works and a live node's files are only read (no locks are taken; a record still
//! being written at the end of the newest file is left out with a warning).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::chain::ChainParams;
use crate::error::BtcError;
use crate::hash::hash_hex;
use crate::raw::{self, parse_header};

/// Where a block's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Index into [`DataDir::files`].
    pub file: usize,
    /// Offset of the block (after magic and size).
    pub offset: u64,
    /// Block size in bytes.
    pub len: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    prev: [u8; 32],
    bits: u32,
    loc: Location,
    seq: usize,
}

/// What the header scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Block records found.
    pub records: usize,
    /// Blocks not on the best chain (stale/orphaned) or whose ancestry is missing.
    pub stale: usize,
    /// Records left out at the end of the newest file (a node still writing).
    pub partial_tail: usize,
    /// Bytes of zero padding skipped (pre-allocated file tails).
    pub zero_tail_bytes: u64,
}

/// A data directory's block files and its best chain.
#[derive(Debug)]
pub struct DataDir {
    /// The `blocks` folder.
    pub blocks_dir: PathBuf,
    /// `blk*.dat` files in number order.
    pub files: Vec<PathBuf>,
    /// The XOR key (all zero when not obfuscated).
    pub xor_key: [u8; 8],
    /// Chain parameters.
    pub params: &'static ChainParams,
    /// The best chain: `chain[h]` is where block `h` is, with its hash.
    pub chain: Vec<([u8; 32], Location)>,
    /// Scan counters.
    pub stats: ScanStats,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BtcError + 'a {
    move |source| BtcError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Finds the `blocks` folder under a data directory (`DIR/<network>/blocks` for test
/// networks, `DIR/blocks`, or `DIR` itself when it holds `blk*.dat`).
pub fn find_blocks_dir(dir: &Path, network: &str) -> Option<PathBuf> {
    let sub = match network {
        "test" => &["testnet3", "testnet4"][..],
        "signet" => &["signet"][..],
        "regtest" => &["regtest"][..],
        _ => &[][..],
    };
    // a test network's own folder first: a data directory can hold several networks
    let mut candidates: Vec<PathBuf> = sub.iter().map(|s| dir.join(s).join("blocks")).collect();
    candidates.push(dir.join("blocks"));
    candidates.push(dir.to_path_buf());
    candidates
        .into_iter()
        .find(|c| c.join("blk00000.dat").is_file() || has_blk(c))
}

fn has_blk(d: &Path) -> bool {
    std::fs::read_dir(d)
        .map(|it| {
            it.flatten().any(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("blk") && n.ends_with(".dat")
            })
        })
        .unwrap_or(false)
}

/// Reads `blocks/xor.dat`: absent → no obfuscation; otherwise exactly 8 bytes.
pub fn read_xor_key(blocks_dir: &Path) -> Result<[u8; 8], BtcError> {
    let path = blocks_dir.join("xor.dat");
    if !path.exists() {
        return Ok([0; 8]);
    }
    let bytes = std::fs::read(&path).map_err(io("read", &path))?;
    let key: [u8; 8] = bytes.as_slice().try_into().map_err(|_| BtcError::BadFile {
        path: path.clone(),
        offset: 0,
        reason: format!("an XOR key must be 8 bytes, this file has {}", bytes.len()),
    })?;
    Ok(key)
}

fn unxor(buf: &mut [u8], key: &[u8; 8], file_offset: u64) {
    if key == &[0; 8] {
        return;
    }
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[((file_offset + i as u64) % 8) as usize];
    }
}

/// The work a header with `bits` proves: floor(2^256 / (target + 1)) (`GetBlockProof`),
/// saturated for targets below 2^128 (far beyond any real difficulty).
pub fn block_work(bits: u32) -> u128 {
    let exp = (bits >> 24) as i32;
    let mant = (bits & 0x007f_ffff) as u128;
    if mant == 0 || bits & 0x0080_0000 != 0 {
        return 0;
    }
    // target = mant * 2^(8*(exp-3))
    let k = 8 * (exp - 3);
    let (m, k) = if k < 0 {
        (mant >> (-k) as u32, 0)
    } else {
        (mant, k)
    };
    if m == 0 {
        return u128::MAX >> 1;
    }
    let p = 256 - k;
    if p >= 127 {
        return u128::MAX >> 20;
    }
    if p < 0 {
        return 0;
    }
    let num: u128 = 1u128 << p;
    if k == 0 {
        return num / (m + 1);
    }
    let q = num / m;
    if num.is_multiple_of(m) {
        q - 1
    } else {
        q
    }
}

impl DataDir {
    /// Opens a data directory and recovers the best chain from its headers.
    pub fn open(dir: &Path, params: &'static ChainParams) -> Result<DataDir, BtcError> {
        let blocks_dir = find_blocks_dir(dir, params.network).ok_or_else(|| BtcError::Io {
            op: "find blk*.dat",
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no blocks/blk*.dat files here (give the node's data directory)",
            ),
        })?;
        let xor_key = read_xor_key(&blocks_dir)?;
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&blocks_dir)
            .map_err(io("list", &blocks_dir))?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name
                    .strip_prefix("blk")?
                    .strip_suffix(".dat")?
                    .parse()
                    .ok()?;
                Some((n, e.path()))
            })
            .collect();
        files.sort();
        let files: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
        let mut d = DataDir {
            blocks_dir,
            files,
            xor_key,
            params,
            chain: Vec::new(),
            stats: ScanStats::default(),
        };
        let entries = d.scan()?;
        d.best_chain(entries)?;
        Ok(d)
    }

    fn scan(&mut self) -> Result<HashMap<[u8; 32], Entry>, BtcError> {
        let mut entries: HashMap<[u8; 32], Entry> = HashMap::new();
        let n_files = self.files.len();
        let mut seq = 0usize;
        for (fi, path) in self.files.iter().enumerate() {
            let newest = fi + 1 == n_files;
            let mut f = File::open(path).map_err(io("open", path))?;
            let file_len = f.metadata().map_err(io("stat", path))?.len();
            let mut pos: u64 = 0;
            while pos + 8 <= file_len {
                let mut head = [0u8; 8];
                f.seek(SeekFrom::Start(pos)).map_err(io("seek", path))?;
                f.read_exact(&mut head).map_err(io("read", path))?;
                unxor(&mut head, &self.xor_key, pos);
                let magic = [head[0], head[1], head[2], head[3]];
                if magic == [0; 4] {
                    // pre-allocated zero tail: the rest of the file must be zeros
                    self.stats.zero_tail_bytes += file_len - pos;
                    break;
                }
                if magic != self.params.magic {
                    return Err(BtcError::BadFile {
                        path: path.clone(),
                        offset: pos,
                        reason: format!(
                            "expected the {} magic {}, found {}",
                            self.params,
                            crate::hash::to_hex(&self.params.magic),
                            crate::hash::to_hex(&magic)
                        ),
                    });
                }
                let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                let body = pos + 8;
                if len < 80 || body + len as u64 > file_len {
                    if newest && body + len as u64 > file_len && len >= 80 {
                        tracing::warn!(target: "ledgerflow::bitcoin", file = %path.display(), offset = pos, "a block record runs past the end of the newest file (a node still writing?); left out");
                        self.stats.partial_tail += 1;
                        break;
                    }
                    return Err(BtcError::BadFile {
                        path: path.clone(),
                        offset: pos + 4,
                        reason: format!(
                            "corrupted block length {len} (file has {} bytes after it)",
                            file_len.saturating_sub(body)
                        ),
                    });
                }
                let mut hdr = [0u8; 80];
                f.read_exact(&mut hdr).map_err(io("read", path))?;
                unxor(&mut hdr, &self.xor_key, body);
                let h = parse_header(&hdr).map_err(|e| BtcError::BadFile {
                    path: path.clone(),
                    offset: body,
                    reason: e.to_string(),
                })?;
                self.stats.records += 1;
                entries.entry(h.hash).or_insert(Entry {
                    prev: h.prev,
                    bits: h.bits,
                    loc: Location {
                        file: fi,
                        offset: body,
                        len,
                    },
                    seq,
                });
                seq += 1;
                pos = body + len as u64;
            }
        }
        Ok(entries)
    }

    fn best_chain(&mut self, entries: HashMap<[u8; 32], Entry>) -> Result<(), BtcError> {
        let mut children: HashMap<[u8; 32], Vec<[u8; 32]>> = HashMap::new();
        let mut roots = Vec::new();
        for (h, e) in &entries {
            if e.prev == [0; 32] {
                roots.push(*h);
            } else {
                children.entry(e.prev).or_default().push(*h);
            }
        }
        if roots.is_empty() {
            return Err(BtcError::WrongChain(format!(
                "{}: no genesis block among {} records; heights cannot be established",
                self.blocks_dir.display(),
                entries.len()
            )));
        }
        roots.sort_by_key(|h| entries[h].seq);
        let genesis = roots[0];
        if hash_hex(&genesis) != self.params.genesis {
            tracing::warn!(target: "ledgerflow::bitcoin", genesis = %hash_hex(&genesis), expected = self.params.genesis, "the data directory's genesis block is not the expected one for this chain");
        }
        // depth-first over the tree from genesis, accumulating work
        let mut best: ([u8; 32], u128, usize) = (genesis, 0, entries[&genesis].seq);
        let mut parent: HashMap<[u8; 32], [u8; 32]> = HashMap::new();
        let mut stack = vec![(genesis, block_work(entries[&genesis].bits))];
        let mut reached = 0usize;
        while let Some((h, work)) = stack.pop() {
            reached += 1;
            let seq = entries[&h].seq;
            if work > best.1 || (work == best.1 && seq < best.2) {
                best = (h, work, seq);
            }
            if let Some(cs) = children.get(&h) {
                for c in cs {
                    parent.insert(*c, h);
                    stack.push((*c, work.saturating_add(block_work(entries[c].bits))));
                }
            }
        }
        let mut chain = Vec::new();
        let mut cur = best.0;
        loop {
            chain.push((cur, entries[&cur].loc));
            match parent.get(&cur) {
                Some(p) => cur = *p,
                None => break,
            }
        }
        chain.reverse();
        self.stats.stale = entries.len() - chain.len();
        if reached < entries.len() {
            tracing::debug!(target: "ledgerflow::bitcoin", unreachable = entries.len() - reached, "records whose ancestry is missing");
        }
        self.chain = chain;
        Ok(())
    }

    /// Height of the best chain's tip (-1 when empty).
    pub fn tip(&self) -> i64 {
        self.chain.len() as i64 - 1
    }

    /// Decodes blocks `start..=end` of the best chain, reading each file sequentially.
    pub fn blocks(&self, start: i64, end: i64) -> Result<Vec<crate::model::Block>, BtcError> {
        let fmt = raw::Format::of(self.params);
        let mut out = Vec::with_capacity((end - start + 1).max(0) as usize);
        let mut open: Option<(usize, File)> = None;
        for h in start..=end {
            let (hash, loc) = usize::try_from(h)
                .ok()
                .and_then(|i| self.chain.get(i))
                .copied()
                .ok_or_else(|| BtcError::Missing {
                    height: h,
                    reason: format!("the data directory's best chain ends at {}", self.tip()),
                })?;
            let path = &self.files[loc.file];
            if open.as_ref().map(|(i, _)| *i) != Some(loc.file) {
                open = Some((loc.file, File::open(path).map_err(io("open", path))?));
            }
            let Some((_, f)) = open.as_mut() else {
                continue;
            };
            f.seek(SeekFrom::Start(loc.offset))
                .map_err(io("seek", path))?;
            let mut buf = vec![0u8; loc.len as usize];
            f.read_exact(&mut buf).map_err(io("read", path))?;
            unxor(&mut buf, &self.xor_key, loc.offset);
            let block = raw::decode_block(&buf, h, fmt).map_err(|e| BtcError::Decode {
                hash: hash_hex(&hash),
                location: format!("{} at byte {}", path.display(), loc.offset),
                source: e,
            })?;
            out.push(block);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_matches_core() {
        // regtest: GetBlockProof(0x207fffff) = 2
        assert_eq!(block_work(0x207fffff), 2);
        // difficulty 1: 0x1d00ffff -> 4295032833
        assert_eq!(block_work(0x1d00ffff), 4_295_032_833);
    }
}
