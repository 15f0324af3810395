//! What every part of the benchmark shares: the options, the parts, the systems, the
//! report being assembled, and how a system is started and a workload measured.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::http::Api;
use crate::load::{Budget, RunStats, Workload, closed_loop};
use crate::process::{CpuMeter, CpuUse, Server, start_eddy, start_moto};
use crate::report::{Metric, Results, format_number};
use eddy_testing::sign::Signer;

/// A part of the benchmark (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The load generator against a stub endpoint.
    Ceiling,
    /// Start-up time and idle memory.
    Startup,
    /// SendMessage, SendMessageBatch, drain.
    Sqs,
    /// PutObject of 4 KiB objects.
    S3,
    /// Upload, event, copy.
    Pipeline,
    /// One large upload against dd.
    Large,
    /// SQS with a million messages waiting against a queue of 10,000 (eddy only).
    Backlog,
    /// Lambda: CreateFunction to first Invoke, warm Invoke, the pipeline with a Python
    /// copy function (eddy only).
    Lambda,
}

/// What to run and how big.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The eddy binary to benchmark.
    #[arg(long, default_value = "target/release/eddy")]
    pub eddy: PathBuf,
    /// The moto_server command.
    #[arg(long, default_value = "moto_server", env = "EDDY_BENCH_MOTO_SERVER")]
    pub moto_server: String,
    /// Run eddy only.
    #[arg(long)]
    pub no_moto: bool,
    /// Concurrent connections (clients) of every multi-client workload.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds each timed workload (SendMessage, PutObject, ceiling) runs.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Messages sent by SendMessageBatch and then drained, on eddy.
    #[arg(long, default_value_t = 100_000)]
    pub drain_messages: u64,
    /// Messages sent by SendMessageBatch and then drained, on moto: it slows down as
    /// its queue grows (one SendMessageBatch every 2.5 s with about 5,000 messages
    /// queued), so the full count would take hours.
    #[arg(long, default_value_t = 1_000)]
    pub moto_drain_messages: u64,
    /// Files through eddy's pipeline.
    #[arg(long, default_value_t = 10_000)]
    pub pipeline_files: u64,
    /// Files through moto + `eddy worker`.
    #[arg(long, default_value_t = 2_000)]
    pub moto_pipeline_files: u64,
    /// Size of the large upload, MiB.
    #[arg(long, default_value_t = 1024)]
    pub large_mib: u64,
    /// Skip the large upload to moto.
    #[arg(long)]
    pub no_moto_large: bool,
    /// How many times eddy is started to time its start-up (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub startup_runs: usize,
    /// Where the run's directory (data directories, logs, dd's file) is made; default:
    /// the system's temporary directory.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Messages waiting in the backlog part's big queue.
    #[arg(long, default_value_t = 1_000_000)]
    pub backlog_messages: u64,
    /// Files through the pipeline with the Python copy function.
    #[arg(long, default_value_t = 2_000)]
    pub python_pipeline_files: u64,
    /// Run only these parts (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// A quick run: 3 s timed workloads, 10,000 drained (500 on moto), 2,000 pipeline
    /// files, 256 MiB, a backlog of 100,000, 500 files through the Python function.
    #[arg(long)]
    pub quick: bool,
}

impl Options {
    /// Applies `--quick`.
    pub fn effective(mut self) -> Self {
        if self.quick {
            self.seconds = self.seconds.min(3.0);
            self.drain_messages = self.drain_messages.min(10_000);
            self.moto_drain_messages = self.moto_drain_messages.min(500);
            self.pipeline_files = self.pipeline_files.min(2_000);
            self.moto_pipeline_files = self.moto_pipeline_files.min(500);
            self.large_mib = self.large_mib.min(256);
            self.startup_runs = self.startup_runs.min(3);
            self.backlog_messages = self.backlog_messages.min(100_000);
            self.python_pipeline_files = self.python_pipeline_files.min(500);
        }
        self
    }

    pub(super) fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }

    pub(super) fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds.max(0.1))
    }
}

/// The system a run is against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum System {
    Eddy,
    Moto,
}

impl System {
    pub(super) fn name(self) -> &'static str {
        match self {
            System::Eddy => "eddy",
            System::Moto => "moto",
        }
    }
}

/// Everything the report shows.
#[derive(Default)]
pub(super) struct Report {
    pub(super) eddy: Results,
    pub(super) moto: Results,
    pub(super) notes: Vec<String>,
    pub(super) loadgen: Vec<String>,
}

impl Report {
    pub(super) fn results(&mut self, system: System) -> &mut Results {
        match system {
            System::Eddy => &mut self.eddy,
            System::Moto => &mut self.moto,
        }
    }

    pub(super) fn note(&mut self, note: String) {
        eprintln!("   {note}");
        self.notes.push(note);
    }

    /// Keeps the highest peak RSS seen under load.
    pub(super) fn peak_under_load(&mut self, system: System, server: &Server) {
        if let Ok(peak) = server.peak_rss_mib() {
            let results = self.results(system);
            let highest = results
                .get(Metric::PeakRssUnderLoad)
                .unwrap_or(0.0)
                .max(peak);
            results.set(Metric::PeakRssUnderLoad, highest);
        }
    }
}

pub(super) fn signer() -> Signer {
    Signer::new("test", "test", "us-east-1")
}

pub(super) fn first_error(error: Option<&String>) -> String {
    error
        .map(|e| format!("; first error: {e}"))
        .unwrap_or_default()
}

pub(super) fn describe(system: System, what: &str, stats: &RunStats, cpu: CpuUse) -> String {
    format!(
        "{} {what}: {} items in {} requests over {:.2} s, {} errors, {} reconnects; {} ({} {:.1} µs of CPU per item){}",
        system.name(),
        format_number(stats.items as f64),
        format_number(stats.requests as f64),
        stats.elapsed.as_secs_f64(),
        stats.errors,
        stats.reconnects,
        cpu.summary(system.name()),
        system.name(),
        cpu.server_cores * cpu.wall.as_secs_f64() * 1e6 / stats.items.max(1) as f64,
        first_error(stats.first_error.as_ref())
    )
}

pub(super) fn start(options: &Options, system: System, work_dir: &Path) -> anyhow::Result<Server> {
    match system {
        System::Eddy => start_eddy(&options.eddy, work_dir, ""),
        System::Moto => start_moto(&options.moto_server, work_dir),
    }
}

/// Runs `workload` on `options.connections` connections and measures the CPU `server`
/// and the load generator use meanwhile.
pub(super) async fn metered<W: Workload>(
    options: &Options,
    server: &Server,
    api: &Arc<Api>,
    budget: Budget,
    workload: W,
) -> anyhow::Result<(RunStats, CpuUse)> {
    let meter = CpuMeter::start(server.pid())?;
    let stats = closed_loop(api, options.connections, budget, Arc::new(workload), false).await?;
    Ok((stats, meter.stop()?))
}
