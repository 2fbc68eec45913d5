//! The node's verbose JSON answers (blocks, transactions, amounts): never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ledgerflow_bitcoin::fuzz::verbose_text(data);
});
