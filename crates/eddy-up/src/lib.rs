//! What `eddy up` runs, as a library: [`Eddy::start`] reads nothing but what it is
//! given (an [`EddyConfig`], a data directory or a fresh ephemeral one, an address),
//! opens the store, provisions the configured pipeline, serves S3, SQS, Lambda, Logs
//! and eddy's pages on one port, runs the mappings, functions, asynchronous
//! invocations and background sweeps, and hands back a running [`Eddy`];
//! [`Eddy::stop`] shuts it down cleanly (in-flight batches and requests finish).
//!
//! The `eddy` binary wraps it with the ready line, the ready file and the signals;
//! `eddy-testing` starts it in the test process itself. Modules:
//!
//! - [`config`]: `eddy.toml` and its checks ([`faults_config`]: its `[faults]` table);
//! - [`provision`]: the configured buckets, queues and notification in the store;
//! - [`configured`]: what the server is told of the configured functions and mappings;
//! - [`pipeline`]: the configured functions and mappings, started;
//! - [`background`]: the retention and lifecycle sweeps.
//!
//! It must not print, read the environment or handle signals: that is the caller's.

mod background;
pub mod config;
pub mod configured;
pub mod faults_config;
mod pipeline;
mod provision;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use eddy_pipeline::api_mappings::ApiMappings;
use eddy_pipeline::async_invocations::AsyncInvoker;
use eddy_pipeline::configured::ConfiguredFunctions;
use eddy_pipeline::deployed::{DeployedFunctions, HostIdentity};
use eddy_server::harness::Harness;
use eddy_server::{AppState, Credential, Server};
use eddy_store::{Durability, Store, StoreSettings};
use eddy_telemetry::Telemetry;

pub use config::EddyConfig;
pub use metrics_exporter_prometheus::PrometheusHandle;

/// Where the store lives: a directory the user chose, or a fresh temporary one that
/// is removed when this value is dropped (`--ephemeral`).
pub enum DataDir {
    Kept(PathBuf),
    Ephemeral(tempfile::TempDir),
}

impl DataDir {
    /// A fresh, empty temporary directory (under `$TMPDIR`).
    pub fn ephemeral() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("eddy-ephemeral-")
            .tempdir()
            .context("cannot create a temporary data directory")?;
        Ok(DataDir::Ephemeral(dir))
    }

    pub fn path(&self) -> &Path {
        match self {
            DataDir::Kept(path) => path,
            DataDir::Ephemeral(dir) => dir.path(),
        }
    }

    pub fn is_ephemeral(&self) -> bool {
        matches!(self, DataDir::Ephemeral(_))
    }
}

/// Installs the process's Prometheus recorder, with eddy's latency buckets. Once per
/// process: metrics go through the global `metrics` facade. Install it before
/// [`Eddy::start`], so that provisioning and the series at 0 are recorded too.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            60.0,
        ])
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")
}

/// How to start an eddy.
pub struct StartOptions {
    pub config: EddyConfig,
    /// The address to listen on (port 0: a free one).
    pub listen: SocketAddr,
    /// Where the state lives.
    pub data_dir: DataDir,
    /// Whether writes are fsynced before they are acknowledged (off for a throw-away
    /// store: an ephemeral run, a test suite).
    pub fsync: bool,
    /// Serves `/_eddy/metrics` from this recorder (see [`install_metrics`]).
    pub metrics: Option<PrometheusHandle>,
}

/// A running eddy.
pub struct Eddy {
    endpoint_url: String,
    data_dir: DataDir,
    config: EddyConfig,
    store: Store,
    state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    pipeline: pipeline::Pipeline,
    api_mappings: Arc<ApiMappings>,
    deployed: Arc<DeployedFunctions>,
    async_invocations: JoinHandle<()>,
    serving: JoinHandle<()>,
    sweeps: [JoinHandle<()>; 3],
}

impl Eddy {
    /// Starts an eddy: it serves and runs its pipeline when this returns.
    pub async fn start(options: StartOptions) -> anyhow::Result<Eddy> {
        let StartOptions {
            config,
            listen,
            data_dir,
            fsync,
            metrics,
        } = options;
        let durability = if fsync {
            Durability::Full
        } else {
            Durability::SkipFsync
        };
        let store = Store::open_with(
            data_dir.path(),
            StoreSettings {
                region: config.region.clone(),
                account_id: config.account_id.clone(),
                access_key_id: config.access_key_id.clone(),
            },
            Telemetry::default(),
            durability,
        )
        .with_context(|| {
            format!(
                "cannot open the data directory {}",
                data_dir.path().display()
            )
        })?;
        store.set_lifecycle_day(Duration::from_secs(config.lifecycle_day_seconds));
        provision::provision(&store, &config).await?;
        store
            .faults()
            .configure(config.faults.specs()?)
            .context("invalid [faults]")?;

        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let endpoint_url = format!("http://{}", pipeline::loopback(listener.local_addr()?));
        let deployed = Arc::new(
            DeployedFunctions::new(
                data_dir.path(),
                HostIdentity {
                    region: config.region.clone(),
                    account_id: config.account_id.clone(),
                    access_key_id: config.access_key_id.clone(),
                    secret_access_key: config.secret_access_key.clone(),
                    endpoint_url: endpoint_url.clone(),
                },
            )
            .context("cannot install the Lambda runtime clients under the data directory")?,
        );
        let api_mappings = Arc::new(ApiMappings::new(store.clone(), deployed.clone()));
        let configured_functions = ConfiguredFunctions::new();
        let async_invoker = AsyncInvoker::new(
            store.clone(),
            deployed.clone(),
            configured_functions.clone(),
            config
                .lambda_async_retry_delays_seconds
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        );
        let mut state = AppState::new(
            store.clone(),
            config
                .credential_pairs()
                .into_iter()
                .map(|(access_key_id, secret_access_key)| Credential {
                    access_key_id,
                    secret_access_key,
                })
                .collect(),
        )
        .with_configured(configured::configured(&config))
        .with_queue_url_host(config.sqs_queue_url_host)
        .with_functions(deployed.clone())
        .with_mappings(api_mappings.clone())
        .with_async_invoker(async_invoker.clone())
        .with_configured_functions(configured_functions.clone())
        .with_sessions(
            store
                .sts_sessions()
                .list()
                .await
                .context("reading the temporary credentials STS issued")?,
        );
        if let Some(metrics) = metrics {
            state = state.with_metrics(metrics);
        }
        let baseline = store
            .capture_baseline()
            .await
            .context("cannot capture the start-up configuration")?;
        let server = Server::new(state);
        let state = server.state().clone();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let serving = tokio::spawn(server.serve(listener, shutdown_rx.clone()));

        let mut pipeline = match pipeline::start_pipeline(&store, &config, &endpoint_url).await {
            Ok(pipeline) => pipeline,
            Err(error) => {
                let _ = shutdown.send(true);
                let _ = serving.await;
                api_mappings.stop().await;
                deployed.stop().await;
                store.close();
                return Err(error);
            }
        };
        configured_functions.set(std::mem::take(&mut pipeline.invocable));
        state.set_harness(Harness {
            baseline,
            mappings: std::mem::take(&mut pipeline.probes),
        });
        api_mappings.start_all().await;
        let async_invocations = async_invoker.start(shutdown_rx.clone());
        let sweeps = [
            background::retention(store.clone(), shutdown_rx.clone()),
            background::restores(store.clone(), shutdown_rx.clone()),
            background::lifecycle(
                store.clone(),
                Duration::from_secs(config.lifecycle_day_seconds),
                shutdown_rx,
            ),
        ];
        Ok(Eddy {
            endpoint_url,
            data_dir,
            config,
            store,
            state,
            shutdown,
            pipeline,
            api_mappings,
            deployed,
            async_invocations,
            serving,
            sweeps,
        })
    }

    /// The endpoint clients use: `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    pub fn config(&self) -> &EddyConfig {
        &self.config
    }

    /// What every request handler shares: the store, the harness (reset, idle), the
    /// Lambda hosts.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Stops serving and polling, lets in-flight batches and requests finish, stops the
    /// function processes, writes the last logs and closes the store; an ephemeral data
    /// directory is removed.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.pipeline.stop().await;
        self.api_mappings.stop().await;
        let _ = self.async_invocations.await;
        self.deployed.stop().await;
        let _ = self.serving.await;
        for sweep in self.sweeps {
            let _ = sweep.await;
        }
        if let Err(error) = self.store.logs().flush().await {
            tracing::warn!(%error, "cannot store the last function logs");
        }
        self.store.close();
        drop(self.data_dir);
        tracing::info!("stopped");
    }
}
