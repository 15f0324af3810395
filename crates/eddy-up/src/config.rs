//! `eddy.toml`: every setting of `eddy up`, named like the Terraform variables, with
//! defaults and the ranges AWS allows. An unknown key or a value out of range is an
//! error that names the key.
//!
//! The flat keys describe the default pipeline. `[[functions]]` and
//! `[[event_source_mappings]]` tables add functions (built-in or external executables
//! speaking the Lambda Runtime API) and mappings, with Lambda's names and ranges. A
//! function named like `function_name` replaces the default function; a mapping on
//! `queue_name` replaces the default mapping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The configuration of `eddy up`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EddyConfig {
    pub region: String,
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// More credential pairs accepted besides `access_key_id`/`secret_access_key`.
    pub additional_credentials: Vec<CredentialConfig>,
    pub source_bucket_name: String,
    pub destination_bucket_name: String,
    pub destination_prefix: String,
    pub notification_filter_prefix: String,
    pub notification_filter_suffix: String,
    pub queue_name: String,
    pub dlq_name: String,
    pub max_receive_count: u32,
    pub visibility_timeout_seconds: u64,
    pub message_retention_seconds: u64,
    pub dlq_message_retention_seconds: u64,
    /// How long a day of S3 lifecycle rules and of restored copies (RestoreObject's
    /// `Days`) lasts (86,400: a day, as on S3; shorter for tests of expirations).
    pub lifecycle_day_seconds: u64,
    pub function_name: String,
    pub function_timeout_seconds: u64,
    pub function_memory_mb: u64,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u64,
    pub maximum_concurrency: u32,
    pub report_batch_item_failures: bool,
    /// The host of the SQS queue URLs eddy answers with: `request` (the host the
    /// client used), `sqs-region` (`sqs.<region>.localhost:<port>`) or `region-queue`
    /// (`<region>.queue.localhost:<port>`).
    pub sqs_queue_url_host: eddy_server::QueueUrlHost,
    /// The back-off before each retry of a failed asynchronous invocation of a function
    /// created through the Lambda API (Lambda: 60 then 120 seconds; 0 to 2 retries).
    pub lambda_async_retry_delays_seconds: Vec<u64>,
    /// Extra (or replacing) functions.
    pub functions: Vec<FunctionConfig>,
    /// Extra (or replacing) event source mappings.
    pub event_source_mappings: Vec<MappingConfig>,
    /// `[faults]`: faults on demand in force from the start and after every reset.
    pub faults: crate::faults_config::FaultsConfig,
}

/// One entry of `additional_credentials`: an access key id and its secret.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The handler value of the built-in copy function.
pub const BUILTIN_COPY: &str = "builtin-copy";

/// One `[[functions]]` table: Lambda's CreateFunction settings that matter locally.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// FunctionName: 1 to 64 letters, digits, '-' or '_'.
    pub name: String,
    /// `builtin-copy` (the default without `command`), or the `_HANDLER` given to an
    /// external function (default `bootstrap`).
    pub handler: Option<String>,
    /// An executable speaking the Lambda Runtime API, with its arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// The directory the external function runs in.
    pub working_dir: Option<PathBuf>,
    /// Timeout in seconds (1..900); Lambda's default is 3.
    #[serde(default = "default_function_timeout")]
    pub timeout: u64,
    /// MemorySize in MB (128..10240).
    #[serde(default = "default_memory_size")]
    pub memory_size: u64,
    /// Environment.Variables given to an external function.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Where the function copies to (default: `destination_bucket_name`); external
    /// functions get it as `DESTINATION_BUCKET`.
    pub destination_bucket: Option<String>,
    /// Key prefix of the copies (default: `destination_prefix`); external functions get
    /// it as `DESTINATION_PREFIX`.
    pub destination_prefix: Option<String>,
}

fn default_function_timeout() -> u64 {
    3
}

fn default_memory_size() -> u64 {
    128
}

impl FunctionConfig {
    pub fn is_builtin(&self) -> bool {
        self.command.is_empty()
    }
}

/// One `[[event_source_mappings]]` table: Lambda's CreateEventSourceMapping for SQS.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The queue name (it must exist when eddy starts).
    pub queue: String,
    /// The function name.
    pub function: String,
    /// BatchSize (1..10000; above 10 needs a batching window).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// MaximumBatchingWindowInSeconds (0..300).
    #[serde(default)]
    pub maximum_batching_window_seconds: u64,
    /// FunctionResponseTypes: empty, or `["ReportBatchItemFailures"]`.
    #[serde(default)]
    pub function_response_types: Vec<String>,
    /// ScalingConfig.MaximumConcurrency (2..1000); unset: up to 1000.
    pub maximum_concurrency: Option<u32>,
    /// FilterCriteria.Filters[].Pattern: up to 5 JSON patterns, ORed.
    #[serde(default)]
    pub filter_criteria: Vec<String>,
}

fn default_batch_size() -> u32 {
    10
}

/// The most concurrent batches a mapping runs when MaximumConcurrency is unset.
pub const UNSET_MAXIMUM_CONCURRENCY: u32 = 1000;

impl Default for EddyConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            additional_credentials: Vec::new(),
            source_bucket_name: "source".into(),
            destination_bucket_name: "destination".into(),
            destination_prefix: String::new(),
            notification_filter_prefix: String::new(),
            notification_filter_suffix: String::new(),
            queue_name: "file-events".into(),
            dlq_name: "file-events-dlq".into(),
            max_receive_count: 3,
            visibility_timeout_seconds: 30,
            message_retention_seconds: 345_600,
            dlq_message_retention_seconds: 1_209_600,
            lifecycle_day_seconds: 86_400,
            function_name: "eddy-copy".into(),
            function_timeout_seconds: 5,
            function_memory_mb: 128,
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            maximum_concurrency: 10,
            report_batch_item_failures: true,
            sqs_queue_url_host: eddy_server::QueueUrlHost::default(),
            lambda_async_retry_delays_seconds: vec![60, 120],
            functions: Vec::new(),
            event_source_mappings: Vec::new(),
            faults: crate::faults_config::FaultsConfig::default(),
        }
    }
}

impl EddyConfig {
    /// Every credential pair eddy accepts: the main one first, then the additional ones.
    pub fn credential_pairs(&self) -> Vec<(String, String)> {
        std::iter::once((self.access_key_id.clone(), self.secret_access_key.clone()))
            .chain(
                self.additional_credentials
                    .iter()
                    .map(|c| (c.access_key_id.clone(), c.secret_access_key.clone())),
            )
            .collect()
    }

    /// Each additional pair needs both values, printable ASCII without spaces in the
    /// key id (it travels in the Authorization header), and a key id used only once.
    fn check_additional_credentials(&self) -> anyhow::Result<()> {
        let mut seen = std::collections::BTreeSet::from([self.access_key_id.as_str()]);
        for (index, pair) in self.additional_credentials.iter().enumerate() {
            let key = format!("additional_credentials[{index}]");
            if pair.access_key_id.is_empty() || pair.secret_access_key.is_empty() {
                bail!("{key}: access_key_id and secret_access_key must not be empty");
            }
            if !pair.access_key_id.chars().all(|c| c.is_ascii_graphic())
                || pair.access_key_id.contains(['/', ','])
            {
                bail!(
                    "{key}: access_key_id = {:?} may hold only printable ASCII without spaces, '/' or ','",
                    pair.access_key_id
                );
            }
            if !seen.insert(pair.access_key_id.as_str()) {
                bail!(
                    "{key}: access_key_id = {:?} is configured twice",
                    pair.access_key_id
                );
            }
        }
        Ok(())
    }
}

fn check_range(key: &str, value: u64, min: u64, max: u64) -> anyhow::Result<()> {
    if !(min..=max).contains(&value) {
        bail!("{key} = {value} is out of range: it must be from {min} to {max}");
    }
    Ok(())
}

fn check_queue_name(key: &str, value: &str) -> anyhow::Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 80
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!("{key} = {value:?} is not a valid queue name: 1 to 80 letters, digits, '-' or '_'");
    }
    Ok(())
}

fn check_bucket_name(key: &str, value: &str) -> anyhow::Result<()> {
    let ok = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        bail!(
            "{key} = {value:?} is not a valid bucket name: 3 to 63 lowercase letters, digits, '-' or '.'"
        );
    }
    Ok(())
}

fn check_function_name(key: &str, value: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!(
            "{key} = {value:?} is not a valid function name: 1 to 64 letters, digits, '-' or '_'"
        );
    }
    Ok(())
}

impl FunctionConfig {
    fn validate(&self, key: &str) -> anyhow::Result<()> {
        check_function_name(&format!("{key}.name"), &self.name)?;
        check_range(&format!("{key}.timeout"), self.timeout, 1, 900)?;
        check_range(&format!("{key}.memory_size"), self.memory_size, 128, 10_240)?;
        match (self.handler.as_deref(), self.command.is_empty()) {
            (Some(BUILTIN_COPY), false) => bail!(
                "{key}.handler = \"{BUILTIN_COPY}\" is the built-in function: leave out {key}.command"
            ),
            (Some(handler), true) if handler != BUILTIN_COPY => bail!(
                "{key}.handler = {handler:?} needs {key}.command (the executable to run); the built-in function is \"{BUILTIN_COPY}\""
            ),
            _ => {}
        }
        if self.command.first().is_some_and(String::is_empty) {
            bail!("{key}.command must start with the executable");
        }
        if let Some(bucket) = &self.destination_bucket {
            check_bucket_name(&format!("{key}.destination_bucket"), bucket)?;
        }
        for name in self.environment.keys() {
            let well_formed = name.len() >= 2
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed {
                bail!(
                    "{key}.environment.{name} is not a valid variable name: a letter, then letters, digits or '_'"
                );
            }
            if eddy_runtimes::launch::RESERVED_ENVIRONMENT.contains(&name.as_str()) {
                bail!("{key}.environment.{name} is reserved by Lambda and set by eddy");
            }
        }
        Ok(())
    }
}

impl MappingConfig {
    fn validate(&self, key: &str) -> anyhow::Result<()> {
        check_queue_name(&format!("{key}.queue"), &self.queue)?;
        check_function_name(&format!("{key}.function"), &self.function)?;
        check_range(
            &format!("{key}.batch_size"),
            self.batch_size.into(),
            1,
            10_000,
        )?;
        check_range(
            &format!("{key}.maximum_batching_window_seconds"),
            self.maximum_batching_window_seconds,
            0,
            300,
        )?;
        if self.batch_size > 10 && self.maximum_batching_window_seconds < 1 {
            bail!(
                "{key}.batch_size = {} needs {key}.maximum_batching_window_seconds >= 1 (Lambda allows more than 10 messages per batch only with a batching window)",
                self.batch_size
            );
        }
        if let Some(concurrency) = self.maximum_concurrency {
            check_range(
                &format!("{key}.maximum_concurrency"),
                concurrency.into(),
                2,
                1000,
            )?;
        }
        for kind in &self.function_response_types {
            if kind != "ReportBatchItemFailures" {
                bail!(
                    "{key}.function_response_types contains {kind:?}: the only type is \"ReportBatchItemFailures\""
                );
            }
        }
        if self.filter_criteria.len() > eddy_pipeline::event_filter::MAX_FILTERS {
            bail!(
                "{key}.filter_criteria has {} patterns: at most {} are allowed",
                self.filter_criteria.len(),
                eddy_pipeline::event_filter::MAX_FILTERS
            );
        }
        for (index, pattern) in self.filter_criteria.iter().enumerate() {
            eddy_pipeline::event_filter::FilterPattern::parse(pattern)
                .with_context(|| format!("{key}.filter_criteria[{index}]"))?;
        }
        Ok(())
    }
}

impl EddyConfig {
    /// The functions of the pipeline: the default one (unless a `[[functions]]` table
    /// of the same name replaces it) and the configured ones.
    pub fn all_functions(&self) -> Vec<FunctionConfig> {
        let mut functions = self.functions.clone();
        if !functions.iter().any(|f| f.name == self.function_name) {
            functions.insert(
                0,
                FunctionConfig {
                    name: self.function_name.clone(),
                    handler: Some(BUILTIN_COPY.to_owned()),
                    command: Vec::new(),
                    working_dir: None,
                    timeout: self.function_timeout_seconds,
                    memory_size: self.function_memory_mb,
                    environment: BTreeMap::new(),
                    destination_bucket: None,
                    destination_prefix: None,
                },
            );
        }
        functions
    }

    /// The mappings of the pipeline: the default one (unless a `[[event_source_mappings]]`
    /// table on `queue_name` replaces it) and the configured ones.
    pub fn all_mappings(&self) -> Vec<MappingConfig> {
        let mut mappings = self.event_source_mappings.clone();
        if !mappings.iter().any(|m| m.queue == self.queue_name) {
            mappings.insert(
                0,
                MappingConfig {
                    queue: self.queue_name.clone(),
                    function: self.function_name.clone(),
                    batch_size: self.batch_size,
                    maximum_batching_window_seconds: self.maximum_batching_window_seconds,
                    function_response_types: if self.report_batch_item_failures {
                        vec!["ReportBatchItemFailures".to_owned()]
                    } else {
                        Vec::new()
                    },
                    maximum_concurrency: Some(self.maximum_concurrency),
                    filter_criteria: Vec::new(),
                },
            );
        }
        mappings
    }

    fn validate_tables(&self) -> anyhow::Result<()> {
        let mut names = std::collections::HashSet::new();
        for (index, function) in self.functions.iter().enumerate() {
            let key = format!("functions[{index}]");
            function.validate(&key)?;
            if !names.insert(function.name.as_str()) {
                bail!("{key}.name = {:?} is used twice", function.name);
            }
        }
        let functions = self.all_functions();
        let mut queues = std::collections::HashSet::new();
        for (index, mapping) in self.event_source_mappings.iter().enumerate() {
            let key = format!("event_source_mappings[{index}]");
            mapping.validate(&key)?;
            if !functions.iter().any(|f| f.name == mapping.function) {
                bail!(
                    "{key}.function = {:?} is not a function: name one of [[functions]] or function_name",
                    mapping.function
                );
            }
            if !queues.insert(mapping.queue.as_str()) {
                bail!(
                    "{key}.queue = {:?} already has a mapping: eddy runs one mapping per queue",
                    mapping.queue
                );
            }
        }
        // The default queue's visibility timeout is known now; other queues are checked
        // when eddy starts.
        for mapping in self.all_mappings() {
            let function = functions.iter().find(|f| f.name == mapping.function);
            if mapping.queue == self.queue_name
                && let Some(function) = function
                && self.visibility_timeout_seconds < function.timeout
            {
                bail!(
                    "visibility_timeout_seconds = {} must be at least the timeout of function {} ({} s, function_timeout_seconds or its [[functions]] timeout): Lambda refuses such a mapping; AWS recommends 6 times the timeout",
                    self.visibility_timeout_seconds,
                    function.name,
                    function.timeout
                );
            }
        }
        Ok(())
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let config: EddyConfig = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message().trim()))?;
        config
            .validate()
            .with_context(|| format!("invalid setting in {}", path.display()))?;
        Ok(config)
    }

    /// Reads and validates the text of a configuration file.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let config: EddyConfig =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message().trim()))?;
        config.validate().context("invalid setting")?;
        Ok(config)
    }

    /// Checks every value against the range AWS allows for it.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_bucket_name("source_bucket_name", &self.source_bucket_name)?;
        check_bucket_name("destination_bucket_name", &self.destination_bucket_name)?;
        if self.source_bucket_name == self.destination_bucket_name {
            bail!(
                "destination_bucket_name must differ from source_bucket_name: copying into the triggering bucket loops"
            );
        }
        check_queue_name("queue_name", &self.queue_name)?;
        check_queue_name("dlq_name", &self.dlq_name)?;
        if self.queue_name == self.dlq_name {
            bail!("dlq_name must differ from queue_name");
        }
        if self.account_id.len() != 12 || !self.account_id.chars().all(|c| c.is_ascii_digit()) {
            bail!("account_id = {:?} must be 12 digits", self.account_id);
        }
        if self.access_key_id.is_empty() || self.secret_access_key.is_empty() {
            bail!("access_key_id and secret_access_key must not be empty");
        }
        self.check_additional_credentials()?;
        self.faults.specs()?;
        if self.region.is_empty() {
            bail!("region must not be empty");
        }
        check_range("max_receive_count", self.max_receive_count.into(), 1, 1000)?;
        check_range(
            "visibility_timeout_seconds",
            self.visibility_timeout_seconds,
            0,
            43_200,
        )?;
        check_range(
            "message_retention_seconds",
            self.message_retention_seconds,
            60,
            1_209_600,
        )?;
        check_range(
            "dlq_message_retention_seconds",
            self.dlq_message_retention_seconds,
            60,
            1_209_600,
        )?;
        check_range(
            "lifecycle_day_seconds",
            self.lifecycle_day_seconds,
            1,
            86_400,
        )?;
        check_range(
            "function_timeout_seconds",
            self.function_timeout_seconds,
            1,
            900,
        )?;
        check_range("function_memory_mb", self.function_memory_mb, 128, 10_240)?;
        check_range("batch_size", self.batch_size.into(), 1, 10_000)?;
        check_range(
            "maximum_batching_window_seconds",
            self.maximum_batching_window_seconds,
            0,
            300,
        )?;
        check_range(
            "maximum_concurrency",
            self.maximum_concurrency.into(),
            2,
            1000,
        )?;
        if self.lambda_async_retry_delays_seconds.len() > 2 {
            bail!(
                "lambda_async_retry_delays_seconds has {} entries: Lambda retries an asynchronous invocation at most twice",
                self.lambda_async_retry_delays_seconds.len()
            );
        }
        if self.batch_size > 10 && self.maximum_batching_window_seconds < 1 {
            bail!(
                "batch_size = {} needs maximum_batching_window_seconds >= 1 (Lambda allows more than 10 messages per batch only with a batching window)",
                self.batch_size
            );
        }
        self.validate_tables()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
