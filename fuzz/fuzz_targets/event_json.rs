//! Fuzz target: parsing any message body as an S3 notification never panics, and an
//! event that parses serialises and parses back to itself.
#![no_main]

use eddy_events::s3_event::{NotificationBody, parse_notification};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(NotificationBody::Event(event)) = parse_notification(text) {
        let json = serde_json::to_string(&event).expect("an event serialises");
        match parse_notification(&json) {
            Ok(NotificationBody::Event(again)) => assert_eq!(again, event),
            other => panic!("{json} parsed back as {other:?}"),
        }
    }
});
