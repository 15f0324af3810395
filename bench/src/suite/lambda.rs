//! The Lambda part (eddy only; moto runs functions only in Docker): a Python function
//! deployed through the Lambda API, from CreateFunction to its first answer; warm
//! Invoke round trips; and the pipeline with a Python copy function (boto3, batch
//! size 10) in place of the built-in one, beside the built-in figure of the same run.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use bytes::Bytes;
use http::Method;
use serde_json::json;

use super::common::{Options, Report, System, describe, metered, signer, start};
use crate::http::{Api, Body, Connection, Reply};
use crate::load::{Budget, Workload};
use crate::process::CpuMeter;
use crate::report::{Metric, format_number};
use crate::workloads::{CopyClock, create_bucket, create_queue, pipeline};

/// A handler that answers its event.
const ECHO: &str = "def handler(event, context):\n    return event\n";

/// The copy function of the test suite, as a user would write it with boto3.
const PYTHON_COPY: &str =
    include_str!("../../../crates/eddy-cli/tests/fixtures/python_copy/app.py");

const ROLE: &str = "arn:aws:iam::000000000000:role/bench";

fn zipped(file: &str, source: &str) -> anyhow::Result<String> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut archive = zip::ZipWriter::new(&mut bytes);
    archive.start_file(file, zip::write::SimpleFileOptions::default())?;
    archive.write_all(source.as_bytes())?;
    archive.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes.into_inner()))
}

async fn call(
    admin: &mut Connection,
    method: Method,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<Reply> {
    let reply = admin
        .lambda(method, path, Bytes::from(body.to_string()))
        .await?;
    if !reply.status.is_success() {
        bail!(
            "{path} answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    Ok(reply)
}

async fn create_function(
    admin: &mut Connection,
    name: &str,
    (file, source, handler): (&str, &str, &str),
    environment: serde_json::Value,
) -> anyhow::Result<()> {
    let input = json!({
        "FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": handler,
        "Code": {"ZipFile": zipped(file, source)?}, "Environment": {"Variables": environment},
    });
    call(admin, Method::POST, "/2015-03-31/functions", &input).await?;
    Ok(())
}

fn invocation_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

/// `Invoke` (RequestResponse) of the echo function.
struct Invoke {
    path: String,
}

impl Workload for Invoke {
    fn request(&self, api: &Api, sequence: u64) -> anyhow::Result<http::Request<Body>> {
        let payload = json!({ "n": sequence }).to_string();
        api.lambda_request(Method::POST, &self.path, Bytes::from(payload))
    }
}

pub(super) async fn lambda(
    options: &Options,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = start(options, System::Eddy, work_dir)?;
    let api = Api::new(&server.base_url, signer())?;
    let mut admin = Connection::open(api.clone()).await?;

    // CreateFunction to the first successful Invoke, a new function each time.
    let mut times = Vec::new();
    for run in 0..options.startup_runs.max(1) {
        let name = format!("bench-echo-{run}");
        let started = Instant::now();
        create_function(
            &mut admin,
            &name,
            ("index.py", ECHO, "index.handler"),
            json!({}),
        )
        .await?;
        loop {
            let reply = admin
                .lambda(Method::POST, &invocation_path(&name), Bytes::from("{}"))
                .await?;
            if reply.status.is_success() {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{name} did not answer within 30 s: {}", reply.status);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    report
        .results(System::Eddy)
        .set(Metric::LambdaCreateToInvoke, median);
    report.note(format!(
        "Lambda CreateFunction (python3.12, a handler returning its event) to its first successful Invoke: median {} ms (all: {})",
        format_number(median),
        times
            .iter()
            .map(|t| format_number(*t))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // Warm invocations of the first function, one client.
    let warm_options = Options {
        connections: 1,
        ..options.clone()
    };
    let (mut warm, cpu) = metered(
        &warm_options,
        &server,
        &api,
        Budget::For(options.duration()),
        Invoke {
            path: invocation_path("bench-echo-0"),
        },
    )
    .await?;
    let results = report.results(System::Eddy);
    results.set_some(Metric::LambdaWarmInvokeP50, warm.latencies.quantile_ms(0.5));
    results.set_some(
        Metric::LambdaWarmInvokeP99,
        warm.latencies.quantile_ms(0.99),
    );
    report.note(describe(
        System::Eddy,
        "Lambda warm Invoke (one client)",
        &warm,
        cpu,
    ));

    python_pipeline(options, &server, &api, &mut admin, report).await
}

/// A second pipeline beside the configured one: bucket `py-source` notifies queue
/// `py-events`, whose mapping (batch size 10) runs the Python copy function into
/// `destination`.
async fn python_pipeline(
    options: &Options,
    server: &crate::process::Server,
    api: &std::sync::Arc<Api>,
    admin: &mut Connection,
    report: &mut Report,
) -> anyhow::Result<()> {
    create_bucket(admin, "py-source").await?;
    let queue_url = create_queue(admin, "py-events", json!({})).await?;
    let notification = r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><QueueConfiguration><Id>py</Id><Queue>arn:aws:sqs:us-east-1:000000000000:py-events</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>"#;
    admin
        .s3(
            Method::PUT,
            "/py-source?notification=",
            Bytes::from(notification),
        )
        .await?;
    create_function(
        admin,
        "bench-python-copy",
        ("app.py", PYTHON_COPY, "app.handler"),
        json!({"DESTINATION_BUCKET": "destination"}),
    )
    .await?;
    let mapping = json!({
        "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:py-events",
        "FunctionName": "bench-python-copy", "BatchSize": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    });
    call(
        admin,
        Method::POST,
        "/2015-03-31/event-source-mappings/",
        &mapping,
    )
    .await
    .context("CreateEventSourceMapping")?;
    let files = options.python_pipeline_files;
    let meter = CpuMeter::start(server.pid())?;
    let mut stats = pipeline(
        api,
        options.connections,
        files,
        4096,
        "py-source",
        "destination",
        &queue_url,
        CopyClock::LastModified,
        Duration::from_secs(600),
    )
    .await?;
    let cpu = meter.stop()?;
    report
        .results(System::Eddy)
        .set(Metric::PythonPipelineRate, stats.rate());
    report.note(format!(
        "Python pipeline (boto3 copy function, batch size 10, up to 10 processes): {} files of 4 KiB, last copy {:.2} s after the first upload, {} copies seen, upload-to-copied p50 {} ms; {} (eddy's CPU only; the Python processes are not counted)",
        format_number(files as f64),
        stats.total.as_secs_f64(),
        format_number(stats.copied as f64),
        format_number(stats.latencies.quantile_ms(0.5).unwrap_or(f64::NAN)),
        cpu.summary("eddy")
    ));
    Ok(())
}
