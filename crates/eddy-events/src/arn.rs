//! ARNs of the resources eddy serves: `arn:aws:sqs:<region>:<account>:<queue>` and
//! `arn:aws:s3:::<bucket>`.

/// The ARN of an SQS queue.
pub fn queue_arn(region: &str, account_id: &str, queue_name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account_id}:{queue_name}")
}

/// The ARN of an S3 bucket (S3 ARNs carry neither region nor account).
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The parts of an SQS queue ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn {
    pub region: String,
    pub account_id: String,
    pub queue_name: String,
}

/// Splits `arn:aws:sqs:<region>:<account>:<name>`; `None` when it is not a queue ARN.
pub fn parse_queue_arn(arn: &str) -> Option<QueueArn> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return None;
    }
    Some(QueueArn {
        region: region.to_owned(),
        account_id: account.to_owned(),
        queue_name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arn_round_trip() {
        let arn = queue_arn("us-east-1", "000000000000", "file-events");
        assert_eq!(arn, "arn:aws:sqs:us-east-1:000000000000:file-events");
        let parsed = parse_queue_arn(&arn).expect("valid arn");
        assert_eq!(parsed.queue_name, "file-events");
        assert_eq!(parsed.account_id, "000000000000");
        assert_eq!(parsed.region, "us-east-1");
    }

    #[test]
    fn rejects_other_arns() {
        assert!(parse_queue_arn("arn:aws:s3:::bucket").is_none());
        assert!(parse_queue_arn("arn:aws:sqs:us-east-1:000000000000:").is_none());
        assert!(parse_queue_arn("not an arn").is_none());
    }
}
