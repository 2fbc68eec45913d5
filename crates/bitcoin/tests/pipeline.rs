#![allow(clippy::unwrap_used)]
//! The ordered export pipeline on BlockSci's node-written Bitcoin regtest chain (shared
//! fixtures): chunks started out of order transform in height order with every input
//! enriched; a failing chunk poisons the queue for the chunks after it.

use std::sync::Arc;

use ledgerflow_bitcoin::blkfiles::DataDir;
use ledgerflow_bitcoin::pipeline::{
    want_of, BoxError, Pipeline, PipelineError, PipelineOptions, RowWriter,
};
use ledgerflow_bitcoin::source::Source;
use ledgerflow_bitcoin::{BtcRows, ChainParams};
use ledgerflow_core::tables::bitcoin::BtcTable;
use ledgerflow_core::BlockRange;

/// Collects the block numbers and the enriched input count it was given.
#[derive(Default)]
struct Collect {
    blocks: Vec<i64>,
    inputs_with_value: usize,
}

impl RowWriter for Collect {
    fn write(&mut self, rows: &BtcRows) -> Result<(), BoxError> {
        self.blocks.extend(rows.blocks.iter().map(|b| b.number));
        self.inputs_with_value += rows.inputs.iter().filter(|i| i.value.is_some()).count();
        Ok(())
    }
}

struct Fails;

impl RowWriter for Fails {
    fn write(&mut self, _: &BtcRows) -> Result<(), BoxError> {
        Err("disk full".into())
    }
}

fn source() -> Option<(Source, u64)> {
    let shared = ledgerflow_testkit::shared_dir("bitcoin pipeline")?;
    let params = ChainParams::find("bitcoin", "regtest").unwrap();
    let d = DataDir::open(&shared.join("fixtures/blocksci/btc"), params).unwrap();
    let tip = d.tip() as u64;
    Some((Source::Files(Arc::new(d)), tip))
}

fn options() -> PipelineOptions {
    PipelineOptions {
        want: want_of(&[BtcTable::Blocks, BtcTable::Inputs]),
        enrich: true,
        group_blocks: 7,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_started_out_of_order_transform_in_height_order() {
    let Some((source, tip)) = source() else {
        return;
    };
    let mid = tip / 2;
    let chunks = [BlockRange::new(0, mid), BlockRange::new(mid + 1, tip)];
    let p = Pipeline::new(source, options(), &chunks);
    // the later chunk is started first: it waits for the earlier one's turn
    let second = p.chunk(chunks[1], || Ok(Collect::default()));
    let first = p.chunk(chunks[0], || Ok(Collect::default()));
    let (a, b) = (first.await.unwrap(), second.await.unwrap());
    let all: Vec<i64> = a.blocks.iter().chain(&b.blocks).copied().collect();
    assert_eq!(all, (0..=tip as i64).collect::<Vec<_>>());
    let r = p.report().await;
    assert_eq!(r.stats.unresolved, 0, "every input finds its spent output");
    assert_eq!(
        r.stats.resolved as usize,
        a.inputs_with_value + b.inputs_with_value
    );
    // BlockSci's checksums: 178 inputs (coinbase excluded)
    assert_eq!(r.stats.resolved, 178);
    assert!(r.peak_heap_bytes > 0 && r.unspent > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chunk_poisons_the_chunks_after_it() {
    let Some((source, tip)) = source() else {
        return;
    };
    // the second chunk lies beyond the tip: its fetch fails after its turn came
    let chunks = [
        BlockRange::new(0, 9),
        BlockRange::new(tip + 1, tip + 5),
        BlockRange::new(tip + 6, tip + 9),
    ];
    let p = Pipeline::new(source.clone(), options(), &chunks);
    let third = p.chunk(chunks[2], || Ok(Collect::default()));
    let second = p.chunk(chunks[1], || Ok(Collect::default()));
    let first = p.chunk(chunks[0], || Ok(Collect::default()));
    assert_eq!(first.await.unwrap().blocks.len(), 10);
    let e = second.await.err().unwrap();
    assert!(matches!(e, PipelineError::Source(_)), "{e}");
    assert!(matches!(
        third.await.err().unwrap(),
        PipelineError::EarlierChunkFailed
    ));
    // a failing writer: its error comes back as the chunk's
    let chunks = [BlockRange::new(0, tip)];
    let p = Pipeline::new(source, options(), &chunks);
    let e = p.chunk(chunks[0], || Ok(Fails)).await.err().unwrap();
    assert_eq!(e.to_string(), "disk full");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_be_made_poisons_the_queue() {
    let Some((source, tip)) = source() else {
        return;
    };
    let mid = tip / 2;
    let chunks = [BlockRange::new(0, mid), BlockRange::new(mid + 1, tip)];
    let p = Pipeline::new(source, options(), &chunks);
    let second = p.chunk(chunks[1], || Ok(Collect::default()));
    let first = p.chunk(chunks[0], || -> Result<Collect, BoxError> {
        Err("cannot create the chunk file".into())
    });
    assert_eq!(
        first.await.err().unwrap().to_string(),
        "cannot create the chunk file"
    );
    // the later chunk does not wait forever for the turn of the one that never started
    let second = tokio::time::timeout(std::time::Duration::from_secs(30), second)
        .await
        .expect("the second chunk finishes");
    assert!(matches!(second, Err(PipelineError::EarlierChunkFailed)));
}
