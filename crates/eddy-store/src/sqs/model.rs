//! The values the SQS side of the store takes and returns: queues, messages and their
//! attributes, send and receive requests and results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attributes::QueueAttributes;

/// A message attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributeValue {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Raw bytes (base64 on the wire and in the store).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_base64")]
    pub binary_value: Option<Vec<u8>>,
}

mod opt_base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `serialize_with` hands over `&Option<_>`
    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let value: Option<String> = Option::deserialize(d)?;
        value
            .map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// What SendMessage (or a bucket notification) asks to enqueue.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    pub body: String,
    pub delay_seconds: Option<u64>,
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    /// MessageSystemAttributes (only `AWSTraceHeader` exists).
    pub system_attributes: BTreeMap<String, MessageAttributeValue>,
    pub message_group_id: Option<String>,
    pub message_deduplication_id: Option<String>,
}

/// What a successful send reports.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    /// FIFO queues only.
    pub sequence_number: Option<String>,
}

/// A message handed out by a receive.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// System attributes by name (SenderId, SentTimestamp, ApproximateReceiveCount, ...).
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, MessageAttributeValue>,
    pub md5_of_message_attributes: Option<String>,
}

/// What ReceiveMessage asks for.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRequest {
    pub max_messages: u32,
    pub visibility_timeout: Option<u64>,
    /// `None`: the queue's ReceiveMessageWaitTimeSeconds.
    pub wait_time_seconds: Option<u64>,
}

/// A queue as stored.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub created_s: u64,
    pub modified_s: u64,
    pub attributes: QueueAttributes,
    pub tags: BTreeMap<String, String>,
}

/// Message counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
    /// Send time of the oldest message, if any.
    pub oldest_sent_ms: Option<u64>,
}
