//! The Lambda side of an SQS event source mapping: the event a function receives and the
//! partial batch response it returns. These are the `aws_lambda_events` types, so the
//! AWS Lambda `bootstrap`, `eddy up` and `eddy worker` all speak the same structures.

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
