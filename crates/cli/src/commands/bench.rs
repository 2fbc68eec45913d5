//! `ledgerflow bench rpc-floor`: the time a bare client needs just to fetch the raw answers
//! an export needs (blocks with transactions, block receipts, traces), with the same
//! batching and concurrency and no decoding at all. It is the floor an export is measured
//! against in `bench/`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use eyre::{bail, eyre};
use futures::StreamExt;
use ledgerflow_core::BlockSpec;

use crate::args::RpcFloorArgs;

pub async fn run(a: RpcFloorArgs) -> eyre::Result<ExitCode> {
    let spec: BlockSpec = a.blocks.parse()?;
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let bitcoin = a.methods.iter().any(|m| m == "getblock");
    if bitcoin && a.methods.len() > 1 {
        bail!("--methods getblock (Bitcoin-family) cannot be mixed with the EVM groups");
    }
    // a Bitcoin node takes basic auth from the URL's user:password@
    let url = reqwest::Url::parse(&a.rpc).map_err(|e| eyre!("--rpc {}: {e}", a.rpc))?;
    let auth = (!url.username().is_empty()).then(|| {
        (
            url.username().to_string(),
            url.password().unwrap_or_default().to_string(),
        )
    });
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    let post = move |body: String| {
        let r = http
            .post(bare.clone())
            .header("content-type", "application/json")
            .body(body);
        match &auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    };
    let call = |body: String| {
        let req = post(body);
        async move {
            let b = req.send().await?.bytes().await?;
            eyre::Ok(serde_json::from_slice::<serde_json::Value>(&b)?)
        }
    };
    let head = if bitcoin {
        let r =
            call(r#"{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}"#.into()).await?;
        r["result"]
            .as_u64()
            .ok_or_else(|| eyre!("getblockcount: {r}"))?
    } else {
        let r = call(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#.into())
            .await?;
        let s = r["result"]
            .as_str()
            .ok_or_else(|| eyre!("eth_blockNumber: {r}"))?;
        u64::from_str_radix(s.trim_start_matches("0x"), 16)?
    };
    let range = spec.resolve(Some(head))?;
    if a.batch_size == 0 || a.concurrency == 0 {
        bail!("--batch-size and --concurrency must be at least 1");
    }
    let numbers: Vec<u64> = range.iter().collect();
    let started = Instant::now();
    let bytes = Arc::new(AtomicU64::new(0));
    let mut bodies = Vec::new();
    if bitcoin {
        // the block hashes first (one batch per --batch-size heights, as an export asks
        // them), then the raw blocks
        let hash_bodies = batch_bodies(&numbers, a.batch_size, |_, n| {
            format!(r#"{{"jsonrpc":"1.0","id":{n},"method":"getblockhash","params":[{n}]}}"#)
        });
        let answers: Vec<eyre::Result<serde_json::Value>> =
            futures::stream::iter(hash_bodies.into_iter().map(&call))
                .buffered(a.concurrency)
                .collect()
                .await;
        let mut hashes = Vec::with_capacity(numbers.len());
        for answer in answers {
            let answer = answer?;
            let items = answer
                .as_array()
                .ok_or_else(|| eyre!("getblockhash batch: {answer}"))?;
            for it in items {
                hashes.push(
                    it["result"]
                        .as_str()
                        .ok_or_else(|| eyre!("getblockhash: {it}"))?
                        .to_string(),
                );
            }
        }
        bodies = batch_bodies(&hashes, a.batch_size, |i, h| {
            format!(r#"{{"jsonrpc":"1.0","id":{i},"method":"getblock","params":["{h}",0]}}"#)
        });
    } else {
        let methods: Vec<(&str, &str)> = a
            .methods
            .iter()
            .map(|m| match m.as_str() {
                "blocks" => Ok(("eth_getBlockByNumber", ",true")),
                "receipts" => Ok(("eth_getBlockReceipts", "")),
                "traces" => Ok(("trace_block", "")),
                other => Err(eyre!(
                    "unknown method group {other:?} (blocks, receipts, traces; getblock for a Bitcoin-family node)"
                )),
            })
            .collect::<eyre::Result<_>>()?;
        for (method, extra) in &methods {
            bodies.extend(batch_bodies(&numbers, a.batch_size, |_, n| {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{n},"method":"{method}","params":["{n:#x}"{extra}]}}"#
                )
            }));
        }
    }
    let results: Vec<eyre::Result<()>> = futures::stream::iter(bodies.into_iter().map(|body| {
        let req = post(body);
        let bytes = bytes.clone();
        async move {
            let b = req.send().await?.bytes().await?;
            bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    }))
    .buffer_unordered(a.concurrency)
    .collect()
    .await;
    for r in results {
        r?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"blocks\": {}, \"methods\": {:?}, \"seconds\": {secs:.3}, \"bytes\": {}}}",
        range.len(),
        a.methods,
        bytes.load(Ordering::Relaxed)
    );
    Ok(ExitCode::SUCCESS)
}

/// JSON-RPC batch bodies of `size` calls each, `call(index in its batch, item)` rendering one.
fn batch_bodies<T>(items: &[T], size: usize, call: impl Fn(usize, &T) -> String) -> Vec<String> {
    items
        .chunks(size)
        .map(|chunk| {
            let calls: Vec<String> = chunk.iter().enumerate().map(|(i, x)| call(i, x)).collect();
            format!("[{}]", calls.join(","))
        })
        .collect()
}

/// `ledgerflow bench decode`: decode throughput on one core vs SHA-256d of every byte.
pub fn decode(a: crate::args::BenchDecodeArgs) -> eyre::Result<ExitCode> {
    use ledgerflow_bitcoin::chain::ChainParams;
    use ledgerflow_bitcoin::raw::{decode_block, Format};
    use ledgerflow_bitcoin::transform::{block_rows, BtcRows, Want};
    let bytes = std::fs::read(&a.block).map_err(|e| eyre::eyre!("{}: {e}", a.block.display()))?;
    let params =
        ChainParams::find("bitcoin", "main").ok_or_else(|| eyre::eyre!("no bitcoin params"))?;
    let fmt = Format::of(params);
    let block =
        decode_block(&bytes, 0, fmt).map_err(|e| eyre::eyre!("{}: {e}", a.block.display()))?;
    let mb = bytes.len() as f64 / 1e6;
    let measure = |f: &mut dyn FnMut()| -> f64 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < a.seconds {
            f();
            n += 1;
        }
        n as f64 * mb / start.elapsed().as_secs_f64()
    };
    let sha = measure(&mut || {
        std::hint::black_box(ledgerflow_bitcoin::hash::sha256d(std::hint::black_box(
            &bytes,
        )));
    });
    let dec = measure(&mut || {
        std::hint::black_box(decode_block(std::hint::black_box(&bytes), 0, fmt).ok());
    });
    let rows = measure(&mut || {
        let mut r = BtcRows::default();
        block_rows(&block, params, Want::ALL, None, &mut r);
        std::hint::black_box(r);
    });
    let full = measure(&mut || {
        if let Ok(b) = decode_block(&bytes, 0, fmt) {
            let mut r = BtcRows::default();
            block_rows(&b, params, Want::ALL, None, &mut r);
            std::hint::black_box(r);
        }
    });
    println!(
        "block: {} ({:.3} MB, {} transactions)",
        a.block.display(),
        mb,
        block.txs.len()
    );
    println!("sha256d of every byte (limit): {sha:>9.1} MB/s per core");
    println!(
        "decode (ids, sizes, scripts):  {dec:>9.1} MB/s per core ({:.2} of the limit)",
        dec / sha
    );
    println!("rows from a decoded block:     {rows:>9.1} MB/s per core");
    println!(
        "decode + rows:                 {full:>9.1} MB/s per core ({:.2} of the limit)",
        full / sha
    );
    Ok(ExitCode::SUCCESS)
}

/// `ledgerflow bench utxo`: bytes per unspent output of the index at `count` entries.
pub fn utxo(a: crate::args::BenchUtxoArgs) -> eyre::Result<ExitCode> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    let mut ix = ledgerflow_bitcoin::utxo::UtxoIndex::new();
    let start = Instant::now();
    let mut kinds = [0u64; 6];
    for i in 0..a.count {
        let mut txid = [0u8; 32];
        rng.fill(&mut txid[..]);
        // a mainnet-like mix of the unspent set (2024): P2PKH 30%, P2WPKH 30%, P2TR 25%,
        // P2SH 9%, P2WSH 3%, other (P2PK, bare multisig, nonstandard) 3%
        let r: f64 = rng.gen();
        let (k, script): (usize, Vec<u8>) = if r < 0.30 {
            (
                0,
                [
                    &[0x76, 0xa9, 0x14][..],
                    &rng.gen::<[u8; 20]>(),
                    &[0x88, 0xac],
                ]
                .concat(),
            )
        } else if r < 0.60 {
            (1, [&[0x00, 0x14][..], &rng.gen::<[u8; 20]>()].concat())
        } else if r < 0.85 {
            (2, [&[0x51, 0x20][..], &rng.gen::<[u8; 32]>()].concat())
        } else if r < 0.94 {
            (
                3,
                [&[0xa9, 0x14][..], &rng.gen::<[u8; 20]>(), &[0x87]].concat(),
            )
        } else if r < 0.97 {
            (4, [&[0x00, 0x20][..], &rng.gen::<[u8; 32]>()].concat())
        } else {
            (
                5,
                [&[0x21, 0x02][..], &rng.gen::<[u8; 32]>(), &[0xac]].concat(),
            )
        };
        kinds[k] += 1;
        ix.insert(
            &txid,
            (i % 3) as u32,
            rng.gen_range(546..100_000_000),
            (i / 3000) as i32,
            &script,
        );
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = ix.heap_bytes();
    println!(
        "unspent outputs: {}  (p2pkh {}, p2wpkh {}, p2tr {}, p2sh {}, p2wsh {}, other {})",
        ix.len(),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        kinds[4],
        kinds[5]
    );
    println!(
        "index heap: {:.1} MB = {:.1} bytes per unspent output ({:.1} s to insert, {:.0} k/s)",
        bytes as f64 / 1e6,
        bytes as f64 / ix.len().max(1) as f64,
        secs,
        ix.len() as f64 / secs / 1e3
    );
    Ok(ExitCode::SUCCESS)
}
