//! The lake's folder layout and chunk discovery.

use std::path::{Path, PathBuf};

use ledgerflow_core::BlockRange;

use crate::error::{io, LakeError};

/// A lake rooted at a folder.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

/// A chunk file found in the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkFile {
    /// Path.
    pub path: PathBuf,
    /// Table.
    pub table: String,
    /// Blocks it holds.
    pub range: BlockRange,
    /// Extension (`parquet`, `csv`, `json`).
    pub ext: String,
}

impl Lake {
    /// A lake at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Lake { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one table of one chain.
    pub fn table_dir(&self, chain: &str, table: &str) -> PathBuf {
        self.root.join(chain).join(table)
    }

    /// The path of a chunk file.
    pub fn chunk_path(&self, chain: &str, table: &str, range: BlockRange, ext: &str) -> PathBuf {
        self.table_dir(chain, table)
            .join(chunk_name(table, range, ext))
    }

    /// The chain folders of the lake (not `_`- or `.`-prefixed), sorted.
    pub fn chains(&self) -> Result<Vec<String>, LakeError> {
        subdirs(&self.root)
    }

    /// The table folders of one chain, sorted.
    pub fn tables(&self, chain: &str) -> Result<Vec<String>, LakeError> {
        subdirs(&self.root.join(chain))
    }

    /// The Parquet chunks of a table with the chunks that lie inside a larger one (left
    /// by an interrupted compaction, see [`shadowed`]) set apart: `(chunks, shadowed)`.
    pub fn parquet_chunks(
        &self,
        chain: &str,
        table: &str,
    ) -> Result<(Vec<ChunkFile>, Vec<ChunkFile>), LakeError> {
        let all: Vec<ChunkFile> = self
            .chunks(chain, table)?
            .into_iter()
            .filter(|c| c.ext == "parquet")
            .collect();
        let shadow = shadowed(&all);
        let (mut kept, mut set_apart) = (Vec::new(), Vec::new());
        for (i, c) in all.into_iter().enumerate() {
            if shadow.contains(&i) {
                set_apart.push(c);
            } else {
                kept.push(c);
            }
        }
        Ok((kept, set_apart))
    }

    /// The folder of run reports of a chain.
    pub fn runs_dir(&self, chain: &str) -> PathBuf {
        self.root.join(chain).join("_runs")
    }

    /// Removes temporary files left in a table folder by an interrupted run (a killed
    /// process cannot rename or delete its `.<name>.tmp-<pid>` files). Returns how many.
    pub fn remove_temp_files(&self, chain: &str, table: &str) -> Result<usize, LakeError> {
        let dir = self.table_dir(chain, table);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        let mut n = 0;
        for entry in entries {
            let entry = entry.map_err(io("list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".tmp-") {
                std::fs::remove_file(entry.path())
                    .map_err(io("remove temporary file", entry.path()))?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Removes every chunk file of `table` except those in `keep`: what a derived table
    /// written whole (one new file) does once the new file is in place, so a reader sees
    /// the old files or the new one, never a mix with a missing table. Returns how many
    /// it removed.
    pub fn remove_chunks_except(
        &self,
        chain: &str,
        table: &str,
        keep: &[&Path],
    ) -> Result<usize, LakeError> {
        let mut n = 0;
        for f in self.chunks(chain, table)? {
            if !keep.contains(&f.path.as_path()) {
                std::fs::remove_file(&f.path).map_err(io("remove", &f.path))?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Chunk files of a table, sorted by range. Temporary files are ignored.
    pub fn chunks(&self, chain: &str, table: &str) -> Result<Vec<ChunkFile>, LakeError> {
        let dir = self.table_dir(chain, table);
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io("list", &dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.contains(".tmp") {
                continue;
            }
            if let Some(c) = parse_chunk_name(&name) {
                out.push(ChunkFile {
                    path,
                    table: c.0,
                    range: c.1,
                    ext: c.2,
                });
            }
        }
        out.sort_by_key(|c| (c.range, c.ext.clone()));
        Ok(out)
    }
}

/// Indexes of chunks whose blocks lie inside another, larger chunk of the same format:
/// what an interrupted `lake compact` leaves (the merged file was renamed into place, some
/// of the files it replaces not yet removed). Readers skip them; compaction removes them.
pub fn shadowed(chunks: &[ChunkFile]) -> Vec<usize> {
    (0..chunks.len())
        .filter(|&i| {
            let c = &chunks[i];
            chunks.iter().any(|o| {
                o.ext == c.ext
                    && o.range != c.range
                    && o.range.start <= c.range.start
                    && o.range.end >= c.range.end
            })
        })
        .collect()
}

/// The column that places a row of `table` in a block (`number` in blocks,
/// `block_number` everywhere else).
pub fn block_column(table: &str) -> &'static str {
    if table == "blocks" {
        "number"
    } else {
        "block_number"
    }
}

/// The SQL dataset (and PostgreSQL schema) name of a chain folder: `crypto_` + the folder,
/// lower-case, anything but letters and digits as `_` (`litecoin-regtest` →
/// `crypto_litecoin_regtest`).
pub fn dataset_name(folder: &str) -> String {
    let mut s = String::from("crypto_");
    for c in folder.chars() {
        s.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    s
}

fn subdirs(dir: &Path) -> Result<Vec<String>, LakeError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io("list", dir))? {
        let e = e.map_err(io("list", dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() && !name.starts_with('_') && !name.starts_with('.') {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// `<table>__<start>_<end>.<ext>` with 10-digit zero-padded inclusive bounds.
pub fn chunk_name(table: &str, range: BlockRange, ext: &str) -> String {
    format!("{table}__{:010}_{:010}.{ext}", range.start, range.end)
}

/// Parses a chunk file name into (table, range, extension).
pub fn parse_chunk_name(name: &str) -> Option<(String, BlockRange, String)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let (table, bounds) = stem.rsplit_once("__")?;
    let (s, e) = bounds.split_once('_')?;
    let (s, e) = (s.parse::<u64>().ok()?, e.parse::<u64>().ok()?);
    (s <= e).then(|| (table.to_string(), BlockRange::new(s, e), ext.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = chunk_name("token_transfers", BlockRange::new(1000, 1999), "parquet");
        assert_eq!(n, "token_transfers__0000001000_0000001999.parquet");
        assert_eq!(
            parse_chunk_name(&n),
            Some((
                "token_transfers".into(),
                BlockRange::new(1000, 1999),
                "parquet".into()
            ))
        );
        assert_eq!(parse_chunk_name("blocks.parquet"), None);
        assert_eq!(
            parse_chunk_name("blocks__0000000009_0000000001.parquet"),
            None
        );
    }
}
