//! Bucket notifications in the store: the configurations of a bucket (the
//! [`Notifications`] handle), and the outbox: the event messages an object change
//! enqueues into the configured queues, and the asynchronous invocations it queues for
//! the configured functions, inside the transaction that makes the change visible, so
//! a crash never separates an acknowledged change from its events.

use std::sync::Arc;

use eddy_events::arn::parse_queue_arn;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::S3Error;
use super::function_targets::{allows_s3, queue_invocation, resolve};
use super::notification_rules::{
    ChangeContext, Destination, EventObject, EventPrincipals, NotificationConfig, event_body,
};
use super::principals::{owner_principal_id, user_principal_id};
use super::rows::require_bucket;
use crate::error::StoreError;
use crate::shared::{Shared, StoreSettings};
use crate::sqs::model::{Queue, SendRequest};
use crate::sqs::queue_rows::load_queue;
use crate::sqs::regions::arn_key;
use crate::sqs::send::insert_message;
use crate::time::now_ms;
use crate::tx::{TxResult, abort, entry_outcome};

/// Bucket notification configurations; see [`crate::Store::notifications`].
pub struct Notifications<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Notifications<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// A bucket's configurations.
    pub async fn get(&self, bucket: &str) -> Result<Vec<NotificationConfig>, S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                Ok(load_notifications(conn, &bucket)?)
            })
            .await
    }

    /// Saves a bucket's notification configuration (validated by the caller with
    /// [`super::notification_rules`]) and sends the `s3:TestEvent` to each destination
    /// queue, in the same transaction. Refuses it, as S3 does, when a destination
    /// queue or function does not exist, a queue is FIFO, or a function's resource
    /// policy does not let S3 invoke it.
    pub async fn put(
        &self,
        bucket: &str,
        configs: Vec<NotificationConfig>,
        context: ChangeContext,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let principal = s3_sender_id();
        let settings = self.shared.settings.clone();
        let woken = self
            .shared
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                let queues = destinations(conn, &settings, &bucket, &configs)?;
                conn.execute(
                    "UPDATE buckets SET notification = ?2 WHERE name = ?1",
                    params![bucket, serde_json::to_string(&configs)?],
                )?;
                let now = now_ms();
                let test_event = serde_json::json!({
                    "Service": "Amazon S3",
                    "Event": "s3:TestEvent",
                    "Time": crate::time::iso8601_millis(now),
                    "Bucket": bucket,
                    "RequestId": context.request_id,
                    "HostId": context.host_id,
                })
                .to_string();
                let mut woken = Vec::new();
                for queue in &queues {
                    let request = SendRequest {
                        body: test_event.clone(),
                        ..SendRequest::default()
                    };
                    if entry_outcome(insert_message(conn, queue, &request, &principal, now))?
                        .is_ok()
                    {
                        woken.push(queue.name.clone());
                    }
                }
                Ok(woken)
            })
            .await?;
        self.shared.wake_queues(&woken);
        for queue in &woken {
            self.shared
                .telemetry
                .emit(eddy_telemetry::MessagesSent { queue, count: 1 });
        }
        Ok(())
    }
}

/// The distinct queues of `configs`; aborts, naming every destination S3 would refuse,
/// when a queue is missing or FIFO or a function is missing or does not allow S3.
fn destinations(
    conn: &Connection,
    settings: &StoreSettings,
    bucket: &str,
    configs: &[NotificationConfig],
) -> TxResult<Vec<Queue>, S3Error> {
    let mut queues: Vec<Queue> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut fifo = false;
    let bucket_region: String = conn
        .prepare_cached("SELECT region FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get(0))?;
    for config in configs {
        match &config.destination {
            Destination::Queue(arn)
                if parse_queue_arn(arn).is_some_and(|a| a.region != bucket_region) =>
            {
                return abort(S3Error::InvalidArgument(
                    "The notification destination service region is not valid for the bucket location constraint".into(),
                ));
            }
            Destination::Queue(arn) => {
                let queue = match arn_key(&settings.region, arn) {
                    Some(key) => entry_outcome(load_queue(conn, &key))?.ok(),
                    None => None,
                };
                match queue {
                    None => refused.push((
                        arn.clone(),
                        "The destination queue does not exist".to_owned(),
                    )),
                    Some(queue) if queue.attributes.is_fifo() => {
                        fifo = true;
                        refused.push((
                            arn.clone(),
                            "FIFO queues are not supported as destinations".to_owned(),
                        ));
                    }
                    Some(queue) => {
                        if !queues.iter().any(|q| q.name == queue.name) {
                            queues.push(queue);
                        }
                    }
                }
            }
            Destination::Function(arn) => {
                let allowed = resolve(conn, settings, arn)?.is_some_and(|target| {
                    allows_s3(&target.record.permissions, bucket, &settings.account_id)
                });
                if !allowed {
                    refused.push((
                        format!("{arn}, null"),
                        format!("Not authorized to invoke function [{arn}]"),
                    ));
                }
            }
        }
    }
    if fifo && refused.len() == 1 {
        return abort(S3Error::InvalidArgument(
            "Unable to validate the following destination configurations: FIFO queues are not supported as destinations".into(),
        ));
    }
    if !refused.is_empty() {
        return abort(S3Error::UnvalidatedDestinations(refused));
    }
    Ok(queues)
}

/// A bucket's stored configurations (none for a missing bucket).
fn load_notifications(
    conn: &Connection,
    bucket: &str,
) -> Result<Vec<NotificationConfig>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT notification FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get(0))
        .optional()?;
    Ok(json
        .map(|j| serde_json::from_str(&j))
        .transpose()?
        .unwrap_or_default())
}

/// What an object change's events were sent to: the queues whose receivers to wake,
/// and whether function invocations were queued (the invoker to wake).
#[derive(Debug, Default, Clone)]
pub(crate) struct Woken {
    pub queues: Vec<String>,
    pub invocations: bool,
}

impl Shared {
    /// Wakes what an object change's committed events wait in.
    pub(crate) fn wake_after_events(&self, woken: &Woken) {
        self.wake_queues(&woken.queues);
        if woken.invocations {
            self.invocations_waker.notify_one();
        }
    }
}

/// Enqueues the events of one object change into every matching configuration's queue
/// and queues the invocations of its matching functions, inside the change's
/// transaction.
pub(crate) fn enqueue_events(
    conn: &Connection,
    settings: &StoreSettings,
    event_name: &str,
    object: &EventObject<'_>,
    context: &ChangeContext,
    now: u64,
) -> Result<Woken, StoreError> {
    let mut woken = Woken::default();
    let configs = load_notifications(conn, object.bucket)?;
    if configs.is_empty() {
        return Ok(woken);
    }
    // A bucket's events carry its region.
    let region: String = conn
        .prepare_cached("SELECT region FROM buckets WHERE name = ?1")?
        .query_row([object.bucket], |row| row.get(0))
        .optional()?
        .unwrap_or_else(|| settings.region.clone());
    let user = context.requester.principal_id(&settings.access_key_id);
    let owner = owner_principal_id(&settings.account_id);
    for config in configs {
        if !config.matches(event_name, object.key) {
            continue;
        }
        let body = || {
            event_body(
                &region,
                EventPrincipals {
                    user: &user,
                    owner: &owner,
                },
                event_name,
                &config.id,
                object,
                context,
                now,
            )
        };
        let queue_arn = match &config.destination {
            Destination::Queue(arn) => arn,
            Destination::Function(arn) => {
                match resolve(conn, settings, arn)? {
                    Some(target) => {
                        queue_invocation(conn, &target, body(), now)?;
                        woken.invocations = true;
                    }
                    None => {
                        tracing::warn!(function = %arn, bucket = %object.bucket, "notification function is gone; event dropped");
                    }
                }
                continue;
            }
        };
        let Some(key) = arn_key(&settings.region, queue_arn) else {
            continue;
        };
        let Ok(queue) = entry_outcome(load_queue(conn, &key))? else {
            tracing::warn!(queue = %key, bucket = %object.bucket, "notification queue is gone; event dropped");
            continue;
        };
        let request = SendRequest {
            body: body(),
            system_attributes: trace_attribute(context.trace_header.as_deref()),
            ..SendRequest::default()
        };
        let sent = insert_message(conn, &queue, &request, &s3_sender_id(), now);
        if let Err(error) = entry_outcome(sent)? {
            tracing::warn!(queue = %queue.name, %error, "notification could not be enqueued");
            continue;
        }
        woken.queues.push(queue.name);
    }
    Ok(woken)
}

/// The `SenderId` of the messages S3 sends: S3's own principal (AWS-shaped, stable),
/// not the access key of whoever caused the event.
fn s3_sender_id() -> String {
    let id = user_principal_id(super::principals::S3_SERVICE_PRINCIPAL);
    id.trim_start_matches("AWS:").to_owned()
}

/// The `AWSTraceHeader` system attribute of an event message: the trace header of the
/// request that caused the event, as S3 passes it on.
fn trace_attribute(
    trace_header: Option<&str>,
) -> std::collections::BTreeMap<String, crate::sqs::model::MessageAttributeValue> {
    trace_header
        .filter(|h| !h.is_empty())
        .map(|header| {
            (
                "AWSTraceHeader".to_owned(),
                crate::sqs::model::MessageAttributeValue {
                    data_type: "String".to_owned(),
                    string_value: Some(header.to_owned()),
                    binary_value: None,
                },
            )
        })
        .into_iter()
        .collect()
}
