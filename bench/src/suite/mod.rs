//! The whole benchmark: starts each system fresh for each part, runs the same workloads
//! against eddy and moto_server, and assembles the Markdown report (machine, load, the
//! table, and what limited each number).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::Method;
use serde_json::json;

use crate::http::{Api, Connection};
use crate::load::Budget;
use crate::process::{CpuMeter, Server, start_stub};
use crate::report::{Metric, format_number, markdown_table};
use crate::workloads::{
    CopyClock, PutObject, SendMessage, SendMessageBatch, create_bucket, create_queue, dd_rate,
    drain, large_upload, md5_rate, pipeline,
};

mod backlog;
mod common;
mod lambda;

pub use common::{Options, Part};
use common::{Report, System, describe, first_error, metered, signer, start};

/// Runs the parts `options` asks for and returns the Markdown report.
pub async fn run(options: Options) -> anyhow::Result<String> {
    let options = options.effective();
    if !options.eddy.exists() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p eddy-cli`",
            options.eddy.display()
        );
    }
    // Everything of this run (data directories, logs, dd's file) goes in one directory,
    // removed at the end.
    let base = options.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base)?;
    let run_dir = tempfile::Builder::new()
        .prefix("eddy-bench-")
        .tempdir_in(&base)
        .with_context(|| format!("cannot create a directory in {}", base.display()))?;
    let work_dir = run_dir.path().to_owned();
    let load_before = load_average();
    let mut report = Report::default();
    let mut large_reference: Option<f64> = None;
    let mut md5_reference: Option<f64> = None;
    let systems: Vec<System> = if options.no_moto {
        vec![System::Eddy]
    } else {
        vec![System::Eddy, System::Moto]
    };

    if options.runs(Part::Ceiling) {
        eprintln!("== load generator ceiling (stub endpoint)");
        if let Err(error) = ceiling(&options, &mut report).await {
            report
                .loadgen
                .push(format!("ceiling run failed: {error:#}"));
        }
    }
    for part in [
        Part::Startup,
        Part::Sqs,
        Part::S3,
        Part::Pipeline,
        Part::Large,
    ] {
        if !options.runs(part) {
            continue;
        }
        if part == Part::Large {
            eprintln!("== dd reference");
            match dd_rate(&work_dir, options.large_mib) {
                Ok(rate) => {
                    report.note(format!(
                        "dd if=/dev/zero bs=1M count={} conv=fsync into the data directory's file system: {} MB/s",
                        options.large_mib,
                        format_number(rate)
                    ));
                    large_reference = Some(rate);
                }
                Err(error) => report.note(format!("dd failed: {error:#}")),
            }
            let md5 = md5_rate(options.large_mib);
            report.note(format!(
                "MD5 of {} MiB on one core (the md-5 crate eddy uses, 1 MiB updates): {} MB/s",
                options.large_mib,
                format_number(md5)
            ));
            md5_reference = Some(md5);
        }
        for &system in &systems {
            eprintln!("== {part:?} on {}", system.name());
            let outcome = match part {
                Part::Startup => startup(&options, system, &work_dir, &mut report).await,
                Part::Sqs => sqs(&options, system, &work_dir, &mut report).await,
                Part::S3 => s3(&options, system, &work_dir, &mut report).await,
                Part::Pipeline => pipeline_part(&options, system, &work_dir, &mut report).await,
                Part::Large => {
                    large(
                        &options,
                        system,
                        &work_dir,
                        (large_reference, md5_reference),
                        &mut report,
                    )
                    .await
                }
                Part::Ceiling | Part::Backlog | Part::Lambda => Ok(()),
            };
            if let Err(error) = outcome {
                report.note(format!("{part:?} on {} failed: {error:#}", system.name()));
            }
        }
    }
    for (part, name) in [(Part::Backlog, "backlog"), (Part::Lambda, "lambda")] {
        if !options.runs(part) {
            continue;
        }
        eprintln!("== {part:?} on eddy");
        let outcome = match part {
            Part::Backlog => backlog::backlog(&options, &work_dir, &mut report).await,
            _ => lambda::lambda(&options, &work_dir, &mut report).await,
        };
        if let Err(error) = outcome {
            report.note(format!("{name} on eddy failed: {error:#}"));
        }
    }
    let load_after = load_average();
    Ok(render(
        &options,
        &report,
        &work_dir,
        &load_before,
        &load_after,
    ))
}

async fn ceiling(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let stub = start_stub()?;
    let api = Api::new(&stub.base_url, signer())?;
    let queue_url = format!("{}/000000000000/bench-send", stub.base_url);
    let (mut stats, cpu) = metered(
        options,
        &stub,
        &api,
        Budget::For(options.duration()),
        SendMessage::new(&queue_url),
    )
    .await?;
    let cpu_micros_per_request =
        cpu.loadgen_cores * cpu.wall.as_secs_f64() * 1e6 / stats.requests.max(1) as f64;
    let line = format!(
        "SendMessage against a stub endpoint (a hyper server in a separate process answering a fixed response, no signature check), {} connections: {} msg/s, p50 {} ms, p99 {} ms; {}; the load generator spends {:.1} µs of CPU per signed request (about {} requests/s per core); {} errors",
        options.connections,
        format_number(stats.rate()),
        format_number(stats.latencies.quantile_ms(0.5).unwrap_or(f64::NAN)),
        format_number(stats.latencies.quantile_ms(0.99).unwrap_or(f64::NAN)),
        cpu.summary("stub"),
        cpu_micros_per_request,
        format_number(1e6 / cpu_micros_per_request.max(1e-9)),
        stats.errors
    );
    eprintln!("   {line}");
    report.loadgen.push(line);
    Ok(())
}

async fn startup(
    options: &Options,
    system: System,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let runs = match system {
        System::Eddy => options.startup_runs.max(1),
        System::Moto => 1,
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let server = start(options, system, work_dir)?;
        times.push(server.startup.as_secs_f64() * 1000.0);
        last = Some(server);
    }
    let server = last.context("no start-up run")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_mib()?;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let results = report.results(system);
    results.set(Metric::Startup, median);
    results.set(Metric::IdleRss, idle);
    let how = match system {
        System::Eddy => "spawn to the ready line, fresh data directory each time",
        System::Moto => "spawn to the first HTTP answer",
    };
    report.note(format!(
        "{} start-up ({how}): median of {} runs {} ms (all: {}); idle RSS 1 s after ready: {:.1} MiB",
        system.name(),
        times.len(),
        format_number(median),
        times
            .iter()
            .map(|t| format_number(*t))
            .collect::<Vec<_>>()
            .join(", "),
        idle
    ));
    Ok(())
}

async fn sqs(
    options: &Options,
    system: System,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = start(options, system, work_dir)?;
    let api = Api::new(&server.base_url, signer())?;
    let mut admin = Connection::open(api.clone()).await?;
    let send_url = create_queue(&mut admin, "bench-send", json!({})).await?;
    let (mut send, cpu) = metered(
        options,
        &server,
        &api,
        Budget::For(options.duration()),
        SendMessage::new(&send_url),
    )
    .await?;
    let results = report.results(system);
    results.set(Metric::SendRate, send.rate());
    results.set_some(Metric::SendP50, send.latencies.quantile_ms(0.5));
    results.set_some(Metric::SendP99, send.latencies.quantile_ms(0.99));
    report.note(describe(system, "SendMessage", &send, cpu));

    let messages = match system {
        System::Eddy => options.drain_messages,
        System::Moto => options.moto_drain_messages,
    };
    let drain_url = create_queue(
        &mut admin,
        "bench-drain",
        json!({"VisibilityTimeout": "900"}),
    )
    .await?;
    let (batch, cpu) = metered(
        options,
        &server,
        &api,
        Budget::Requests(messages.div_ceil(10)),
        SendMessageBatch::new(&drain_url),
    )
    .await?;
    report.results(system).set(Metric::BatchRate, batch.rate());
    report.note(describe(
        system,
        "SendMessageBatch (10 per call)",
        &batch,
        cpu,
    ));

    let meter = CpuMeter::start(server.pid())?;
    let drained = drain(
        &api,
        options.connections,
        &drain_url,
        batch.items,
        Duration::from_secs(900),
    )
    .await?;
    let cpu = meter.stop()?;
    report
        .results(system)
        .set(Metric::DrainRate, drained.rate());
    report.note(format!(
        "{} drain (ReceiveMessage 10, WaitTimeSeconds 0, then DeleteMessageBatch): {} of {} messages in {:.2} s, {} empty receives, {} errors; {}{}",
        system.name(),
        format_number(drained.deleted as f64),
        format_number(batch.items as f64),
        drained.elapsed.as_secs_f64(),
        drained.empty_receives,
        drained.errors,
        cpu.summary(system.name()),
        first_error(drained.first_error.as_ref())
    ));
    report.peak_under_load(system, &server);
    Ok(())
}

async fn s3(
    options: &Options,
    system: System,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = start(options, system, work_dir)?;
    let api = Api::new(&server.base_url, signer())?;
    let mut admin = Connection::open(api.clone()).await?;
    create_bucket(&mut admin, "bench-put").await?;
    let (mut put, cpu) = metered(
        options,
        &server,
        &api,
        Budget::For(options.duration()),
        PutObject::new("bench-put", "obj/", 4096),
    )
    .await?;
    let results = report.results(system);
    results.set(Metric::PutRate, put.rate());
    results.set_some(Metric::PutP50, put.latencies.quantile_ms(0.5));
    results.set_some(Metric::PutP99, put.latencies.quantile_ms(0.99));
    report.note(describe(system, "PutObject 4 KiB", &put, cpu));
    report.peak_under_load(system, &server);
    Ok(())
}

/// Whether this eddy build has the `worker` subcommand (issue 5).
fn has_worker(eddy: &Path) -> bool {
    std::process::Command::new(eddy)
        .args(["worker", "--help"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

async fn pipeline_part(
    options: &Options,
    system: System,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let limit = Duration::from_secs(600);
    let (server, worker, files, clock) = match system {
        System::Eddy => {
            let server = start(options, system, work_dir)?;
            (
                server,
                None,
                options.pipeline_files,
                CopyClock::LastModified,
            )
        }
        System::Moto => {
            if !has_worker(&options.eddy) {
                report.note(format!(
                    "moto pipeline skipped: {} has no `worker` subcommand yet (issue 5), so nothing consumes moto's queue",
                    options.eddy.display()
                ));
                return Ok(());
            }
            let server = start(options, system, work_dir)?;
            let worker = start_moto_pipeline(options, &server).await?;
            (
                server,
                Some(worker),
                options.moto_pipeline_files,
                CopyClock::Polling,
            )
        }
    };
    let api = Api::new(&server.base_url, signer())?;
    let mut admin = Connection::open(api.clone()).await?;
    let queue_url = admin
        .sqs("GetQueueUrl", &json!({"QueueName": "file-events"}))
        .await?["QueueUrl"]
        .as_str()
        .map(str::to_owned)
        .context("GetQueueUrl returned no QueueUrl")?;
    let meter = CpuMeter::start(server.pid())?;
    let outcome = pipeline(
        &api,
        options.connections,
        files,
        4096,
        "source",
        "destination",
        &queue_url,
        clock,
        limit,
    )
    .await;
    let cpu = meter.stop()?;
    if let Some(mut worker) = worker {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    let mut stats = outcome?;
    let results = report.results(system);
    results.set(Metric::PipelineRate, stats.rate());
    results.set_some(Metric::PipelineP50, stats.latencies.quantile_ms(0.5));
    results.set_some(Metric::PipelineP99, stats.latencies.quantile_ms(0.99));
    report.note(format!(
        "{} pipeline: {} files of 4 KiB uploaded in {:.2} s ({} uploads/s), last copy {:.2} s after the first upload, {} of {} copies seen; {}; over the run {}",
        system.name(),
        format_number(files as f64),
        stats.upload.elapsed.as_secs_f64(),
        format_number(stats.upload.rate()),
        stats.total.as_secs_f64(),
        format_number(stats.copied as f64),
        format_number(files as f64),
        stats.note,
        cpu.summary(system.name())
    ));
    report.peak_under_load(system, &server);
    Ok(())
}

/// Sets up moto like eddy's default pipeline (buckets, queue, notification) and starts
/// `eddy worker` as its consumer.
async fn start_moto_pipeline(
    options: &Options,
    moto: &Server,
) -> anyhow::Result<std::process::Child> {
    let api = Api::new(&moto.base_url, signer())?;
    let mut admin = Connection::open(api).await?;
    create_bucket(&mut admin, "source").await?;
    create_bucket(&mut admin, "destination").await?;
    let queue_url = create_queue(&mut admin, "file-events", json!({})).await?;
    let attributes = admin
        .sqs(
            "GetQueueAttributes",
            &json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
        )
        .await?;
    let queue_arn = attributes["Attributes"]["QueueArn"]
        .as_str()
        .context("moto returned no QueueArn")?;
    let notification = format!(
        r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><QueueConfiguration><Id>eddy-file-events</Id><Queue>{queue_arn}</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>"#
    );
    admin
        .s3(
            Method::PUT,
            "/source?notification=",
            Bytes::from(notification),
        )
        .await?;
    std::process::Command::new(&options.eddy)
        .args(["worker", "--queue-url", &queue_url])
        .args(["--destination-bucket", "destination"])
        .args(["--endpoint-url", &moto.base_url])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start eddy worker")
}

async fn large(
    options: &Options,
    system: System,
    work_dir: &Path,
    (dd, md5): (Option<f64>, Option<f64>),
    report: &mut Report,
) -> anyhow::Result<()> {
    if system == System::Moto && options.no_moto_large {
        return Ok(());
    }
    let server = start(options, system, work_dir)?;
    let api = Api::new(&server.base_url, signer())?;
    let copy_to = match system {
        System::Eddy => Some("destination"),
        System::Moto => {
            let mut admin = Connection::open(api.clone()).await?;
            create_bucket(&mut admin, "source").await?;
            None
        }
    };
    let bytes = options.large_mib << 20;
    let stats = large_upload(
        &api,
        "source",
        "large/object.bin",
        bytes,
        copy_to,
        Duration::from_secs(600),
    )
    .await?;
    let peak = server.peak_rss_mib()?;
    let rate = stats.megabytes_per_second();
    let results = report.results(system);
    results.set(Metric::LargeRate, rate);
    results.set_some(Metric::LargePercentOfDd, dd.map(|dd| rate / dd * 100.0));
    results.set_some(Metric::LargePercentOfMd5, md5.map(|md5| rate / md5 * 100.0));
    results.set_some(
        Metric::LargeCopy,
        stats.copy.map(|c| c.as_secs_f64() * 1000.0),
    );
    results.set(Metric::LargePeakRss, peak);
    report.note(format!(
        "{} large upload: {} MiB of zeros in one PutObject (streamed, UNSIGNED-PAYLOAD) in {:.2} s = {} MB/s{}; peak RSS {:.1} MiB",
        system.name(),
        options.large_mib,
        stats.upload.as_secs_f64(),
        format_number(rate),
        stats
            .copy
            .map(|c| format!(
                ", copy visible (HEAD on the destination, polled every 2 ms) {:.1} ms after the upload's ack",
                c.as_secs_f64() * 1000.0
            ))
            .unwrap_or_default(),
        peak
    ));
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

fn machine(work_dir: &Path) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1_048_576.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let disk = std::process::Command::new("df")
        .args(["-hT"])
        .arg(work_dir)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| {
            t.lines()
                .nth(1)
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "{cores} cores ({model}), {memory} RAM, Linux {kernel}; data directories on {disk} (device, type, size)"
    )
}

fn render(
    options: &Options,
    report: &Report,
    work_dir: &Path,
    load_before: &str,
    load_after: &str,
) -> String {
    let mut text = String::new();
    text.push_str(&format!("Machine: {}\n\n", machine(work_dir)));
    text.push_str(&format!(
        "Load average (1/5/15 min) before: {load_before}; after: {load_after}\n\n"
    ));
    text.push_str(&format!(
        "Settings: {} connections, {} s timed workloads, {} messages drained on eddy and {} on moto, {} pipeline files on eddy and {} on moto, {} MiB large upload, a backlog of {} messages (the rows that say 1 million), {} files through the Python function\n\n",
        options.connections,
        options.seconds,
        format_number(options.drain_messages as f64),
        format_number(options.moto_drain_messages as f64),
        format_number(options.pipeline_files as f64),
        format_number(options.moto_pipeline_files as f64),
        options.large_mib,
        format_number(options.backlog_messages as f64),
        format_number(options.python_pipeline_files as f64),
    ));
    text.push_str(&markdown_table(&report.eddy, &report.moto));
    if !report.loadgen.is_empty() {
        text.push_str("\nLoad generator ceiling:\n\n");
        for line in &report.loadgen {
            text.push_str(&format!("- {line}\n"));
        }
    }
    if !report.notes.is_empty() {
        text.push_str("\nDetails:\n\n");
        for note in &report.notes {
            text.push_str(&format!("- {note}\n"));
        }
    }
    text
}
