//! `ledgerflow bench cluster|pagerank|lake`: the measurement side of `bench/entities.sh`.

use std::fs::File;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, AsArray, Float64Array, ListArray, RecordBatch, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema, UInt32Type, UInt64Type};
use eyre::{bail, eyre};
use ledgerflow_entities::unionfind::{multi_input, MULTI_INPUT_BYTES_PER_ADDRESS};
use ledgerflow_graph::algo::{pagerank, PageRankOptions};
use ledgerflow_graph::csr::{Csr, Edge};
use rand::{Rng, SeedableRng};

use crate::args::{BenchClusterArgs, BenchLakeArgs, BenchPagerankArgs};

/// Peak resident memory of this process (Linux: VmHWM), bytes.
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn write_parquet(path: &std::path::Path, batch: RecordBatch) -> eyre::Result<()> {
    ledgerflow_lake::writer::write_parquet(
        path,
        &[batch],
        &ledgerflow_lake::WriteOptions {
            zstd_level: 1,
            ..Default::default()
        },
    )?;
    Ok(())
}

pub fn cluster(a: BenchClusterArgs) -> eyre::Result<ExitCode> {
    let t0 = Instant::now();
    let (offsets, values) =
        ledgerflow_entities::synthetic::input_lists(a.seed, a.transactions, a.addresses);
    let gen_secs = t0.elapsed().as_secs_f64();
    let inputs = values.len();
    if let Some(p) = &a.write {
        let field = Arc::new(Field::new("item", DataType::UInt32, false));
        let list = ListArray::new(
            field.clone(),
            OffsetBuffer::new(
                offsets
                    .iter()
                    .map(|&o| o as i32)
                    .collect::<Vec<i32>>()
                    .into(),
            ),
            Arc::new(UInt32Array::from(values.clone())),
            None,
        );
        let schema = Arc::new(Schema::new(vec![Field::new(
            "inputs",
            DataType::List(field),
            false,
        )]));
        write_parquet(p, RecordBatch::try_new(schema, vec![Arc::new(list)])?)?;
    }
    let threads = crate::commands::threads_or_cores(a.threads);
    let before = peak_rss();
    let t = Instant::now();
    let ids = multi_input(&offsets, &values, a.addresses as usize, threads);
    let secs = t.elapsed().as_secs_f64();
    let clusters = ids
        .iter()
        .enumerate()
        .filter(|(i, &e)| *i as u32 == e)
        .count();
    // a forest: every link removed one set
    let unions = ids.len() - clusters;
    let mut check = serde_json::Value::Null;
    if let Some(p) = &a.check {
        let f = File::open(p).map_err(|e| eyre!("{}: {e}", p.display()))?;
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
        let mut theirs: Vec<u64> = Vec::new();
        for b in reader {
            let b = b?;
            let c = b
                .column_by_name("cluster_id")
                .ok_or_else(|| eyre!("{}: no cluster_id column", p.display()))?;
            match c.data_type() {
                DataType::UInt64 => theirs.extend(c.as_primitive::<UInt64Type>().values().iter()),
                DataType::UInt32 => theirs.extend(
                    c.as_primitive::<UInt32Type>()
                        .values()
                        .iter()
                        .map(|&x| x as u64),
                ),
                t => bail!("{}: cluster_id is {t}", p.display()),
            }
        }
        if theirs.len() != ids.len() {
            bail!(
                "{}: {} rows for {} address ids",
                p.display(),
                theirs.len(),
                ids.len()
            );
        }
        let differ = ids
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| **a as u64 != **b)
            .count();
        check = serde_json::json!({"addresses_compared": ids.len(), "addresses_in_another_cluster": differ});
    }
    let v = serde_json::json!({
        "transactions": a.transactions, "inputs": inputs, "addresses": a.addresses,
        "unions": unions, "clusters": clusters, "generate_seconds": gen_secs,
        "cluster_seconds": secs, "transactions_per_second": a.transactions as f64 / secs,
        "union_find_bytes_per_address": MULTI_INPUT_BYTES_PER_ADDRESS, "threads": threads,
        "peak_rss_bytes": peak_rss(), "rss_before_clustering": before, "check": check,
    });
    println!("{v}");
    Ok(ExitCode::SUCCESS)
}

pub fn pagerank_bench(a: BenchPagerankArgs) -> eyre::Result<ExitCode> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    let n = a.nodes as u64;
    // preferential targets (u²/n: a heavy head of popular receivers), uniform sources
    let mut edges = Vec::with_capacity(a.edges);
    for _ in 0..a.edges {
        let s = rng.gen_range(0..n) as u32;
        let u = rng.gen_range(0..n);
        let d = (u * u / n) as u32;
        edges.push(Edge {
            src: s,
            dst: d,
            weight: rng.gen_range(1..1_000_000) as f64,
        });
    }
    if let Some(p) = &a.write {
        let schema = Arc::new(Schema::new(vec![
            Field::new("src", DataType::UInt32, false),
            Field::new("dst", DataType::UInt32, false),
            Field::new("weight", DataType::Float64, false),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(UInt32Array::from_iter_values(edges.iter().map(|e| e.src))),
                Arc::new(UInt32Array::from_iter_values(edges.iter().map(|e| e.dst))),
                Arc::new(Float64Array::from_iter_values(
                    edges.iter().map(|e| e.weight),
                )),
            ],
        )?;
        write_parquet(p, b)?;
    }
    let t = Instant::now();
    let g = Csr::from_edges(a.nodes as usize, &edges);
    let build = t.elapsed().as_secs_f64();
    drop(edges);
    let threads = crate::commands::threads_or_cores(a.threads);
    let fixed_run = |threads: usize| {
        let t = Instant::now();
        let r = pagerank(
            &g,
            &PageRankOptions {
                tol: 0.0,
                max_iter: a.iterations,
                threads,
                ..PageRankOptions::default()
            },
        );
        (r, t.elapsed().as_secs_f64())
    };
    let (one, one_secs) = fixed_run(1);
    let (fixed, secs) = fixed_run(threads);
    if one.scores != fixed.scores {
        bail!("PageRank on {threads} threads differs from one thread");
    }
    let t = Instant::now();
    let conv = pagerank(
        &g,
        &PageRankOptions {
            tol: 1e-9 / a.nodes as f64,
            max_iter: 1000,
            threads,
            ..PageRankOptions::default()
        },
    );
    let conv_secs = t.elapsed().as_secs_f64();
    let top = (0..g.node_count()).max_by(|&i, &j| fixed.scores[i].total_cmp(&fixed.scores[j]));
    println!(
        "{}",
        serde_json::json!({
            "nodes": g.node_count(), "edges": g.edge_count(), "csr_seconds": build,
            "iterations": fixed.iterations, "seconds_per_iteration": secs / fixed.iterations.max(1) as f64,
            "threads": threads, "seconds_per_iteration_1_thread": one_secs / one.iterations.max(1) as f64,
            "converged_iterations": conv.iterations, "converged_seconds": conv_secs,
            "top_node": top, "peak_rss_bytes": peak_rss(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub fn lake(a: BenchLakeArgs) -> eyre::Result<ExitCode> {
    if a.per_block == 0 || a.chunk_size == 0 {
        bail!("--per-block and --chunk-size must be positive");
    }
    let lake = ledgerflow_lake::Lake::new(&a.output);
    let t = Instant::now();
    let (txs, ins, outs) = ledgerflow_entities::synthetic::write_lake(
        &lake,
        &a.chain,
        a.seed,
        a.transactions,
        a.per_block,
        a.chunk_size,
    )?;
    println!(
        "{}",
        serde_json::json!({"transactions": txs, "inputs": ins, "outputs": outs, "seconds": t.elapsed().as_secs_f64()})
    );
    Ok(ExitCode::SUCCESS)
}
