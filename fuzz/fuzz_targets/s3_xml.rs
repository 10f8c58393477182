#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cubeblob::fuzzing::s3_xml(data));
