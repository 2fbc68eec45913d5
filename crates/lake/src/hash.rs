//! Content hashes of lake chunks and their Merkle root: the one definition of "what this
//! data was", which training manifests record and `model verify` re-derives.
//!
//! - A **chunk's hash** is the SHA-256 of its file's bytes.
//! - A **leaf** is `SHA-256(0x00 ‖ chain ‖ 0x00 ‖ table ‖ 0x00 ‖ start ‖ end ‖ chunk
//!   hash)` (start and end: the chunk's block range, 8-byte big-endian), so a leaf names
//!   what the chunk holds as well as its bytes.
//! - Leaves are ordered by chain, table, then block range; an inner node is
//!   `SHA-256(0x01 ‖ left ‖ right)`; a node without a partner at its level is carried up
//!   unchanged; the root of no leaf is `SHA-256("")`.
//!
//! Only the Parquet chunks a reader sees are hashed (chunks lying inside a larger one after
//! an interrupted compaction are left out, as SQL leaves them out). Hashes are hex.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{io, LakeError};
use crate::Lake;

/// One hashed chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkHash {
    pub chain: String,
    pub table: String,
    pub start: u64,
    pub end: u64,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// The chunks of a selection and their root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LakeHash {
    pub root: String,
    pub chunks: Vec<ChunkHash>,
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// SHA-256 (hex) and size of a file.
pub fn file_sha256(path: &Path) -> Result<(String, u64), LakeError> {
    let mut f = std::fs::File::open(path).map_err(io("open", path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io("read", path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

/// What identifies a file's contents without reading it: size, modification and
/// status-change times (nanoseconds) and inode. A chunk rewritten in place changes its
/// times; one replaced by rename (how the lake writes) changes its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: i128,
    ctime: i128,
    ino: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: m.len(),
        mtime: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        ctime: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        ino: m.ino(),
    })
}

type HashMemo = std::collections::HashMap<PathBuf, (Stamp, String, u64)>;

fn memo() -> &'static std::sync::Mutex<HashMemo> {
    static MEMO: std::sync::OnceLock<std::sync::Mutex<HashMemo>> = std::sync::OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// [`file_sha256`] of a lake chunk, remembered for the life of the process while the
/// file's [`Stamp`] (size, times, inode) stays the same: a long-running process (the
/// oracle worker re-checks a dataset's root for every request) reads each chunk once.
fn chunk_sha256(path: &Path) -> Result<(String, u64), LakeError> {
    let before = stamp(path);
    if let Some(st) = before {
        if let Ok(m) = memo().lock() {
            if let Some((s, h, n)) = m.get(path) {
                if *s == st {
                    return Ok((h.clone(), *n));
                }
            }
        }
    }
    let (h, n) = file_sha256(path)?;
    // remembered only when the file did not change while it was read
    if let (Some(a), Some(b)) = (before, stamp(path)) {
        if a == b {
            if let Ok(mut m) = memo().lock() {
                m.insert(path.to_path_buf(), (a, h.clone(), n));
            }
        }
    }
    Ok((h, n))
}

/// The leaf of a chunk.
pub fn leaf(c: &ChunkHash) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(c.chain.as_bytes());
    h.update([0u8]);
    h.update(c.table.as_bytes());
    h.update([0u8]);
    h.update(c.start.to_be_bytes());
    h.update(c.end.to_be_bytes());
    h.update(unhex(&c.sha256));
    h.finalize().into()
}

/// The Merkle root (hex) over leaves in order.
pub fn merkle_root(leaves: &[[u8; 32]]) -> String {
    if leaves.is_empty() {
        return hex(&Sha256::digest(b""));
    }
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p.get(1) {
                Some(b) => {
                    let mut h = Sha256::new();
                    h.update([1u8]);
                    h.update(p[0]);
                    h.update(b);
                    h.finalize().into()
                }
                None => p[0],
            })
            .collect();
    }
    hex(&level[0])
}

/// Hashes the chunks of `chain` (all tables, or those in `tables`) up to block `until`
/// (chunks that start after it are left out; `None`: all), and their root.
pub fn hash_chain(
    lake: &Lake,
    chain: &str,
    tables: Option<&[String]>,
    until: Option<u64>,
) -> Result<LakeHash, LakeError> {
    hash_selected(lake, chain, tables, |start, _| {
        until.is_none_or(|u| start <= u)
    })
}

/// Hashes the chunks of `chain` (all tables, or those in `tables`) that lie wholly inside
/// blocks `from..=to`, and their root: a **dataset** as the oracle's registry names it
/// (chain, block range, root).
pub fn hash_blocks(
    lake: &Lake,
    chain: &str,
    tables: Option<&[String]>,
    from: u64,
    to: u64,
) -> Result<LakeHash, LakeError> {
    hash_selected(lake, chain, tables, |start, end| start >= from && end <= to)
}

fn hash_selected(
    lake: &Lake,
    chain: &str,
    tables: Option<&[String]>,
    keep: impl Fn(u64, u64) -> bool,
) -> Result<LakeHash, LakeError> {
    let all = lake.tables(chain)?;
    let mut chunks = Vec::new();
    for table in all {
        if tables.is_some_and(|t| !t.contains(&table)) {
            continue;
        }
        let (kept, _) = lake.parquet_chunks(chain, &table)?;
        let mut kept = kept;
        kept.sort_by_key(|c| (c.range.start, c.range.end));
        for c in kept {
            if !keep(c.range.start, c.range.end) {
                continue;
            }
            let (sha256, bytes) = chunk_sha256(&c.path)?;
            chunks.push(ChunkHash {
                chain: chain.to_string(),
                table: table.clone(),
                start: c.range.start,
                end: c.range.end,
                path: c.path.clone(),
                bytes,
                sha256,
            });
        }
    }
    chunks.sort_by(|a, b| {
        (a.table.as_str(), a.start, a.end).cmp(&(b.table.as_str(), b.start, b.end))
    });
    let leaves: Vec<[u8; 32]> = chunks.iter().map(leaf).collect();
    Ok(LakeHash {
        root: merkle_root(&leaves),
        chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerflow_core::BlockRange;

    #[test]
    fn remembered_chunk_hashes_follow_every_change_of_the_file() {
        let d = tempfile::tempdir().unwrap();
        let lake = Lake::new(d.path());
        let p = lake.chunk_path("c", "blocks", BlockRange::new(0, 9), "parquet");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "aaaa").unwrap();
        let r1 = hash_chain(&lake, "c", None, None).unwrap().root;
        assert_eq!(hash_chain(&lake, "c", None, None).unwrap().root, r1);
        // rewritten in place, same size
        std::fs::write(&p, "bbbb").unwrap();
        let r2 = hash_chain(&lake, "c", None, None).unwrap().root;
        assert_ne!(r1, r2);
        assert_eq!(
            hash_chain(&lake, "c", None, None).unwrap().chunks[0].sha256,
            hex(&Sha256::digest(b"bbbb"))
        );
        // replaced by rename (the lake's own way), same size and contents as before
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, "aaaa").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        assert_eq!(hash_chain(&lake, "c", None, None).unwrap().root, r1);
    }

    #[test]
    fn roots_change_with_any_chunk_and_follow_the_definition() {
        let d = tempfile::tempdir().unwrap();
        let lake = Lake::new(d.path());
        for (t, r, body) in [
            ("blocks", BlockRange::new(0, 9), "a"),
            ("blocks", BlockRange::new(10, 19), "b"),
            ("transactions", BlockRange::new(0, 19), "c"),
        ] {
            let p = lake.chunk_path("c", t, r, "parquet");
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
        }
        let h = hash_chain(&lake, "c", None, None).unwrap();
        assert_eq!(h.chunks.len(), 3);
        assert_eq!(h.chunks[0].sha256, hex(&Sha256::digest(b"a")));
        // Three leaves: root = H(1 ‖ H(1 ‖ l0 ‖ l1) ‖ l2).
        let l: Vec<[u8; 32]> = h.chunks.iter().map(leaf).collect();
        let mut a = Sha256::new();
        a.update([1u8]);
        a.update(l[0]);
        a.update(l[1]);
        let a: [u8; 32] = a.finalize().into();
        let mut r = Sha256::new();
        r.update([1u8]);
        r.update(a);
        r.update(l[2]);
        assert_eq!(h.root, hex(&r.finalize()));
        // A changed byte changes the root; a table selection and a height bound narrow it.
        std::fs::write(
            lake.chunk_path("c", "blocks", BlockRange::new(10, 19), "parquet"),
            "B",
        )
        .unwrap();
        assert_ne!(hash_chain(&lake, "c", None, None).unwrap().root, h.root);
        let only = hash_chain(&lake, "c", Some(&["transactions".to_string()]), None).unwrap();
        assert_eq!(only.chunks.len(), 1);
        assert_eq!(only.root, hex(&leaf(&only.chunks[0])));
        assert_eq!(
            hash_chain(&lake, "c", None, Some(5)).unwrap().chunks.len(),
            2
        );
        assert_eq!(merkle_root(&[]), hex(&Sha256::digest(b"")));
        // A block range keeps the chunks wholly inside it.
        let r = hash_blocks(&lake, "c", None, 10, 19).unwrap();
        assert_eq!(r.chunks.len(), 1);
        assert_eq!(
            (r.chunks[0].table.as_str(), r.chunks[0].start),
            ("blocks", 10)
        );
        assert_eq!(
            hash_blocks(&lake, "c", None, 0, 19).unwrap().chunks.len(),
            3
        );
        assert!(hash_blocks(&lake, "c", None, 5, 15)
            .unwrap()
            .chunks
            .is_empty());
    }
}
