//! What the server is told of `eddy.toml`'s functions and event source mappings
//! ([`eddy_server::configured::Configured`]): the Lambda API shows them read-only, and
//! the dashboard and `eddy status` list them beside the API's.

use eddy_server::configured::{Configured, ConfiguredFunction, ConfiguredMapping};

use crate::config::{BUILTIN_COPY, EddyConfig};

/// The functions and mappings of `eddy.toml`, as the server shows them (the Lambda
/// API, the dashboard and `eddy status`).
pub(crate) fn configured(config: &EddyConfig) -> Configured {
    let mappings = config
        .all_mappings()
        .into_iter()
        .map(|m| ConfiguredMapping {
            queue: m.queue,
            function: m.function,
            batch_size: m.batch_size,
            maximum_batching_window_seconds: m.maximum_batching_window_seconds,
            maximum_concurrency: m.maximum_concurrency,
            function_response_types: m.function_response_types,
            filter_criteria: m.filter_criteria,
        })
        .collect();
    let functions = config
        .all_functions()
        .into_iter()
        .map(|f| {
            let bucket = f
                .destination_bucket
                .clone()
                .unwrap_or_else(|| config.destination_bucket_name.clone());
            let prefix = f
                .destination_prefix
                .clone()
                .unwrap_or_else(|| config.destination_prefix.clone());
            ConfiguredFunction {
                builtin: f.is_builtin(),
                command: f.command.join(" "),
                handler: f
                    .handler
                    .clone()
                    .filter(|h| h != BUILTIN_COPY)
                    .unwrap_or_else(|| "bootstrap".to_owned()),
                timeout_seconds: f.timeout,
                memory_mb: f.memory_size,
                environment: f.environment,
                destination: format!("s3://{bucket}/{prefix}"),
                name: f.name,
            }
        })
        .collect();
    Configured {
        functions,
        mappings,
        started_ms: eddy_store::time::now_ms(),
    }
}
