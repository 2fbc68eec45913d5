//! `tracing` setup: `-v`/`-q`, `RUST_LOG`, text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::args::{GlobalArgs, LogFormat};

pub fn init(g: &GlobalArgs) {
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn,ledgerflow=info",
        (_, 1) => "info,ledgerflow=debug",
        _ => "debug,ledgerflow=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match g.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
