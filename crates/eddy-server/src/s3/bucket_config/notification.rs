//! Bucket notifications (Get/PutBucketNotificationConfiguration): SQS queue targets
//! (`QueueConfigurations`) and Lambda function targets (`LambdaFunctionConfigurations`),
//! validated with the codes and messages S3 gives (the store checks that the
//! destinations exist and that each function lets S3 invoke it). Storing a
//! configuration makes the store send the `s3:TestEvent` to its queues.

use s3s::dto::{
    Event, FilterRule, FilterRuleName, GetBucketNotificationConfigurationInput,
    GetBucketNotificationConfigurationOutput, LambdaFunctionConfiguration,
    NotificationConfiguration, NotificationConfigurationFilter,
    PutBucketNotificationConfigurationInput, PutBucketNotificationConfigurationOutput,
    QueueConfiguration, S3KeyFilter,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{Destination, NotificationConfig, notification_rules as notify};

use crate::s3::convert::context;
use crate::s3::errors::to_wire;

/// A stored configuration's filter as S3 returns it.
fn filter_of(config: &NotificationConfig) -> Option<NotificationConfigurationFilter> {
    let mut rules = Vec::new();
    for (name, value) in [("prefix", &config.prefix), ("suffix", &config.suffix)] {
        if let Some(value) = value {
            rules.push(FilterRule {
                name: Some(FilterRuleName::from(name.to_owned())),
                value: Some(value.clone()),
            });
        }
    }
    (!rules.is_empty()).then_some(NotificationConfigurationFilter {
        key: Some(S3KeyFilter {
            filter_rules: Some(rules),
        }),
    })
}

pub(in crate::s3) async fn get_bucket_notification_configuration(
    store: &Store,
    req: S3Request<GetBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
    let configs = store
        .notifications()
        .get(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    let mut queue_configurations = Vec::new();
    let mut lambda_function_configurations = Vec::new();
    for config in configs {
        let filter = filter_of(&config);
        let events: Vec<Event> = config.events.into_iter().map(Event::from).collect();
        match config.destination {
            Destination::Queue(queue_arn) => queue_configurations.push(QueueConfiguration {
                events,
                filter,
                id: Some(config.id),
                queue_arn,
            }),
            Destination::Function(lambda_function_arn) => {
                lambda_function_configurations.push(LambdaFunctionConfiguration {
                    events,
                    filter,
                    id: Some(config.id),
                    lambda_function_arn,
                });
            }
        }
    }
    Ok(S3Response::new(GetBucketNotificationConfigurationOutput {
        queue_configurations: (!queue_configurations.is_empty()).then_some(queue_configurations),
        lambda_function_configurations: (!lambda_function_configurations.is_empty())
            .then_some(lambda_function_configurations),
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

/// One configuration of a request, whichever its kind.
struct Requested<'a> {
    kind: &'static str,
    id: Option<&'a String>,
    events: &'a [Event],
    filter: Option<&'a NotificationConfigurationFilter>,
    destination: Destination,
}

/// A notification configuration as the store stores it, validated as S3 validates it.
fn validate_notifications(
    configuration: &NotificationConfiguration,
) -> S3Result<Vec<NotificationConfig>> {
    if configuration
        .topic_configurations
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(
            InvalidArgument,
            "eddy delivers bucket notifications to SQS queues and Lambda functions only (QueueConfigurations, LambdaFunctionConfigurations): it has no SNS."
        ));
    }
    let queues = configuration
        .queue_configurations
        .iter()
        .flatten()
        .map(|q| Requested {
            kind: "QueueConfiguration",
            id: q.id.as_ref(),
            events: &q.events,
            filter: q.filter.as_ref(),
            destination: Destination::Queue(q.queue_arn.clone()),
        });
    let functions = configuration
        .lambda_function_configurations
        .iter()
        .flatten()
        .map(|l| Requested {
            kind: "LambdaFunctionConfiguration",
            id: l.id.as_ref(),
            events: &l.events,
            filter: l.filter.as_ref(),
            destination: Destination::Function(l.lambda_function_arn.clone()),
        });
    let mut configs: Vec<NotificationConfig> = Vec::new();
    for (i, requested) in queues.chain(functions).enumerate() {
        let config = validate_one(requested, i)?;
        if configs.iter().any(|c| notify::overlaps(c, &config)) {
            return Err(s3_error!(
                InvalidArgument,
                "Configurations overlap. Configurations on the same bucket cannot share a common event type."
            ));
        }
        configs.push(config);
    }
    Ok(configs)
}

/// One configuration checked: known events, at most one prefix and one suffix rule.
fn validate_one(requested: Requested<'_>, index: usize) -> S3Result<NotificationConfig> {
    let events: Vec<String> = requested
        .events
        .iter()
        .map(|e| e.as_ref().to_owned())
        .collect();
    if events.is_empty() {
        return Err(s3_error!(
            InvalidArgument,
            "A {} needs at least one event.",
            requested.kind
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
    for rule in requested
        .filter
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
    Ok(NotificationConfig {
        id: requested
            .id
            .cloned()
            .unwrap_or_else(|| format!("eddy-notification-{}", index + 1)),
        destination: requested.destination,
        events,
        prefix,
        suffix,
    })
}
