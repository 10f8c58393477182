#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cubeblob::fuzzing::post_policy(data));
