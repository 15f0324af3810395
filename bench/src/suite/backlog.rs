//! The backlog part (eddy only): what SendMessage, ReceiveMessage and GetQueueAttributes
//! cost on a queue of 10,000 messages and on one with a million waiting. Counts are
//! kept per queue (not counted per request), so the figures should not move.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use bytes::Bytes;
use serde_json::json;

use super::common::{Options, Report, System, describe, metered, signer, start};
use crate::http::{Api, Body, Connection, Reply};
use crate::load::{Budget, RunStats, Workload};
use crate::process::Server;
use crate::report::{Metric, format_number};
use crate::workloads::{SendMessage, SendMessageBatch, create_queue};

/// Messages in the small queue the backlog figures are compared with.
const SMALL_QUEUE: u64 = 10_000;

/// Connections of the latency workloads (ReceiveMessage, GetQueueAttributes): few, so
/// that the figure is the request's cost rather than queueing behind 32 clients.
const LATENCY_CONNECTIONS: usize = 4;

/// `ReceiveMessage` of up to 10 messages with `VisibilityTimeout` 0: the messages stay
/// visible, so the queue keeps its size however long the run.
struct ReceiveVisible {
    body: Bytes,
}

impl ReceiveVisible {
    fn new(queue_url: &str) -> Self {
        let input = json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10,
            "VisibilityTimeout": 0, "WaitTimeSeconds": 0});
        Self {
            body: Bytes::from(input.to_string()),
        }
    }
}

impl Workload for ReceiveVisible {
    fn request(&self, api: &Api, _sequence: u64) -> anyhow::Result<http::Request<Body>> {
        api.sqs_request("ReceiveMessage", self.body.clone())
    }

    fn items(&self, reply: &Reply) -> anyhow::Result<u64> {
        let output = reply.json("ReceiveMessage")?;
        let received = output["Messages"].as_array().map_or(0, Vec::len);
        if received == 0 {
            bail!("ReceiveMessage returned no message from a full queue");
        }
        Ok(received as u64)
    }
}

/// `GetQueueAttributes` with `All`.
struct AllAttributes {
    body: Bytes,
}

impl Workload for AllAttributes {
    fn request(&self, api: &Api, _sequence: u64) -> anyhow::Result<http::Request<Body>> {
        api.sqs_request("GetQueueAttributes", self.body.clone())
    }
}

/// What one queue size measured.
struct Figures {
    send: RunStats,
    receive: RunStats,
    attributes: RunStats,
}

/// Runs the part: a queue of [`SMALL_QUEUE`] messages, then one of
/// `options.backlog_messages`, each measured the same way.
pub(super) async fn backlog(
    options: &Options,
    work_dir: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = start(options, System::Eddy, work_dir)?;
    let api = Api::new(&server.base_url, signer())?;
    let mut admin = Connection::open(api.clone()).await?;
    let mut figures = Vec::new();
    for (name, messages) in [
        ("bench-small", SMALL_QUEUE),
        ("bench-backlog", options.backlog_messages),
    ] {
        let url = create_queue(&mut admin, name, json!({})).await?;
        let (filled, cpu) = metered(
            options,
            &server,
            &api,
            Budget::Requests(messages.div_ceil(10)),
            SendMessageBatch::new(&url),
        )
        .await?;
        report.note(describe(
            System::Eddy,
            &format!("backlog: filling {name}"),
            &filled,
            cpu,
        ));
        figures.push(measure(options, &server, &api, &url, name, report).await?);
    }
    let [small, big] = figures.as_mut_slice() else {
        bail!("the backlog part measured {} queues", figures.len());
    };
    let results = report.results(System::Eddy);
    results.set_some(
        Metric::BacklogAttributesP50Empty,
        small.attributes.latencies.quantile_ms(0.5),
    );
    results.set_some(
        Metric::BacklogAttributesP50,
        big.attributes.latencies.quantile_ms(0.5),
    );
    results.set(
        Metric::BacklogSendPercent,
        100.0 * big.send.rate() / small.send.rate().max(1e-9),
    );
    results.set_some(
        Metric::BacklogReceiveP50Empty,
        small.receive.latencies.quantile_ms(0.5),
    );
    results.set_some(
        Metric::BacklogReceiveP50,
        big.receive.latencies.quantile_ms(0.5),
    );
    report.note(format!(
        "backlog: SendMessage {} msg/s with {} waiting against {} msg/s with {}; ReceiveMessage {} msg/s against {} msg/s",
        format_number(big.send.rate()),
        format_number(options.backlog_messages as f64),
        format_number(small.send.rate()),
        format_number(SMALL_QUEUE as f64),
        format_number(big.receive.rate()),
        format_number(small.receive.rate()),
    ));
    report.peak_under_load(System::Eddy, &server);
    Ok(())
}

async fn measure(
    options: &Options,
    server: &Server,
    api: &Arc<Api>,
    url: &str,
    name: &str,
    report: &mut Report,
) -> anyhow::Result<Figures> {
    let duration = options.duration();
    let (send, cpu) = metered(
        options,
        server,
        api,
        Budget::For(duration),
        SendMessage::new(url),
    )
    .await?;
    report.note(describe(
        System::Eddy,
        &format!("backlog: SendMessage to {name}"),
        &send,
        cpu,
    ));
    let latency_options = Options {
        connections: LATENCY_CONNECTIONS,
        ..options.clone()
    };
    let (receive, cpu) = metered(
        &latency_options,
        server,
        api,
        Budget::For(duration),
        ReceiveVisible::new(url),
    )
    .await?;
    report.note(describe(
        System::Eddy,
        &format!("backlog: ReceiveMessage (10, VisibilityTimeout 0) from {name}"),
        &receive,
        cpu,
    ));
    let all = json!({"QueueUrl": url, "AttributeNames": ["All"]});
    let (attributes, cpu) = metered(
        &latency_options,
        server,
        api,
        Budget::For(duration.min(Duration::from_secs(3))),
        AllAttributes {
            body: Bytes::from(all.to_string()),
        },
    )
    .await?;
    report.note(describe(
        System::Eddy,
        &format!("backlog: GetQueueAttributes All on {name}"),
        &attributes,
        cpu,
    ));
    Ok(Figures {
        send,
        receive,
        attributes,
    })
}
