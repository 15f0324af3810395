//! The 23 operations of the SQS model as one typed enum: each variant holds its decoded
//! input, [`SqsOperation::run`] hands it to its handler (one module per family) and writes
//! the handler's typed output in the request's protocol.

use serde::Deserializer;

use eddy_store::sqs::{SqsError, SqsErrorKind};

use super::context::RequestContext;
use super::decode::{Shape, read_input};
use super::move_tasks::{
    CancelMessageMoveTaskRequest, ListMessageMoveTasksRequest, StartMessageMoveTaskRequest,
};
use super::queues::{
    CreateQueueRequest, DeleteQueueRequest, GetQueueAttributesRequest, GetQueueUrlRequest,
    ListDeadLetterSourceQueuesRequest, ListQueuesRequest, PurgeQueueRequest,
    SetQueueAttributesRequest,
};
use super::receipts::{
    ChangeMessageVisibilityBatchRequest, ChangeMessageVisibilityRequest, DeleteMessageBatchRequest,
    DeleteMessageRequest,
};
use super::receive::ReceiveMessageRequest;
use super::respond::Reply;
use super::send::{SendMessageBatchRequest, SendMessageRequest};
use super::tags_permissions::{
    AddPermissionRequest, ListQueueTagsRequest, RemovePermissionRequest, TagQueueRequest,
    UntagQueueRequest,
};
use super::{move_tasks, queues, receipts, receive, send, tags_permissions};

/// An SQS request: the operation and its input.
#[derive(Debug)]
pub enum SqsOperation {
    AddPermission(AddPermissionRequest),
    CancelMessageMoveTask(CancelMessageMoveTaskRequest),
    ChangeMessageVisibility(ChangeMessageVisibilityRequest),
    ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchRequest),
    CreateQueue(CreateQueueRequest),
    DeleteMessage(DeleteMessageRequest),
    DeleteMessageBatch(DeleteMessageBatchRequest),
    DeleteQueue(DeleteQueueRequest),
    GetQueueAttributes(GetQueueAttributesRequest),
    GetQueueUrl(GetQueueUrlRequest),
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesRequest),
    ListMessageMoveTasks(ListMessageMoveTasksRequest),
    ListQueueTags(ListQueueTagsRequest),
    ListQueues(ListQueuesRequest),
    PurgeQueue(PurgeQueueRequest),
    ReceiveMessage(ReceiveMessageRequest),
    RemovePermission(RemovePermissionRequest),
    SendMessage(SendMessageRequest),
    SendMessageBatch(SendMessageBatchRequest),
    SetQueueAttributes(SetQueueAttributesRequest),
    StartMessageMoveTask(StartMessageMoveTaskRequest),
    TagQueue(TagQueueRequest),
    UntagQueue(UntagQueueRequest),
}

/// An input with no members, to check the body of an unknown operation.
#[derive(Default)]
struct NoInput;

impl Shape for NoInput {
    fn read_member<'de, A: serde::de::MapAccess<'de>>(
        &mut self,
        _: &str,
        _: &mut A,
    ) -> Result<bool, A::Error> {
        Ok(false)
    }
}

impl SqsOperation {
    /// The operation `name` with its input read from a JSON body (an empty body is an
    /// empty object).
    pub fn from_json(name: &str, body: &[u8]) -> Result<Self, SqsError> {
        let body = if body.is_empty() { b"{}" } else { body };
        let not_an_object =
            |_| SqsError::invalid_parameter("The request body is not a JSON object.");
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let operation = Self::read(name, &mut deserializer).map_err(not_an_object)?;
        deserializer.end().map_err(not_an_object)?;
        operation
    }

    /// The operation `name` with its input read from `input` (an object, or a form). The
    /// input is read in full before an unknown name is refused.
    pub fn read<'de, D: Deserializer<'de>>(
        name: &str,
        input: D,
    ) -> Result<Result<Self, SqsError>, D::Error> {
        use SqsOperation as Op;
        Ok(Ok(match name {
            "AddPermission" => Op::AddPermission(read_input(input)?),
            "CancelMessageMoveTask" => Op::CancelMessageMoveTask(read_input(input)?),
            "ChangeMessageVisibility" => Op::ChangeMessageVisibility(read_input(input)?),
            "ChangeMessageVisibilityBatch" => Op::ChangeMessageVisibilityBatch(read_input(input)?),
            "CreateQueue" => Op::CreateQueue(read_input(input)?),
            "DeleteMessage" => Op::DeleteMessage(read_input(input)?),
            "DeleteMessageBatch" => Op::DeleteMessageBatch(read_input(input)?),
            "DeleteQueue" => Op::DeleteQueue(read_input(input)?),
            "GetQueueAttributes" => Op::GetQueueAttributes(read_input(input)?),
            "GetQueueUrl" => Op::GetQueueUrl(read_input(input)?),
            "ListDeadLetterSourceQueues" => Op::ListDeadLetterSourceQueues(read_input(input)?),
            "ListMessageMoveTasks" => Op::ListMessageMoveTasks(read_input(input)?),
            "ListQueueTags" => Op::ListQueueTags(read_input(input)?),
            "ListQueues" => Op::ListQueues(read_input(input)?),
            "PurgeQueue" => Op::PurgeQueue(read_input(input)?),
            "ReceiveMessage" => Op::ReceiveMessage(read_input(input)?),
            "RemovePermission" => Op::RemovePermission(read_input(input)?),
            "SendMessage" => Op::SendMessage(read_input(input)?),
            "SendMessageBatch" => Op::SendMessageBatch(read_input(input)?),
            "SetQueueAttributes" => Op::SetQueueAttributes(read_input(input)?),
            "StartMessageMoveTask" => Op::StartMessageMoveTask(read_input(input)?),
            "TagQueue" => Op::TagQueue(read_input(input)?),
            "UntagQueue" => Op::UntagQueue(read_input(input)?),
            unknown => {
                read_input::<NoInput, D>(input)?;
                return Ok(Err(invalid_action(unknown)));
            }
        }))
    }

    /// The operation's name in the model.
    pub fn name(&self) -> &'static str {
        use SqsOperation as Op;
        match self {
            Op::AddPermission(_) => "AddPermission",
            Op::CancelMessageMoveTask(_) => "CancelMessageMoveTask",
            Op::ChangeMessageVisibility(_) => "ChangeMessageVisibility",
            Op::ChangeMessageVisibilityBatch(_) => "ChangeMessageVisibilityBatch",
            Op::CreateQueue(_) => "CreateQueue",
            Op::DeleteMessage(_) => "DeleteMessage",
            Op::DeleteMessageBatch(_) => "DeleteMessageBatch",
            Op::DeleteQueue(_) => "DeleteQueue",
            Op::GetQueueAttributes(_) => "GetQueueAttributes",
            Op::GetQueueUrl(_) => "GetQueueUrl",
            Op::ListDeadLetterSourceQueues(_) => "ListDeadLetterSourceQueues",
            Op::ListMessageMoveTasks(_) => "ListMessageMoveTasks",
            Op::ListQueueTags(_) => "ListQueueTags",
            Op::ListQueues(_) => "ListQueues",
            Op::PurgeQueue(_) => "PurgeQueue",
            Op::ReceiveMessage(_) => "ReceiveMessage",
            Op::RemovePermission(_) => "RemovePermission",
            Op::SendMessage(_) => "SendMessage",
            Op::SendMessageBatch(_) => "SendMessageBatch",
            Op::SetQueueAttributes(_) => "SetQueueAttributes",
            Op::StartMessageMoveTask(_) => "StartMessageMoveTask",
            Op::TagQueue(_) => "TagQueue",
            Op::UntagQueue(_) => "UntagQueue",
        }
    }

    /// The name of the queue the operation addresses (by its URL, its name, its ARN or
    /// a move task's handle), if it addresses one and names it readably.
    pub fn addressed_queue(&self, cx: &RequestContext<'_>) -> Option<String> {
        use SqsOperation as Op;
        let url = match self {
            Op::AddPermission(i) => i.queue_url.peek(),
            Op::ChangeMessageVisibility(i) => i.queue_url.peek(),
            Op::ChangeMessageVisibilityBatch(i) => i.queue_url.peek(),
            Op::DeleteMessage(i) => i.queue_url.peek(),
            Op::DeleteMessageBatch(i) => i.queue_url.peek(),
            Op::DeleteQueue(i) | Op::ListQueueTags(i) | Op::PurgeQueue(i) => i.queue_url.peek(),
            Op::GetQueueAttributes(i) => i.queue_url.peek(),
            Op::ListDeadLetterSourceQueues(i) => i.queue_url.peek(),
            Op::ReceiveMessage(i) => i.queue_url.peek(),
            Op::RemovePermission(i) => i.queue_url.peek(),
            Op::SendMessage(i) => i.queue_url.peek(),
            Op::SendMessageBatch(i) => i.queue_url.peek(),
            Op::SetQueueAttributes(i) => i.queue_url.peek(),
            Op::TagQueue(i) => i.queue_url.peek(),
            Op::UntagQueue(i) => i.queue_url.peek(),
            Op::CreateQueue(i) => return i.queue_name.peek().cloned(),
            Op::GetQueueUrl(i) => return i.queue_name.peek().cloned(),
            Op::StartMessageMoveTask(i) => return queue_of_arn(i.source_arn.peek()?),
            Op::ListMessageMoveTasks(i) => return queue_of_arn(i.source_arn.peek()?),
            Op::CancelMessageMoveTask(i) => {
                return queue_of_arn(&eddy_store::sqs::task_source_arn(i.task_handle.peek()?)?);
            }
            Op::ListQueues(_) => None,
        };
        cx.queue_name(url?).ok()
    }

    /// Runs the operation; the answer's body is written by `reply`.
    pub async fn run(self, cx: &RequestContext<'_>, reply: Reply<'_>) -> Result<String, SqsError> {
        use SqsOperation as Op;
        let action = self.name();
        let empty = |()| reply.empty(action);
        match self {
            Op::AddPermission(i) => tags_permissions::add_permission(cx, i).await.map(empty),
            Op::CancelMessageMoveTask(i) => {
                reply.output(action, &move_tasks::cancel_message_move_task(cx, i).await?)
            }
            Op::ChangeMessageVisibility(i) => {
                receipts::change_message_visibility(cx, i).await.map(empty)
            }
            Op::ChangeMessageVisibilityBatch(i) => reply.output(
                action,
                &receipts::change_message_visibility_batch(cx, i).await?,
            ),
            Op::CreateQueue(i) => reply.output(action, &queues::create_queue(cx, i).await?),
            Op::DeleteMessage(i) => receipts::delete_message(cx, i).await.map(empty),
            Op::DeleteMessageBatch(i) => {
                reply.output(action, &receipts::delete_message_batch(cx, i).await?)
            }
            Op::DeleteQueue(i) => queues::delete_queue(cx, i).await.map(empty),
            Op::GetQueueAttributes(i) => {
                reply.output(action, &queues::get_queue_attributes(cx, i).await?)
            }
            Op::GetQueueUrl(i) => reply.output(action, &queues::get_queue_url(cx, i).await?),
            Op::ListDeadLetterSourceQueues(i) => reply.output(
                action,
                &queues::list_dead_letter_source_queues(cx, i).await?,
            ),
            Op::ListMessageMoveTasks(i) => {
                reply.output(action, &move_tasks::list_message_move_tasks(cx, i).await?)
            }
            Op::ListQueueTags(i) => {
                reply.output(action, &tags_permissions::list_queue_tags(cx, i).await?)
            }
            Op::ListQueues(i) => reply.output(action, &queues::list_queues(cx, i).await?),
            Op::PurgeQueue(i) => queues::purge_queue(cx, i).await.map(empty),
            Op::ReceiveMessage(i) => reply.output(action, &receive::receive_message(cx, i).await?),
            Op::RemovePermission(i) => tags_permissions::remove_permission(cx, i).await.map(empty),
            Op::SendMessage(i) => reply.output(action, &send::send_message(cx, i).await?),
            Op::SendMessageBatch(i) => {
                reply.output(action, &send::send_message_batch(cx, i).await?)
            }
            Op::SetQueueAttributes(i) => queues::set_queue_attributes(cx, i).await.map(empty),
            Op::StartMessageMoveTask(i) => {
                reply.output(action, &move_tasks::start_message_move_task(cx, i).await?)
            }
            Op::TagQueue(i) => tags_permissions::tag_queue(cx, i).await.map(empty),
            Op::UntagQueue(i) => tags_permissions::untag_queue(cx, i).await.map(empty),
        }
    }
}

/// The queue name of a queue ARN.
fn queue_of_arn(arn: &str) -> Option<String> {
    eddy_events::arn::parse_queue_arn(arn).map(|arn| arn.queue_name)
}

/// The error for an operation SQS does not have.
pub fn invalid_action(name: &str) -> SqsError {
    SqsError::new(
        SqsErrorKind::InvalidAction,
        format!("The action {name} is not valid for this endpoint."),
    )
}
