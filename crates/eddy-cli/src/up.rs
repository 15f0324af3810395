//! `eddy up`: read `eddy.toml`, start eddy ([`eddy_up::Eddy`]: the store, the
//! configured pipeline, S3, SQS and the Lambda API on one port), tell the caller it is
//! ready (the ready line, the ready file), and shut down cleanly on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use eddy_up::config::EddyConfig;
use eddy_up::{DataDir, Eddy, StartOptions};

use crate::ready::{self, ReadyInfo};

pub struct UpOptions {
    pub listen: String,
    pub data_dir: PathBuf,
    pub config: Option<PathBuf>,
    /// Keep everything in a fresh temporary directory removed at exit; skip fsync.
    pub ephemeral: bool,
    /// Where to write the ready file (endpoint, region, account, credentials).
    pub ready_file: Option<PathBuf>,
}

fn load_config(path: Option<PathBuf>) -> anyhow::Result<EddyConfig> {
    if let Some(path) = path {
        EddyConfig::load(&path)
    } else {
        let default = PathBuf::from("eddy.toml");
        if default.exists() {
            EddyConfig::load(&default)
        } else {
            Ok(EddyConfig::default())
        }
    }
}

pub(crate) async fn wait_for_signal() -> &'static str {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

pub async fn run(options: UpOptions) -> anyhow::Result<()> {
    let config = load_config(options.config)?;
    // Installed first, so that provisioning is counted too.
    let metrics = eddy_up::install_metrics()?;
    let address: SocketAddr = options.listen.parse().with_context(|| {
        format!(
            "--listen {} is not an address like 127.0.0.1:4566",
            options.listen
        )
    })?;
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "listening beyond this machine: anyone who can reach it and knows the credentials can use eddy");
    }
    if let Some(path) = &options.ready_file {
        ready::remove_ready_file(path);
    }
    let data_dir = if options.ephemeral {
        DataDir::ephemeral()?
    } else {
        DataDir::Kept(options.data_dir.clone())
    };
    let eddy = Eddy::start(StartOptions {
        config,
        listen: address,
        fsync: !options.ephemeral,
        data_dir,
        metrics: Some(metrics),
    })
    .await?;
    let announced = announce(
        eddy.endpoint_url(),
        eddy.data_dir(),
        eddy.config(),
        options.ready_file.as_deref(),
    );
    if announced.is_ok() {
        let signal = wait_for_signal().await;
        tracing::info!(
            signal,
            "shutting down: finishing in-flight batches and requests"
        );
    }
    eddy.stop().await;
    if let Some(path) = &options.ready_file {
        ready::remove_ready_file(path);
    }
    announced
}

/// Prints the ready line and writes the ready file.
fn announce(
    endpoint_url: &str,
    data_dir: &DataDir,
    config: &EddyConfig,
    ready_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(path) = ready_file {
        ready::write_ready_file(
            path,
            &ReadyInfo {
                endpoint: endpoint_url,
                region: &config.region,
                account_id: &config.account_id,
                access_key_id: &config.access_key_id,
                secret_access_key: &config.secret_access_key,
                data_dir: data_dir.path(),
                ephemeral: data_dir.is_ephemeral(),
                fsync: !data_dir.is_ephemeral(),
                pid: std::process::id(),
            },
        )?;
    }
    let mut stdout = std::io::stdout().lock();
    // A caller that closed stdout still finds eddy through the ready file.
    let _ = writeln!(
        stdout,
        "{}",
        ready::ready_line(endpoint_url, data_dir, config)
    );
    let _ = stdout.flush();
    Ok(())
}
