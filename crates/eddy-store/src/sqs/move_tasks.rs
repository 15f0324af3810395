//! Message move tasks (StartMessageMoveTask and friends): move the messages of a
//! dead-letter queue back to their source queues, or to a chosen queue, at a limited
//! rate. Each task is a row; a background task moves messages one second's worth per
//! transaction and stops when the queue is drained or the task is cancelled. Moved
//! messages get a new id and enqueue time, as on AWS.

use std::time::Duration;

use base64::Engine as _;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use std::sync::Arc;

use super::error::{SqsError, SqsErrorKind};
use super::queue_rows::{add_to_count, dead_letter_sources, queue_exists};
use super::regions::{arn_key, queue_key};
use crate::error::StoreError;
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::{OrAbort, TxResult, abort};

/// The rate of a task that does not name one (AWS: "system optimized").
const DEFAULT_RATE: u32 = 500;

/// A message move task as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTask {
    /// Only while the task is running.
    pub task_handle: Option<String>,
    pub status: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_per_second: Option<u32>,
    pub moved: u64,
    pub to_move: u64,
    pub failure_reason: Option<String>,
    pub started_ms: u64,
}

fn task_handle(task_id: &str, source_arn: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(json!({"taskId": task_id, "sourceArn": source_arn}).to_string())
}

/// The member `field` of a task handle.
fn handle_member(handle: &str, field: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(handle)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

fn task_id_of(handle: &str) -> Option<String> {
    handle_member(handle, "taskId")
}

/// The ARN of the source queue of the task a handle names.
pub fn task_source_arn(handle: &str) -> Option<String> {
    handle_member(handle, "sourceArn")
}

fn not_found(message: &str) -> SqsError {
    SqsError::new(SqsErrorKind::ResourceNotFoundException, message)
}

/// The store name of the queue an ARN names, in a store whose own region is `home`.
fn queue_of_arn(
    conn: &Connection,
    home: &str,
    arn: &str,
    parameter: &str,
) -> TxResult<String, SqsError> {
    let name = arn_key(home, arn)
        .ok_or_else(|| {
            SqsError::invalid_parameter(format!(
                "Value {arn} for parameter {parameter} is invalid. Reason: not a queue ARN."
            ))
        })
        .or_abort()?;
    if !queue_exists(conn, &name)? {
        return abort(not_found(&format!(
            "The resource that you specified for the {parameter} parameter doesn't exist."
        )));
    }
    Ok(name)
}

/// Message move tasks; see [`crate::Store::move_tasks`].
pub struct MoveTasks<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> MoveTasks<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Starts moving the messages of the dead-letter queue `source_arn` to
    /// `destination_arn`, or back to each message's source queue.
    pub async fn start(
        &self,
        source_arn: String,
        destination_arn: Option<String>,
        max_per_second: Option<u32>,
    ) -> Result<String, SqsError> {
        if let Some(rate) = max_per_second
            && !(1..=500).contains(&rate)
        {
            return Err(SqsError::invalid_parameter(format!(
                "Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500."
            )));
        }
        let task_id = uuid::Uuid::new_v4().to_string();
        let row_id = task_id.clone();
        let home = self.shared.settings.region.clone();
        let source = source_arn.clone();
        self.shared
            .db
            .write(move |conn| {
                    let name = queue_of_arn(conn, &home, &source, "SourceArn")?;
                    if dead_letter_sources(conn, &source)?.is_empty() {
                        return abort(SqsError::invalid_parameter(
                            "Source queue must be configured as a Dead Letter Queue.",
                        ));
                    }
                    if let Some(destination) = &destination_arn {
                        queue_of_arn(conn, &home, destination, "DestinationArn")?;
                    }
                    let running: bool = conn
                        .prepare_cached(
                            "SELECT 1 FROM message_move_tasks WHERE source_arn = ?1 AND status IN ('RUNNING', 'CANCELLING')",
                        )?
                        .exists([&source])?;
                    if running {
                        return abort(SqsError::invalid_parameter(
                            "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
                        ));
                    }
                    let to_move: u64 = conn
                        .prepare_cached("SELECT COUNT(*) FROM messages WHERE queue = ?1")?
                        .query_row([&name], |row| row.get(0))?;
                    conn.execute(
                        "INSERT INTO message_move_tasks (task_id, source_arn, destination_arn, max_per_second, status, to_move, started_ms)
                         VALUES (?1, ?2, ?3, ?4, 'RUNNING', ?5, ?6)",
                        params![row_id, source, destination_arn, max_per_second, to_move, now_ms()],
                    )?;
                    Ok(())
            })
            .await?;
        let shared = self.shared.clone();
        let id = task_id.clone();
        tokio::spawn(async move { run_move_task(shared, id).await });
        Ok(task_handle(&task_id, &source_arn))
    }

    /// The most recent move tasks of a source queue, newest first.
    pub async fn list(
        &self,
        source_arn: String,
        max_results: usize,
    ) -> Result<Vec<MoveTask>, SqsError> {
        let home = self.shared.settings.region.clone();
        self.shared
            .db
            .read(move |conn| {
                    queue_of_arn(conn, &home, &source_arn, "SourceArn")?;
                    let mut stmt = conn.prepare_cached(
                        "SELECT task_id, status, destination_arn, max_per_second, moved, to_move, failure_reason, started_ms
                         FROM message_move_tasks WHERE source_arn = ?1 ORDER BY started_ms DESC, rowid DESC LIMIT ?2",
                    )?;
                    let tasks = stmt
                        .query_map(params![source_arn, max_results as i64], |row| {
                            let task_id: String = row.get(0)?;
                            let status: String = row.get(1)?;
                            Ok(MoveTask {
                                task_handle: (status == "RUNNING")
                                    .then(|| task_handle(&task_id, &source_arn)),
                                status,
                                source_arn: source_arn.clone(),
                                destination_arn: row.get(2)?,
                                max_per_second: row.get(3)?,
                                moved: row.get(4)?,
                                to_move: row.get(5)?,
                                failure_reason: row.get(6)?,
                                started_ms: row.get(7)?,
                            })
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(tasks)
            })
            .await
    }

    /// Cancels a running task; returns how many messages it moved.
    pub async fn cancel(&self, handle: &str) -> Result<u64, SqsError> {
        let task_id = task_id_of(handle);
        self.shared
            .db
            .write(move |conn| {
                    let task_id = task_id.ok_or_else(|| not_found("Task does not exist.")).or_abort()?;
                    let row: Option<(String, u64)> = conn
                        .prepare_cached(
                            "SELECT status, moved FROM message_move_tasks WHERE task_id = ?1",
                        )?
                        .query_row([&task_id], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()?;
                    match row {
                        None => abort(not_found("Task does not exist.")),
                        Some((status, _)) if status != "RUNNING" => {
                            abort(not_found("Only active tasks can be cancelled."))
                        }
                        Some((_, moved)) => {
                            conn.execute(
                                "UPDATE message_move_tasks SET status = 'CANCELLING' WHERE task_id = ?1",
                                [&task_id],
                            )?;
                            Ok(moved)
                        }
                    }
            })
            .await
    }
}

/// Moves messages, one second's worth per transaction, until done or cancelled.
async fn run_move_task(shared: Arc<Shared>, task_id: String) {
    loop {
        let started = tokio::time::Instant::now();
        let id = task_id.clone();
        let settings = shared.clone();
        let step = shared
            .db
            .write::<_, StoreError, _>(move |conn| {
                let settings = &settings.settings;
                Ok(move_step(
                    conn,
                    &id,
                    &settings.region,
                    &settings.account_id,
                )?)
            })
            .await;
        match step {
            Ok(Some(woken)) => shared.wake_queues(&woken),
            Ok(None) => return,
            Err(error) => {
                let reason = crate::error::report(&error);
                tracing::error!(error = %reason, task = %task_id, "message move task failed");
                let id = task_id.clone();
                let marked: Result<(), StoreError> = shared
                    .db
                    .write(move |conn| {
                        conn.execute(
                            "UPDATE message_move_tasks SET status = 'FAILED', failure_reason = ?2 WHERE task_id = ?1",
                            params![id, reason],
                        )?;
                        Ok(())
                    })
                    .await;
                if let Err(error) = marked {
                    tracing::error!(error = %crate::error::report(&error), task = %task_id, "cannot record the failure of a message move task");
                }
                return;
            }
        }
        tokio::time::sleep_until(started + Duration::from_secs(1)).await;
    }
}

/// Moves one message to `target` as a move task does: a new message id and enqueue
/// time, no receives, no dead-letter source. Shared by move tasks and the dashboard's
/// redrive.
pub(crate) fn requeue_moved_message(
    conn: &Connection,
    seq: i64,
    target: &str,
    now: u64,
) -> Result<(), StoreError> {
    let source: Option<String> = conn
        .prepare_cached("SELECT queue FROM messages WHERE seq = ?1")?
        .query_row([seq], |row| row.get(0))
        .optional()?;
    let Some(source) = source else {
        return Ok(());
    };
    conn.prepare_cached(
        "UPDATE messages SET queue = ?2, message_id = ?3, sent_ms = ?4, visible_at_ms = ?4,
                receive_count = 0, first_receive_ms = NULL, receipt_nonce = NULL,
                received_ms = NULL, dead_letter_source_arn = NULL
         WHERE seq = ?1",
    )?
    .execute(params![
        seq,
        target,
        crate::ids::random_uuid().to_string(),
        now
    ])?;
    if source != target {
        add_to_count(conn, &source, -1)?;
        add_to_count(conn, target, 1)?;
    }
    Ok(())
}

/// One step of a task: moves up to its rate of visible messages. Returns the queues
/// that received messages, or `None` once the task is over.
fn move_step(
    conn: &Connection,
    task_id: &str,
    region: &str,
    account: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    let task: Option<(String, Option<String>, Option<u32>, String)> = conn
        .prepare_cached(
            "SELECT source_arn, destination_arn, max_per_second, status FROM message_move_tasks WHERE task_id = ?1",
        )?
        .query_row([task_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((source_arn, destination_arn, rate, status)) = task else {
        return Ok(None);
    };
    let finish = |status: &str, reason: Option<&str>| -> Result<Option<Vec<String>>, StoreError> {
        conn.execute(
            "UPDATE message_move_tasks SET status = ?2, failure_reason = ?3 WHERE task_id = ?1",
            params![task_id, status, reason],
        )?;
        Ok(None)
    };
    if status == "CANCELLING" {
        return finish("CANCELLED", None);
    }
    if status != "RUNNING" {
        return Ok(None);
    }
    let source = arn_key(region, &source_arn);
    let source = match source {
        Some(name) if queue_exists(conn, &name)? => name,
        _ => return finish("FAILED", Some("AWS.SimpleQueueService.NonExistentQueue")),
    };
    let now = now_ms();
    let limit = rate.unwrap_or(DEFAULT_RATE);
    let rows: Vec<(i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT seq, dead_letter_source_arn FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2
             ORDER BY seq LIMIT ?3",
        )?
        .query_map(params![source, now, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return finish("COMPLETED", None);
    }
    let mut woken = Vec::new();
    let mut moved = 0u64;
    for (seq, original) in rows {
        let target_arn = destination_arn.clone().or(original);
        let target = target_arn
            .as_deref()
            .and_then(eddy_events::arn::parse_queue_arn)
            .filter(|a| a.account_id == account)
            .map(|a| queue_key(region, &a.region, &a.queue_name));
        let target = match target {
            Some(name) if queue_exists(conn, &name)? => Some(name),
            _ => None,
        };
        let Some(target) = target else {
            conn.execute(
                "UPDATE message_move_tasks SET moved = moved + ?2 WHERE task_id = ?1",
                params![task_id, moved],
            )?;
            return finish("FAILED", Some("AWS.SimpleQueueService.NonExistentQueue"));
        };
        requeue_moved_message(conn, seq, &target, now)?;
        moved += 1;
        if !woken.contains(&target) {
            woken.push(target);
        }
    }
    conn.execute(
        "UPDATE message_move_tasks SET moved = moved + ?2 WHERE task_id = ?1",
        params![task_id, moved],
    )?;
    Ok(Some(woken))
}

/// Start-up recovery of message move tasks: a task that was running when eddy stopped
/// is reported `FAILED` (start it again); one being cancelled is `CANCELLED`.
pub(crate) fn recover_move_tasks(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "UPDATE message_move_tasks SET status = 'FAILED',
                failure_reason = 'eddy stopped while the task was running.'
         WHERE status = 'RUNNING';
         UPDATE message_move_tasks SET status = 'CANCELLED' WHERE status = 'CANCELLING';",
    )?;
    Ok(())
}
