//! Progress bars (indicatif) fed by the libraries' progress events.

use indicatif::{ProgressBar, ProgressStyle};
use ledgerflow_core::BlockRange;
use ledgerflow_lake::runner::Observer;

/// A blocks bar over an export run (hidden with `--quiet`).
pub struct BlocksBar(ProgressBar);

impl BlocksBar {
    pub fn new(quiet: bool) -> Self {
        if quiet {
            return BlocksBar(ProgressBar::hidden());
        }
        let pb = ProgressBar::new(0);
        pb.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} blocks ({per_sec}, eta {eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        BlocksBar(pb)
    }
}

impl Observer for BlocksBar {
    fn started(&self, blocks: u64) {
        self.0.set_length(blocks);
        self.0.reset_elapsed();
    }

    fn chunk_written(&self, range: BlockRange) {
        self.0.inc(range.len());
    }

    fn finished(&self) {
        self.0.finish_and_clear();
    }
}
