//! An eddy inside the test process (feature `in-process`): [`TestEddy::start`] runs
//! what `eddy up --ephemeral --listen 127.0.0.1:0` runs ([`eddy_up::Eddy`]), with no
//! child process, and hands back its endpoint, AWS SDK clients configured for it, and
//! the test-suite calls: [`TestEddy::reset`], [`TestEddy::wait_idle`],
//! [`TestEddy::trace`] and [`TestEddy::set_faults`].
//!
//! eddy runs on a runtime of its own, on its own thread, so that one eddy can serve
//! many `#[tokio::test]`s (each has its own runtime, which ends with the test): keep
//! it in a `static` and take a lock around each test, reset first. Clients are made
//! per test for the same reason (a client's connections belong to the runtime that
//! made them). Dropping a [`TestEddy`] stops it and removes its data directory.
//!
//! Metrics go through the process-wide `metrics` facade: the first eddy started in a
//! process installs the Prometheus recorder, and every eddy of that process serves the
//! same counters at `/_eddy/metrics`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_credential_types::Credentials;
use eddy_faults::{FaultError, FaultSpec};
use eddy_server::AppState;
use eddy_server::harness::IdleAnswer;
use eddy_server::trace::Trace;
use eddy_store::reset::ResetReport;
use eddy_up::config::EddyConfig;
use eddy_up::{DataDir, Eddy, PrometheusHandle, StartOptions};

/// Why a [`TestEddy`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("eddy did not start: {0}")]
    Start(String),
    #[error("eddy has stopped")]
    Stopped,
    #[error("the pipeline is still busy after {waited_ms} ms: {pending}")]
    Busy {
        waited_ms: u64,
        /// What is pending, as `GET /_eddy/api/idle` answers it (JSON).
        pending: String,
    },
    #[error("{0}")]
    Failed(String),
}

/// How to start a [`TestEddy`].
#[derive(Debug, Clone, Default)]
pub struct TestEddyOptions {
    /// The text of an `eddy.toml` (empty: the default pipeline).
    pub config: String,
    /// Keep the state here (emptied first, kept after the run, for a suite that shares
    /// one eddy in a `static`, which is never dropped) instead of in a temporary
    /// directory removed when the [`TestEddy`] is dropped.
    pub data_dir: Option<PathBuf>,
}

/// An eddy running in this process.
pub struct TestEddy {
    endpoint: String,
    config: EddyConfig,
    data_dir: PathBuf,
    state: Arc<AppState>,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The process's Prometheus recorder (installed by the first eddy; `None` when another
/// recorder was installed first).
fn metrics() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| eddy_up::install_metrics().ok())
        .clone()
}

/// What the eddy thread hands back once eddy serves.
struct Started {
    endpoint: String,
    data_dir: PathBuf,
    state: Arc<AppState>,
    runtime: tokio::runtime::Handle,
}

impl TestEddy {
    /// Starts an eddy with the default pipeline in a temporary directory.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(TestEddyOptions::default())
    }

    /// Starts an eddy; it serves, and its pipeline runs, when this returns.
    pub fn start_with(options: TestEddyOptions) -> Result<Self, HarnessError> {
        let config = EddyConfig::from_toml(&options.config)
            .map_err(|e| HarnessError::Start(format!("{e:#}")))?;
        let data_dir = match &options.data_dir {
            Some(path) => {
                let _ = std::fs::remove_dir_all(path);
                DataDir::Kept(path.clone())
            }
            None => DataDir::ephemeral().map_err(|e| HarnessError::Start(format!("{e:#}")))?,
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Started, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let start_options = StartOptions {
            config: config.clone(),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            fsync: false,
            metrics: metrics(),
        };
        let thread = std::thread::Builder::new()
            .name("eddy".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let eddy = match Eddy::start(start_options).await {
                        Ok(eddy) => eddy,
                        Err(error) => {
                            let _ = ready_tx.send(Err(format!("{error:#}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(Started {
                        endpoint: eddy.endpoint_url().to_owned(),
                        data_dir: eddy.data_dir().path().to_owned(),
                        state: eddy.state().clone(),
                        runtime: tokio::runtime::Handle::current(),
                    }));
                    let _ = stop_rx.await;
                    eddy.stop().await;
                });
            })
            .map_err(|e| HarnessError::Start(e.to_string()))?;
        let started = ready_rx
            .recv()
            .map_err(|_| HarnessError::Start("the eddy thread ended".to_owned()))?
            .map_err(HarnessError::Start)?;
        Ok(TestEddy {
            endpoint: started.endpoint,
            config,
            data_dir: started.data_dir,
            state: started.state,
            runtime: started.runtime,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The endpoint: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> &str {
        &self.config.region
    }

    pub fn account_id(&self) -> &str {
        &self.config.account_id
    }

    /// Where this eddy keeps its state.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The URL of one of its queues.
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.endpoint, self.config.account_id)
    }

    /// An AWS SDK configuration for this eddy: its endpoint, region and credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(eddy_function::sdk_http::https_client())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(self.config.region.clone()))
            .credentials_provider(Credentials::new(
                self.config.access_key_id.clone(),
                self.config.secret_access_key.clone(),
                None,
                None,
                "eddy-testing",
            ))
            .load()
            .await
    }

    /// An S3 client (path-style addressing).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let shared = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        )
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    /// Runs `work` on eddy's own runtime (what it starts must outlive the caller's).
    async fn on_eddy<T, F>(&self, work: impl FnOnce(Arc<AppState>) -> F) -> Result<T, HarnessError>
    where
        F: Future<Output = Result<T, String>> + Send + 'static,
        T: Send + 'static,
    {
        let future = work(self.state.clone());
        self.runtime
            .spawn(future)
            .await
            .map_err(|_| HarnessError::Stopped)?
            .map_err(HarnessError::Failed)
    }

    /// Back to the configured pipeline (`POST /_eddy/api/reset`): buckets, queues,
    /// functions and mappings created since start are gone, the configured ones empty,
    /// the faults set at run time cleared.
    pub async fn reset(&self) -> Result<ResetReport, HarnessError> {
        self.on_eddy(|state| async move {
            let harness = state.harness().ok_or("eddy runs no pipeline")?;
            eddy_server::harness_api::reset(&state, harness).await
        })
        .await
    }

    /// Waits until the pipeline has nothing left to do (`GET /_eddy/api/idle`); after
    /// `timeout`, [`HarnessError::Busy`] says what is still pending.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<IdleAnswer, HarnessError> {
        let answer = self
            .on_eddy(move |state| async move {
                let harness = state.harness().ok_or("eddy runs no pipeline")?;
                eddy_server::harness_api::wait_idle(&state, harness, timeout).await
            })
            .await?;
        if answer.idle {
            return Ok(answer);
        }
        Err(HarnessError::Busy {
            waited_ms: answer.waited_ms,
            pending: serde_json::to_string(&answer.pending).unwrap_or_default(),
        })
    }

    /// The trace of one file (`GET /_eddy/api/trace`).
    pub async fn trace(&self, bucket: &str, key: &str) -> Result<Trace, HarnessError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.on_eddy(
            move |state| async move { eddy_server::trace::trace(&state, &bucket, &key).await },
        )
        .await
    }

    /// Replaces the faults in force (`POST /_eddy/api/faults`; an empty list clears
    /// them, as does a reset).
    pub fn set_faults(&self, faults: Vec<FaultSpec>) -> Result<(), FaultError> {
        self.state.store.faults().set(faults)
    }
}

impl Drop for TestEddy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
