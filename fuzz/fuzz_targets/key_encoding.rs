//! Fuzz target: S3 event key encoding round-trips any UTF-8 key, and decoding any
//! text never panics.
#![no_main]

use eddy_events::s3_event::{decode_key, encode_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_key(text);
        assert_eq!(decode_key(&encode_key(text)).as_deref(), Ok(text));
    }
});
