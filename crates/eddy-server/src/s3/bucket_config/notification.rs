//! Bucket notifications (Get/PutBucketNotificationConfiguration): SQS queue targets,
//! validated with the codes and messages S3 gives. Storing a configuration makes the
//! store send the `s3:TestEvent`.

use s3s::dto::{
    Event, FilterRule, FilterRuleName, GetBucketNotificationConfigurationInput,
    GetBucketNotificationConfigurationOutput, NotificationConfiguration,
    NotificationConfigurationFilter, PutBucketNotificationConfigurationInput,
    PutBucketNotificationConfigurationOutput, QueueConfiguration, S3KeyFilter,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{QueueNotification, notification_rules as notify};

use crate::s3::convert::context;
use crate::s3::errors::{malformed_xml, to_wire, with_elements};
use eddy_events::arn::parse_queue_arn;

pub(in crate::s3) async fn get_bucket_notification_configuration(
    store: &Store,
    req: S3Request<GetBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
    let configs = store
        .notifications()
        .get(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    let queue_configurations = configs
        .into_iter()
        .map(|c| {
            let mut rules = Vec::new();
            // S3 answers `Prefix`/`Suffix` whatever case the configuration used.
            for (name, value) in [("Prefix", c.prefix), ("Suffix", c.suffix)] {
                if let Some(value) = value {
                    rules.push(FilterRule {
                        name: Some(FilterRuleName::from(name.to_owned())),
                        value: Some(value),
                    });
                }
            }
            QueueConfiguration {
                events: c.events.into_iter().map(Event::from).collect(),
                filter: (!rules.is_empty()).then_some(NotificationConfigurationFilter {
                    key: Some(S3KeyFilter {
                        filter_rules: Some(rules),
                    }),
                }),
                id: Some(c.id),
                queue_arn: c.queue_arn,
            }
        })
        .collect::<Vec<_>>();
    Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
        queue_configurations: (!queue_configurations.is_empty()).then_some(queue_configurations),
        ..Default::default()
    }))
}

pub(in crate::s3) async fn put_bucket_notification_configuration(
    store: &Store,
    req: S3Request<PutBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
    let configs = validate_notifications(&req.input.notification_configuration)?;
    let context = context(&req);
    store
        .notifications()
        .put(&req.input.bucket, configs, context)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutBucketNotificationConfigurationOutput {}))
}

/// The prefix and suffix of a configuration's key filter, validated as S3 validates
/// them: a rule without a name or a value is malformed XML, names are `prefix` or
/// `suffix` in any case, once each, and values at most 1024 characters long.
fn filter_rules(
    filter: Option<&NotificationConfigurationFilter>,
) -> S3Result<(Option<String>, Option<String>)> {
    let (mut prefix, mut suffix) = (None, None);
    for rule in filter
        .and_then(|f| f.key.as_ref())
        .and_then(|k| k.filter_rules.as_ref())
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(value)) = (rule.name.as_ref(), rule.value.as_ref()) else {
            return Err(malformed_xml());
        };
        let name = name.as_str();
        let slot = match name.to_ascii_lowercase().as_str() {
            "prefix" => &mut prefix,
            "suffix" => &mut suffix,
            _ => {
                return Err(with_elements(
                    s3_error!(
                        InvalidArgument,
                        "filter rule name must be either prefix or suffix"
                    ),
                    &[("ArgumentName", "FilterRule.Name"), ("ArgumentValue", name)],
                ));
            }
        };
        if slot.is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "Cannot specify more than one {} rule in a filter.",
                name.to_ascii_lowercase()
            ));
        }
        if value.len() > 1024 {
            return Err(s3_error!(
                InvalidArgument,
                "The filter rule value is longer than 1024 characters."
            ));
        }
        *slot = Some(value.clone());
    }
    Ok((prefix, suffix))
}

/// A notification configuration as the store stores it, validated as S3 validates it.
fn validate_notifications(
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
        // `Event` is a required element of a QueueConfiguration.
        if events.is_empty() {
            return Err(malformed_xml());
        }
        for event in &events {
            if !notify::is_known_event_type(event) {
                return Err(s3_error!(
                    InvalidArgument,
                    "The event is not supported for notifications"
                ));
            }
        }
        if parse_queue_arn(&queue.queue_arn).is_none() {
            return Err(with_elements(
                s3_error!(InvalidArgument, "The ARN could not be parsed"),
                &[
                    ("ArgumentName", "QueueArn"),
                    ("ArgumentValue", &queue.queue_arn),
                ],
            ));
        }
        let (prefix, suffix) = filter_rules(queue.filter.as_ref())?;
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
