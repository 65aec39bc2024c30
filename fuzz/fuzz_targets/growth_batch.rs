#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sinergi_fuzz::entry::growth_batch(data));
