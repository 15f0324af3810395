//! Fuzz target: any form body reads into a typed SQS operation and its input (or a
//! clean error) without panicking: the query protocol's `A.1.B` names, flattened lists
//! and maps into the input structs.
#![no_main]

use eddy_server::sqs::query::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (path, form) = match data.iter().position(|&b| b == b'?') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"/"[..], data),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(form)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let _ = parse_request(params, &String::from_utf8_lossy(path));
});
