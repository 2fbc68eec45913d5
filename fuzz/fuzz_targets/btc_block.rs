//! Raw Bitcoin-family blocks (segwit, MWEB, AuxPoW formats) and the transform of whatever
//! decodes: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ledgerflow_bitcoin::fuzz::decode_bytes(data);
});
