//! Fuzz target: SigV4 Authorization headers and presigned query strings never panic
//! the parsers.
#![no_main]

use eddy_server::sigv4::{parse_authorization, presigned_scope_service};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_authorization(&text);
    let _ = parse_authorization(&format!("AWS4-HMAC-SHA256 {text}"));
    let _ = presigned_scope_service(&text);
});
