//! Queue attributes as typed fields: parsed and validated once (at CreateQueue and
//! SetQueueAttributes), stored as the JSON map of attribute names to strings that
//! GetQueueAttributes reports, and read back from that map when a queue is loaded.
//! Each default is written once, in [`QueueAttributes::defaults`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::{SqsError, SqsErrorKind};
use super::redrive::{
    RedriveAllowPolicy, RedrivePolicy, parse_redrive_allow_policy, parse_redrive_policy,
};

/// Attributes a client may set (at creation or with SetQueueAttributes).
pub const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "SqsManagedSseEnabled",
];

/// Every attribute name GetQueueAttributes knows.
pub const ALL_NAMES: &[&str] = &[
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
];

/// Attributes that only FIFO queues have.
const FIFO_ONLY: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// The settable attributes of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAttributes {
    /// `DelaySeconds`: how long a new message stays hidden (0..=900).
    pub delay_seconds: u64,
    /// `MaximumMessageSize` in bytes (1024..=1048576).
    pub maximum_message_size: u64,
    /// `MessageRetentionPeriod` in seconds (60..=1209600).
    pub message_retention_period: u64,
    /// `ReceiveMessageWaitTimeSeconds`: the default long-poll wait (0..=20).
    pub receive_message_wait_time_seconds: u64,
    /// `VisibilityTimeout` in seconds (0..=43200).
    pub visibility_timeout: u64,
    /// `Policy`: a JSON object, stored and reported as given (not enforced).
    pub policy: Option<String>,
    /// `RedrivePolicy`: where messages go after maxReceiveCount receives.
    pub redrive_policy: Option<RedrivePolicy>,
    /// `RedriveAllowPolicy`: which queues may use this one as dead-letter queue.
    pub redrive_allow_policy: Option<RedriveAllowSetting>,
    /// The FIFO settings; `None` for a standard queue (`FifoQueue` absent).
    pub fifo: Option<FifoAttributes>,
    /// `KmsMasterKeyId` (stored, messages are not encrypted).
    pub kms_master_key_id: Option<String>,
    /// `KmsDataKeyReusePeriodSeconds` (60..=86400).
    pub kms_data_key_reuse_period_seconds: Option<u64>,
    /// `SqsManagedSseEnabled`.
    pub sqs_managed_sse_enabled: bool,
}

/// A RedriveAllowPolicy: its meaning, and the text it was set as (reported back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveAllowSetting {
    pub policy: RedriveAllowPolicy,
    pub text: String,
}

/// The attributes only FIFO queues have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FifoAttributes {
    /// `ContentBasedDeduplication`: the body's SHA-256 is the deduplication id.
    pub content_based_deduplication: bool,
    /// `DeduplicationScope`.
    pub deduplication_scope: DeduplicationScope,
    /// `FifoThroughputLimit` (honoured for deduplication only).
    pub throughput_limit: FifoThroughputLimit,
}

/// Whether deduplication ids are unique per queue or per message group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeduplicationScope {
    #[default]
    Queue,
    MessageGroup,
}

impl DeduplicationScope {
    const NAMES: &[(Self, &str)] = &[(Self::Queue, "queue"), (Self::MessageGroup, "messageGroup")];

    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }
}

/// `FifoThroughputLimit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FifoThroughputLimit {
    #[default]
    PerQueue,
    PerMessageGroupId,
}

impl FifoThroughputLimit {
    const NAMES: &[(Self, &str)] = &[
        (Self::PerQueue, "perQueue"),
        (Self::PerMessageGroupId, "perMessageGroupId"),
    ];

    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }
}

/// The attribute value that names `variant` in a table of (variant, name).
fn name_of<T: PartialEq>(names: &[(T, &'static str)], variant: T) -> &'static str {
    names
        .iter()
        .find(|(v, _)| *v == variant)
        .map_or("", |(_, name)| name)
}

/// The variant a table of (variant, name) names `value`, or an InvalidAttributeValue
/// error naming the attribute.
fn variant_of<T: Copy>(names: &[(T, &str)], attribute: &str, value: &str) -> Result<T, SqsError> {
    names
        .iter()
        .find(|(_, name)| *name == value)
        .map(|(v, _)| *v)
        .ok_or_else(|| {
            invalid_value(format!(
                "Invalid value for the parameter {attribute}: {value}."
            ))
        })
}

fn range(name: &str, value: &str, min: u64, max: u64) -> Result<u64, SqsError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(SqsError::new(
            SqsErrorKind::InvalidAttributeValue,
            format!(
                "Invalid value for the parameter {name}. Reason: must be an integer from {min} to {max}."
            ),
        )),
    }
}

/// A boolean attribute value: SQS reads `true` and `false` in any letter case.
pub fn boolean(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Whether an optional boolean attribute value is present and true.
pub fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| boolean(v) == Some(true))
}

/// The error for an attribute only FIFO queues have, set on a standard queue.
fn fifo_only(name: &str) -> SqsError {
    let message = match name {
        "DeduplicationScope" | "FifoThroughputLimit" => {
            format!("You can specify the {name} only when FifoQueue is set to true.")
        }
        _ => format!("Unknown Attribute {name}."),
    };
    SqsError::new(SqsErrorKind::InvalidAttributeName, message)
}

fn invalid_value(message: String) -> SqsError {
    SqsError::new(SqsErrorKind::InvalidAttributeValue, message)
}

impl QueueAttributes {
    /// The attributes of a new queue.
    pub fn defaults(fifo: bool) -> Self {
        Self {
            delay_seconds: 0,
            maximum_message_size: 1_048_576,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            visibility_timeout: 30,
            policy: None,
            redrive_policy: None,
            redrive_allow_policy: None,
            fifo: fifo.then(FifoAttributes::default),
            kms_master_key_id: None,
            kms_data_key_reuse_period_seconds: None,
            sqs_managed_sse_enabled: true,
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.fifo.is_some()
    }

    /// Whether deduplication ids are scoped to their message group.
    pub fn deduplication_per_group(&self) -> bool {
        self.fifo
            .is_some_and(|f| f.deduplication_scope == DeduplicationScope::MessageGroup)
    }

    /// The RedriveAllowPolicy in force (none set: every queue may use this one).
    pub fn redrive_allow(&self) -> &RedriveAllowPolicy {
        const ALLOW_ALL: &RedriveAllowPolicy = &RedriveAllowPolicy::AllowAll;
        self.redrive_allow_policy
            .as_ref()
            .map_or(ALLOW_ALL, |setting| &setting.policy)
    }

    /// Validates and applies `changes` (attribute name to value). `creating` lets
    /// FifoQueue make the queue a FIFO queue.
    pub fn apply(
        &mut self,
        changes: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<(), SqsError> {
        let fifo = self.is_fifo() || (creating && is_true(changes.get("FifoQueue")));
        for (name, value) in changes {
            if !SETTABLE.contains(&name.as_str()) {
                return Err(SqsError::new(
                    SqsErrorKind::InvalidAttributeName,
                    format!("Unknown Attribute {name}."),
                ));
            }
            if !fifo && (FIFO_ONLY.contains(&name.as_str()) || name == "FifoQueue") {
                return Err(fifo_only(name));
            }
            self.apply_one(name, value)?;
        }
        self.settle_encryption(changes);
        Ok(())
    }

    /// Validates and applies one settable attribute; an invalid value changes nothing.
    fn apply_one(&mut self, name: &str, value: &str) -> Result<(), SqsError> {
        match name {
            "DelaySeconds" => self.delay_seconds = range(name, value, 0, 900)?,
            "MaximumMessageSize" => {
                self.maximum_message_size = range(name, value, 1024, 1_048_576)?;
            }
            "MessageRetentionPeriod" => {
                self.message_retention_period = range(name, value, 60, 1_209_600)?;
            }
            "ReceiveMessageWaitTimeSeconds" => {
                self.receive_message_wait_time_seconds = range(name, value, 0, 20)?;
            }
            "VisibilityTimeout" => self.visibility_timeout = range(name, value, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_data_key_reuse_period_seconds = Some(range(name, value, 60, 86_400)?);
            }
            "KmsMasterKeyId" => self.kms_master_key_id = Some(value.to_owned()),
            "RedrivePolicy" if value.is_empty() => self.redrive_policy = None,
            "RedrivePolicy" => self.redrive_policy = Some(parse_redrive_policy(value)?),
            "RedriveAllowPolicy" if value.is_empty() => self.redrive_allow_policy = None,
            "RedriveAllowPolicy" => {
                self.redrive_allow_policy = Some(RedriveAllowSetting {
                    policy: parse_redrive_allow_policy(value)?,
                    text: value.to_owned(),
                });
            }
            "Policy" if value.is_empty() => self.policy = None,
            "Policy" => {
                let is_object =
                    serde_json::from_str::<serde_json::Value>(value).is_ok_and(|v| v.is_object());
                if !is_object {
                    return Err(invalid_value(
                        "Invalid value for the parameter Policy.".into(),
                    ));
                }
                self.policy = Some(value.to_owned());
            }
            "DeduplicationScope" => {
                self.fifo_mut().deduplication_scope =
                    variant_of(DeduplicationScope::NAMES, name, value)?;
            }
            "FifoThroughputLimit" => {
                self.fifo_mut().throughput_limit =
                    variant_of(FifoThroughputLimit::NAMES, name, value)?;
            }
            // Standard queues never get here (`apply` refuses FifoQueue for them); a
            // FIFO queue may be told it is one.
            "FifoQueue" if boolean(value) == Some(true) => {
                self.fifo_mut();
            }
            // The queue type never changes (AWS's answer, recorded in LocalStack's
            // test_set_unsupported_attribute_fifo).
            "FifoQueue" => {
                return Err(invalid_value(
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.".into(),
                ));
            }
            "ContentBasedDeduplication" | "SqsManagedSseEnabled" => {
                let flag = boolean(value).ok_or_else(|| {
                    invalid_value(format!("Invalid value for the parameter {name}."))
                })?;
                if name == "SqsManagedSseEnabled" {
                    self.sqs_managed_sse_enabled = flag;
                } else {
                    self.fifo_mut().content_based_deduplication = flag;
                }
            }
            // `apply` lets only settable names through.
            _ => {}
        }
        Ok(())
    }

    fn fifo_mut(&mut self) -> &mut FifoAttributes {
        self.fifo.get_or_insert_with(FifoAttributes::default)
    }

    /// One server-side encryption per queue: a KMS key turns SSE-SQS off (and brings the
    /// data key reuse period, default 300 s), SSE-SQS turned on drops the KMS key.
    fn settle_encryption(&mut self, changes: &BTreeMap<String, String>) {
        let kms_set = changes
            .get("KmsMasterKeyId")
            .is_some_and(|key| !key.is_empty());
        if kms_set {
            if !changes.contains_key("SqsManagedSseEnabled") {
                self.sqs_managed_sse_enabled = false;
            }
            self.kms_data_key_reuse_period_seconds.get_or_insert(300);
        } else if is_true(changes.get("SqsManagedSseEnabled")) {
            self.kms_master_key_id = None;
            self.kms_data_key_reuse_period_seconds = None;
        }
        if changes.get("KmsMasterKeyId").is_some_and(String::is_empty) {
            self.kms_master_key_id = None;
            self.kms_data_key_reuse_period_seconds = None;
        }
    }

    /// The attributes by name, as stored and as GetQueueAttributes reports them.
    pub fn to_map(&self) -> BTreeMap<&'static str, String> {
        let mut map = BTreeMap::from([
            ("DelaySeconds", self.delay_seconds.to_string()),
            ("MaximumMessageSize", self.maximum_message_size.to_string()),
            (
                "MessageRetentionPeriod",
                self.message_retention_period.to_string(),
            ),
            (
                "ReceiveMessageWaitTimeSeconds",
                self.receive_message_wait_time_seconds.to_string(),
            ),
            ("VisibilityTimeout", self.visibility_timeout.to_string()),
            (
                "SqsManagedSseEnabled",
                self.sqs_managed_sse_enabled.to_string(),
            ),
        ]);
        if let Some(policy) = &self.policy {
            map.insert("Policy", policy.clone());
        }
        if let Some(policy) = &self.redrive_policy {
            // Reported the way AWS writes it back: maxReceiveCount a number.
            let normalized = serde_json::json!({
                "deadLetterTargetArn": policy.dead_letter_target_arn,
                "maxReceiveCount": policy.max_receive_count,
            });
            map.insert("RedrivePolicy", normalized.to_string());
        }
        if let Some(setting) = &self.redrive_allow_policy {
            map.insert("RedriveAllowPolicy", setting.text.clone());
        }
        if let Some(fifo) = &self.fifo {
            map.insert("FifoQueue", "true".to_owned());
            map.insert(
                "ContentBasedDeduplication",
                fifo.content_based_deduplication.to_string(),
            );
            map.insert(
                "DeduplicationScope",
                fifo.deduplication_scope.as_str().to_owned(),
            );
            map.insert(
                "FifoThroughputLimit",
                fifo.throughput_limit.as_str().to_owned(),
            );
        }
        if let Some(key) = &self.kms_master_key_id {
            map.insert("KmsMasterKeyId", key.clone());
        }
        if let Some(period) = self.kms_data_key_reuse_period_seconds {
            map.insert("KmsDataKeyReusePeriodSeconds", period.to_string());
        }
        map
    }

    /// The stored form: a JSON object of attribute names to strings.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_map()).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads the stored form back. A value that does not parse (the database was
    /// edited by hand) keeps its default.
    pub fn from_json(json: &str) -> Self {
        let stored: StoredAttributes<'_> = serde_json::from_str(json).unwrap_or_default();
        let fifo = stored.fifo_queue.as_deref() == Some("true");
        let mut attributes = Self::defaults(fifo);
        // Checked when it was set; not parsed again on every load.
        attributes.policy = stored.policy.as_deref().map(str::to_owned);
        for (name, value) in stored.settings() {
            if fifo || !FIFO_ONLY.contains(&name) {
                // A value that fails to parse leaves the attribute unchanged.
                let _ = attributes.apply_one(name, value);
            }
        }
        attributes
    }
}

/// The stored form as it is read on every load of a queue: the values borrowed from
/// the JSON text where they can be, no map built.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StoredAttributes<'a> {
    #[serde(borrow)]
    delay_seconds: Option<Cow<'a, str>>,
    #[serde(borrow)]
    maximum_message_size: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message_retention_period: Option<Cow<'a, str>>,
    #[serde(borrow)]
    receive_message_wait_time_seconds: Option<Cow<'a, str>>,
    #[serde(borrow)]
    visibility_timeout: Option<Cow<'a, str>>,
    #[serde(borrow)]
    policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    redrive_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    redrive_allow_policy: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fifo_queue: Option<Cow<'a, str>>,
    #[serde(borrow)]
    content_based_deduplication: Option<Cow<'a, str>>,
    #[serde(borrow)]
    deduplication_scope: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fifo_throughput_limit: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kms_master_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kms_data_key_reuse_period_seconds: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sqs_managed_sse_enabled: Option<Cow<'a, str>>,
}

impl StoredAttributes<'_> {
    /// The stored settings besides `FifoQueue` and `Policy`, by attribute name.
    fn settings(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("DelaySeconds", &self.delay_seconds),
            ("MaximumMessageSize", &self.maximum_message_size),
            ("MessageRetentionPeriod", &self.message_retention_period),
            (
                "ReceiveMessageWaitTimeSeconds",
                &self.receive_message_wait_time_seconds,
            ),
            ("VisibilityTimeout", &self.visibility_timeout),
            ("RedrivePolicy", &self.redrive_policy),
            ("RedriveAllowPolicy", &self.redrive_allow_policy),
            (
                "ContentBasedDeduplication",
                &self.content_based_deduplication,
            ),
            ("DeduplicationScope", &self.deduplication_scope),
            ("FifoThroughputLimit", &self.fifo_throughput_limit),
            ("KmsMasterKeyId", &self.kms_master_key_id),
            (
                "KmsDataKeyReusePeriodSeconds",
                &self.kms_data_key_reuse_period_seconds,
            ),
            ("SqsManagedSseEnabled", &self.sqs_managed_sse_enabled),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_ranges_and_names() {
        let mut attrs = QueueAttributes::defaults(false);
        let mut changes = BTreeMap::new();
        changes.insert("VisibilityTimeout".to_owned(), "43201".to_owned());
        assert_eq!(
            attrs.apply(&changes, true).map_err(|e| e.kind),
            Err(SqsErrorKind::InvalidAttributeValue)
        );
        changes.clear();
        changes.insert("Bogus".to_owned(), "1".to_owned());
        assert_eq!(
            attrs.apply(&changes, true).map_err(|e| e.kind),
            Err(SqsErrorKind::InvalidAttributeName)
        );
        changes.clear();
        changes.insert("VisibilityTimeout".to_owned(), "5".to_owned());
        attrs.apply(&changes, false).expect("valid");
        assert_eq!(attrs.visibility_timeout, 5);
    }

    #[test]
    fn booleans_in_any_case_and_fifo_only_names() {
        for value in ["true", "True", "TRUE"] {
            let mut attrs = QueueAttributes::defaults(false);
            let changes = BTreeMap::from([
                ("FifoQueue".to_owned(), value.to_owned()),
                ("ContentBasedDeduplication".to_owned(), value.to_owned()),
            ]);
            attrs.apply(&changes, true).expect("valid");
            assert!(attrs.fifo.is_some_and(|f| f.content_based_deduplication));
        }
        let standard = QueueAttributes::defaults(false);
        for (name, message) in [
            ("FifoQueue", "Unknown Attribute FifoQueue."),
            (
                "ContentBasedDeduplication",
                "Unknown Attribute ContentBasedDeduplication.",
            ),
            (
                "DeduplicationScope",
                "You can specify the DeduplicationScope only when FifoQueue is set to true.",
            ),
        ] {
            let changes = BTreeMap::from([(name.to_owned(), "false".to_owned())]);
            let error = standard.clone().apply(&changes, false).expect_err(name);
            assert_eq!(error.kind, SqsErrorKind::InvalidAttributeName);
            assert_eq!(error.message, message);
        }
        let mut fifo = QueueAttributes::defaults(true);
        let again = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
        fifo.apply(&again, false)
            .expect("a FIFO queue may be told it is one");
    }

    #[test]
    fn one_server_side_encryption_at_a_time() {
        let mut attrs = QueueAttributes::defaults(false);
        let kms = BTreeMap::from([("KmsMasterKeyId".to_owned(), "alias/aws/sqs".to_owned())]);
        attrs.apply(&kms, false).expect("kms");
        assert_eq!(attrs.to_map()["SqsManagedSseEnabled"], "false");
        assert_eq!(attrs.to_map()["KmsDataKeyReusePeriodSeconds"], "300");
        let sse = BTreeMap::from([("SqsManagedSseEnabled".to_owned(), "true".to_owned())]);
        attrs.apply(&sse, false).expect("sse");
        assert!(!attrs.to_map().contains_key("KmsMasterKeyId"));
        assert_eq!(attrs.to_map()["SqsManagedSseEnabled"], "true");
    }

    /// The stored form of the defaults is the map every earlier eddy wrote.
    #[test]
    fn stored_form_of_the_defaults() {
        assert_eq!(
            QueueAttributes::defaults(false).to_json(),
            r#"{"DelaySeconds":"0","MaximumMessageSize":"1048576","MessageRetentionPeriod":"345600","ReceiveMessageWaitTimeSeconds":"0","SqsManagedSseEnabled":"true","VisibilityTimeout":"30"}"#
        );
        assert_eq!(
            QueueAttributes::defaults(true).to_json(),
            r#"{"ContentBasedDeduplication":"false","DeduplicationScope":"queue","DelaySeconds":"0","FifoQueue":"true","FifoThroughputLimit":"perQueue","MaximumMessageSize":"1048576","MessageRetentionPeriod":"345600","ReceiveMessageWaitTimeSeconds":"0","SqsManagedSseEnabled":"true","VisibilityTimeout":"30"}"#
        );
    }

    #[test]
    fn round_trips_through_the_stored_form() {
        let mut attrs = QueueAttributes::defaults(true);
        let changes = BTreeMap::from([
            ("ContentBasedDeduplication".to_owned(), "true".to_owned()),
            ("DeduplicationScope".to_owned(), "messageGroup".to_owned()),
            ("Policy".to_owned(), r#"{"Version": "2012-10-17"}"#.to_owned()),
            (
                "RedrivePolicy".to_owned(),
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d.fifo","maxReceiveCount":"4"}"#
                    .to_owned(),
            ),
            (
                "RedriveAllowPolicy".to_owned(),
                r#"{"redrivePermission": "denyAll"}"#.to_owned(),
            ),
            ("KmsMasterKeyId".to_owned(), "alias/aws/sqs".to_owned()),
        ]);
        attrs.apply(&changes, false).expect("valid");
        let stored = attrs.to_json();
        assert_eq!(QueueAttributes::from_json(&stored), attrs);
        let map = attrs.to_map();
        assert_eq!(
            map["RedrivePolicy"],
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d.fifo","maxReceiveCount":4}"#
        );
        assert_eq!(
            map["RedriveAllowPolicy"],
            r#"{"redrivePermission": "denyAll"}"#
        );
        assert!(attrs.deduplication_per_group());
        assert_eq!(attrs.redrive_allow(), &RedriveAllowPolicy::DenyAll);
    }

    #[test]
    fn a_row_of_the_first_release_reads_with_defaults() {
        let attrs = QueueAttributes::from_json("{}");
        assert_eq!(attrs, QueueAttributes::defaults(false));
        let hand_edited = QueueAttributes::from_json(r#"{"VisibilityTimeout":"soon"}"#);
        assert_eq!(hand_edited.visibility_timeout, 30);
    }
}
