#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_filter::fuzz_logic::policies(data));
