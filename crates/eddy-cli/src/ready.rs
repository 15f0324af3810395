//! How `eddy up` tells its caller that it is ready: the ready line on stdout
//! (`eddy ready on http://IP:PORT (...)`, the first word after `on` is the endpoint;
//! test harnesses parse it) and, with `--ready-file PATH`, a small JSON file with the
//! endpoint, region, account and credentials, written atomically once eddy serves and
//! removed at a clean exit.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use eddy_up::DataDir;
use eddy_up::config::EddyConfig;

/// The contents of the ready file.
#[derive(Debug, Serialize)]
pub struct ReadyInfo<'a> {
    pub endpoint: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub data_dir: &'a Path,
    pub ephemeral: bool,
    /// Whether writes are fsynced before they are acknowledged.
    pub fsync: bool,
    pub pid: u32,
}

/// The ready line printed on stdout.
pub fn ready_line(endpoint: &str, data_dir: &DataDir, config: &EddyConfig) -> String {
    let data = if data_dir.is_ephemeral() {
        format!(
            "ephemeral: data in {}, removed at exit, fsync skipped",
            data_dir.path().display()
        )
    } else {
        format!("data in {}", data_dir.path().display())
    };
    format!(
        "eddy ready on {endpoint} ({data}; source bucket {}, destination bucket {}, queue {})",
        config.source_bucket_name, config.destination_bucket_name, config.queue_name
    )
}

/// Writes the ready file: to a temporary file beside it, then renamed into place, so a
/// caller polling for it never reads half of it.
pub fn write_ready_file(path: &Path, info: &ReadyInfo<'_>) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(info).context("ready file")?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, json + "\n")
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write the ready file {}", path.display()))
}

/// Removes a ready file left by an earlier run, so that a caller waiting for the file
/// does not read a stale endpoint.
pub fn remove_ready_file(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove the ready file");
    }
}
