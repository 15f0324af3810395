//! The function operations: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions, UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction.
//! Reads include the functions of `eddy.toml` (read-only: [`super::configured`]).
//!
//! A function is stored (configuration and zip) in one transaction; its code is
//! unpacked before the answer, so a function is `Active` once created. The answer of
//! a create or an update reports the transition Lambda reports (`Pending`, or
//! `LastUpdateStatus: InProgress`); every later read reports it settled, which is
//! what the SDKs' `function_active_v2` and `function_updated_v2` waiters poll for.

use std::collections::BTreeMap;

use eddy_store::lambda::{FunctionRecord, FunctionStoreError};

use super::code::{
    Package, check_architectures, check_environment, check_function_name, check_memory,
    check_no_layers, check_role, check_timeout, package, parse_runtime,
};
use super::context::LambdaContext;
use super::error::{LambdaError, LambdaErrorKind};
use super::model::{
    Concurrency, CreateFunctionRequest, DeadLetterConfig, EnvironmentResponse, EphemeralStorage,
    FunctionCodeLocation, FunctionConfiguration, GetFunctionResponse, ListFunctionsResponse,
    LoggingConfig, SnapStartResponse, TracingConfigResponse, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
};

/// Which moment of its life a function's configuration is reported at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The answer of CreateFunction.
    Creating,
    /// The answer of an update.
    Updating,
    /// Any later read.
    Settled,
}

impl LambdaContext<'_> {
    /// Lambda's answer for a store refusal about function `name`.
    pub(crate) fn store_error(&self, error: FunctionStoreError) -> LambdaError {
        match error {
            FunctionStoreError::NotFound(name) if self.is_configured_function(&name) => {
                self.read_only_function(&name)
            }
            FunctionStoreError::NotFound(name) => LambdaError::function_not_found(&self.arn(&name)),
            FunctionStoreError::AlreadyExists(name) => LambdaError::new(
                LambdaErrorKind::ResourceConflict,
                format!("Function already exist: {name}"),
            ),
            FunctionStoreError::RevisionChanged(_) => LambdaError::new(
                LambdaErrorKind::PreconditionFailed,
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            ),
            FunctionStoreError::VersionNotFound { name, version } => {
                LambdaError::function_not_found(&format!("{}:{version}", self.arn(&name)))
            }
            FunctionStoreError::AliasNotFound { name, alias } => LambdaError::new(
                LambdaErrorKind::ResourceNotFound,
                format!("Alias not found: {}:{alias}", self.arn(&name)),
            ),
            FunctionStoreError::AliasExists { name, alias } => LambdaError::new(
                LambdaErrorKind::ResourceConflict,
                format!("Alias already exists: {}:{alias}", self.arn(&name)),
            ),
            FunctionStoreError::Store(error) => LambdaError::internal(error),
        }
    }

    /// The `FunctionConfiguration` of a stored function's `$LATEST`.
    pub(crate) fn configuration(
        &self,
        record: &FunctionRecord,
        phase: Phase,
    ) -> FunctionConfiguration {
        self.version_configuration(record, None, phase)
    }

    /// The `FunctionConfiguration` of `$LATEST` or of a published version.
    pub(crate) fn version_configuration(
        &self,
        record: &FunctionRecord,
        version: Option<u32>,
        phase: Phase,
    ) -> FunctionConfiguration {
        let (state, state_reason, state_reason_code) = if phase == Phase::Creating {
            (
                "Pending",
                Some("The function is being created."),
                Some("Creating"),
            )
        } else {
            ("Active", None, None)
        };
        let (last_update_status, reason, reason_code) = match phase {
            Phase::Settled => ("Successful", None, None),
            Phase::Creating | Phase::Updating => (
                "InProgress",
                Some("The function is being created."),
                Some("Creating"),
            ),
        };
        FunctionConfiguration {
            function_name: record.name.clone(),
            function_arn: match version {
                Some(version) => format!("{}:{version}", self.arn(&record.name)),
                None => self.arn(&record.name),
            },
            runtime: record.runtime.clone(),
            role: record.role.clone(),
            handler: record.handler.clone(),
            code_size: record.code_size,
            description: record.description.clone(),
            timeout: record.timeout,
            memory_size: record.memory_size,
            last_modified: last_modified(record.last_modified_ms),
            code_sha256: record.code_sha256.clone(),
            version: version.map_or_else(|| "$LATEST".to_owned(), |v| v.to_string()),
            dead_letter_config: record
                .dead_letter_target
                .as_ref()
                .map(|arn| DeadLetterConfig {
                    target_arn: Some(arn.clone()),
                }),
            environment: (!record.environment.is_empty()).then(|| EnvironmentResponse {
                variables: record.environment.clone(),
            }),
            tracing_config: TracingConfigResponse {
                mode: "PassThrough",
            },
            revision_id: record.revision_id.clone(),
            state,
            state_reason,
            state_reason_code,
            last_update_status,
            last_update_status_reason: reason,
            last_update_status_reason_code: reason_code,
            package_type: "Zip",
            architectures: record.architectures.clone(),
            ephemeral_storage: EphemeralStorage { size: 512 },
            snap_start: SnapStartResponse {
                apply_on: "None",
                optimization_status: "Off",
            },
            logging_config: LoggingConfig {
                log_format: "Text",
                log_group: format!("/aws/lambda/{}", record.name),
            },
        }
    }

    /// CreateFunction.
    pub(crate) async fn create_function(
        &self,
        input: CreateFunctionRequest,
    ) -> Result<FunctionConfiguration, LambdaError> {
        let name = input.function_name.unwrap_or_default();
        check_function_name(&name)?;
        if self.is_configured_function(&name) {
            return Err(self.store_error(FunctionStoreError::AlreadyExists(name)));
        }
        if input.package_type.as_deref() == Some("Image") {
            return Err(LambdaError::invalid_parameter(
                "eddy runs zip deployment packages only: PackageType Image (container images) is not supported",
            ));
        }
        check_no_layers(input.layers.as_ref())?;
        let role = input.role.unwrap_or_default();
        check_role(&role)?;
        let (Some(runtime), Some(handler)) = (input.runtime, input.handler) else {
            return Err(LambdaError::invalid_parameter(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
            ));
        };
        parse_runtime(&runtime)?;
        let timeout = check_timeout(input.timeout.unwrap_or(3))?;
        let memory_size = check_memory(input.memory_size.unwrap_or(128))?;
        let architectures = check_architectures(input.architectures)?;
        let environment = input
            .environment
            .and_then(|e| e.variables)
            .unwrap_or_default();
        check_environment(&environment)?;
        let dead_letter_target = self.dead_letter_target(input.dead_letter_config).await?;
        let code = input.code.unwrap_or_default();
        let Package { zip, sha256 } = package(
            self.store(),
            code.zip_file.as_deref(),
            (
                code.s3_bucket.as_deref(),
                code.s3_key.as_deref(),
                code.s3_object_version.as_deref(),
            ),
            code.image_uri.as_deref(),
            "CreateFunction",
        )
        .await?;
        let record = FunctionRecord {
            name,
            runtime,
            handler,
            role,
            description: input.description.unwrap_or_default(),
            timeout,
            memory_size,
            environment,
            architectures,
            tags: input.tags.unwrap_or_default(),
            code_sha256: sha256,
            code_size: zip.len() as u64,
            last_modified_ms: eddy_store::time::now_ms(),
            revision_id: new_revision(),
            dead_letter_target,
            permissions: Vec::new(),
            reserved_concurrency: None,
        };
        self.unpack(&record, zip.clone()).await?;
        let record = self
            .store()
            .functions()
            .create(record, zip)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(self.configuration(&record, Phase::Creating))
    }

    /// GetFunction.
    pub(crate) async fn get_function(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<GetFunctionResponse, LambdaError> {
        if let Some(read) = self.configured_read(name, qualifier).await {
            return Ok(GetFunctionResponse {
                configuration: self.configuration(&read?, Phase::Settled),
                code: None,
                tags: None,
                concurrency: None,
            });
        }
        let (record, version) = self.qualified(name, qualifier).await?;
        Ok(GetFunctionResponse {
            configuration: self.version_configuration(&record, version, Phase::Settled),
            code: Some(FunctionCodeLocation {
                repository_type: "S3",
                location: format!(
                    "{}/_eddy/lambda/functions/{}/code",
                    self.endpoint, record.name
                ),
            }),
            tags: (!record.tags.is_empty()).then(|| record.tags.clone()),
            concurrency: record.reserved_concurrency.map(|c| Concurrency {
                reserved_concurrent_executions: Some(i64::from(c)),
            }),
        })
    }

    /// GetFunctionConfiguration.
    pub(crate) async fn get_configuration(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfiguration, LambdaError> {
        if let Some(read) = self.configured_read(name, qualifier).await {
            return Ok(self.configuration(&read?, Phase::Settled));
        }
        let (record, version) = self.qualified(name, qualifier).await?;
        Ok(self.version_configuration(&record, version, Phase::Settled))
    }

    /// ListFunctions, in pages of `MaxItems` (at most 50) after `Marker` (a name).
    pub(crate) async fn list_functions(
        &self,
        query: &BTreeMap<String, String>,
    ) -> Result<ListFunctionsResponse, LambdaError> {
        let max_items = match query.get("MaxItems") {
            Some(value) => {
                let parsed: i64 = value.parse().map_err(|_| {
                    LambdaError::validation(value, "maxItems", "Member must be a number")
                })?;
                check_range_items(parsed)?
            }
            None => 50,
        };
        let mut records = self
            .store()
            .functions()
            .list()
            .await
            .map_err(|e| self.store_error(e))?;
        records.extend(self.configured_records(&records));
        records.sort_by(|a, b| a.name.cmp(&b.name));
        let marker = query.get("Marker");
        let mut remaining = records
            .iter()
            .filter(|r| marker.is_none_or(|m| r.name.as_str() > m.as_str()));
        let page: Vec<&FunctionRecord> = remaining.by_ref().take(max_items).collect();
        let next_marker = if remaining.next().is_some() {
            page.last().map(|r| r.name.clone())
        } else {
            None
        };
        Ok(ListFunctionsResponse {
            functions: page
                .into_iter()
                .map(|r| self.configuration(r, Phase::Settled))
                .collect(),
            next_marker,
        })
    }

    /// DeleteFunction: the configuration, the code, and the function's processes.
    pub(crate) async fn delete_function(&self, name: &str) -> Result<(), LambdaError> {
        self.store()
            .functions()
            .delete(name)
            .await
            .map_err(|e| self.store_error(e))?;
        if let Some(functions) = &self.state.functions {
            functions.forget(name).await;
        }
        Ok(())
    }

    /// UpdateFunctionCode: the next invocation runs the new code.
    pub(crate) async fn update_code(
        &self,
        name: &str,
        input: UpdateFunctionCodeRequest,
    ) -> Result<FunctionConfiguration, LambdaError> {
        let mut record = self.record(name).await?;
        let Package { zip, sha256 } = package(
            self.store(),
            input.zip_file.as_deref(),
            (
                input.s3_bucket.as_deref(),
                input.s3_key.as_deref(),
                input.s3_object_version.as_deref(),
            ),
            input.image_uri.as_deref(),
            "UpdateFunctionCode",
        )
        .await?;
        if input.architectures.is_some() {
            record.architectures = check_architectures(input.architectures)?;
        }
        if input.dry_run == Some(true) {
            record.code_sha256 = sha256;
            record.code_size = zip.len() as u64;
            return Ok(self.configuration(&record, Phase::Settled));
        }
        record.code_sha256 = sha256;
        record.code_size = zip.len() as u64;
        record.last_modified_ms = eddy_store::time::now_ms();
        record.revision_id = new_revision();
        self.unpack(&record, zip.clone()).await?;
        let record = self
            .store()
            .functions()
            .update(record, Some(zip), input.revision_id)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(self.configuration(&record, Phase::Updating))
    }

    /// UpdateFunctionConfiguration: the next invocation runs with the new settings.
    pub(crate) async fn update_configuration(
        &self,
        name: &str,
        input: UpdateFunctionConfigurationRequest,
    ) -> Result<FunctionConfiguration, LambdaError> {
        let mut record = self.record(name).await?;
        check_no_layers(input.layers.as_ref())?;
        if let Some(role) = input.role {
            check_role(&role)?;
            record.role = role;
        }
        if let Some(runtime) = input.runtime {
            parse_runtime(&runtime)?;
            record.runtime = runtime;
        }
        if let Some(handler) = input.handler {
            record.handler = handler;
        }
        if let Some(description) = input.description {
            record.description = description;
        }
        if let Some(timeout) = input.timeout {
            record.timeout = check_timeout(timeout)?;
        }
        if let Some(memory) = input.memory_size {
            record.memory_size = check_memory(memory)?;
        }
        if let Some(environment) = input.environment {
            let variables = environment.variables.unwrap_or_default();
            check_environment(&variables)?;
            record.environment = variables;
        }
        if input.dead_letter_config.is_some() {
            record.dead_letter_target = self.dead_letter_target(input.dead_letter_config).await?;
        }
        record.last_modified_ms = eddy_store::time::now_ms();
        record.revision_id = new_revision();
        let record = self
            .store()
            .functions()
            .update(record, None, input.revision_id)
            .await
            .map_err(|e| self.store_error(e))?;
        self.restart_mappings_of(&record.name).await;
        Ok(self.configuration(&record, Phase::Updating))
    }

    /// Restarts the API mappings of a function, so they run with its new timeout.
    async fn restart_mappings_of(&self, function: &str) {
        let Some(mappings) = &self.state.mappings else {
            return;
        };
        let Ok(records) = self.store().event_source_mappings().list().await else {
            return;
        };
        for record in records.iter().filter(|m| m.function_name == function) {
            mappings.apply(record).await;
        }
    }

    /// `DeadLetterConfig.TargetArn`: an SQS queue of this eddy (eddy has no SNS), or
    /// none (an empty ARN removes it).
    async fn dead_letter_target(
        &self,
        config: Option<DeadLetterConfig>,
    ) -> Result<Option<String>, LambdaError> {
        let Some(arn) = config.and_then(|c| c.target_arn).filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let settings = self.store().settings();
        let prefix = format!("arn:aws:sqs:{}:{}:", settings.region, settings.account_id);
        let queue = arn.strip_prefix(&prefix).unwrap_or_default();
        if queue.is_empty() || self.store().queues().get(queue).await.is_err() {
            return Err(LambdaError::invalid_parameter(format!(
                "The DeadLetterConfig target {arn} is not an SQS queue of this eddy: eddy sends dead letters to its own SQS queues"
            )));
        }
        Ok(Some(arn))
    }

    /// A stored function, by a name the path gave (a name or an ARN; `$LATEST` only).
    pub(crate) async fn record(&self, name: &str) -> Result<FunctionRecord, LambdaError> {
        self.store()
            .functions()
            .get(name)
            .await
            .map_err(|e| self.store_error(e))
    }
}

fn check_range_items(value: i64) -> Result<usize, LambdaError> {
    if !(1..=10_000).contains(&value) {
        return Err(LambdaError::validation(
            &value.to_string(),
            "maxItems",
            "Member must have value between 1 and 10000",
        ));
    }
    Ok(value.min(50) as usize)
}

fn new_revision() -> String {
    eddy_store::ids::random_uuid().to_string()
}

/// `2026-01-01T00:00:00.000+0000`, as Lambda's `LastModified`.
fn last_modified(ms: u64) -> String {
    let iso = eddy_store::time::iso8601_millis(ms);
    format!("{}+0000", iso.trim_end_matches('Z'))
}
