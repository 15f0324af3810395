//! Sending: SendMessage and SendMessageBatch.

use std::collections::BTreeMap;

use serde::Serialize;

use eddy_store::sqs::{SendRequest, SendResult, SqsError, SqsErrorKind};

use super::batch::{BatchResult, BatchResultErrorEntry, checked_entries};
use super::context::RequestContext;
use super::decode::{Member, shape};
use super::message_attributes::{self, MessageAttributeValue};

/// The one system attribute a message may carry.
const TRACE_HEADER: &str = "AWSTraceHeader";

/// The most bytes (bodies and attributes) one SendMessageBatch may carry.
const MAX_BATCH_BYTES: usize = 1_048_576;

shape! {
    /// The members of a message to send, shared by SendMessage and the entries of
    /// SendMessageBatch.
    pub struct MessageToSend {
        "MessageBody" => message_body: Member<String>,
        "DelaySeconds" => delay_seconds: Member<i64>,
        "MessageAttributes" => message_attributes: BTreeMap<String, MessageAttributeValue>,
        "MessageSystemAttributes" => message_system_attributes: BTreeMap<String, MessageAttributeValue>,
        "MessageGroupId" => message_group_id: Member<String>,
        "MessageDeduplicationId" => message_deduplication_id: Member<String>,
    }
}

impl MessageToSend {
    /// The message as the store takes it, checked member by member.
    fn into_request(self) -> Result<SendRequest, SqsError> {
        let body = self.message_body.optional()?.unwrap_or_default();
        let delay = self.delay_seconds.optional()?;
        if let Some(d) = delay
            && !(0..=900).contains(&d)
        {
            return Err(SqsError::invalid_parameter(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
            )));
        }
        Ok(SendRequest {
            body,
            delay_seconds: delay.map(|d| d as u64),
            message_attributes: message_attributes::to_engine(self.message_attributes)?,
            system_attributes: message_attributes::to_engine(self.message_system_attributes)?,
            message_group_id: self.message_group_id.optional()?,
            message_deduplication_id: self.message_deduplication_id.optional()?,
        })
    }
}

/// The size SQS counts for a message: its body and its attributes (names, types, values).
fn message_size(request: &SendRequest) -> usize {
    request.body.len()
        + request
            .message_attributes
            .iter()
            .map(|(name, value)| {
                name.len()
                    + value.data_type.len()
                    + value.string_value.as_ref().map_or(0, String::len)
                    + value.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

shape! {
    /// SendMessage's input.
    pub struct SendMessageRequest {
        "QueueUrl" => queue_url: Member<String>,
        ..message: MessageToSend,
    }
}

/// SendMessage's output.
#[derive(Debug, Serialize)]
pub struct SendMessageResult {
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

impl From<SendResult> for SendMessageResult {
    fn from(sent: SendResult) -> Self {
        Self {
            md5_of_message_attributes: sent.md5_of_message_attributes,
            md5_of_message_body: sent.md5_of_body,
            md5_of_message_system_attributes: sent.md5_of_system_attributes,
            message_id: sent.message_id,
            sequence_number: sent.sequence_number,
        }
    }
}

pub async fn send_message(
    cx: &RequestContext<'_>,
    input: SendMessageRequest,
) -> Result<SendMessageResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let mut request = input.message.into_request()?;
    // SQS takes the AWSTraceHeader system attribute from the X-Amzn-Trace-Id header
    // when the message does not carry one.
    if let Some(trace) = cx.trace_header
        && !request.system_attributes.contains_key(TRACE_HEADER)
    {
        request.system_attributes.insert(
            TRACE_HEADER.to_owned(),
            eddy_store::sqs::MessageAttributeValue {
                data_type: "String".to_owned(),
                string_value: Some(trace.to_owned()),
                binary_value: None,
            },
        );
    }
    if request.body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    Ok(cx.store().messages().send(&queue, request).await?.into())
}

shape! {
    /// An entry of SendMessageBatch.
    pub struct SendMessageBatchRequestEntry {
        /// Read leniently: another type than string counts as absent.
        "Id" => id: Option<String>,
        ..message: MessageToSend,
    }
}

shape! {
    /// SendMessageBatch's input.
    pub struct SendMessageBatchRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Entries" => entries: Member<Vec<SendMessageBatchRequestEntry>>,
    }
}

/// A message of SendMessageBatch that was sent.
#[derive(Debug, Serialize)]
pub struct SendMessageBatchResultEntry {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(flatten)]
    pub sent: SendMessageResult,
}

pub type SendMessageBatchResult = BatchResult<SendMessageBatchResultEntry>;

/// Sends the entries that are valid; an invalid entry fails alone.
pub async fn send_message_batch(
    cx: &RequestContext<'_>,
    input: SendMessageBatchRequest,
) -> Result<SendMessageBatchResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let entries = checked_entries(input.entries, "SendMessageBatchRequestEntry", |e| {
        e.id.as_deref()
    })?;
    let mut result = SendMessageBatchResult::default();
    let mut requests = Vec::new();
    let mut ids = Vec::new();
    let mut total = 0usize;
    for entry in entries {
        let id = entry.id.unwrap_or_default();
        match entry.message.into_request() {
            Ok(request) => {
                total += message_size(&request);
                ids.push(id);
                requests.push(request);
            }
            Err(error) => result.failed.push(BatchResultErrorEntry::new(&id, error)),
        }
    }
    if total > MAX_BATCH_BYTES {
        return Err(SqsError::new(
            SqsErrorKind::BatchRequestTooLong,
            format!(
                "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."
            ),
        ));
    }
    let sent = if requests.is_empty() {
        Vec::new()
    } else {
        cx.store().messages().send_batch(&queue, requests).await?
    };
    for (id, outcome) in ids.into_iter().zip(sent) {
        match outcome {
            Ok(sent) => result.successful.push(SendMessageBatchResultEntry {
                id,
                sent: sent.into(),
            }),
            Err(error) => result.failed.push(BatchResultErrorEntry::new(&id, error)),
        }
    }
    Ok(result)
}
