//! Bucket notifications in the store: the configurations of a bucket (the
//! [`Notifications`] handle), and the outbox: the event messages an object change
//! enqueues into the configured queues inside the transaction that makes the change
//! visible, so a crash never separates an acknowledged change from its events.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::S3Error;
use super::notification_rules::{
    ChangeContext, EventObject, EventPrincipals, QueueNotification, event_body,
};
use super::principals::{owner_principal_id, user_principal_id};
use super::rows::require_bucket;
use crate::error::StoreError;
use crate::shared::{Shared, StoreSettings};
use crate::sqs::model::{Queue, SendRequest};
use crate::sqs::queue_rows::load_queue;
use crate::sqs::regions::{arn_key, queue_key};
use crate::sqs::send::insert_message;
use crate::time::now_ms;
use crate::tx::{TxResult, abort, entry_outcome};
use eddy_events::arn::parse_queue_arn;

/// Bucket notification configurations; see [`crate::Store::notifications`].
pub struct Notifications<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Notifications<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// A bucket's queue configurations.
    pub async fn get(&self, bucket: &str) -> Result<Vec<QueueNotification>, S3Error> {
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
    /// queue, in the same transaction.
    pub async fn put(
        &self,
        bucket: &str,
        configs: Vec<QueueNotification>,
        context: ChangeContext,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let principal = s3_sender_id();
        let home = self.shared.settings.region.clone();
        let woken = self
            .shared
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                let bucket_region: String = conn
                    .prepare_cached("SELECT region FROM buckets WHERE name = ?1")?
                    .query_row([&bucket], |row| row.get(0))?;
                let queues = destination_queues(conn, &home, &bucket_region, &configs)?;
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

/// The distinct queues of `configs`; aborts when one is missing, FIFO, or of another
/// region than the bucket (S3 refuses such a configuration).
fn destination_queues(
    conn: &Connection,
    home: &str,
    bucket_region: &str,
    configs: &[QueueNotification],
) -> TxResult<Vec<Queue>, S3Error> {
    let mut queues: Vec<Queue> = Vec::new();
    for config in configs {
        let refuse = |reason: &str| {
            abort(S3Error::InvalidDestination {
                arn: config.queue_arn.clone(),
                reason: reason.to_owned(),
            })
        };
        let Some(parsed) = parse_queue_arn(&config.queue_arn) else {
            return refuse("The destination queue does not exist");
        };
        if parsed.region != bucket_region {
            return abort(S3Error::InvalidArgument(
                "The notification destination service region is not valid for the bucket location constraint".into(),
            ));
        }
        let key = queue_key(home, &parsed.region, &parsed.queue_name);
        let Ok(queue) = entry_outcome(load_queue(conn, &key))? else {
            return refuse("The destination queue does not exist");
        };
        if queue.attributes.is_fifo() {
            return refuse("FIFO queues are not supported as destinations");
        }
        if !queues.iter().any(|q| q.name == queue.name) {
            queues.push(queue);
        }
    }
    Ok(queues)
}

/// A bucket's stored configurations (none for a missing bucket).
fn load_notifications(
    conn: &Connection,
    bucket: &str,
) -> Result<Vec<QueueNotification>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT notification FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get(0))
        .optional()?;
    Ok(json
        .map(|j| serde_json::from_str(&j))
        .transpose()?
        .unwrap_or_default())
}

/// Enqueues the events of one object change into every matching configuration's queue,
/// inside the change's transaction. Returns the queues written to.
pub(crate) fn enqueue_events(
    conn: &Connection,
    settings: &StoreSettings,
    event_name: &str,
    object: &EventObject<'_>,
    context: &ChangeContext,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let mut queues = Vec::new();
    let configs = load_notifications(conn, object.bucket)?;
    if configs.is_empty() {
        return Ok(queues);
    }
    let region: String = conn
        .prepare_cached("SELECT region FROM buckets WHERE name = ?1")?
        .query_row([object.bucket], |row| row.get(0))
        .optional()?
        .unwrap_or_else(|| settings.region.clone());
    for config in configs {
        if !config.matches(event_name, object.key) {
            continue;
        }
        let Some(key) = arn_key(&settings.region, &config.queue_arn) else {
            continue;
        };
        let Ok(queue) = entry_outcome(load_queue(conn, &key))? else {
            tracing::warn!(queue = %key, bucket = %object.bucket, "notification queue is gone; event dropped");
            continue;
        };
        let user = context.requester.principal_id(&settings.access_key_id);
        let owner = owner_principal_id(&settings.account_id);
        let body = event_body(
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
        );
        let request = SendRequest {
            body,
            system_attributes: trace_attribute(context.trace_header.as_deref()),
            ..SendRequest::default()
        };
        let sent = insert_message(conn, &queue, &request, &s3_sender_id(), now);
        if let Err(error) = entry_outcome(sent)? {
            tracing::warn!(queue = %queue.name, %error, "notification could not be enqueued");
            continue;
        }
        queues.push(queue.name);
    }
    Ok(queues)
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
