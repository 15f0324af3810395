//! A queue of the store seen by the poller ([`MessageQueue`]): receives hand out the
//! records of the Lambda SQS event, deletes and visibility changes go through receipt
//! handles.

use std::collections::HashMap;
use std::time::Duration;

use eddy_events::lambda::{EventSourceQueue, ReceivedSqsMessage, SqsMessage, message_attribute};
use eddy_store::Store;
use eddy_store::sqs::{ReceiveRequest, ReceivedMessage};
use futures::future::BoxFuture;

use crate::poller::{MessageQueue, QueueError};

/// One queue of the store.
pub struct StoreQueue {
    store: Store,
    name: String,
    source: EventSourceQueue,
}

impl StoreQueue {
    pub fn new(store: Store, name: String) -> Self {
        let source = EventSourceQueue {
            arn: store.queue_arn(&name),
            region: store.settings().region.clone(),
        };
        Self {
            store,
            name,
            source,
        }
    }
}

/// The record of a message the store handed out.
fn record(source: &EventSourceQueue, message: ReceivedMessage) -> SqsMessage {
    source.record(ReceivedSqsMessage {
        message_id: message.message_id,
        receipt_handle: message.receipt_handle,
        body: message.body,
        md5_of_body: message.md5_of_body,
        md5_of_message_attributes: message.md5_of_message_attributes,
        attributes: message.attributes.into_iter().collect(),
        message_attributes: message
            .message_attributes
            .into_iter()
            .map(|(name, value)| {
                let attribute =
                    message_attribute(value.data_type, value.string_value, value.binary_value);
                (name, attribute)
            })
            .collect::<HashMap<_, _>>(),
    })
}

impl MessageQueue for StoreQueue {
    fn receive(
        &self,
        max_messages: u32,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<SqsMessage>, QueueError>> {
        Box::pin(async move {
            let request = ReceiveRequest {
                max_messages,
                visibility_timeout: None,
                wait_time_seconds: Some(wait.as_secs()),
            };
            let messages = self.store.messages().receive(&self.name, request).await?;
            Ok(messages
                .into_iter()
                .map(|m| record(&self.source, m))
                .collect())
        })
    }

    fn delete(&self, receipt_handles: Vec<String>) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let asked = receipt_handles.len();
            let results = self
                .store
                .messages()
                .delete_batch(&self.name, receipt_handles)
                .await?;
            let mut failures = results.into_iter().filter_map(Result::err);
            match failures.next() {
                None => Ok(()),
                Some(first) => Err(format!(
                    "{} of {asked} deletes failed, the first with {first}",
                    1 + failures.count()
                )
                .into()),
            }
        })
    }

    fn change_visibility(
        &self,
        receipt_handles: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut first_error = None;
            for handle in &receipt_handles {
                let changed = self
                    .store
                    .messages()
                    .change_visibility(&self.name, handle, timeout.as_secs())
                    .await;
                if let Err(error) = changed {
                    first_error.get_or_insert(error);
                }
            }
            match first_error {
                None => Ok(()),
                Some(error) => Err(error.into()),
            }
        })
    }
}
