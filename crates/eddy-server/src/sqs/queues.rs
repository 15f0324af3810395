//! Queue management: CreateQueue, GetQueueUrl, ListQueues, ListDeadLetterSourceQueues,
//! GetQueueAttributes, SetQueueAttributes, DeleteQueue and PurgeQueue.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

use eddy_store::sqs::SqsError;

use super::context::RequestContext;
use super::decode::{Member, shape};

shape! {
    /// CreateQueue's input.
    pub struct CreateQueueRequest {
        "QueueName" => queue_name: Member<String>,
        "Attributes" => attributes: Member<BTreeMap<String, String>>,
        "tags" => tags: Member<BTreeMap<String, String>>,
    }
}

/// The output of CreateQueue and GetQueueUrl (the model's `CreateQueueResult` and
/// `GetQueueUrlResult`, one member each).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlResult {
    pub queue_url: String,
}

pub type CreateQueueResult = QueueUrlResult;
pub type GetQueueUrlResult = QueueUrlResult;

pub async fn create_queue(
    cx: &RequestContext<'_>,
    input: CreateQueueRequest,
) -> Result<CreateQueueResult, SqsError> {
    let name = input.queue_name.required("QueueName")?;
    let attributes = input.attributes.or_default()?;
    let tags = input.tags.or_default()?;
    if name.contains('/') {
        return Err(SqsError::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let key = cx.key(&name)?;
    let queue = cx.store().queues().create(key, attributes, tags).await?;
    Ok(QueueUrlResult {
        queue_url: cx.queue_url(&queue.name),
    })
}

shape! {
    /// GetQueueUrl's input.
    pub struct GetQueueUrlRequest {
        "QueueName" => queue_name: Member<String>,
        "QueueOwnerAWSAccountId" => queue_owner_aws_account_id: Member<String>,
    }
}

pub async fn get_queue_url(
    cx: &RequestContext<'_>,
    input: GetQueueUrlRequest,
) -> Result<GetQueueUrlResult, SqsError> {
    let name = input.queue_name.required("QueueName")?;
    if input
        .queue_owner_aws_account_id
        .optional()?
        .is_some_and(|owner| owner != cx.account_id)
    {
        return Err(SqsError::queue_does_not_exist());
    }
    let queue = cx.store().queues().get(&cx.key(&name)?).await?;
    Ok(QueueUrlResult {
        queue_url: cx.queue_url(&queue.name),
    })
}

shape! {
    /// ListQueues' input.
    pub struct ListQueuesRequest {
        "QueueNamePrefix" => queue_name_prefix: Member<String>,
        "NextToken" => next_token: Member<String>,
        "MaxResults" => max_results: Member<i64>,
    }
}

/// ListQueues' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_urls: Vec<String>,
}

pub async fn list_queues(
    cx: &RequestContext<'_>,
    input: ListQueuesRequest,
) -> Result<ListQueuesResult, SqsError> {
    let prefix = input.queue_name_prefix.optional()?.unwrap_or_default();
    // Store names of the request's region start with its qualified prefix.
    let names: Vec<String> = match cx.key(&prefix) {
        Ok(qualified) => cx.store().queues().list(Some(qualified)).await?,
        Err(_) => Vec::new(),
    }
    .into_iter()
    .filter(|key| cx.in_region(key))
    .collect();
    let page = Page::of(names, input.max_results, input.next_token)?;
    Ok(ListQueuesResult {
        queue_urls: page.names.iter().map(|n| cx.queue_url(n)).collect(),
        next_token: page.next_token,
    })
}

shape! {
    /// ListDeadLetterSourceQueues' input.
    pub struct ListDeadLetterSourceQueuesRequest {
        "QueueUrl" => queue_url: Member<String>,
        "NextToken" => next_token: Member<String>,
        "MaxResults" => max_results: Member<i64>,
    }
}

/// ListDeadLetterSourceQueues' output.
#[derive(Debug, Serialize)]
pub struct ListDeadLetterSourceQueuesResult {
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(rename = "queueUrls")]
    pub queue_urls: Vec<String>,
}

pub async fn list_dead_letter_source_queues(
    cx: &RequestContext<'_>,
    input: ListDeadLetterSourceQueuesRequest,
) -> Result<ListDeadLetterSourceQueuesResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let names = cx.store().queues().dead_letter_sources(&queue).await?;
    let page = Page::of(names, input.max_results, input.next_token)?;
    Ok(ListDeadLetterSourceQueuesResult {
        queue_urls: page.names.iter().map(|n| cx.queue_url(n)).collect(),
        next_token: page.next_token,
    })
}

/// A page of queue names: `MaxResults` (1..1000) from after `NextToken`; the token is the
/// last name of the page, base64.
struct Page {
    names: Vec<String>,
    next_token: Option<String>,
}

impl Page {
    fn of(
        names: Vec<String>,
        max_results: Member<i64>,
        next_token: Member<String>,
    ) -> Result<Self, SqsError> {
        let max = max_results.optional()?;
        if let Some(m) = max
            && !(1..=1000).contains(&m)
        {
            return Err(SqsError::invalid_parameter(format!(
                "Value {m} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."
            )));
        }
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let after = match next_token.optional()? {
            Some(next) => Some(
                token
                    .decode(next)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| SqsError::invalid_parameter("Invalid NextToken value."))?,
            ),
            None => None,
        };
        let remaining: Vec<String> = names
            .into_iter()
            .filter(|n| after.as_ref().is_none_or(|a| n > a))
            .collect();
        let limit = max.map_or(1000, |m| m as usize);
        let more = max.is_some() && remaining.len() > limit;
        let names: Vec<String> = remaining.into_iter().take(limit).collect();
        let next_token = more
            .then(|| names.last())
            .flatten()
            .map(|last| token.encode(last.as_bytes()));
        Ok(Self { names, next_token })
    }
}

shape! {
    /// GetQueueAttributes' input.
    pub struct GetQueueAttributesRequest {
        "QueueUrl" => queue_url: Member<String>,
        "AttributeNames" => attribute_names: Member<Vec<String>>,
    }
}

/// GetQueueAttributes' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

pub async fn get_queue_attributes(
    cx: &RequestContext<'_>,
    input: GetQueueAttributesRequest,
) -> Result<GetQueueAttributesResult, SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let names = input.attribute_names.or_default()?;
    let attributes = cx.store().queues().attributes(&queue, names).await?;
    Ok(GetQueueAttributesResult { attributes })
}

shape! {
    /// SetQueueAttributes' input.
    pub struct SetQueueAttributesRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Attributes" => attributes: Member<BTreeMap<String, String>>,
    }
}

pub async fn set_queue_attributes(
    cx: &RequestContext<'_>,
    input: SetQueueAttributesRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let attributes = input.attributes.or_default()?;
    cx.store().queues().set_attributes(&queue, attributes).await
}

shape! {
    /// The input of DeleteQueue, PurgeQueue and ListQueueTags: the queue alone (the
    /// model's `DeleteQueueRequest`, `PurgeQueueRequest` and `ListQueueTagsRequest`).
    pub struct QueueRequest {
        "QueueUrl" => queue_url: Member<String>,
    }
}

pub type DeleteQueueRequest = QueueRequest;
pub type PurgeQueueRequest = QueueRequest;

pub async fn delete_queue(
    cx: &RequestContext<'_>,
    input: DeleteQueueRequest,
) -> Result<(), SqsError> {
    cx.store()
        .queues()
        .delete(&cx.queue(input.queue_url)?)
        .await
}

/// Deletes every message of a queue; once a minute per queue, as on SQS.
pub async fn purge_queue(
    cx: &RequestContext<'_>,
    input: PurgeQueueRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    cx.store().queues().get(&queue).await?;
    cx.state.check_purge(&queue)?;
    cx.store().queues().purge(&queue).await?;
    Ok(())
}
