//! The `[faults]` table of `eddy.toml`: faults on demand in force from the start and
//! after every reset, one sub-table per kind, with the fields of
//! `POST /_eddy/api/faults` (see `eddy_faults`):
//!
//! ```toml
//! [faults.s3_event_duplicate]
//! probability = 0.2
//! seed = 7
//!
//! [faults.s3_slow_down]
//! bucket = "destination"
//! count = 2
//! ```

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use serde::Deserialize;

use eddy_faults::{FaultKind, FaultSpec};

/// `[faults]`: the settings of each kind, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct FaultsConfig(BTreeMap<FaultKind, toml::Table>);

impl FaultsConfig {
    /// The configured faults, each checked; an error names its table.
    pub fn specs(&self) -> anyhow::Result<Vec<FaultSpec>> {
        let mut specs = Vec::with_capacity(self.0.len());
        for (kind, table) in &self.0 {
            if table.contains_key("kind") {
                bail!("[faults.{kind}] takes no `kind`: the table's name is the kind");
            }
            let mut table = table.clone();
            table.insert(
                "kind".to_owned(),
                toml::Value::String(kind.name().to_owned()),
            );
            let spec: FaultSpec = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| anyhow!("[faults.{kind}]: {}", e.message().trim()))?;
            spec.validate()
                .map_err(|e| anyhow!("[faults.{kind}]: {e}"))?;
            specs.push(spec);
        }
        Ok(specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Vec<FaultSpec>> {
        #[derive(Deserialize)]
        struct File {
            faults: FaultsConfig,
        }
        let file: File = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        file.faults.specs()
    }

    #[test]
    fn each_kind_is_a_table_and_bad_ones_are_named() {
        let specs = parse(
            "[faults.s3_event_delay]\ndelay_seconds = 2\nbucket = \"source\"\n\n[faults.lambda_throttle]\ncount = 1\nseed = 3\n",
        )
        .expect("faults");
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].kind, FaultKind::S3EventDelay);
        assert_eq!(specs[0].delay_seconds, Some(2));
        assert_eq!(specs[1].kind, FaultKind::LambdaThrottle);
        assert_eq!(specs[1].seed, 3);

        let error = |text: &str| parse(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            error("[faults.s3_slow_down]\ncount = 1\n"),
            "[faults.s3_slow_down]: fault s3_slow_down needs `bucket`: the bucket whose writes fail"
        );
        assert!(
            error("[faults.s3_latency]\nlatency_ms = 5\nlatncy = 1\n")
                .contains("unknown field `latncy`"),
            "{}",
            error("[faults.s3_latency]\nlatency_ms = 5\nlatncy = 1\n")
        );
        assert!(error("[faults.nope]\n").contains("unknown variant `nope`"));
        assert_eq!(
            error("[faults.sqs_latency]\nkind = \"x\"\nlatency_ms = 1\n"),
            "[faults.sqs_latency] takes no `kind`: the table's name is the kind"
        );
    }
}
