#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ledgerflow_evm::fuzz::abi_data(data);
});
