//! Event invoke configurations (under `/2019-09-25/functions/<name>/event-invoke-config`):
//! Put/Get/Update/Delete/ListFunctionEventInvokeConfigs, per function and qualifier,
//! with Lambda's shapes, checks and messages. The pipeline's asynchronous invoker
//! ([`eddy_pipeline::async_invocations`]) applies them: the retries, the event age, and
//! the on-success and on-failure destinations (SQS queues and Lambda functions of this
//! eddy; SNS topics and EventBridge buses are accepted and stored, as Lambda accepts
//! them, but eddy has neither, so nothing is delivered there).

use std::collections::BTreeMap;

use eddy_store::lambda_event_config::EventInvokeConfig;
use serde::{Deserialize, Serialize};

use super::context::LambdaContext;
use super::error::{LambdaError, LambdaErrorKind};

/// The body of Put and UpdateFunctionEventInvokeConfig.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigInput {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

/// `DestinationConfig`, in and out.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    #[serde(default)]
    pub on_success: Option<Destination>,
    #[serde(default)]
    pub on_failure: Option<Destination>,
}

/// `OnSuccess` or `OnFailure`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// `FunctionEventInvokeConfig`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigOutput {
    pub last_modified: f64,
    pub function_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<u32>,
    pub destination_config: DestinationConfig,
}

/// ListFunctionEventInvokeConfigs' answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventInvokeConfigsOutput {
    pub function_event_invoke_configs: Vec<EventInvokeConfigOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// Whether a Put replaces the configuration or an Update changes what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Put,
    Update,
}

fn function_missing() -> LambdaError {
    LambdaError::new(
        LambdaErrorKind::ResourceNotFound,
        "The function doesn't exist.",
    )
}

fn check_range(value: i64, member: &str, min: i64, max: i64) -> Result<u32, LambdaError> {
    if value < min {
        return Err(LambdaError::validation(
            &value.to_string(),
            member,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(LambdaError::validation(
            &value.to_string(),
            member,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    u32::try_from(value).map_err(LambdaError::internal)
}

/// The `DestinationArn` pattern of the model: empty, or
/// `arn:<partition>:<service>:<region?>:<account?>:<resource>`.
fn arn_shape_ok(arn: &str) -> bool {
    if arn.is_empty() {
        return true;
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, _resource] = parts.as_slice() else {
        return false;
    };
    *prefix == "arn"
        && partition.starts_with("aws")
        && !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && (region.is_empty()
            || region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
}

impl LambdaContext<'_> {
    /// The function and the qualifier a request names (`$LATEST` when none), checked
    /// to exist.
    async fn configured_target(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<String, LambdaError> {
        let qualifier = qualifier.unwrap_or("$LATEST");
        let exists = if qualifier == "$LATEST" {
            self.store().functions().get(name).await.is_ok()
        } else if let Ok(number) = qualifier.parse::<u32>() {
            self.store()
                .function_versions()
                .get(name, number)
                .await
                .is_ok()
        } else {
            self.store()
                .function_aliases()
                .get(name, qualifier)
                .await
                .is_ok()
        };
        if exists {
            Ok(qualifier.to_owned())
        } else {
            Err(function_missing())
        }
    }

    fn no_config(&self, name: &str, qualifier: Option<&str>) -> LambdaError {
        LambdaError::new(
            LambdaErrorKind::ResourceNotFound,
            format!(
                "The function {}:{} doesn't have an EventInvokeConfig",
                self.arn(name),
                qualifier.unwrap_or("$LATEST")
            ),
        )
    }

    /// Checks a destination as Lambda does: the ARN's shape, a service Lambda delivers
    /// to, and for a function, that it exists and is not the configured function.
    async fn check_destinations(
        &self,
        name: &str,
        config: &DestinationConfig,
    ) -> Result<(Option<String>, Option<String>), LambdaError> {
        let on_success = config
            .on_success
            .as_ref()
            .and_then(|d| d.destination.clone())
            .filter(|d| !d.is_empty());
        let on_failure = config
            .on_failure
            .as_ref()
            .and_then(|d| d.destination.clone())
            .filter(|d| !d.is_empty());
        for (arn, member) in [
            (&on_success, "destinationConfig.onSuccess.destination"),
            (&on_failure, "destinationConfig.onFailure.destination"),
        ] {
            if let Some(arn) = arn
                && (arn.len() > 350 || !arn_shape_ok(arn))
            {
                return Err(LambdaError::validation(
                    arn,
                    member,
                    r"Member must satisfy regular expression pattern: ^$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)",
                ));
            }
        }
        let mut invalid = false;
        for arn in [&on_success, &on_failure].into_iter().flatten() {
            match arn.split(':').nth(2) {
                Some("lambda") => {
                    let (target, _) = super::context::resolve_function_name(arn)
                        .map_err(|_| invalid_destination_arn(arn))?;
                    if self.store().functions().get(&target).await.is_err() {
                        return Err(invalid_destination_arn(arn));
                    }
                    if target == name {
                        return Err(LambdaError::invalid_parameter(
                            "You can't specify the function as a destination for itself.",
                        ));
                    }
                }
                Some("sqs" | "sns" | "events") => {}
                _ => invalid = true,
            }
        }
        if invalid {
            let part = |arn: &Option<String>, kind: &str| {
                arn.as_ref()
                    .map_or_else(|| "null".to_owned(), |a| format!("{kind}(destination={a})"))
            };
            return Err(LambdaError::invalid_parameter(format!(
                "The provided destination config DestinationConfig(onSuccess={}, onFailure={}) is invalid.",
                part(&on_success, "OnSuccess"),
                part(&on_failure, "OnFailure")
            )));
        }
        Ok((on_success, on_failure))
    }

    /// PutFunctionEventInvokeConfig (`Change::Put`) and UpdateFunctionEventInvokeConfig.
    pub(crate) async fn put_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
        input: EventInvokeConfigInput,
        change: Change,
    ) -> Result<EventInvokeConfigOutput, LambdaError> {
        let retries = input
            .maximum_retry_attempts
            .map(|v| check_range(v, "maximumRetryAttempts", 0, 2))
            .transpose()?;
        let age = input
            .maximum_event_age_in_seconds
            .map(|v| check_range(v, "maximumEventAgeInSeconds", 60, 21_600))
            .transpose()?;
        if retries.is_none() && age.is_none() && input.destination_config.is_none() {
            return Err(LambdaError::invalid_parameter(
                "You must specify at least one of error handling or destination setting.",
            ));
        }
        let resolved = self.configured_target(name, qualifier).await?;
        let configs = self.store().event_invoke_configs();
        let existing = configs
            .get(name, &resolved)
            .await
            .map_err(LambdaError::internal)?;
        let mut config = match (change, existing) {
            (Change::Update, None) => return Err(self.no_config(name, Some(&resolved))),
            (Change::Update, Some(existing)) => existing,
            (Change::Put, _) => EventInvokeConfig {
                function: name.to_owned(),
                qualifier: resolved.clone(),
                maximum_retry_attempts: None,
                maximum_event_age_seconds: None,
                on_success: None,
                on_failure: None,
                last_modified_ms: 0,
            },
        };
        if let Some(destinations) = &input.destination_config {
            let (on_success, on_failure) = self.check_destinations(name, destinations).await?;
            config.on_success = on_success;
            config.on_failure = on_failure;
        }
        if retries.is_some() {
            config.maximum_retry_attempts = retries;
        }
        if age.is_some() {
            config.maximum_event_age_seconds = age;
        }
        config.last_modified_ms = eddy_store::time::now_ms();
        let config = configs.put(config).await.map_err(LambdaError::internal)?;
        Ok(self.event_invoke_output(config))
    }

    /// GetFunctionEventInvokeConfig.
    pub(crate) async fn get_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<EventInvokeConfigOutput, LambdaError> {
        let config = self
            .store()
            .event_invoke_configs()
            .get(name, qualifier.unwrap_or("$LATEST"))
            .await
            .map_err(LambdaError::internal)?
            .ok_or_else(|| self.no_config(name, qualifier))?;
        Ok(self.event_invoke_output(config))
    }

    /// DeleteFunctionEventInvokeConfig.
    pub(crate) async fn delete_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let deleted = self
            .store()
            .event_invoke_configs()
            .delete(name, qualifier.unwrap_or("$LATEST"))
            .await
            .map_err(LambdaError::internal)?;
        if deleted {
            Ok(())
        } else {
            Err(self.no_config(name, qualifier))
        }
    }

    /// ListFunctionEventInvokeConfigs (`Marker` is the index of the first item).
    pub(crate) async fn list_event_invoke_configs(
        &self,
        name: &str,
        query: &BTreeMap<String, String>,
    ) -> Result<ListEventInvokeConfigsOutput, LambdaError> {
        let max_items = match query.get("MaxItems") {
            None => 50,
            Some(value) => {
                let parsed: i64 = value.parse().map_err(|_| {
                    LambdaError::validation(value, "maxItems", "Member must be a number")
                })?;
                check_range(parsed, "maxItems", 1, 50)? as usize
            }
        };
        if self.store().functions().get(name).await.is_err() {
            return Err(function_missing());
        }
        let configs = self
            .store()
            .event_invoke_configs()
            .list(name)
            .await
            .map_err(LambdaError::internal)?;
        let start: usize = query
            .get("Marker")
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let page: Vec<EventInvokeConfigOutput> = configs
            .iter()
            .skip(start)
            .take(max_items)
            .cloned()
            .map(|c| self.event_invoke_output(c))
            .collect();
        let next = start + page.len();
        Ok(ListEventInvokeConfigsOutput {
            function_event_invoke_configs: page,
            next_marker: (next < configs.len()).then(|| next.to_string()),
        })
    }

    fn event_invoke_output(&self, config: EventInvokeConfig) -> EventInvokeConfigOutput {
        EventInvokeConfigOutput {
            last_modified: config.last_modified_ms as f64 / 1000.0,
            function_arn: format!("{}:{}", self.arn(&config.function), config.qualifier),
            maximum_retry_attempts: config.maximum_retry_attempts,
            maximum_event_age_in_seconds: config.maximum_event_age_seconds,
            destination_config: DestinationConfig {
                on_success: Some(Destination {
                    destination: config.on_success,
                }),
                on_failure: Some(Destination {
                    destination: config.on_failure,
                }),
            },
        }
    }
}

fn invalid_destination_arn(arn: &str) -> LambdaError {
    LambdaError::invalid_parameter(format!("The destination ARN {arn} is invalid."))
}

#[cfg(test)]
mod tests {
    use super::arn_shape_ok;

    #[test]
    fn destination_arns_follow_the_model_pattern() {
        assert!(arn_shape_ok(""));
        assert!(arn_shape_ok("arn:aws:sqs:us-east-1:000000000000:q"));
        assert!(arn_shape_ok(
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        ));
        assert!(!arn_shape_ok("queue"));
        assert!(!arn_shape_ok("arn:aws:sqs:us-east-1:123:q"));
        assert!(!arn_shape_ok("arn:aws:s_3:us-east-1:000000000000:q"));
    }
}
