//! The functions and event source mappings of `eddy.toml` in the Lambda API
//! ([`crate::configured::Configured`]): read-only, but invocable. Reads answer with
//! them in Lambda's shapes (a function as a `provided.al2023` function with no
//! deployment package, a mapping with a UUID that stays the same across restarts);
//! Invoke runs them ([`super::invoke`]); a change or a delete answers
//! `InvalidParameterValueException` saying to edit `eddy.toml` (the error Lambda gives
//! for a function it manages elsewhere, such as a Lambda@Edge replica), and
//! CreateFunction refuses their names as taken.

use std::collections::BTreeMap;

use eddy_store::event_source_mappings::MappingRecord;
use eddy_store::lambda::FunctionRecord;

use super::context::LambdaContext;
use super::error::LambdaError;
use crate::configured::{ConfiguredFunction, ConfiguredMapping};

/// The runtime a configured function is reported with: it is a Runtime API client
/// (the built-in copy function is the `bootstrap` eddy deploys to AWS).
const CONFIGURED_RUNTIME: &str = "provided.al2023";

impl LambdaContext<'_> {
    /// A configured function as a function record (its `$LATEST`).
    fn configured_record(&self, function: &ConfiguredFunction) -> FunctionRecord {
        let configured = &self.state.configured;
        let description = if function.builtin {
            format!(
                "eddy.toml: the built-in copy function (copies to {})",
                function.destination
            )
        } else {
            format!("eddy.toml: {}", function.command)
        };
        FunctionRecord {
            name: function.name.clone(),
            runtime: CONFIGURED_RUNTIME.to_owned(),
            handler: function.handler.clone(),
            role: String::new(),
            description,
            timeout: u32::try_from(function.timeout_seconds).unwrap_or(u32::MAX),
            memory_size: u32::try_from(function.memory_mb).unwrap_or(u32::MAX),
            environment: function.environment.clone(),
            architectures: vec![std::env::consts::ARCH.replace("aarch64", "arm64")],
            tags: BTreeMap::new(),
            code_sha256: String::new(),
            code_size: 0,
            last_modified_ms: configured.started_ms,
            revision_id: uuid::Uuid::from_u64_pair(configured.started_ms, 0).to_string(),
            dead_letter_target: None,
            permissions: Vec::new(),
            reserved_concurrency: None,
        }
    }

    /// The record of configured function `name`, unless the Lambda API has a function
    /// of that name (which then wins).
    pub(crate) async fn configured_function(&self, name: &str) -> Option<FunctionRecord> {
        let function = self.state.configured.function(name)?;
        if self.store().functions().get(name).await.is_ok() {
            return None;
        }
        Some(self.configured_record(function))
    }

    /// What a read of configured function `name` at `qualifier` answers: its
    /// `$LATEST`, or Lambda's not-found for a version or alias (it has none); `None`
    /// when `name` is not a configured function (or the API has one of that name).
    pub(crate) async fn configured_read(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Option<Result<FunctionRecord, LambdaError>> {
        let record = self.configured_function(name).await?;
        Some(match qualifier {
            None | Some("$LATEST") => Ok(record),
            Some(qualifier) => Err(LambdaError::function_not_found(&format!(
                "{}:{qualifier}",
                self.arn(name)
            ))),
        })
    }

    /// Every configured function the Lambda API has no function of the same name for.
    pub(crate) fn configured_records(&self, api: &[FunctionRecord]) -> Vec<FunctionRecord> {
        self.state
            .configured
            .functions
            .iter()
            .filter(|f| !api.iter().any(|r| r.name == f.name))
            .map(|f| self.configured_record(f))
            .collect()
    }

    /// Whether `name` is a function of `eddy.toml`.
    pub(crate) fn is_configured_function(&self, name: &str) -> bool {
        self.state.configured.function(name).is_some()
    }

    /// The answer to a change or delete of a function of `eddy.toml`.
    pub(crate) fn read_only_function(&self, name: &str) -> LambdaError {
        LambdaError::invalid_parameter(format!(
            "Function {} is configured in eddy.toml: the Lambda API shows and invokes it but cannot change or delete it. Edit eddy.toml and restart eddy, or create the function through the API under another name.",
            self.arn(name)
        ))
    }

    /// A configured mapping as a mapping record (always enabled).
    fn configured_mapping_record(&self, mapping: &ConfiguredMapping) -> MappingRecord {
        MappingRecord {
            uuid: mapping.uuid(),
            function_name: mapping.function.clone(),
            queue_name: mapping.queue.clone(),
            batch_size: mapping.batch_size,
            maximum_batching_window_seconds: u32::try_from(mapping.maximum_batching_window_seconds)
                .unwrap_or(u32::MAX),
            function_response_types: mapping.function_response_types.clone(),
            filter_patterns: mapping.filter_criteria.clone(),
            maximum_concurrency: mapping.maximum_concurrency,
            enabled: true,
            last_modified_ms: self.state.configured.started_ms,
        }
    }

    /// The configured mapping of `uuid`, as a record.
    pub(crate) fn configured_mapping(&self, uuid: &str) -> Option<MappingRecord> {
        self.state
            .configured
            .mapping(uuid)
            .map(|m| self.configured_mapping_record(m))
    }

    /// Every configured mapping, as records.
    pub(crate) fn configured_mappings(&self) -> Vec<MappingRecord> {
        self.state
            .configured
            .mappings
            .iter()
            .map(|m| self.configured_mapping_record(m))
            .collect()
    }

    /// The answer to an update or delete of a mapping of `eddy.toml`.
    pub(crate) fn read_only_mapping(uuid: &str) -> LambdaError {
        LambdaError::invalid_parameter(format!(
            "Event source mapping {uuid} is configured in eddy.toml: the Lambda API shows it but cannot change or delete it. Edit eddy.toml and restart eddy."
        ))
    }
}
