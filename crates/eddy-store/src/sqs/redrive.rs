//! Dead-letter queue policies: a queue's RedrivePolicy (where its messages go after
//! maxReceiveCount receives) and a dead-letter queue's RedriveAllowPolicy (which
//! queues may use it), parsed and checked as SQS does.

use serde::Deserialize;

use super::error::{SqsError, SqsErrorKind};

/// `{"deadLetterTargetArn": ..., "maxReceiveCount": N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
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

/// Error for a queue that does not let `source_arn` use it as dead-letter queue.
pub(crate) fn redrive_not_allowed(source_arn: &str, dlq_arn: &str) -> SqsError {
    SqsError::new(
        SqsErrorKind::InvalidParameterValue,
        format!(
            "Value for parameter RedrivePolicy is invalid. Reason: Queue {dlq_arn} does not allow {source_arn} to use it as a dead-letter queue (RedriveAllowPolicy)."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn redrive_allow_policies() {
        let by_queue = parse_redrive_allow_policy(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:a"]}"#,
        )
        .expect("valid");
        assert!(by_queue.allows("arn:a") && !by_queue.allows("arn:b"));
        assert!(parse_redrive_allow_policy(r#"{"redrivePermission":"byQueue"}"#).is_err());
        assert_eq!(
            parse_redrive_allow_policy(r#"{"redrivePermission":"denyAll"}"#).expect("valid"),
            RedriveAllowPolicy::DenyAll
        );
    }
}
