//! Asynchronous invocations (`Invoke` with `InvocationType: Event`), queued durably
//! (the [`AsyncInvocations`] handle): an invocation is stored before Invoke answers
//! 202, stays until it succeeds or has used its attempts, and is due again after a
//! failed attempt's back-off. A restart runs what was still queued.

use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, params};

use crate::error::StoreError;
use crate::shared::Shared;

/// One queued asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncInvocation {
    pub request_id: String,
    pub function: String,
    /// The published version invoked, or `None` for `$LATEST`.
    pub version: Option<u32>,
    /// The qualifier the caller named (an alias, a version, `$LATEST`), whose event
    /// invoke configuration applies; `None`: unqualified (`$LATEST`'s).
    pub qualifier: Option<String>,
    pub payload: Bytes,
    /// Attempts made so far.
    pub attempts: u32,
    /// Milliseconds since the epoch when the next attempt is due.
    pub due_ms: u64,
    /// Milliseconds since the epoch when it was queued (its event's age counts from
    /// there).
    pub enqueued_ms: u64,
}

/// Asynchronous invocations; see [`crate::Store::async_invocations`].
pub struct AsyncInvocations<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> AsyncInvocations<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Queues an invocation (durable when this returns) and wakes the invoker.
    pub async fn enqueue(&self, invocation: AsyncInvocation) -> Result<(), StoreError> {
        self.shared
            .db
            .write(move |conn| {
                insert(conn, &invocation).map_err(crate::tx::TxError::<StoreError>::Store)
            })
            .await?;
        self.wake();
        Ok(())
    }

    /// Says that invocations were queued: [`Self::notified`] returns.
    pub fn wake(&self) {
        self.shared.invocations_waker.notify_one();
    }

    /// Completes when invocations were queued since the last call (a wake that came
    /// while nobody waited is kept for the next wait).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'s> {
        self.shared.invocations_waker.notified()
    }

    /// Up to `limit` invocations due at `now_ms`, earliest first.
    pub async fn due(&self, now_ms: u64, limit: u32) -> Result<Vec<AsyncInvocation>, StoreError> {
        self.shared
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT request_id, function, version, payload, attempts, due_ms,
                            qualifier, COALESCE(enqueued_ms, due_ms)
                     FROM lambda_async_invocations WHERE due_ms <= ?1
                     ORDER BY due_ms LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![now_ms as i64, limit], |row| {
                    Ok(AsyncInvocation {
                        request_id: row.get(0)?,
                        function: row.get(1)?,
                        version: row.get(2)?,
                        payload: Bytes::from(row.get::<_, Vec<u8>>(3)?),
                        attempts: row.get(4)?,
                        due_ms: row.get::<_, i64>(5)? as u64,
                        qualifier: row.get(6)?,
                        enqueued_ms: row.get::<_, i64>(7)? as u64,
                    })
                })?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(row?);
                }
                Ok(out)
            })
            .await
    }

    /// Records a failed attempt: the invocation is due again at `due_ms`.
    pub async fn retry_at(
        &self,
        request_id: &str,
        attempts: u32,
        due_ms: u64,
    ) -> Result<(), StoreError> {
        let request_id = request_id.to_owned();
        self.shared
            .db
            .write(move |conn| {
                conn.execute(
                    "UPDATE lambda_async_invocations SET attempts = ?2, due_ms = ?3
                     WHERE request_id = ?1",
                    params![request_id, attempts, due_ms as i64],
                )?;
                Ok(())
            })
            .await
    }

    /// Removes an invocation that succeeded or used its attempts.
    pub async fn finish(&self, request_id: &str) -> Result<(), StoreError> {
        let request_id = request_id.to_owned();
        self.shared
            .db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM lambda_async_invocations WHERE request_id = ?1",
                    [&request_id],
                )?;
                Ok(())
            })
            .await
    }
}

/// Inserts a queued invocation inside the caller's transaction.
pub(crate) fn insert(conn: &Connection, invocation: &AsyncInvocation) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO lambda_async_invocations
            (request_id, function, version, payload, attempts, due_ms, qualifier, enqueued_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        invocation.request_id,
        invocation.function,
        invocation.version,
        invocation.payload.as_ref(),
        invocation.attempts,
        invocation.due_ms as i64,
        invocation.qualifier,
        invocation.enqueued_ms as i64
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    fn open(dir: &std::path::Path) -> Store {
        let settings = StoreSettings {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            access_key_id: "test".to_owned(),
        };
        Store::open(dir, settings, Default::default()).expect("open")
    }

    #[tokio::test]
    async fn queued_invocations_survive_reopening_until_finished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let invocation = AsyncInvocation {
            request_id: "r".to_owned(),
            function: "f".to_owned(),
            version: Some(2),
            payload: Bytes::from_static(b"{}"),
            attempts: 0,
            due_ms: 100,
            qualifier: Some("live".to_owned()),
            enqueued_ms: 90,
        };
        {
            let store = open(dir.path());
            store
                .async_invocations()
                .enqueue(invocation.clone())
                .await
                .expect("enqueue");
            store.close();
        }
        let store = open(dir.path());
        let queue = store.async_invocations();
        assert!(queue.due(99, 10).await.expect("due").is_empty());
        assert_eq!(
            queue.due(100, 10).await.expect("due"),
            std::slice::from_ref(&invocation)
        );
        queue.retry_at("r", 1, 500).await.expect("retry");
        assert!(queue.due(499, 10).await.expect("due").is_empty());
        assert_eq!(queue.due(500, 10).await.expect("due")[0].attempts, 1);
        queue.finish("r").await.expect("finish");
        assert!(queue.due(u64::MAX / 2, 10).await.expect("due").is_empty());
    }
}
