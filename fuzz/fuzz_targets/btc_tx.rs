//! Raw transactions, scripts (asm, classes, addresses): never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for fmt in [
        ledgerflow_bitcoin::raw::Format { segwit: true, mweb: true, auxpow: false },
        ledgerflow_bitcoin::raw::Format { segwit: false, mweb: false, auxpow: false },
    ] {
        let _ = ledgerflow_bitcoin::raw::decode_tx(data, fmt);
    }
    let _ = ledgerflow_bitcoin::script::to_asm(data, true, Default::default());
});
