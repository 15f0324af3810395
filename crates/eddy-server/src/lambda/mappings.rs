//! Event source mappings for SQS: CreateEventSourceMapping, GetEventSourceMapping,
//! ListEventSourceMappings, UpdateEventSourceMapping, DeleteEventSourceMapping, with
//! Lambda's checks (the queue exists and is standard, its visibility timeout is at
//! least the function timeout, a batch above 10 needs a batching window, one mapping
//! per queue and function, filter patterns parse) and Lambda's state names: a create
//! answers `Creating`, an update `Updating` (`Disabling` when it disables), a delete
//! `Deleting`; reads report `Enabled` or `Disabled`. Reads include the mappings of
//! `eddy.toml` (read-only: [`super::configured`]). The pipeline's
//! [`eddy_pipeline::api_mappings::ApiMappings`] runs them.

use std::collections::BTreeMap;

use eddy_pipeline::event_filter::FilterPattern;
use eddy_store::event_source_mappings::{MappingRecord, MappingStoreError};
use serde::{Deserialize, Serialize};

use super::context::{LambdaContext, resolve_function_name};
use super::error::{LambdaError, LambdaErrorKind};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub pattern: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_concurrency: Option<i64>,
}

/// CreateEventSourceMapping's and UpdateEventSourceMapping's input (the members eddy
/// acts on; an update's UUID is in the path).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingRequest {
    pub event_source_arn: Option<String>,
    pub function_name: Option<String>,
    pub enabled: Option<bool>,
    pub batch_size: Option<i64>,
    pub maximum_batching_window_in_seconds: Option<i64>,
    pub filter_criteria: Option<FilterCriteria>,
    pub function_response_types: Option<Vec<String>>,
    pub scaling_config: Option<ScalingConfig>,
}

/// `EventSourceMappingConfiguration`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSourceMappingConfiguration {
    #[serde(rename = "UUID")]
    pub uuid: String,
    pub batch_size: u32,
    pub maximum_batching_window_in_seconds: u32,
    pub event_source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_criteria: Option<FilterCriteria>,
    pub function_arn: String,
    /// Epoch seconds.
    pub last_modified: f64,
    pub state: &'static str,
    pub state_transition_reason: &'static str,
    pub function_response_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_config: Option<ScalingConfig>,
    pub event_source_mapping_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventSourceMappingsResponse {
    pub event_source_mappings: Vec<EventSourceMappingConfiguration>,
}

/// What an answer reports the mapping as doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Creating,
    Updating,
    Deleting,
    Settled,
}

impl LambdaContext<'_> {
    fn mapping_error(&self, error: MappingStoreError, record: &MappingRecord) -> LambdaError {
        match error {
            MappingStoreError::NotFound(_) => not_found(),
            MappingStoreError::Duplicate(uuid) => LambdaError::new(
                LambdaErrorKind::ResourceConflict,
                format!(
                    "The event source arn (\" {} \") and function (\" {} \") provided mapping already exists. Please update or delete the existing mapping with UUID {uuid}",
                    self.store().queue_arn(&record.queue_name),
                    record.function_name
                ),
            ),
            MappingStoreError::Store(error) => LambdaError::internal(error),
        }
    }

    fn mapping_configuration(
        &self,
        record: &MappingRecord,
        transition: Transition,
    ) -> EventSourceMappingConfiguration {
        let state = match transition {
            Transition::Creating => "Creating",
            Transition::Deleting => "Deleting",
            Transition::Updating if record.enabled => "Updating",
            Transition::Updating => "Disabling",
            Transition::Settled if record.enabled => "Enabled",
            Transition::Settled => "Disabled",
        };
        let settings = self.store().settings();
        EventSourceMappingConfiguration {
            uuid: record.uuid.clone(),
            batch_size: record.batch_size,
            maximum_batching_window_in_seconds: record.maximum_batching_window_seconds,
            event_source_arn: self.store().queue_arn(&record.queue_name),
            filter_criteria: (!record.filter_patterns.is_empty()).then(|| FilterCriteria {
                filters: record
                    .filter_patterns
                    .iter()
                    .map(|p| Filter {
                        pattern: Some(p.clone()),
                    })
                    .collect(),
            }),
            function_arn: self.arn(&record.function_name),
            last_modified: record.last_modified_ms as f64 / 1000.0,
            state,
            state_transition_reason: "USER_INITIATED",
            function_response_types: record.function_response_types.clone(),
            scaling_config: record.maximum_concurrency.map(|c| ScalingConfig {
                maximum_concurrency: Some(i64::from(c)),
            }),
            event_source_mapping_arn: format!(
                "arn:aws:lambda:{}:{}:event-source-mapping:{}",
                settings.region, settings.account_id, record.uuid
            ),
        }
    }

    /// Applies the members of `input` to `record` and checks the result as Lambda does.
    async fn apply_request(
        &self,
        record: &mut MappingRecord,
        input: MappingRequest,
    ) -> Result<(), LambdaError> {
        if let Some(name) = input.function_name {
            record.function_name = resolve_function_name(&name)?.0;
        }
        if let Some(enabled) = input.enabled {
            record.enabled = enabled;
        }
        if let Some(size) = input.batch_size {
            record.batch_size = in_range(size, "batchSize", 1, 10_000)?;
        }
        if let Some(window) = input.maximum_batching_window_in_seconds {
            record.maximum_batching_window_seconds =
                in_range(window, "maximumBatchingWindowInSeconds", 0, 300)?;
        }
        if let Some(criteria) = input.filter_criteria {
            let patterns: Vec<String> = criteria
                .filters
                .into_iter()
                .filter_map(|f| f.pattern)
                .collect();
            if patterns.iter().any(|p| FilterPattern::parse(p).is_err()) {
                return Err(LambdaError::invalid_parameter(
                    "Invalid filter pattern definition.",
                ));
            }
            record.filter_patterns = patterns;
        }
        if let Some(types) = input.function_response_types {
            if let Some(bad) = types.iter().find(|t| *t != "ReportBatchItemFailures") {
                return Err(LambdaError::validation(
                    &format!("[{bad}]"),
                    "functionResponseTypes",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
                ));
            }
            record.function_response_types = types;
        }
        if let Some(scaling) = input.scaling_config {
            record.maximum_concurrency = scaling
                .maximum_concurrency
                .map(|c| in_range(c, "scalingConfig.maximumConcurrency", 2, 1000))
                .transpose()?;
        }
        if record.batch_size > 10 && record.maximum_batching_window_seconds == 0 {
            return Err(LambdaError::invalid_parameter(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
            ));
        }
        let function = self.record(&record.function_name).await?;
        let queue = self.store().queues().get(&record.queue_name).await.map_err(|_| {
            LambdaError::invalid_parameter(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.",
            )
        })?;
        if queue.attributes.is_fifo() {
            return Err(LambdaError::invalid_parameter(
                "eddy maps standard SQS queues only: FIFO queues are not supported as event sources",
            ));
        }
        if queue.attributes.visibility_timeout < u64::from(function.timeout) {
            return Err(LambdaError::invalid_parameter(format!(
                "Queue visibility timeout: {} seconds is less than Function timeout: {} seconds",
                queue.attributes.visibility_timeout, function.timeout
            )));
        }
        record.last_modified_ms = eddy_store::time::now_ms();
        Ok(())
    }

    /// CreateEventSourceMapping.
    pub(crate) async fn create_mapping(
        &self,
        input: MappingRequest,
    ) -> Result<EventSourceMappingConfiguration, LambdaError> {
        let arn = input.event_source_arn.clone().unwrap_or_default();
        let queue_name = self.queue_of(&arn)?;
        if input.function_name.is_none() {
            return Err(LambdaError::validation(
                "null",
                "functionName",
                "Member must not be null",
            ));
        }
        let mut record = MappingRecord {
            uuid: eddy_store::ids::random_uuid().to_string(),
            function_name: String::new(),
            queue_name,
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            function_response_types: Vec::new(),
            filter_patterns: Vec::new(),
            maximum_concurrency: None,
            enabled: true,
            last_modified_ms: 0,
        };
        self.apply_request(&mut record, input).await?;
        let stored = self
            .store()
            .event_source_mappings()
            .create(record.clone())
            .await
            .map_err(|e| self.mapping_error(e, &record))?;
        if let Some(mappings) = &self.state.mappings {
            mappings.apply(&stored).await;
        }
        Ok(self.mapping_configuration(&stored, Transition::Creating))
    }

    /// GetEventSourceMapping.
    pub(crate) async fn get_mapping(
        &self,
        uuid: &str,
    ) -> Result<EventSourceMappingConfiguration, LambdaError> {
        let record = match self.store().event_source_mappings().get(uuid).await {
            Ok(record) => record,
            Err(_) => self.configured_mapping(uuid).ok_or_else(not_found)?,
        };
        Ok(self.mapping_configuration(&record, Transition::Settled))
    }

    /// ListEventSourceMappings (filtered by `EventSourceArn` and `FunctionName`).
    pub(crate) async fn list_mappings(
        &self,
        query: &BTreeMap<String, String>,
    ) -> Result<ListEventSourceMappingsResponse, LambdaError> {
        let function = query
            .get("FunctionName")
            .map(|f| resolve_function_name(f).map(|(name, _)| name))
            .transpose()?;
        let source = query.get("EventSourceArn");
        let mut records = self.configured_mappings();
        records.extend(
            self.store()
                .event_source_mappings()
                .list()
                .await
                .map_err(LambdaError::internal)?,
        );
        Ok(ListEventSourceMappingsResponse {
            event_source_mappings: records
                .iter()
                .filter(|r| function.as_ref().is_none_or(|f| *f == r.function_name))
                .filter(|r| source.is_none_or(|s| *s == self.store().queue_arn(&r.queue_name)))
                .map(|r| self.mapping_configuration(r, Transition::Settled))
                .collect(),
        })
    }

    /// UpdateEventSourceMapping.
    pub(crate) async fn update_mapping(
        &self,
        uuid: &str,
        input: MappingRequest,
    ) -> Result<EventSourceMappingConfiguration, LambdaError> {
        if self.configured_mapping(uuid).is_some() {
            return Err(Self::read_only_mapping(uuid));
        }
        let mut record = self
            .store()
            .event_source_mappings()
            .get(uuid)
            .await
            .map_err(|_| not_found())?;
        let previous = record.clone();
        self.apply_request(&mut record, input).await?;
        if record.function_name != previous.function_name {
            let clash = self
                .store()
                .event_source_mappings()
                .list()
                .await
                .map_err(LambdaError::internal)?
                .into_iter()
                .find(|m| {
                    m.uuid != record.uuid
                        && m.queue_name == record.queue_name
                        && m.function_name == record.function_name
                });
            if let Some(clash) = clash {
                return Err(self.mapping_error(MappingStoreError::Duplicate(clash.uuid), &record));
            }
        }
        let stored = self
            .store()
            .event_source_mappings()
            .update(record.clone())
            .await
            .map_err(|e| self.mapping_error(e, &record))?;
        if let Some(mappings) = &self.state.mappings {
            mappings.apply(&stored).await;
        }
        Ok(self.mapping_configuration(&stored, Transition::Updating))
    }

    /// DeleteEventSourceMapping: stops polling (in-flight batches finish).
    pub(crate) async fn delete_mapping(
        &self,
        uuid: &str,
    ) -> Result<EventSourceMappingConfiguration, LambdaError> {
        if self.configured_mapping(uuid).is_some() {
            return Err(Self::read_only_mapping(uuid));
        }
        let record = self
            .store()
            .event_source_mappings()
            .delete(uuid)
            .await
            .map_err(|_| not_found())?;
        if let Some(mappings) = &self.state.mappings {
            mappings.remove(uuid).await;
        }
        Ok(self.mapping_configuration(&record, Transition::Deleting))
    }

    /// The queue an SQS ARN of this eddy names.
    fn queue_of(&self, arn: &str) -> Result<String, LambdaError> {
        let settings = self.store().settings();
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "sqs", region, account, name]
                if *region == settings.region && *account == settings.account_id =>
            {
                Ok((*name).to_owned())
            }
            ["arn", _, "sqs", _, _, _] => Err(LambdaError::invalid_parameter(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.",
            )),
            _ => Err(LambdaError::invalid_parameter(format!(
                "eddy maps SQS queues only: {arn} is not the ARN of an SQS queue"
            ))),
        }
    }
}

fn not_found() -> LambdaError {
    LambdaError::new(
        LambdaErrorKind::ResourceNotFound,
        "The resource you requested does not exist.",
    )
}

fn in_range(value: i64, member: &str, min: i64, max: i64) -> Result<u32, LambdaError> {
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
