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
use crate::s3::errors::{malformed_xml, to_wire, with_elements};
use eddy_events::arn::parse_queue_arn;

/// A stored configuration's filter as S3 returns it.
fn filter_of(config: &NotificationConfig) -> Option<NotificationConfigurationFilter> {
    let mut rules = Vec::new();
    // S3 answers `Prefix`/`Suffix` whatever case the configuration used.
    for (name, value) in [("Prefix", &config.prefix), ("Suffix", &config.suffix)] {
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

/// One configuration checked: known events, a queue ARN, at most one prefix and one
/// suffix rule.
fn validate_one(requested: Requested<'_>, index: usize) -> S3Result<NotificationConfig> {
    let events: Vec<String> = requested
        .events
        .iter()
        .map(|e| e.as_ref().to_owned())
        .collect();
    // `Event` is a required element of every configuration.
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
    if let Destination::Queue(arn) = &requested.destination
        && parse_queue_arn(arn).is_none()
    {
        return Err(with_elements(
            s3_error!(InvalidArgument, "The ARN could not be parsed"),
            &[("ArgumentName", "QueueArn"), ("ArgumentValue", arn)],
        ));
    }
    let (prefix, suffix) = filter_rules(requested.filter)?;
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
