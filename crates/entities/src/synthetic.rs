//! Seeded synthetic workloads for benchmarks and tests: the input address lists of many
//! transactions (what a clustering consumes), and a whole UTXO lake (`transactions` with
//! enriched inputs) for end-to-end runs of `entities build` and `taint`.

use ledgerflow_core::table::{Date, Sats, Timestamp};
use ledgerflow_core::tables::bitcoin::{BtcTransactionRow, TxInput, TxOutput};
use ledgerflow_core::BlockRange;
use ledgerflow_lake::writer::{TableFile, WriteOptions};
use ledgerflow_lake::Lake;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::EntityError;

/// Inputs per transaction, mainnet-like: 1 (60 %), 2 (20 %), 3–5 (12 %), 6–20 (7 %),
/// 21–200 (1 %).
pub fn input_count(rng: &mut impl Rng) -> usize {
    match rng.gen_range(0..100) {
        0..=59 => 1,
        60..=79 => 2,
        80..=91 => rng.gen_range(3..=5),
        92..=98 => rng.gen_range(6..=20),
        _ => rng.gen_range(21..=200),
    }
}

/// The input address ids of `txs` transactions over `addresses` ids (a heavy head: ids
/// drawn as u²/n, so low ids are reused a lot), as Arrow-style offsets and values.
pub fn input_lists(seed: u64, txs: usize, addresses: u32) -> (Vec<u32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut offsets = Vec::with_capacity(txs + 1);
    let mut values = Vec::with_capacity(txs * 4);
    offsets.push(0u32);
    let n = addresses as u64;
    for _ in 0..txs {
        for _ in 0..input_count(&mut rng) {
            let u = rng.gen_range(0..n);
            values.push((u * u / n) as u32);
        }
        offsets.push(values.len() as u32);
    }
    (offsets, values)
}

fn hex32(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 32] = rng.gen();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes a synthetic chain of `txs` transactions (plus a coinbase per block of
/// `per_block`) into `<lake>/<chain>/transactions/` in chunks of `chunk` blocks, inputs
/// enriched; returns (transactions, inputs, outputs). Addresses: fresh with
/// probability 0.5, else one seen before (low ids more often); payments with change.
pub fn write_lake(
    lake: &Lake,
    chain: &str,
    seed: u64,
    txs: usize,
    per_block: usize,
    chunk: u64,
) -> Result<(u64, u64, u64), EntityError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // unspent outputs: (txid, index, address, value)
    let mut utxo: Vec<(String, i64, u32, i64)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let new_addr = |rng: &mut ChaCha8Rng, names: &mut Vec<String>| -> u32 {
        if names.is_empty() || rng.gen_bool(0.5) {
            names.push(format!("syn1{}", &hex32(rng)[..38]));
            (names.len() - 1) as u32
        } else {
            let n = names.len() as u64;
            let u = rng.gen_range(0..n);
            (u * u / n) as u32
        }
    };
    let (mut n_tx, mut n_in, mut n_out) = (0u64, 0u64, 0u64);
    let mut height: u64 = 0;
    let mut rows: Vec<BtcTransactionRow> = Vec::new();
    let mut file: Option<(TableFile, BlockRange)> = None;
    let opts = WriteOptions::default();
    let time0 = 1_600_000_000i64;
    let mut made = 0usize;
    while made < txs {
        let range = BlockRange::new(height / chunk * chunk, height / chunk * chunk + chunk - 1);
        if file.as_ref().is_none_or(|f| f.1 != range) {
            if let Some((f, _)) = file.take() {
                f.commit()?;
            }
            let path = lake.chunk_path(chain, "transactions", range, "parquet");
            file = Some((
                TableFile::parquet(&path, BtcTransactionRow::schema(), &opts)?,
                range,
            ));
        }
        let time = time0 + height as i64 * 600;
        let block_hash = hex32(&mut rng);
        // coinbase
        let a = new_addr(&mut rng, &mut names);
        let cb = hex32(&mut rng);
        rows.push(BtcTransactionRow {
            hash: cb.clone(),
            block_hash: block_hash.clone(),
            block_number: height as i64,
            block_timestamp: Timestamp(time),
            block_timestamp_month: Date::month_of(time),
            input_count: Some(0),
            output_count: Some(1),
            is_coinbase: Some(true),
            outputs: vec![TxOutput {
                index: 0,
                type_: Some("pubkeyhash".into()),
                addresses: vec![names[a as usize].clone()],
                value: Some(Sats(5_000_000_000)),
                ..Default::default()
            }],
            chain: chain.into(),
            index: 0,
            ..Default::default()
        });
        let mut fresh: Vec<(String, i64, u32, i64)> = vec![(cb, 0, a, 5_000_000_000)];
        n_tx += 1;
        n_out += 1;
        for k in 0..per_block {
            if made >= txs || utxo.is_empty() {
                break;
            }
            let want = input_count(&mut rng).min(utxo.len());
            let mut inputs = Vec::with_capacity(want);
            let mut total = 0i64;
            for j in 0..want {
                let i = rng.gen_range(0..utxo.len());
                let (h, idx, addr, v) = utxo.swap_remove(i);
                total += v;
                inputs.push(TxInput {
                    index: j as i64,
                    spent_transaction_hash: Some(h),
                    spent_output_index: Some(idx),
                    type_: Some("pubkeyhash".into()),
                    addresses: vec![names[addr as usize].clone()],
                    value: Some(Sats(v)),
                    ..Default::default()
                });
            }
            let fee = (total / 1000).min(10_000);
            let outs_n = if total - fee > 2000 {
                rng.gen_range(1..=3)
            } else {
                1
            };
            let hash = hex32(&mut rng);
            let mut left = total - fee;
            let mut outputs = Vec::with_capacity(outs_n);
            for j in 0..outs_n {
                let v = if j + 1 == outs_n {
                    left
                } else {
                    rng.gen_range(1..left.max(2))
                };
                left -= v;
                let addr = new_addr(&mut rng, &mut names);
                outputs.push(TxOutput {
                    index: j as i64,
                    type_: Some("pubkeyhash".into()),
                    addresses: vec![names[addr as usize].clone()],
                    value: Some(Sats(v)),
                    ..Default::default()
                });
                fresh.push((hash.clone(), j as i64, addr, v));
            }
            n_in += inputs.len() as u64;
            n_out += outputs.len() as u64;
            rows.push(BtcTransactionRow {
                hash,
                block_hash: block_hash.clone(),
                block_number: height as i64,
                block_timestamp: Timestamp(time),
                block_timestamp_month: Date::month_of(time),
                input_count: Some(inputs.len() as i64),
                output_count: Some(outputs.len() as i64),
                input_value: Some(Sats(total)),
                output_value: Some(Sats(total - fee)),
                is_coinbase: Some(false),
                fee: Some(Sats(fee)),
                inputs,
                outputs,
                chain: chain.into(),
                index: k as i64 + 1,
                lock_time: Some(0),
                ..Default::default()
            });
            made += 1;
            n_tx += 1;
        }
        // a block's outputs become spendable from the next block on
        utxo.extend(fresh);
        if let Some((f, _)) = file.as_mut() {
            let batch =
                BtcTransactionRow::to_batch(&rows).map_err(|source| EntityError::Arrow {
                    path: f.path().to_path_buf(),
                    source,
                })?;
            f.write(&batch)?;
        }
        rows.clear();
        height += 1;
    }
    if let Some((f, _)) = file.take() {
        f.commit()?;
    }
    Ok((n_tx, n_in, n_out))
}
