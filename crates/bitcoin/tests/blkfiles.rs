//! Data directories in every shape a real one takes, built from BlockSci's node-written
//! Bitcoin Core regtest chain: XOR-obfuscated files (Core ≥ 28), pre-allocated zero tails,
//! blocks spread over several files out of height order, stale blocks, a record still being
//! written at the end of the newest file — each must give the same rows as the original;
//! and bad files (wrong magic, corrupted length, truncation in an older file, a block that
//! fails to decode, a bad XOR key file) must fail with the file and byte offset.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ledgerflow_bitcoin::blkfiles::DataDir;
use ledgerflow_bitcoin::chain::ChainParams;
use ledgerflow_bitcoin::error::BtcError;
use ledgerflow_bitcoin::transform::{block_rows, BtcRows, Want};
use ledgerflow_bitcoin::utxo::UtxoIndex;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn params() -> &'static ChainParams {
    ChainParams::find("bitcoin", "regtest").unwrap()
}

fn original() -> Option<PathBuf> {
    let shared = ledgerflow_testkit::shared_dir("blkfiles")?;
    Some(shared.join("fixtures/blocksci/btc/regtest/blocks/blk00000.dat"))
}

/// The records (magic ‖ len ‖ block) of a plain blk file.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= bytes.len() && bytes[pos..pos + 4] != [0, 0, 0, 0] {
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        out.push(bytes[pos..pos + 8 + len].to_vec());
        pos += 8 + len;
    }
    out
}

fn rows_of(dir: &Path) -> BtcRows {
    let d = DataDir::open(dir, params()).unwrap();
    let blocks = d.blocks(0, d.tip()).unwrap();
    let mut rows = BtcRows::default();
    let mut ix = UtxoIndex::new();
    for b in &blocks {
        block_rows(b, params(), Want::ALL, Some(&mut ix), &mut rows);
    }
    rows
}

fn write_dir(root: &Path, files: &[Vec<u8>], xor: Option<[u8; 8]>) -> PathBuf {
    let blocks = root.join("regtest/blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    for (i, f) in files.iter().enumerate() {
        let mut data = f.clone();
        if let Some(k) = xor {
            for (j, b) in data.iter_mut().enumerate() {
                *b ^= k[j % 8];
            }
        }
        std::fs::write(blocks.join(format!("blk{i:05}.dat")), data).unwrap();
    }
    if let Some(k) = xor {
        std::fs::write(blocks.join("xor.dat"), k).unwrap();
    }
    root.to_path_buf()
}

#[test]
fn every_layout_gives_the_same_rows() {
    let Some(orig) = original() else { return };
    let bytes = std::fs::read(&orig).unwrap();
    let recs = records(&bytes);
    assert_eq!(recs.len(), 202);
    let reference = rows_of(orig.parent().unwrap().parent().unwrap().parent().unwrap());
    let tmp = tempfile::tempdir().unwrap();

    // 1. XOR-obfuscated (Core ≥ 28) with a zero tail (pre-allocated space)
    let mut padded = bytes.clone();
    padded.extend(std::iter::repeat_n(0u8, 1 << 16));
    let d1 = write_dir(
        &tmp.path().join("xor"),
        &[padded],
        Some([0x5a, 0x01, 0xff, 0x80, 0x33, 0x00, 0x12, 0xee]),
    );
    assert_eq!(rows_of(&d1), reference, "xor + zero tail");

    // 2. shuffled over three files, plus two stale blocks (a fork off height 150 and a
    //    competing copy of the tip's parent) and a record cut off at the end of the newest
    //    file (a node still writing)
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut shuffled: Vec<Vec<u8>> = recs.clone();
    shuffled.shuffle(&mut rng);
    let mut stale = recs[150].clone();
    stale[8 + 76] ^= 0x01; // another nonce: another hash, same parent
    shuffled.insert(17, stale);
    let mut files: Vec<Vec<u8>> = shuffled.chunks(70).map(|c| c.concat()).collect();
    let last = files.last_mut().unwrap();
    let partial = recs[5].clone();
    last.extend_from_slice(&partial[..partial.len() / 2]);
    let d2 = write_dir(&tmp.path().join("shuffled"), &files, None);
    let dd = DataDir::open(&d2, params()).unwrap();
    assert_eq!(dd.stats.stale, 1);
    assert_eq!(dd.stats.partial_tail, 1);
    assert_eq!(rows_of(&d2), reference, "shuffled + stale + partial tail");
}

/// A data directory that holds several networks: the one asked for is read.
#[test]
fn the_network_folder_wins() {
    let Some(orig) = original() else { return };
    let bytes = std::fs::read(&orig).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = write_dir(
        &tmp.path().join("multi"),
        std::slice::from_ref(&bytes),
        None,
    );
    // a mainnet node once started on the same folder
    std::fs::create_dir_all(root.join("blocks")).unwrap();
    std::fs::write(
        root.join("blocks/blk00000.dat"),
        [0xf9, 0xbe, 0xb4, 0xd9, 0, 0, 0, 0],
    )
    .unwrap();
    let d = DataDir::open(&root, params()).unwrap();
    assert_eq!(d.tip(), 201);
    assert!(d.blocks_dir.ends_with("regtest/blocks"));
}

fn open_err(root: &Path) -> String {
    match DataDir::open(root, params()) {
        Ok(d) => match d.blocks(0, d.tip()) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_name_the_file_and_offset() {
    let Some(orig) = original() else { return };
    let bytes = std::fs::read(&orig).unwrap();
    let recs = records(&bytes);
    let tmp = tempfile::tempdir().unwrap();
    let offset_of = |i: usize| -> usize { recs[..i].iter().map(|r| r.len()).sum() };

    // wrong magic in the middle of a file
    let mut b = bytes.clone();
    let at = offset_of(10);
    b[at] ^= 0xff;
    let e = open_err(&write_dir(&tmp.path().join("magic"), &[b], None));
    assert!(
        e.contains("blk00000.dat") && e.contains(&format!("at byte {at}")) && e.contains("magic"),
        "{e}"
    );

    // corrupted length (points past the end) in an older file
    let mut b = bytes.clone();
    let at = offset_of(20);
    b[at + 7] = 0x7f;
    let e = open_err(&write_dir(
        &tmp.path().join("length"),
        &[b, recs[0].clone()],
        None,
    ));
    assert!(
        e.contains("blk00000.dat")
            && e.contains(&format!("at byte {}", at + 4))
            && e.contains("length"),
        "{e}"
    );

    // truncated older file
    let b = bytes[..offset_of(30) + 50].to_vec();
    let e = open_err(&write_dir(
        &tmp.path().join("trunc"),
        &[b, recs[0].clone()],
        None,
    ));
    assert!(
        e.contains("blk00000.dat") && e.contains(&format!("at byte {}", offset_of(30) + 4)),
        "{e}"
    );

    // a block whose transactions do not decode (its header is fine)
    let mut b = bytes.clone();
    let at = offset_of(40) + 8 + 80; // the transaction count
    b[at] = 0xfe;
    b[at + 1..at + 5].copy_from_slice(&[0xff, 0xff, 0xff, 0x0f]);
    let e = open_err(&write_dir(&tmp.path().join("decode"), &[b], None));
    assert!(
        e.contains("blk00000.dat")
            && e.contains(&format!("at byte {}", offset_of(40) + 8))
            && e.contains("transaction count"),
        "{e}"
    );

    // garbage in the XOR key file
    let d = write_dir(
        &tmp.path().join("xorkey"),
        std::slice::from_ref(&bytes),
        None,
    );
    std::fs::write(d.join("regtest/blocks/xor.dat"), b"not a key").unwrap();
    let e = open_err(&d);
    assert!(e.contains("xor.dat") && e.contains("8 bytes"), "{e}");

    // a wrong XOR key: the magic no longer matches at byte 0
    let d = write_dir(
        &tmp.path().join("wrongkey"),
        std::slice::from_ref(&bytes),
        Some([1, 2, 3, 4, 5, 6, 7, 8]),
    );
    std::fs::write(d.join("regtest/blocks/xor.dat"), [9u8; 8]).unwrap();
    let e = open_err(&d);
    assert!(e.contains("at byte 0") && e.contains("magic"), "{e}");

    // no blk files at all
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = open_err(&empty);
    assert!(e.contains("blk*.dat"), "{e}");

    // the other chain's files: Litecoin magic is the same in regtest, so ask for mainnet
    let d = write_dir(&tmp.path().join("mainnet"), &[bytes], None);
    let e = DataDir::open(&d, ChainParams::find("bitcoin", "main").unwrap()).unwrap_err();
    assert!(
        matches!(e, BtcError::BadFile { .. } | BtcError::Io { .. }),
        "{e}"
    );
}

/// Seeded mutations of real blocks and transactions never panic the decoders, the
/// transform or the verbose parser (the same entry points the cargo-fuzz targets use).
#[test]
fn decoders_survive_mutations() {
    let Some(orig) = original() else { return };
    let bytes = std::fs::read(&orig).unwrap();
    let recs = records(&bytes);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    use rand::Rng;
    let mut inputs: Vec<Vec<u8>> = recs.iter().map(|r| r[8..].to_vec()).collect();
    if let Some(shared) = ledgerflow_testkit::shared_dir("fuzz") {
        let p = shared.join("fixtures/mainnet-blocks/000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw");
        let b = std::fs::read(p).unwrap();
        inputs.push(b[..20_000].to_vec());
    }
    for round in 0..3000 {
        let mut data = inputs[round % inputs.len()].clone();
        let n = rng.gen_range(1..8);
        for _ in 0..n {
            match rng.gen_range(0..4) {
                0 => {
                    let i = rng.gen_range(0..data.len());
                    data[i] = rng.gen();
                }
                1 => {
                    let cut = rng.gen_range(0..data.len());
                    data.truncate(cut.max(1));
                }
                2 => {
                    let i = rng.gen_range(0..data.len());
                    data.insert(i, rng.gen());
                }
                _ => {
                    let i = rng.gen_range(0..data.len());
                    data[i] = 0xff;
                }
            }
        }
        ledgerflow_bitcoin::fuzz::decode_bytes(&data);
        if round % 10 == 0 {
            ledgerflow_bitcoin::fuzz::decode_bytes(&data[80.min(data.len())..]);
        }
    }
    for text in [
        "{\"hash\":1}",
        "{\"txid\":\"zz\",\"vin\":[{}]}",
        "[",
        "{\"hash\":\"00\",\"tx\":[{\"txid\":\"00\"}]}",
    ] {
        ledgerflow_bitcoin::fuzz::verbose_text(text.as_bytes());
    }
}
