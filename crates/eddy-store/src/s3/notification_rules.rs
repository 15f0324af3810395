//! The rules of bucket notifications, with no I/O: a bucket's configurations (to SQS
//! queues and to Lambda functions), the checks that validate them, which
//! configurations an object change matches, and the event record it emits.

use serde::{Deserialize, Serialize};

use eddy_events::arn::bucket_arn;
use eddy_events::s3_event::{
    GlacierEventData, PrincipalId, RequestParameters, ResponseElements, RestoreEventData, S3Bucket,
    S3Entity, S3Event, S3EventRecord, S3Object, encode_key,
};

pub use super::principals::Requester;
use crate::time::iso8601_millis;

/// One configuration of a bucket: a `QueueConfiguration` or a
/// `LambdaFunctionConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationConfig {
    pub id: String,
    /// Where the events go (stored as `queue_arn` or `function_arn`).
    #[serde(flatten)]
    pub destination: Destination,
    /// Event types with the `s3:` prefix, possibly wildcards (`s3:ObjectCreated:*`).
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// Where a configuration sends its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// An SQS queue ARN: the event is sent as a message.
    #[serde(rename = "queue_arn")]
    Queue(String),
    /// A Lambda function ARN (maybe with a version or alias): the function is invoked
    /// asynchronously with the event.
    #[serde(rename = "function_arn")]
    Function(String),
}

impl Destination {
    /// The ARN the configuration names.
    pub fn arn(&self) -> &str {
        match self {
            Self::Queue(arn) | Self::Function(arn) => arn,
        }
    }
}

/// The event types eddy emits.
pub const EVENT_TYPES: &[&str] = &[
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
];

/// Whether a configured event type (maybe a wildcard) covers `event` (`s3:...`).
pub fn event_matches(configured: &str, event: &str) -> bool {
    match configured.strip_suffix('*') {
        Some(prefix) => event.starts_with(prefix),
        None => configured == event,
    }
}

/// Every event type a notification configuration may name (the `Event` enum of S3's
/// service model). eddy emits the ones in [`EVENT_TYPES`]; the rest are accepted and
/// never fire, as on a bucket where those things do not happen.
pub const CONFIGURABLE_EVENT_TYPES: &[&str] = &[
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
];

/// Whether a configured event type is one S3 knows.
pub fn is_known_event_type(configured: &str) -> bool {
    CONFIGURABLE_EVENT_TYPES.contains(&configured)
}

/// Why a configuration does not fire for an object change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("event type {event} is not among the configured ones ({configured})")]
    EventType { event: String, configured: String },
    #[error("key does not start with the prefix filter {0:?}")]
    Prefix(String),
    #[error("key does not end with the suffix filter {0:?}")]
    Suffix(String),
}

impl NotificationConfig {
    /// Whether this configuration fires for `event` on `key`. Filters are compared with
    /// the key in its event encoding, as S3 does.
    pub fn matches(&self, event: &str, key: &str) -> bool {
        self.explain(event, key).is_ok()
    }

    /// Why this configuration does or does not fire for `event` on `key`: the first
    /// rule (event type, prefix, suffix) that rules it out.
    pub fn explain(&self, event: &str, key: &str) -> Result<(), Mismatch> {
        if !self.events.iter().any(|e| event_matches(e, event)) {
            return Err(Mismatch::EventType {
                event: event.to_owned(),
                configured: self.events.join(", "),
            });
        }
        let encoded = encode_key(key);
        if let Some(prefix) = self.prefix.as_deref()
            && !(encoded.starts_with(prefix) || key.starts_with(prefix))
        {
            return Err(Mismatch::Prefix(prefix.to_owned()));
        }
        if let Some(suffix) = self.suffix.as_deref()
            && !(encoded.ends_with(suffix) || key.ends_with(suffix))
        {
            return Err(Mismatch::Suffix(suffix.to_owned()));
        }
        Ok(())
    }

    fn shares_event_type(&self, other: &Self) -> bool {
        self.events.iter().any(|a| {
            other
                .events
                .iter()
                .any(|b| event_matches(a, b) || event_matches(b, a) || overlap_wildcards(a, b))
        })
    }
}

fn overlap_wildcards(a: &str, b: &str) -> bool {
    let stem = |s: &str| s.trim_end_matches('*').to_owned();
    let (a, b) = (stem(a), stem(b));
    a.starts_with(&b) || b.starts_with(&a)
}

/// Whether two configurations overlap: a common event type, and filters some key
/// could satisfy both of (prefixes where one starts the other, suffixes where one ends
/// the other; a missing filter matches everything).
pub fn overlaps(a: &NotificationConfig, b: &NotificationConfig) -> bool {
    if !a.shares_event_type(b) {
        return false;
    }
    let prefixes = match (&a.prefix, &b.prefix) {
        (Some(x), Some(y)) => x.starts_with(y.as_str()) || y.starts_with(x.as_str()),
        _ => true,
    };
    let suffixes = match (&a.suffix, &b.suffix) {
        (Some(x), Some(y)) => x.ends_with(y.as_str()) || y.ends_with(x.as_str()),
        _ => true,
    };
    prefixes && suffixes
}

/// What an object change tells the events it causes.
#[derive(Debug, Clone, Default)]
pub struct ChangeContext {
    pub request_id: String,
    pub host_id: String,
    pub source_ip: String,
    /// Who made the change (the event's `userIdentity`).
    pub requester: Requester,
    /// The request's `X-Amzn-Trace-Id`, passed on as the `AWSTraceHeader` system
    /// attribute of the event messages.
    pub trace_header: Option<String>,
}

/// The object side of an event.
#[derive(Debug, Clone)]
pub struct EventObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// `None` for delete events.
    pub size: Option<u64>,
    pub etag: Option<&'a str>,
    /// The version the change made or removed; `None` on buckets that never had
    /// versioning (the field is then absent from the event, as in S3).
    pub version_id: Option<&'a str>,
    pub sequencer: String,
    /// For `s3:ObjectRestore:Completed`: the restored copy's expiry (milliseconds since
    /// the epoch) and the storage class it was restored from.
    pub restored: Option<(u64, &'a str)>,
}

/// The `eventVersion` of an event type: 2.3 for lifecycle, tagging and ACL events
/// (which S3 introduced with that version), 2.1 for the others.
fn event_version(event_name: &str) -> &'static str {
    let name = event_name.trim_start_matches("s3:");
    if [
        "LifecycleExpiration:",
        "ObjectTagging:",
        "ObjectAcl:",
        "ObjectRestore:Delete",
    ]
    .iter()
    .any(|kind| name.starts_with(kind))
    {
        "2.3"
    } else {
        "2.1"
    }
}

/// Who an event names: the requester (`userIdentity`) and the bucket owner
/// (`ownerIdentity`), as their principal ids.
#[derive(Debug, Clone, Copy)]
pub struct EventPrincipals<'a> {
    pub user: &'a str,
    pub owner: &'a str,
}

/// Builds the JSON body of the event for one matching configuration.
pub fn event_body(
    region: &str,
    principals: EventPrincipals<'_>,
    event_name: &str,
    configuration_id: &str,
    object: &EventObject<'_>,
    context: &ChangeContext,
    event_time_ms: u64,
) -> String {
    let record = S3EventRecord {
        event_version: event_version(event_name).to_owned(),
        event_source: "aws:s3".to_owned(),
        aws_region: region.to_owned(),
        event_time: iso8601_millis(event_time_ms),
        event_name: event_name.trim_start_matches("s3:").to_owned(),
        user_identity: PrincipalId {
            principal_id: principals.user.to_owned(),
        },
        request_parameters: RequestParameters {
            source_ip_address: context.source_ip.clone(),
        },
        response_elements: ResponseElements {
            request_id: context.request_id.clone(),
            id_2: context.host_id.clone(),
        },
        s3: S3Entity {
            s3_schema_version: "1.0".to_owned(),
            configuration_id: configuration_id.to_owned(),
            bucket: S3Bucket {
                name: object.bucket.to_owned(),
                owner_identity: PrincipalId {
                    principal_id: principals.owner.to_owned(),
                },
                arn: bucket_arn(object.bucket),
            },
            object: S3Object {
                key: encode_key(object.key),
                size: object.size,
                e_tag: object.etag.map(str::to_owned),
                version_id: object.version_id.map(str::to_owned),
                sequencer: object.sequencer.clone(),
            },
        },
        glacier_event_data: object.restored.map(|(expiry_ms, class)| GlacierEventData {
            restore_event_data: RestoreEventData {
                lifecycle_restoration_expiry_time: iso8601_millis(expiry_ms),
                lifecycle_restore_storage_class: class.to_owned(),
            },
        }),
    };
    let event = S3Event {
        records: vec![record],
    };
    serde_json::to_string(&event).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(events: &[&str], prefix: Option<&str>, suffix: Option<&str>) -> NotificationConfig {
        NotificationConfig {
            id: "c".into(),
            destination: Destination::Queue("arn:aws:sqs:us-east-1:000000000000:q".into()),
            events: events
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            prefix: prefix.map(str::to_owned),
            suffix: suffix.map(str::to_owned),
        }
    }

    #[test]
    fn wildcard_and_filters_match() {
        let c = config(&["s3:ObjectCreated:*"], Some("in/"), Some(".jpg"));
        assert!(c.matches("s3:ObjectCreated:Put", "in/a.jpg"));
        assert!(c.matches("s3:ObjectCreated:CompleteMultipartUpload", "in/b/c.jpg"));
        assert!(!c.matches("s3:ObjectRemoved:Delete", "in/a.jpg"));
        assert!(!c.matches("s3:ObjectCreated:Put", "out/a.jpg"));
        assert!(!c.matches("s3:ObjectCreated:Put", "in/a.png"));
    }

    #[test]
    fn overlap_rules() {
        let all = config(&["s3:ObjectCreated:*"], None, None);
        let put = config(&["s3:ObjectCreated:Put"], Some("a/"), None);
        let removed = config(&["s3:ObjectRemoved:*"], None, None);
        assert!(overlaps(&all, &put));
        assert!(!overlaps(&put, &removed));
        let a = config(&["s3:ObjectCreated:*"], Some("a/"), None);
        let b = config(&["s3:ObjectCreated:*"], Some("b/"), None);
        assert!(!overlaps(&a, &b));
        let jpg = config(&["s3:ObjectCreated:*"], None, Some(".jpg"));
        let png = config(&["s3:ObjectCreated:*"], None, Some(".png"));
        assert!(!overlaps(&jpg, &png));
        let xjpg = config(&["s3:ObjectCreated:*"], None, Some("x.jpg"));
        assert!(overlaps(&jpg, &xjpg));
    }

    #[test]
    fn stored_configurations_keep_their_json_shape() {
        let old = r#"{"id":"c","queue_arn":"arn:q","events":["s3:ObjectCreated:*"],"prefix":null,"suffix":null}"#;
        let parsed: NotificationConfig = serde_json::from_str(old).expect("old shape");
        assert_eq!(parsed.destination, Destination::Queue("arn:q".into()));
        let function = NotificationConfig {
            destination: Destination::Function("arn:f".into()),
            ..parsed
        };
        let json = serde_json::to_string(&function).expect("json");
        assert!(json.contains(r#""function_arn":"arn:f""#), "{json}");
        assert_eq!(
            serde_json::from_str::<NotificationConfig>(&json).expect("back"),
            function
        );
    }
}
