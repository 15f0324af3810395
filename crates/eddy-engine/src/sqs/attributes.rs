//! Queue attributes: defaults, validation of the settable ones, and typed access to the
//! ones the engine acts on.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::{SqsError, SqsErrorKind};

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

/// The stored, settable attributes of a queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueAttributes(pub BTreeMap<String, String>);

/// `{"deadLetterTargetArn": ..., "maxReceiveCount": N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
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

/// Parses a RedrivePolicy value (maxReceiveCount may be a number or a string).
pub fn parse_redrive_policy(value: &str) -> Result<RedrivePolicy, SqsError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        dead_letter_target_arn: Option<String>,
        max_receive_count: Option<serde_json::Value>,
    }
    let invalid = |reason: &str| {
        SqsError::new(
            SqsErrorKind::InvalidParameterValue,
            format!("Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}"),
        )
    };
    let raw: Raw = serde_json::from_str(value)
        .map_err(|_| invalid("Redrive policy is not a valid JSON map."))?;
    let arn = raw.dead_letter_target_arn.ok_or_else(|| {
        invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    })?;
    let count = match raw.max_receive_count {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => {
            return Err(invalid(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
    }
    .filter(|n| (1..=1000).contains(n))
    .ok_or_else(|| {
        invalid("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
    })?;
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn,
        max_receive_count: count as u32,
    })
}

/// `{"redrivePermission": "allowAll"|"denyAll"|"byQueue", "sourceQueueArns": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveAllowPolicy {
    AllowAll,
    DenyAll,
    ByQueue(Vec<String>),
}

impl RedriveAllowPolicy {
    /// Whether the queue `source_arn` may use a queue with this policy as its DLQ.
    pub fn allows(&self, source_arn: &str) -> bool {
        match self {
            RedriveAllowPolicy::AllowAll => true,
            RedriveAllowPolicy::DenyAll => false,
            RedriveAllowPolicy::ByQueue(arns) => arns.iter().any(|a| a == source_arn),
        }
    }
}

/// Parses and checks a RedriveAllowPolicy value.
pub fn parse_redrive_allow_policy(value: &str) -> Result<RedriveAllowPolicy, SqsError> {
    let invalid = |reason: &str| {
        SqsError::new(
            SqsErrorKind::InvalidAttributeValue,
            format!("Invalid value for the parameter RedriveAllowPolicy. Reason: {reason}"),
        )
    };
    let json: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| invalid("Amazon SQS can't parse the redrive allow policy as JSON."))?;
    let permission = json
        .get("redrivePermission")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("Redrive allow policy must contain redrivePermission."))?;
    let arns = json.get("sourceQueueArns");
    match (permission, arns) {
        ("allowAll", None) => Ok(RedriveAllowPolicy::AllowAll),
        ("denyAll", None) => Ok(RedriveAllowPolicy::DenyAll),
        ("allowAll" | "denyAll", Some(_)) => Err(invalid(
            "Only specify sourceQueueArns with redrivePermission set to byQueue.",
        )),
        ("byQueue", Some(serde_json::Value::Array(items))) => {
            let arns: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            if arns.is_empty() || arns.len() != items.len() || arns.len() > 10 {
                return Err(invalid(
                    "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.",
                ));
            }
            Ok(RedriveAllowPolicy::ByQueue(arns))
        }
        ("byQueue", _) => Err(invalid(
            "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.",
        )),
        _ => Err(invalid(
            "redrivePermission must be allowAll, denyAll or byQueue.",
        )),
    }
}

/// Attributes that only FIFO queues have.
const FIFO_ONLY: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

impl QueueAttributes {
    /// The defaults of a new queue.
    pub fn defaults(fifo: bool) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in [
            ("DelaySeconds", "0"),
            ("MaximumMessageSize", "1048576"),
            ("MessageRetentionPeriod", "345600"),
            ("ReceiveMessageWaitTimeSeconds", "0"),
            ("VisibilityTimeout", "30"),
            ("SqsManagedSseEnabled", "true"),
        ] {
            map.insert(k.to_owned(), v.to_owned());
        }
        if fifo {
            map.insert("FifoQueue".into(), "true".into());
            map.insert("ContentBasedDeduplication".into(), "false".into());
            map.insert("DeduplicationScope".into(), "queue".into());
            map.insert("FifoThroughputLimit".into(), "perQueue".into());
        }
        Self(map)
    }

    /// Validates and applies `changes`. `creating` allows FifoQueue.
    pub fn apply(
        &mut self,
        changes: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<(), SqsError> {
        let fifo =
            self.fifo() || (creating && changes.get("FifoQueue").is_some_and(|v| v == "true"));
        for (name, value) in changes {
            if !SETTABLE.contains(&name.as_str()) || (!fifo && FIFO_ONLY.contains(&name.as_str())) {
                return Err(SqsError::new(
                    SqsErrorKind::InvalidAttributeName,
                    format!("Unknown Attribute {name}."),
                ));
            }
            match name.as_str() {
                "DelaySeconds" => {
                    range(name, value, 0, 900)?;
                }
                "MaximumMessageSize" => {
                    range(name, value, 1024, 1_048_576)?;
                }
                "MessageRetentionPeriod" => {
                    range(name, value, 60, 1_209_600)?;
                }
                "ReceiveMessageWaitTimeSeconds" => {
                    range(name, value, 0, 20)?;
                }
                "VisibilityTimeout" => {
                    range(name, value, 0, 43_200)?;
                }
                "KmsDataKeyReusePeriodSeconds" => {
                    range(name, value, 60, 86_400)?;
                }
                "RedrivePolicy" if !value.is_empty() => {
                    parse_redrive_policy(value)?;
                }
                "RedriveAllowPolicy" if !value.is_empty() => {
                    parse_redrive_allow_policy(value)?;
                }
                "Policy"
                    if !value.is_empty()
                        && !serde_json::from_str::<serde_json::Value>(value)
                            .is_ok_and(|v| v.is_object()) =>
                {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidAttributeValue,
                        "Invalid value for the parameter Policy.",
                    ));
                }
                "DeduplicationScope" if value != "messageGroup" && value != "queue" => {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidAttributeValue,
                        format!("Invalid value for the parameter DeduplicationScope: {value}."),
                    ));
                }
                "FifoThroughputLimit" if value != "perQueue" && value != "perMessageGroupId" => {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidAttributeValue,
                        format!("Invalid value for the parameter FifoThroughputLimit: {value}."),
                    ));
                }
                "FifoQueue" if !creating => {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidAttributeName,
                        "Unknown Attribute FifoQueue.",
                    ));
                }
                "ContentBasedDeduplication" | "SqsManagedSseEnabled"
                    if value != "true" && value != "false" =>
                {
                    return Err(SqsError::new(
                        SqsErrorKind::InvalidAttributeValue,
                        format!("Invalid value for the parameter {name}."),
                    ));
                }
                _ => {}
            }
            if value.is_empty()
                && matches!(
                    name.as_str(),
                    "RedrivePolicy" | "RedriveAllowPolicy" | "Policy"
                )
            {
                self.0.remove(name);
            } else if name == "RedrivePolicy" {
                // Stored (and reported) the way AWS writes it back: maxReceiveCount a number.
                let policy = parse_redrive_policy(value)?;
                let normalized = serde_json::json!({
                    "deadLetterTargetArn": policy.dead_letter_target_arn,
                    "maxReceiveCount": policy.max_receive_count,
                });
                self.0.insert(name.clone(), normalized.to_string());
            } else {
                self.0.insert(name.clone(), value.clone());
            }
        }
        self.settle_encryption(changes);
        Ok(())
    }

    /// One server-side encryption per queue: a KMS key turns SSE-SQS off (and brings the
    /// data key reuse period, default 300 s), SSE-SQS turned on drops the KMS key.
    fn settle_encryption(&mut self, changes: &BTreeMap<String, String>) {
        let kms_set = changes
            .get("KmsMasterKeyId")
            .is_some_and(|key| !key.is_empty());
        if kms_set {
            if !changes.contains_key("SqsManagedSseEnabled") {
                self.0.insert("SqsManagedSseEnabled".into(), "false".into());
            }
            self.0
                .entry("KmsDataKeyReusePeriodSeconds".into())
                .or_insert_with(|| "300".into());
        } else if changes
            .get("SqsManagedSseEnabled")
            .is_some_and(|v| v == "true")
        {
            self.0.remove("KmsMasterKeyId");
            self.0.remove("KmsDataKeyReusePeriodSeconds");
        }
        if changes.get("KmsMasterKeyId").is_some_and(String::is_empty) {
            self.0.remove("KmsMasterKeyId");
            self.0.remove("KmsDataKeyReusePeriodSeconds");
        }
    }

    fn number(&self, name: &str, default: u64) -> u64 {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub fn visibility_timeout(&self) -> u64 {
        self.number("VisibilityTimeout", 30)
    }

    pub fn delay_seconds(&self) -> u64 {
        self.number("DelaySeconds", 0)
    }

    pub fn maximum_message_size(&self) -> u64 {
        self.number("MaximumMessageSize", 1_048_576)
    }

    pub fn retention_seconds(&self) -> u64 {
        self.number("MessageRetentionPeriod", 345_600)
    }

    pub fn wait_time_seconds(&self) -> u64 {
        self.number("ReceiveMessageWaitTimeSeconds", 0)
    }

    pub fn fifo(&self) -> bool {
        self.0.get("FifoQueue").is_some_and(|v| v == "true")
    }

    pub fn content_based_deduplication(&self) -> bool {
        self.0
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true")
    }

    /// Whether deduplication ids are scoped to their message group.
    pub fn deduplication_per_group(&self) -> bool {
        self.0
            .get("DeduplicationScope")
            .is_some_and(|v| v == "messageGroup")
    }

    pub fn redrive_allow_policy(&self) -> RedriveAllowPolicy {
        self.0
            .get("RedriveAllowPolicy")
            .and_then(|v| parse_redrive_allow_policy(v).ok())
            .unwrap_or(RedriveAllowPolicy::AllowAll)
    }

    pub fn redrive_policy(&self) -> Option<RedrivePolicy> {
        self.0
            .get("RedrivePolicy")
            .and_then(|v| parse_redrive_policy(v).ok())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn from_json(json: &str) -> Self {
        Self(serde_json::from_str(json).unwrap_or_default())
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
        assert_eq!(attrs.visibility_timeout(), 5);
    }

    #[test]
    fn one_server_side_encryption_at_a_time() {
        let mut attrs = QueueAttributes::defaults(false);
        let kms = BTreeMap::from([("KmsMasterKeyId".to_owned(), "alias/aws/sqs".to_owned())]);
        attrs.apply(&kms, false).expect("kms");
        assert_eq!(attrs.0["SqsManagedSseEnabled"], "false");
        assert_eq!(attrs.0["KmsDataKeyReusePeriodSeconds"], "300");
        let sse = BTreeMap::from([("SqsManagedSseEnabled".to_owned(), "true".to_owned())]);
        attrs.apply(&sse, false).expect("sse");
        assert!(!attrs.0.contains_key("KmsMasterKeyId"));
        assert_eq!(attrs.0["SqsManagedSseEnabled"], "true");
    }

    #[test]
    fn parses_redrive_policy() {
        let p = parse_redrive_policy(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#)
            .expect("valid");
        assert_eq!(p.max_receive_count, 3);
        assert!(parse_redrive_policy(r#"{"maxReceiveCount":3}"#).is_err());
        assert!(
            parse_redrive_policy(r#"{"deadLetterTargetArn":"x","maxReceiveCount":0}"#).is_err()
        );
    }
}
