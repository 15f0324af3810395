//! `eddy up`: open the store, provision the pipeline of `eddy.toml`, serve S3, SQS and
//! the Lambda API (functions deployed through it run under `<data dir>/lambda`), run
//! the event source mapping, and shut down cleanly on SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use eddy_function::CopyOptions;
use eddy_pipeline::api_mappings::ApiMappings;
use eddy_pipeline::async_invocations::AsyncInvoker;
use eddy_pipeline::builtin::BuiltinCopyFunction;
use eddy_pipeline::deployed::{DeployedFunctions, HostIdentity};
use eddy_pipeline::event_filter::FilterPattern;
use eddy_pipeline::external::{ExternalFunction, ExternalFunctionConfig};
use eddy_pipeline::function::Function;
use eddy_pipeline::mapping::{self, MappingHandle, MappingSettings};
use eddy_server::harness::{Harness, MappingProbe};
use eddy_server::{AppState, Credential, Server};
use eddy_store::s3::S3Error;
use eddy_store::s3::notification_rules::overlaps;
use eddy_store::s3::{ChangeContext, Destination, NotificationConfig};
use eddy_store::{Durability, Store, StoreSettings};
use eddy_telemetry::{FunctionKnown, MappingKnown, Telemetry};

use crate::config::{
    BUILTIN_COPY, EddyConfig, FunctionConfig, MappingConfig, UNSET_MAXIMUM_CONCURRENCY,
};
use crate::ready::{self, DataDir, ReadyInfo};

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

/// Creates the buckets, queues and notification of the configured pipeline, keeping
/// what exists and bringing changed settings up to date.
async fn provision(store: &Store, config: &EddyConfig) -> anyhow::Result<()> {
    for bucket in [&config.source_bucket_name, &config.destination_bucket_name] {
        match store.buckets().create(bucket).await {
            Ok(()) | Err(S3Error::BucketAlreadyOwnedByYou) => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create bucket {bucket}"));
            }
        }
    }
    let dlq_attributes = BTreeMap::from([(
        "MessageRetentionPeriod".to_owned(),
        config.dlq_message_retention_seconds.to_string(),
    )]);
    ensure_queue(store, &config.dlq_name, dlq_attributes).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": store.queue_arn(&config.dlq_name),
        "maxReceiveCount": config.max_receive_count,
    })
    .to_string();
    let queue_attributes = BTreeMap::from([
        (
            "VisibilityTimeout".to_owned(),
            config.visibility_timeout_seconds.to_string(),
        ),
        (
            "MessageRetentionPeriod".to_owned(),
            config.message_retention_seconds.to_string(),
        ),
        ("RedrivePolicy".to_owned(), redrive),
    ]);
    ensure_queue(store, &config.queue_name, queue_attributes).await?;

    let own = NotificationConfig {
        id: "eddy-file-events".to_owned(),
        destination: Destination::Queue(store.queue_arn(&config.queue_name)),
        events: vec!["s3:ObjectCreated:*".to_owned()],
        prefix: Some(config.notification_filter_prefix.clone()).filter(|p| !p.is_empty()),
        suffix: Some(config.notification_filter_suffix.clone()).filter(|s| !s.is_empty()),
    };
    let current = store
        .notifications()
        .get(&config.source_bucket_name)
        .await?;
    // What users added to the source bucket (say, a Lambda function for other keys)
    // stays, unless it overlaps eddy's own configuration.
    let mut wanted = vec![own.clone()];
    wanted.extend(
        current
            .iter()
            .filter(|c| c.id != own.id && !overlaps(c, &own))
            .cloned(),
    );
    if current != wanted {
        let context = ChangeContext {
            request_id: "EDDYPROVISIONING".to_owned(),
            host_id: "eddy".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            ..ChangeContext::default()
        };
        let kept = store
            .notifications()
            .put(&config.source_bucket_name, wanted, context.clone())
            .await;
        if let Err(error) = kept {
            tracing::warn!(bucket = %config.source_bucket_name, %error, "the source bucket's other notification configurations are no longer valid; only eddy's own is kept");
            store
                .notifications()
                .put(&config.source_bucket_name, vec![own], context)
                .await
                .context("cannot configure the source bucket's notification")?;
        }
    }
    Ok(())
}

async fn ensure_queue(
    store: &Store,
    name: &str,
    attributes: BTreeMap<String, String>,
) -> anyhow::Result<()> {
    match store.queues().get(name).await {
        Ok(_) => store
            .queues()
            .set_attributes(name, attributes)
            .await
            .with_context(|| format!("cannot update queue {name}")),
        Err(_) => store
            .queues()
            .create(name.to_owned(), attributes, BTreeMap::new())
            .await
            .map(|_| ())
            .with_context(|| format!("cannot create queue {name}")),
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

/// The running functions and mappings.
struct Pipeline {
    mappings: Vec<MappingHandle>,
    external: Vec<Arc<ExternalFunction>>,
    /// What the idle check reads of each mapping.
    probes: Vec<MappingProbe>,
}

impl Pipeline {
    /// Stops the mappings (in-flight batches finish), then the external processes.
    async fn stop(self) {
        for mapping in self.mappings {
            mapping.stop().await;
        }
        for function in self.external {
            function.stop().await;
        }
    }
}

/// The address processes on this machine reach eddy at.
fn loopback(bound: SocketAddr) -> SocketAddr {
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
async fn start_pipeline(
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
            Arc::new(BuiltinCopyFunction::new(
                function.name.clone(),
                store.clone(),
                CopyOptions {
                    destination_bucket,
                    destination_prefix,
                },
            ))
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
    })
}

pub async fn run(options: UpOptions) -> anyhow::Result<()> {
    let config = load_config(options.config)?;
    // Installed first, so that provisioning is counted too.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            60.0,
        ])
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
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
    let (data_dir, durability) = if options.ephemeral {
        (DataDir::ephemeral()?, Durability::SkipFsync)
    } else {
        (DataDir::Kept(options.data_dir.clone()), Durability::Full)
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
    provision(&store, &config).await?;

    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    let endpoint_url = format!("http://{}", loopback(bound));
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
    let async_invoker = AsyncInvoker::new(
        store.clone(),
        deployed.clone(),
        config
            .lambda_async_retry_delays_seconds
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect(),
    );
    let state = AppState::new(
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
    .with_metrics(metrics)
    .with_configured(crate::configured::configured(&config))
    .with_queue_url_host(config.sqs_queue_url_host)
    .with_functions(deployed.clone())
    .with_mappings(api_mappings.clone())
    .with_async_invoker(async_invoker.clone())
    .with_sessions(
        store
            .sts_sessions()
            .list()
            .await
            .context("reading the temporary credentials STS issued")?,
    );
    let baseline = store
        .capture_baseline()
        .await
        .context("cannot capture the start-up configuration")?;
    let server = Server::new(state);
    let app_state = server.state().clone();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let serving = tokio::spawn(server.serve(listener, shutdown_rx.clone()));

    let mut pipeline = match start_pipeline(&store, &config, &endpoint_url).await {
        Ok(pipeline) => pipeline,
        Err(error) => {
            let _ = shutdown_tx.send(true);
            let _ = serving.await;
            api_mappings.stop().await;
            deployed.stop().await;
            store.close();
            return Err(error);
        }
    };
    app_state.set_harness(Harness {
        baseline,
        mappings: std::mem::take(&mut pipeline.probes),
    });
    api_mappings.start_all().await;
    let async_invocations = async_invoker.start(shutdown_rx.clone());
    let maintenance = {
        let store = store.clone();
        let mut shutdown = shutdown_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(10)) => {}
                    _ = shutdown.changed() => return,
                }
                match store.messages().expire().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(expired = n, "removed messages past their retention period");
                    }
                    Err(error) => tracing::warn!(%error, "retention sweep failed"),
                }
                match store.logs().sweep_retention().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(
                            deleted = n,
                            "removed log events past their group's retention"
                        );
                    }
                    Err(error) => tracing::warn!(%error, "log retention sweep failed"),
                }
            }
        })
    };

    let lifecycle = {
        let store = store.clone();
        let mut shutdown = shutdown_rx.clone();
        let day = Duration::from_secs(config.lifecycle_day_seconds);
        // A rule's days are checked a few times a lifecycle day, at least every minute.
        let every = (day / 4).min(Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = shutdown.changed() => return,
                }
                let report = eddy_server::s3::lifecycle_sweeper::sweep(&store, day).await;
                if !report.is_empty() {
                    tracing::info!(?report, "lifecycle rules applied");
                }
            }
        })
    };

    let announced = announce(
        &endpoint_url,
        &data_dir,
        &config,
        options.ready_file.as_deref(),
    );

    if announced.is_ok() {
        let signal = wait_for_signal().await;
        tracing::info!(
            signal,
            "shutting down: finishing in-flight batches and requests"
        );
    }
    let _ = shutdown_tx.send(true);
    pipeline.stop().await;
    api_mappings.stop().await;
    let _ = async_invocations.await;
    deployed.stop().await;
    let _ = serving.await;
    let _ = maintenance.await;
    let _ = lifecycle.await;
    if let Err(error) = store.logs().flush().await {
        tracing::warn!(%error, "cannot store the last function logs");
    }
    store.close();
    if let Some(path) = &options.ready_file {
        ready::remove_ready_file(path);
    }
    drop(data_dir);
    tracing::info!("stopped");
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
