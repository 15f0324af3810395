//! SQS helpers of the SDK tests: creating queues, reading one attribute, building
//! message attributes.

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};

/// Creates queue `name` with these attributes; returns its URL.
pub async fn create(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("url")
        .to_owned()
}

/// One attribute of a queue.
pub async fn attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: QueueAttributeName,
) -> Option<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("get attributes")
        .attributes()
        .and_then(|a| a.get(&name).cloned())
}

/// A `String` message attribute.
pub fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("attribute")
}
