//! Property tests of the event encoders and parsers: S3's key encoding round-trips
//! every key, decoding never panics, and an event serialised to JSON parses back to
//! the same event.

use eddy_events::s3_event::{
    NotificationBody, PrincipalId, RequestParameters, ResponseElements, S3Bucket, S3Entity,
    S3Event, S3EventRecord, S3Object, decode_key, encode_key, parse_notification,
};
use proptest::prelude::*;

fn record() -> impl Strategy<Value = S3EventRecord> {
    (
        (any::<String>(), any::<String>(), any::<String>()),
        (any::<String>(), any::<String>(), any::<String>()),
        (
            any::<Option<u64>>(),
            any::<Option<String>>(),
            any::<Option<String>>(),
        ),
        (any::<String>(), any::<String>()),
    )
        .prop_map(
            |(names, ids, (size, e_tag, version_id), (sequencer, time))| {
                let (event_name, region, key) = names;
                let (bucket, principal, request_id) = ids;
                S3EventRecord {
                    event_version: "2.1".into(),
                    event_source: "aws:s3".into(),
                    aws_region: region,
                    event_time: time,
                    event_name,
                    user_identity: PrincipalId {
                        principal_id: principal.clone(),
                    },
                    request_parameters: RequestParameters {
                        source_ip_address: "127.0.0.1".into(),
                    },
                    response_elements: ResponseElements {
                        request_id,
                        id_2: principal.clone(),
                    },
                    s3: S3Entity {
                        s3_schema_version: "1.0".into(),
                        configuration_id: "config".into(),
                        bucket: S3Bucket {
                            arn: format!("arn:aws:s3:::{bucket}"),
                            name: bucket,
                            owner_identity: PrincipalId {
                                principal_id: principal,
                            },
                        },
                        object: S3Object {
                            key: encode_key(&key),
                            size,
                            e_tag,
                            version_id,
                            sequencer,
                        },
                    },
                    glacier_event_data: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn key_encoding_round_trips(key in any::<String>()) {
        let encoded = encode_key(&key);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded:?}");
        prop_assert_eq!(decode_key(&encoded), Ok(key));
    }

    #[test]
    fn decoding_any_text_never_panics(text in any::<String>()) {
        let _ = decode_key(&text);
    }

    #[test]
    fn decoding_percent_soup_never_panics(text in "[%0-9A-Fa-f+/gz\u{0}-\u{7f}]{0,64}") {
        if let Ok(key) = decode_key(&text) {
            // Whatever decodes encodes to something that decodes the same again.
            prop_assert_eq!(decode_key(&encode_key(&key)), Ok(key));
        }
    }

    #[test]
    fn event_json_round_trips(records in proptest::collection::vec(record(), 1..4)) {
        let event = S3Event { records };
        let json = serde_json::to_string(&event).expect("serialises");
        match parse_notification(&json) {
            Ok(NotificationBody::Event(parsed)) => prop_assert_eq!(parsed, event),
            other => prop_assert!(false, "{json} parsed as {other:?}"),
        }
    }

    #[test]
    fn parsing_any_body_never_panics(body in any::<String>()) {
        let _ = parse_notification(&body);
    }

    #[test]
    fn parsing_json_like_bodies_never_panics(body in r#"[\[\]{}":,0-9a-zA-Z ]{0,80}"#) {
        let _ = parse_notification(&body);
        let _ = parse_notification(&format!(r#"{{"Records":[{body}]}}"#));
    }
}
