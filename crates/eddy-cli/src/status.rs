//! `eddy status`: a table of the queues (with their dead-letter queues) and, against
//! eddy, of its event source mappings and functions, those of `eddy.toml` and those
//! created through the Lambda API (the `from` column). `--watch` refreshes it.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::clients::{Target, queue_name};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// Refresh every 2 seconds until interrupted.
    #[arg(long)]
    pub watch: bool,
}

/// One row of the queue table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub name: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub dead_letter_queue: String,
    pub is_dead_letter_queue: bool,
}

async fn queue_rows(sqs: &aws_sdk_sqs::Client) -> anyhow::Result<Vec<QueueRow>> {
    let mut urls = Vec::new();
    let mut pages = sqs.list_queues().max_results(1000).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "ListQueues failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
        urls.extend(page.queue_urls().iter().cloned());
    }
    let mut rows = Vec::new();
    for url in urls {
        let output = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "GetQueueAttributes {url} failed: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let attributes: BTreeMap<String, String> = output
            .attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let number = |name: &str| {
            attributes
                .get(name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let dead_letter_queue = attributes
            .get("RedrivePolicy")
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .map(|p| {
                let target = p["deadLetterTargetArn"].as_str().unwrap_or_default();
                let name = target.rsplit(':').next().unwrap_or(target).to_owned();
                format!("{name} after {}", p["maxReceiveCount"])
            })
            .unwrap_or_default();
        rows.push(QueueRow {
            name: queue_name(&url).to_owned(),
            visible: number("ApproximateNumberOfMessages"),
            in_flight: number("ApproximateNumberOfMessagesNotVisible"),
            delayed: number("ApproximateNumberOfMessagesDelayed"),
            dead_letter_queue,
            is_dead_letter_queue: false,
        });
    }
    let targets: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.dead_letter_queue
                .split(' ')
                .next()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .collect();
    for row in &mut rows {
        row.is_dead_letter_queue = targets.contains(&row.name);
    }
    Ok(rows)
}

/// Renders rows as an aligned text table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(
        headers
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
    );
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

async fn render(args: &StatusArgs, sqs: &aws_sdk_sqs::Client) -> anyhow::Result<String> {
    let rows = queue_rows(sqs).await?;
    let mut out = String::from("QUEUES\n");
    out.push_str(&table(
        &[
            "queue",
            "kind",
            "visible",
            "in flight",
            "delayed",
            "dead-letter queue",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    if r.is_dead_letter_queue {
                        "DLQ".into()
                    } else {
                        "queue".into()
                    },
                    r.visible.to_string(),
                    r.in_flight.to_string(),
                    r.delayed.to_string(),
                    r.dead_letter_queue.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    ));
    if let Some(overview) = args.target.eddy_overview().await {
        let pipeline = &overview["pipeline"];
        let mappings: Vec<Vec<String>> = pipeline["mappings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                vec![
                    m["queue"].as_str().unwrap_or_default().to_owned(),
                    m["function"].as_str().unwrap_or_default().to_owned(),
                    m["batch_size"].to_string(),
                    m["maximum_batching_window_seconds"].to_string(),
                    m["maximum_concurrency"]
                        .as_u64()
                        .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                    m["function_response_types"].to_string(),
                    m["state"].as_str().unwrap_or_default().to_owned(),
                    m["source"].as_str().unwrap_or_default().to_owned(),
                ]
            })
            .collect();
        out.push_str("\nEVENT SOURCE MAPPINGS\n");
        out.push_str(&table(
            &[
                "queue",
                "function",
                "batch size",
                "window (s)",
                "max concurrency",
                "response types",
                "state",
                "from",
            ],
            &mappings,
        ));
        let functions: Vec<Vec<String>> = pipeline["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                vec![
                    f["name"].as_str().unwrap_or_default().to_owned(),
                    f["kind"].as_str().unwrap_or_default().to_owned(),
                    f["timeout_seconds"].to_string(),
                    f["destination"].as_str().unwrap_or_default().to_owned(),
                    f["source"].as_str().unwrap_or_default().to_owned(),
                ]
            })
            .collect();
        out.push_str("\nFUNCTIONS\n");
        out.push_str(&table(
            &["function", "kind", "timeout (s)", "copies to", "from"],
            &functions,
        ));
        out.push_str(&format!(
            "\nfiles copied {}, records failed {}, upload->copied p50 {} ms, p99 {} ms\n",
            overview["files_copied"],
            overview["records_failed"],
            overview["latency"]["p50_ms"],
            overview["latency"]["p99_ms"]
        ));
    }
    Ok(out)
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let sqs = args.target.sqs().await;
    loop {
        let text = match render(&args, &sqs).await {
            Ok(text) => text,
            // A watch outlives a restart of eddy: show the error and keep trying.
            Err(error) if args.watch => format!("eddy status: {error:#}\n(retrying every 2 s)\n"),
            Err(error) => return Err(error),
        };
        if args.watch {
            // Clear the screen and move home, then draw.
            print!("\x1b[2J\x1b[H{text}");
        } else {
            print!("{text}");
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn aligns_columns() {
        let text = table(&["a", "bb"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "a     bb\nlong  x\n");
    }
}
