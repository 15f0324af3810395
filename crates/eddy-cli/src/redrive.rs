//! `eddy redrive`: moves the messages of a dead-letter queue back to the queue each came
//! from, with progress. It uses only the SQS API (receive, send, delete), so it works
//! against eddy, AWS and any SQS-compatible queue. A message is deleted from the DLQ only
//! after its copy was sent, so an interruption can duplicate a message, never lose one.

use std::collections::HashMap;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::clients::{Target, resolve_queue_url};

#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: Target,
    /// The dead-letter queue (name or URL).
    #[arg(long, default_value = "file-events-dlq")]
    pub queue: String,
    /// Send every message here instead of to the queue it came from (name or URL).
    #[arg(long)]
    pub to: Option<String>,
}

fn sqs_error<E: std::error::Error + 'static>(
    what: &str,
    error: aws_sdk_sqs::error::SdkError<E>,
) -> anyhow::Error {
    anyhow::anyhow!("{what} failed: {}", DisplayErrorContext(error))
}

pub async fn run(args: RedriveArgs) -> anyhow::Result<()> {
    let sqs = args.target.sqs().await;
    let dlq_url = resolve_queue_url(&sqs, &args.queue).await?;
    let fixed_destination = match &args.to {
        Some(queue) => Some(resolve_queue_url(&sqs, queue).await?),
        None => None,
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| sqs_error("GetQueueAttributes", e))?;
    let total: u64 = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} redrive {bar:30} {pos}/{len} messages ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut source_urls: HashMap<String, String> = HashMap::new();
    let mut moved = 0u64;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", e))?;
        let messages = received.messages();
        if messages.is_empty() {
            break;
        }
        // Group by destination queue.
        let mut by_destination: HashMap<String, Vec<&aws_sdk_sqs::types::Message>> = HashMap::new();
        for message in messages {
            let destination = if let Some(url) = &fixed_destination {
                url.clone()
            } else {
                let source_arn = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::DeadLetterQueueSourceArn))
                    .cloned();
                let Some(source_arn) = source_arn else {
                    bar.println(format!(
                        "message {} has no DeadLetterQueueSourceArn; pass --to to choose its queue",
                        message.message_id().unwrap_or("?")
                    ));
                    continue;
                };
                let name = source_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or(&source_arn)
                    .to_owned();
                if let Some(url) = source_urls.get(&name) {
                    url.clone()
                } else {
                    let url = resolve_queue_url(&sqs, &name).await?;
                    source_urls.insert(name, url.clone());
                    url
                }
            };
            by_destination.entry(destination).or_default().push(message);
        }
        if by_destination.is_empty() {
            break;
        }
        for (destination, batch) in by_destination {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(m.body().unwrap_or_default())
                        .set_message_attributes(m.message_attributes().cloned())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sent = sqs
                .send_message_batch()
                .queue_url(&destination)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error("SendMessageBatch", e))?;
            if let Some(failure) = sent.failed().first() {
                anyhow::bail!(
                    "sending to {destination} failed: {} {}",
                    failure.code(),
                    failure.message().unwrap_or_default()
                );
            }
            let deletes = batch
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            sqs.delete_message_batch()
                .queue_url(&dlq_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .map_err(|e| sqs_error("DeleteMessageBatch", e))?;
            moved += batch.len() as u64;
            if moved > bar.length().unwrap_or(0) {
                bar.set_length(moved);
            }
            bar.set_position(moved);
        }
    }
    bar.finish_with_message("done");
    println!("moved {moved} message(s) out of {dlq_url}");
    Ok(())
}
