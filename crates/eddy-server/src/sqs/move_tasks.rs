//! Message move tasks (dead-letter queue redrive): StartMessageMoveTask,
//! ListMessageMoveTasks and CancelMessageMoveTask.

use serde::Serialize;

use eddy_store::sqs::{MoveTask, SqsError};

use super::context::RequestContext;
use super::decode::{Member, shape};

shape! {
    /// StartMessageMoveTask's input.
    pub struct StartMessageMoveTaskRequest {
        "SourceArn" => source_arn: Member<String>,
        "DestinationArn" => destination_arn: Member<String>,
        "MaxNumberOfMessagesPerSecond" => max_number_of_messages_per_second: Member<i64>,
    }
}

/// StartMessageMoveTask's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskResult {
    pub task_handle: String,
}

pub async fn start_message_move_task(
    cx: &RequestContext<'_>,
    input: StartMessageMoveTaskRequest,
) -> Result<StartMessageMoveTaskResult, SqsError> {
    let source = input.source_arn.required("SourceArn")?;
    let destination = input.destination_arn.optional()?;
    let rate = input.max_number_of_messages_per_second.optional()?;
    if let Some(r) = rate
        && !(1..=500).contains(&r)
    {
        return Err(SqsError::invalid_parameter(format!(
            "Value {r} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
        )));
    }
    let task_handle = cx
        .store()
        .move_tasks()
        .start(source, destination, rate.map(|r| r as u32))
        .await?;
    Ok(StartMessageMoveTaskResult { task_handle })
}

shape! {
    /// ListMessageMoveTasks' input.
    pub struct ListMessageMoveTasksRequest {
        "SourceArn" => source_arn: Member<String>,
        "MaxResults" => max_results: Member<i64>,
    }
}

/// ListMessageMoveTasks' output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResult {
    pub results: Vec<ListMessageMoveTasksResultEntry>,
}

/// One task of ListMessageMoveTasks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    pub approximate_number_of_messages_moved: u64,
    pub approximate_number_of_messages_to_move: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<u32>,
    pub source_arn: String,
    pub started_timestamp: u64,
    pub status: String,
    /// Only while the task is running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
}

impl From<MoveTask> for ListMessageMoveTasksResultEntry {
    fn from(task: MoveTask) -> Self {
        Self {
            approximate_number_of_messages_moved: task.moved,
            approximate_number_of_messages_to_move: task.to_move,
            destination_arn: task.destination_arn,
            failure_reason: task.failure_reason,
            max_number_of_messages_per_second: task.max_per_second,
            source_arn: task.source_arn,
            started_timestamp: task.started_ms,
            status: task.status,
            task_handle: task.task_handle,
        }
    }
}

pub async fn list_message_move_tasks(
    cx: &RequestContext<'_>,
    input: ListMessageMoveTasksRequest,
) -> Result<ListMessageMoveTasksResult, SqsError> {
    let source = input.source_arn.required("SourceArn")?;
    let max = input.max_results.optional()?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(SqsError::invalid_parameter(format!(
            "Value {max} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
        )));
    }
    let tasks = cx.store().move_tasks().list(source, max as usize).await?;
    Ok(ListMessageMoveTasksResult {
        results: tasks.into_iter().map(Into::into).collect(),
    })
}

shape! {
    /// CancelMessageMoveTask's input.
    pub struct CancelMessageMoveTaskRequest {
        "TaskHandle" => task_handle: Member<String>,
    }
}

/// CancelMessageMoveTask's output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskResult {
    pub approximate_number_of_messages_moved: u64,
}

pub async fn cancel_message_move_task(
    cx: &RequestContext<'_>,
    input: CancelMessageMoveTaskRequest,
) -> Result<CancelMessageMoveTaskResult, SqsError> {
    let handle = input.task_handle.required("TaskHandle")?;
    let moved = cx.store().move_tasks().cancel(&handle).await?;
    Ok(CancelMessageMoveTaskResult {
        approximate_number_of_messages_moved: moved,
    })
}
