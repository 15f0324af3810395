//! The S3 event notification: the JSON S3 sends to a queue when an object changes, the
//! test event it sends when a notification configuration is saved, and the encoding of
//! object keys inside both.
//!
//! Field names and order follow what AWS sends (eventVersion 2.1). Keys are
//! form-URL-encoded (space as `+`, `/` literal); [`decode_key`] reverses it.
//!
//! Reading is lenient where the copy function does not need a field: other S3
//! implementations (emulators, older S3-compatible stores) leave out identity and
//! request fields, and their events must still be copied.

use serde::{Deserialize, Serialize};

/// A notification message body: `{"Records":[...]}` with exactly one record when S3 sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct S3Event {
    #[serde(rename = "Records")]
    pub records: Vec<S3EventRecord>,
}

/// One record of an S3 event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3EventRecord {
    #[serde(default)]
    pub event_version: String,
    #[serde(default)]
    pub event_source: String,
    #[serde(default)]
    pub aws_region: String,
    /// ISO-8601 UTC with milliseconds, e.g. `2026-01-01T00:00:00.123Z`.
    #[serde(default)]
    pub event_time: String,
    /// Without the `s3:` prefix, e.g. `ObjectCreated:Put`.
    pub event_name: String,
    #[serde(default)]
    pub user_identity: PrincipalId,
    #[serde(default)]
    pub request_parameters: RequestParameters,
    #[serde(default)]
    pub response_elements: ResponseElements,
    pub s3: S3Entity,
    /// Only in `ObjectRestore:Completed` events: the restored copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glacier_event_data: Option<GlacierEventData>,
}

/// The `glacierEventData` of a restore event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlacierEventData {
    pub restore_event_data: RestoreEventData,
}

/// When a restored copy expires and the storage class it was restored from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreEventData {
    /// ISO-8601 UTC with milliseconds.
    pub lifecycle_restoration_expiry_time: String,
    pub lifecycle_restore_storage_class: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalId {
    pub principal_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
}

/// The request id headers of the S3 response to the request that caused the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseElements {
    #[serde(rename = "x-amz-request-id")]
    pub request_id: String,
    #[serde(rename = "x-amz-id-2")]
    pub id_2: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Entity {
    #[serde(default)]
    pub s3_schema_version: String,
    #[serde(default)]
    pub configuration_id: String,
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Bucket {
    pub name: String,
    #[serde(default)]
    pub owner_identity: PrincipalId,
    #[serde(default)]
    pub arn: String,
}

/// The object of an event. Delete events carry neither `size` nor `eTag`; `versionId`
/// appears only for versioned buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    /// The key, form-URL-encoded ([`encode_key`]).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Hex MD5 (or multipart ETag), without quotes.
    #[serde(default, rename = "eTag", skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Absent from the events of tag and ACL changes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sequencer: String,
}

/// The message S3 sends once after a notification configuration is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3TestEvent {
    #[serde(default)]
    pub service: String,
    pub event: String,
    #[serde(default)]
    pub time: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub host_id: String,
}

/// The name of the test event in [`S3TestEvent::event`].
pub const TEST_EVENT_NAME: &str = "s3:TestEvent";

/// What a queue message body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationBody {
    /// An S3 event with its records.
    Event(S3Event),
    /// The `s3:TestEvent` sent after a configuration change: consumers drop it.
    Test(S3TestEvent),
}

/// Why a message body is not an S3 notification.
#[derive(Debug, thiserror::Error)]
#[error("message body is not an S3 event notification: {0}")]
pub struct NotAnS3Event(#[from] serde_json::Error);

/// Parses a queue message body as an S3 notification (an event, or the test event).
pub fn parse_notification(body: &str) -> Result<NotificationBody, NotAnS3Event> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Event(S3Event),
        Test(S3TestEvent),
    }
    match serde_json::from_str::<Either>(body) {
        Ok(Either::Event(event)) => Ok(NotificationBody::Event(event)),
        Ok(Either::Test(test)) if test.event == TEST_EVENT_NAME => Ok(NotificationBody::Test(test)),
        Ok(Either::Test(_)) => Err(NotAnS3Event(serde::de::Error::custom(
            "unknown S3 service event",
        ))),
        Err(_) => {
            // Parse once more as the event shape alone, to report the useful error.
            serde_json::from_str::<S3Event>(body)
                .map(NotificationBody::Event)
                .map_err(NotAnS3Event)
        }
    }
}

/// Encodes an object key the way S3 writes it into event records: form-URL-encoding of
/// the UTF-8 key (space as `+`, reserved characters as `%XX`) with `/` kept literal.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(form_urlencoded::byte_serialize(segment.as_bytes()));
    }
    out
}

/// Why an encoded key could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("object key {0:?} is not valid UTF-8 once percent-decoded")]
pub struct BadKeyEncoding(pub String);

/// Decodes a key from an event record: plus to space, then percent-decode.
pub fn decode_key(encoded: &str) -> Result<String, BadKeyEncoding> {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| BadKeyEncoding(encoded.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_encoding_matches_aws() {
        assert_eq!(encode_key("photos/red flower.jpg"), "photos/red+flower.jpg");
        assert_eq!(encode_key("a+b@c=d"), "a%2Bb%40c%3Dd");
        assert_eq!(
            encode_key("dossier/été/ü.txt"),
            "dossier/%C3%A9t%C3%A9/%C3%BC.txt"
        );
        assert_eq!(encode_key("plain-key_1.txt"), "plain-key_1.txt");
    }

    #[test]
    fn key_decoding_reverses_encoding() {
        for key in ["a b+c", "x/y/z", "ü @=&?#%", "a//b/", " leading space", "+"] {
            assert_eq!(
                decode_key(&encode_key(key)).as_deref(),
                Ok(key),
                "key {key:?}"
            );
        }
        assert!(decode_key("%FF").is_err());
    }

    #[test]
    fn parses_test_event_and_records() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"source","RequestId":"R","HostId":"H"}"#;
        assert!(matches!(
            parse_notification(test),
            Ok(NotificationBody::Test(_))
        ));
        let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-01-01T00:00:00.123Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"p"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{"x-amz-request-id":"r","x-amz-id-2":"i"},"s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"source","ownerIdentity":{"principalId":"p"},"arn":"arn:aws:s3:::source"},"object":{"key":"a+b","size":3,"eTag":"e","sequencer":"01"}}}]}"#;
        let Ok(NotificationBody::Event(parsed)) = parse_notification(event) else {
            panic!("not parsed as an event");
        };
        assert_eq!(parsed.records[0].s3.object.key, "a+b");
        assert_eq!(parsed.records[0].s3.object.size, Some(3));
        // Serialising again yields the same JSON, field order included.
        assert_eq!(serde_json::to_string(&parsed).expect("serialise"), event);
        assert!(parse_notification("hello").is_err());
        assert!(parse_notification(r#"{"Records":"x"}"#).is_err());
    }

    #[test]
    fn parses_events_of_other_implementations_without_identity_fields() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"t","Bucket":"b"}"#;
        assert!(matches!(
            parse_notification(test),
            Ok(NotificationBody::Test(_))
        ));
        let minimal = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","eTag":"e"}}}]}"#;
        let Ok(NotificationBody::Event(parsed)) = parse_notification(minimal) else {
            panic!("not parsed as an event");
        };
        assert_eq!(parsed.records[0].s3.bucket.name, "b");
        assert_eq!(parsed.records[0].s3.object.e_tag.as_deref(), Some("e"));
    }
}
