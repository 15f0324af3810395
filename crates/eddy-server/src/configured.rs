//! The functions and event source mappings configured in `eddy.toml` ([`Configured`]),
//! as the server shows them: read-only in the Lambda API (ListFunctions, GetFunction,
//! GetFunctionConfiguration, ListEventSourceMappings, GetEventSourceMapping answer
//! with them in Lambda's shapes; a change answers
//! `InvalidParameterValueException`), and beside the functions and mappings created
//! through the API in the overview the dashboard and `eddy status` read
//! ([`pipeline_view`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::AppState;

/// A function configured in `eddy.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredFunction {
    pub name: String,
    /// `true` for the built-in copy function; else an external command.
    pub builtin: bool,
    /// The external command line, or empty.
    pub command: String,
    /// The handler an external function is started with (`bootstrap` when none).
    pub handler: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    pub environment: BTreeMap<String, String>,
    /// Where it copies to: `s3://bucket/prefix`.
    pub destination: String,
}

/// An event source mapping configured in `eddy.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredMapping {
    pub queue: String,
    pub function: String,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u64,
    pub maximum_concurrency: Option<u32>,
    pub function_response_types: Vec<String>,
    pub filter_criteria: Vec<String>,
}

impl ConfiguredMapping {
    /// The mapping's UUID: the same for the same queue and function in every run, so
    /// GetEventSourceMapping finds it again after a restart.
    pub fn uuid(&self) -> String {
        // FNV-1a over the queue and the function, twice with different seeds: 128 bits
        // laid out as a UUID (version 8, "custom", with the RFC 4122 variant).
        let hash = |seed: u64| {
            let mut h = seed;
            for byte in self
                .queue
                .bytes()
                .chain(std::iter::once(0))
                .chain(self.function.bytes())
            {
                h ^= u64::from(byte);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            h
        };
        let (a, b) = (hash(0xcbf2_9ce4_8422_2325), hash(0x6c62_272e_07bb_0142));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        uuid::Uuid::from_bytes(bytes).to_string()
    }
}

/// What `eddy.toml` configures, and when eddy started (their `LastModified`).
#[derive(Debug, Clone, Default)]
pub struct Configured {
    pub functions: Vec<ConfiguredFunction>,
    pub mappings: Vec<ConfiguredMapping>,
    /// Milliseconds since the epoch.
    pub started_ms: u64,
}

impl Configured {
    pub fn function(&self, name: &str) -> Option<&ConfiguredFunction> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn mapping(&self, uuid: &str) -> Option<&ConfiguredMapping> {
        self.mappings.iter().find(|m| m.uuid() == uuid)
    }
}

/// Where a function or mapping of the overview comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `eddy.toml`.
    #[serde(rename = "eddy.toml")]
    Config,
    /// The Lambda API.
    Api,
}

/// One function of the overview.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionView {
    pub name: String,
    /// `builtin-copy`, an external command line, or an API function's runtime.
    pub kind: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    /// Where a configured function copies to (empty for API functions).
    pub destination: String,
    pub source: Source,
}

/// One event source mapping of the overview.
#[derive(Debug, Clone, Serialize)]
pub struct MappingView {
    pub uuid: String,
    pub queue: String,
    pub function: String,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u64,
    pub maximum_concurrency: Option<u32>,
    pub function_response_types: Vec<String>,
    pub filter_criteria: Vec<String>,
    /// `Enabled` or `Disabled`.
    pub state: &'static str,
    pub source: Source,
}

/// The functions and mappings of the overview.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineView {
    pub mappings: Vec<MappingView>,
    pub functions: Vec<FunctionView>,
}

/// Every function and mapping: the configured ones, then those of the Lambda API.
pub async fn pipeline_view(state: &AppState) -> PipelineView {
    let configured = &state.configured;
    let mut functions: Vec<FunctionView> = configured
        .functions
        .iter()
        .map(|f| FunctionView {
            name: f.name.clone(),
            kind: if f.builtin {
                "builtin-copy".to_owned()
            } else {
                f.command.clone()
            },
            timeout_seconds: f.timeout_seconds,
            memory_mb: f.memory_mb,
            destination: f.destination.clone(),
            source: Source::Config,
        })
        .collect();
    let mut mappings: Vec<MappingView> = configured
        .mappings
        .iter()
        .map(|m| MappingView {
            uuid: m.uuid(),
            queue: m.queue.clone(),
            function: m.function.clone(),
            batch_size: m.batch_size,
            maximum_batching_window_seconds: m.maximum_batching_window_seconds,
            maximum_concurrency: m.maximum_concurrency,
            function_response_types: m.function_response_types.clone(),
            filter_criteria: m.filter_criteria.clone(),
            state: "Enabled",
            source: Source::Config,
        })
        .collect();
    match state.store.functions().list().await {
        Ok(records) => functions.extend(records.into_iter().map(|r| FunctionView {
            kind: r.runtime,
            timeout_seconds: u64::from(r.timeout),
            memory_mb: u64::from(r.memory_size),
            destination: String::new(),
            name: r.name,
            source: Source::Api,
        })),
        Err(error) => tracing::warn!(%error, "cannot list the API's functions"),
    }
    match state.store.event_source_mappings().list().await {
        Ok(records) => mappings.extend(records.into_iter().map(|r| MappingView {
            uuid: r.uuid,
            queue: r.queue_name,
            function: r.function_name,
            batch_size: r.batch_size,
            maximum_batching_window_seconds: u64::from(r.maximum_batching_window_seconds),
            maximum_concurrency: r.maximum_concurrency,
            function_response_types: r.function_response_types,
            filter_criteria: r.filter_patterns,
            state: if r.enabled { "Enabled" } else { "Disabled" },
            source: Source::Api,
        })),
        Err(error) => tracing::warn!(%error, "cannot list the API's event source mappings"),
    }
    PipelineView {
        mappings,
        functions,
    }
}

#[cfg(test)]
mod tests {
    use super::ConfiguredMapping;

    fn mapping(queue: &str, function: &str) -> ConfiguredMapping {
        ConfiguredMapping {
            queue: queue.to_owned(),
            function: function.to_owned(),
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            maximum_concurrency: None,
            function_response_types: Vec::new(),
            filter_criteria: Vec::new(),
        }
    }

    #[test]
    fn a_mapping_keeps_its_uuid_and_two_mappings_differ() {
        let a = mapping("file-events", "copy");
        assert_eq!(a.uuid(), mapping("file-events", "copy").uuid());
        assert_ne!(a.uuid(), mapping("file-events", "copy2").uuid());
        assert_ne!(mapping("ab", "c").uuid(), mapping("a", "bc").uuid());
        let parsed = uuid::Uuid::parse_str(&a.uuid()).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 8);
    }
}
