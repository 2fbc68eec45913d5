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

/// A spinner with a message and the elapsed time, ticking on its own (None with `--quiet`
/// or when stderr is not a terminal).
pub fn spinner(quiet: bool, msg: &str) -> Option<ProgressBar> {
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}
