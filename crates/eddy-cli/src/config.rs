//! `eddy.toml`: every setting of `eddy up`, named like the Terraform variables, with
//! defaults and the ranges AWS allows. An unknown key or a value out of range is an
//! error that names the key.

use std::path::Path;

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
    pub function_name: String,
    pub function_timeout_seconds: u64,
    pub function_memory_mb: u64,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u64,
    pub maximum_concurrency: u32,
    pub report_batch_item_failures: bool,
}

impl Default for EddyConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
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
            function_name: "eddy-copy".into(),
            function_timeout_seconds: 5,
            function_memory_mb: 128,
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            maximum_concurrency: 10,
            report_batch_item_failures: true,
        }
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

impl EddyConfig {
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
        if self.batch_size > 10 && self.maximum_batching_window_seconds < 1 {
            bail!(
                "batch_size = {} needs maximum_batching_window_seconds >= 1 (Lambda allows more than 10 messages per batch only with a batching window)",
                self.batch_size
            );
        }
        if self.visibility_timeout_seconds < self.function_timeout_seconds {
            bail!(
                "visibility_timeout_seconds = {} must be at least function_timeout_seconds = {} (Lambda refuses such a mapping; AWS recommends 6 times the timeout)",
                self.visibility_timeout_seconds,
                self.function_timeout_seconds
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eddy.toml.example");
        let config = EddyConfig::load(&path).expect("example loads");
        assert_eq!(config, EddyConfig::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let error = toml::from_str::<EddyConfig>("bacth_size = 3").expect_err("unknown key");
        assert!(error.to_string().contains("bacth_size"), "{error}");
    }

    #[test]
    fn out_of_range_is_named() {
        let config = EddyConfig {
            batch_size: 20,
            ..EddyConfig::default()
        };
        let error = config.validate().expect_err("window needed");
        assert!(
            error
                .to_string()
                .contains("maximum_batching_window_seconds")
        );
        let config = EddyConfig {
            visibility_timeout_seconds: 2,
            ..EddyConfig::default()
        };
        assert!(
            config
                .validate()
                .expect_err("too short")
                .to_string()
                .contains("visibility_timeout_seconds")
        );
        let config = EddyConfig {
            max_receive_count: 0,
            ..EddyConfig::default()
        };
        assert!(
            config
                .validate()
                .expect_err("zero")
                .to_string()
                .contains("max_receive_count")
        );
    }
}
