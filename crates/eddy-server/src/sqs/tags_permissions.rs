//! Queue tags (TagQueue, UntagQueue, ListQueueTags) and permissions (AddPermission,
//! RemovePermission; stored and reported, not enforced).

use std::collections::BTreeMap;

use serde::Serialize;

use eddy_store::sqs::SqsError;

use super::context::RequestContext;
use super::decode::{Member, shape};
use super::queues::QueueRequest;

shape! {
    /// TagQueue's input.
    pub struct TagQueueRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Tags" => tags: Member<BTreeMap<String, String>>,
    }
}

pub async fn tag_queue(cx: &RequestContext<'_>, input: TagQueueRequest) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    cx.store()
        .queues()
        .tag(&queue, input.tags.or_default()?)
        .await
}

shape! {
    /// UntagQueue's input.
    pub struct UntagQueueRequest {
        "QueueUrl" => queue_url: Member<String>,
        "TagKeys" => tag_keys: Member<Vec<String>>,
    }
}

pub async fn untag_queue(
    cx: &RequestContext<'_>,
    input: UntagQueueRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    cx.store()
        .queues()
        .untag(&queue, input.tag_keys.or_default()?)
        .await
}

pub type ListQueueTagsRequest = QueueRequest;

/// ListQueueTags' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

pub async fn list_queue_tags(
    cx: &RequestContext<'_>,
    input: ListQueueTagsRequest,
) -> Result<ListQueueTagsResult, SqsError> {
    let queue = cx.store().queues().get(&cx.queue(input.queue_url)?).await?;
    Ok(ListQueueTagsResult { tags: queue.tags })
}

shape! {
    /// AddPermission's input.
    pub struct AddPermissionRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Label" => label: Member<String>,
        "AWSAccountIds" => aws_account_ids: Member<Vec<String>>,
        "Actions" => actions: Member<Vec<String>>,
    }
}

pub async fn add_permission(
    cx: &RequestContext<'_>,
    input: AddPermissionRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let label = input.label.required("Label")?;
    let accounts = input.aws_account_ids.or_default()?;
    let actions = input.actions.or_default()?;
    cx.store()
        .queues()
        .add_permission(&queue, label, accounts, actions)
        .await
}

shape! {
    /// RemovePermission's input.
    pub struct RemovePermissionRequest {
        "QueueUrl" => queue_url: Member<String>,
        "Label" => label: Member<String>,
    }
}

pub async fn remove_permission(
    cx: &RequestContext<'_>,
    input: RemovePermissionRequest,
) -> Result<(), SqsError> {
    let queue = cx.queue(input.queue_url)?;
    let label = input.label.required("Label")?;
    cx.store().queues().remove_permission(&queue, label).await
}
