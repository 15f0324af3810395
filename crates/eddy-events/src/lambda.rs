//! The Lambda side of an SQS event source mapping: the event a function receives and the
//! partial batch response it returns. These are the `aws_lambda_events` types, so the
//! AWS Lambda `bootstrap`, `eddy up` and `eddy worker` all speak the same structures.
//! [`EventSourceQueue::record`] is the one place a received message becomes a record of
//! that event, whichever client (eddy's store, the AWS SDK) received it.

use std::collections::HashMap;

pub use aws_lambda_events::encodings::Base64Data;
pub use aws_lambda_events::sqs::{
    BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute,
};

/// A batch response that lists the given message ids as failed.
pub fn batch_response(failed_message_ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed_message_ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// A message as a receive handed it out, whichever client received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedSqsMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    /// System attributes by name (`SenderId`, `ApproximateReceiveCount`, ...).
    pub attributes: HashMap<String, String>,
    /// Message attributes by name.
    pub message_attributes: HashMap<String, SqsMessageAttribute>,
}

/// A message attribute of a record: its data type and its string or binary value.
pub fn message_attribute(
    data_type: String,
    string_value: Option<String>,
    binary_value: Option<Vec<u8>>,
) -> SqsMessageAttribute {
    let mut attribute = SqsMessageAttribute::default();
    attribute.data_type = Some(data_type);
    attribute.string_value = string_value;
    attribute.binary_value = binary_value.map(|bytes| {
        let mut data = Base64Data::default();
        *data = bytes;
        data
    });
    attribute
}

/// The queue a batch was received from, as the records of its event name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSourceQueue {
    /// The queue's ARN (`eventSourceARN`).
    pub arn: String,
    /// The queue's region (`awsRegion`).
    pub region: String,
}

impl EventSourceQueue {
    /// The record of the Lambda SQS event for a received message.
    pub fn record(&self, message: ReceivedSqsMessage) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(message.message_id);
        record.receipt_handle = Some(message.receipt_handle);
        record.body = Some(message.body);
        record.md5_of_body = Some(message.md5_of_body);
        record.md5_of_message_attributes = message.md5_of_message_attributes;
        record.attributes = message.attributes;
        record.message_attributes = message.message_attributes;
        record.event_source = Some("aws:sqs".to_owned());
        record.event_source_arn = Some(self.arn.clone());
        record.aws_region = Some(self.region.clone());
        record
    }
}

/// The Lambda SQS event of a batch of records.
pub fn sqs_event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_as_lambda_shows_it() {
        let queue = EventSourceQueue {
            arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            region: "us-east-1".into(),
        };
        let message = ReceivedSqsMessage {
            message_id: "m".into(),
            receipt_handle: "r".into(),
            body: "b".into(),
            md5_of_body: "d".into(),
            md5_of_message_attributes: None,
            attributes: HashMap::from([("ApproximateReceiveCount".into(), "1".into())]),
            message_attributes: HashMap::from([(
                "k".into(),
                message_attribute("Binary".into(), None, Some(vec![1, 2])),
            )]),
        };
        let json = serde_json::to_value(sqs_event(vec![queue.record(message)])).expect("json");
        let record = &json["Records"][0];
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:us-east-1:000000000000:q"
        );
        assert_eq!(record["awsRegion"], "us-east-1");
        assert_eq!(record["messageId"], "m");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(record["messageAttributes"]["k"]["binaryValue"], "AQI=");
    }
}
