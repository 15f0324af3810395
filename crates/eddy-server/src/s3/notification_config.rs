//! Validation of bucket notification configurations, with the codes and messages S3
//! gives, and S3's bucket name rules.

use super::*;

pub(super) fn validate_notifications(
    configuration: &NotificationConfiguration,
) -> S3Result<Vec<QueueNotification>> {
    if configuration
        .topic_configurations
        .as_ref()
        .is_some_and(|t| !t.is_empty())
        || configuration
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
    {
        return Err(s3_error!(
            InvalidArgument,
            "eddy delivers bucket notifications to SQS queues only (QueueConfigurations)."
        ));
    }
    let mut configs = Vec::new();
    for (i, queue) in configuration
        .queue_configurations
        .iter()
        .flatten()
        .enumerate()
    {
        let events: Vec<String> = queue.events.iter().map(|e| e.as_ref().to_owned()).collect();
        if events.is_empty() {
            return Err(s3_error!(
                InvalidArgument,
                "A QueueConfiguration needs at least one event."
            ));
        }
        for event in &events {
            if !notify::is_known_event_type(event) {
                return Err(s3_error!(
                    InvalidArgument,
                    "The event is not supported for notifications: {}",
                    event
                ));
            }
        }
        let mut prefix = None;
        let mut suffix = None;
        for rule in queue
            .filter
            .as_ref()
            .and_then(|f| f.key.as_ref())
            .and_then(|k| k.filter_rules.as_ref())
            .into_iter()
            .flatten()
        {
            let name = rule
                .name
                .as_ref()
                .map(|n| n.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            let value = rule.value.clone().unwrap_or_default();
            if value.len() > 1024 {
                return Err(s3_error!(
                    InvalidArgument,
                    "The filter rule value is longer than 1024 characters."
                ));
            }
            let slot = match name.as_str() {
                "prefix" => &mut prefix,
                "suffix" => &mut suffix,
                _ => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "filter rule name must be either prefix or suffix"
                    ));
                }
            };
            if slot.is_some() {
                return Err(s3_error!(
                    InvalidArgument,
                    "Cannot specify more than one {} rule in a filter.",
                    name
                ));
            }
            *slot = Some(value);
        }
        let config = QueueNotification {
            id: queue
                .id
                .clone()
                .unwrap_or_else(|| format!("eddy-notification-{}", i + 1)),
            queue_arn: queue.queue_arn.clone(),
            events,
            prefix,
            suffix,
        };
        if let Some(existing) = configs.iter().find(|c| notify::overlaps(c, &config)) {
            let _: &QueueNotification = existing;
            return Err(s3_error!(
                InvalidArgument,
                "Configurations overlap. Configurations on the same bucket cannot share a common event type."
            ));
        }
        configs.push(config);
    }
    Ok(configs)
}

pub(super) fn valid_bucket_name(name: &str) -> bool {
    let len_ok = (3..=63).contains(&name.len());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let not_ip = name.parse::<std::net::Ipv4Addr>().is_err();
    len_ok && chars_ok && ends_ok && not_ip && !name.contains("..") && !name.starts_with("xn--")
}
