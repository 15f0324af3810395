//! Running the configured pipeline: the functions of `eddy.toml` (the built-in copy
//! function in-process, external executables through the Runtime API host), each
//! mapping checked against its queue by Lambda's start-up rules and started, and what
//! the idle check reads of each.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use eddy_function::CopyOptions;
use eddy_pipeline::builtin::BuiltinCopyFunction;
use eddy_pipeline::configured::{ConfiguredHost, ConfiguredInstance};
use eddy_pipeline::event_filter::FilterPattern;
use eddy_pipeline::external::{ExternalFunction, ExternalFunctionConfig};
use eddy_pipeline::function::Function;
use eddy_pipeline::mapping::{self, MappingHandle, MappingSettings};
use eddy_server::harness::MappingProbe;
use eddy_store::Store;
use eddy_telemetry::{FunctionKnown, MappingKnown};

use crate::config::{
    BUILTIN_COPY, EddyConfig, FunctionConfig, MappingConfig, UNSET_MAXIMUM_CONCURRENCY,
};

/// The running functions and mappings.
pub(crate) struct Pipeline {
    mappings: Vec<MappingHandle>,
    external: Vec<Arc<ExternalFunction>>,
    /// What the idle check reads of each mapping.
    pub(crate) probes: Vec<MappingProbe>,
    /// The running functions, for Invoke through the Lambda API.
    pub(crate) invocable: BTreeMap<String, ConfiguredInstance>,
}

impl Pipeline {
    /// Stops the mappings (in-flight batches finish), then the external processes.
    pub(crate) async fn stop(self) {
        for mapping in self.mappings {
            mapping.stop().await;
        }
        for function in self.external {
            function.stop().await;
        }
    }
}

/// The address processes on this machine reach eddy at.
pub(crate) fn loopback(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], bound.port()))
    } else {
        bound
    }
}

fn mapping_settings(mapping: &MappingConfig, function: &FunctionConfig) -> MappingSettings {
    MappingSettings {
        queue_name: mapping.queue.clone(),
        batch_size: mapping.batch_size,
        maximum_batching_window: Duration::from_secs(mapping.maximum_batching_window_seconds),
        report_batch_item_failures: mapping
            .function_response_types
            .iter()
            .any(|t| t == "ReportBatchItemFailures"),
        function_timeout: Duration::from_secs(function.timeout),
        maximum_concurrency: mapping
            .maximum_concurrency
            .unwrap_or(UNSET_MAXIMUM_CONCURRENCY),
        // Validated when the configuration was loaded.
        filters: mapping
            .filter_criteria
            .iter()
            .filter_map(|p| FilterPattern::parse(p).ok())
            .collect(),
    }
}

/// Creates the functions, checks every mapping against its queue (Lambda's start-up
/// rules) and starts the mappings.
pub(crate) async fn start_pipeline(
    store: &Store,
    config: &EddyConfig,
    endpoint_url: &str,
) -> anyhow::Result<Pipeline> {
    let functions = config.all_functions();
    let mappings = config.all_mappings();
    let mut settings = Vec::new();
    for (mapping, function) in mappings.iter().filter_map(|m| {
        functions
            .iter()
            .find(|f| f.name == m.function)
            .map(|f| (m, f))
    }) {
        let mapping_settings = mapping_settings(mapping, function);
        mapping::check(store, &mapping_settings)
            .await
            .with_context(|| {
                format!(
                    "cannot start the event source mapping from queue {} to function {}",
                    mapping.queue, function.name
                )
            })?;
        settings.push((mapping_settings, function.name.clone()));
    }
    let mut instances: BTreeMap<String, Arc<dyn Function>> = BTreeMap::new();
    let mut external = Vec::new();
    let mut invocable = BTreeMap::new();
    for function in &functions {
        let destination_bucket = function
            .destination_bucket
            .clone()
            .unwrap_or_else(|| config.destination_bucket_name.clone());
        let destination_prefix = function
            .destination_prefix
            .clone()
            .unwrap_or_else(|| config.destination_prefix.clone());
        let instance: Arc<dyn Function> = if function.is_builtin() {
            let builtin = Arc::new(BuiltinCopyFunction::new(
                function.name.clone(),
                store.clone(),
                CopyOptions {
                    destination_bucket,
                    destination_prefix,
                },
            ));
            invocable.insert(
                function.name.clone(),
                invocable_instance(function, ConfiguredHost::Builtin(builtin.clone())),
            );
            builtin
        } else {
            let max_processes = settings
                .iter()
                .filter(|(_, name)| *name == function.name)
                .map(|(s, _)| s.maximum_concurrency)
                .sum::<u32>()
                .max(1);
            let mut environment = BTreeMap::from([
                ("DESTINATION_BUCKET".to_owned(), destination_bucket),
                ("DESTINATION_PREFIX".to_owned(), destination_prefix),
            ]);
            environment.extend(function.environment.clone());
            let host = Arc::new(ExternalFunction::new(ExternalFunctionConfig {
                name: function.name.clone(),
                command: function.command.clone(),
                handler: function
                    .handler
                    .clone()
                    .filter(|h| h != BUILTIN_COPY)
                    .unwrap_or_else(|| "bootstrap".to_owned()),
                working_dir: function.working_dir.clone(),
                memory_mb: function.memory_size,
                environment,
                region: config.region.clone(),
                account_id: config.account_id.clone(),
                access_key_id: config.access_key_id.clone(),
                secret_access_key: config.secret_access_key.clone(),
                endpoint_url: endpoint_url.to_owned(),
                max_processes,
                // Any command: nothing says it prints eddy's marks.
                marks_invocation_end: false,
            }));
            external.push(host.clone());
            invocable.insert(
                function.name.clone(),
                invocable_instance(function, ConfiguredHost::External(host.clone())),
            );
            host
        };
        store.telemetry().emit(FunctionKnown {
            function: &function.name,
        });
        instances.insert(function.name.clone(), instance);
    }
    let mut handles = Vec::new();
    let mut probes = Vec::new();
    for (mapping_settings, function_name) in settings {
        let Some(function) = instances.get(&function_name) else {
            continue;
        };
        tracing::info!(queue = %mapping_settings.queue_name, function = %function_name, batch_size = mapping_settings.batch_size, maximum_concurrency = mapping_settings.maximum_concurrency, filters = mapping_settings.filters.len(), "event source mapping enabled");
        let queue = mapping_settings.queue_name.clone();
        store.telemetry().emit(MappingKnown { mapping: &queue });
        let handle = mapping::start(store.clone(), mapping_settings, function.clone());
        let gauge = handle.batches_in_hand();
        probes.push(MappingProbe {
            queue,
            function: function_name,
            batches_in_hand: Arc::new(move || gauge.in_hand()),
        });
        handles.push(handle);
    }
    Ok(Pipeline {
        mappings: handles,
        external,
        probes,
        invocable,
    })
}

/// A configured function as the Lambda API's Invoke runs it.
fn invocable_instance(function: &FunctionConfig, host: ConfiguredHost) -> ConfiguredInstance {
    ConfiguredInstance {
        host,
        timeout: Duration::from_secs(function.timeout),
        memory_mb: u32::try_from(function.memory_size).unwrap_or(u32::MAX),
    }
}
