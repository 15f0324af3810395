//! Receiving: ReceiveMessage, with the system and message attributes the request selects.

use std::collections::BTreeMap;

use serde::Serialize;

use eddy_store::sqs::{ReceiveRequest, ReceivedMessage, SqsError, md5_of_message_attributes};

use super::context::RequestContext;
use super::decode::{Member, shape};
use super::message_attributes::{self, MessageAttributeValue, attribute_selected};

shape! {
    /// ReceiveMessage's input.
    pub struct ReceiveMessageRequest {
        "QueueUrl" => queue_url: Member<String>,
        "MaxNumberOfMessages" => max_number_of_messages: Member<i64>,
        "VisibilityTimeout" => visibility_timeout: Member<i64>,
        "WaitTimeSeconds" => wait_time_seconds: Member<i64>,
        /// The older name of `MessageSystemAttributeNames`; both are honoured.
        "AttributeNames" => attribute_names: Member<Vec<String>>,
        "MessageSystemAttributeNames" => message_system_attribute_names: Member<Vec<String>>,
        "MessageAttributeNames" => message_attribute_names: Member<Vec<String>>,
        "ReceiveRequestAttemptId" => receive_request_attempt_id: Member<String>,
    }
}

/// ReceiveMessage's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// A received message.
#[derive(Debug, Serialize)]
pub struct Message {
    /// The selected system attributes.
    #[serde(rename = "Attributes", skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(rename = "Body")]
    pub body: String,
    #[serde(rename = "MD5OfBody")]
    pub md5_of_body: String,
    /// Over the selected message attributes.
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    /// The selected message attributes.
    #[serde(
        rename = "MessageAttributes",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "ReceiptHandle")]
    pub receipt_handle: String,
}

/// Which attributes of a message a receive asked for.
struct Selection {
    system: Vec<String>,
    user: Vec<String>,
}

impl Selection {
    fn message(&self, message: ReceivedMessage) -> Message {
        let all_system = self.system.iter().any(|s| s == "All");
        let attributes = message
            .attributes
            .into_iter()
            .filter(|(k, _)| all_system || self.system.contains(k))
            .collect();
        let selected: BTreeMap<_, _> = message
            .message_attributes
            .into_iter()
            .filter(|(k, _)| attribute_selected(&self.user, k))
            .collect();
        Message {
            attributes,
            body: message.body,
            md5_of_body: message.md5_of_body,
            md5_of_message_attributes: md5_of_message_attributes(&selected),
            message_attributes: selected
                .into_iter()
                .map(|(k, v)| (k, message_attributes::from_engine(v)))
                .collect(),
            message_id: message.message_id,
            receipt_handle: message.receipt_handle,
        }
    }
}

/// Checks that an optional integer member is within `range`.
fn within(
    name: &str,
    value: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    reason: &str,
) -> Result<Option<i64>, SqsError> {
    match value {
        Some(v) if !range.contains(&v) => Err(SqsError::invalid_parameter(format!(
            "Value {v} for parameter {name} is invalid. Reason: {reason}"
        ))),
        _ => Ok(value),
    }
}

pub async fn receive_message(
    cx: &RequestContext<'_>,
    input: ReceiveMessageRequest,
) -> Result<ReceiveMessageResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let max = input.max_number_of_messages.optional()?.unwrap_or(1);
    within(
        "MaxNumberOfMessages",
        Some(max),
        1..=10,
        "Must be between 1 and 10, if provided.",
    )?;
    let visibility = within(
        "VisibilityTimeout",
        input.visibility_timeout.optional()?,
        0..=43_200,
        "Must be between 0 and 43200, if provided.",
    )?;
    let wait = within(
        "WaitTimeSeconds",
        input.wait_time_seconds.optional()?,
        0..=20,
        "Must be >= 0 and <= 20, if provided.",
    )?;
    let mut system = input.attribute_names.or_default()?;
    system.extend(input.message_system_attribute_names.or_default()?);
    let user = input.message_attribute_names.or_default()?;
    let attempt_id = input.receive_request_attempt_id.optional()?;
    if let Some(attempt) = &attempt_id
        && (attempt.is_empty()
            || attempt.len() > 128
            || !attempt.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {attempt} for parameter ReceiveRequestAttemptId is invalid. Reason: It can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )));
    }
    let messages = cx
        .store()
        .messages()
        .receive_with_attempt(
            &queue,
            ReceiveRequest {
                max_messages: max as u32,
                visibility_timeout: visibility.map(|v| v as u64),
                wait_time_seconds: wait.map(|w| w as u64),
            },
            attempt_id,
        )
        .await?;
    let selection = Selection { system, user };
    Ok(ReceiveMessageResult {
        messages: messages.into_iter().map(|m| selection.message(m)).collect(),
    })
}
