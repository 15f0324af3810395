//! How asynchronous invocations of a function are handled (PutFunctionEventInvokeConfig
//! and its siblings; the [`EventInvokeConfigs`] handle): per function and qualifier
//! (`$LATEST`, a version number or an alias), the retries allowed, the oldest an event
//! may be, and the on-success and on-failure destinations. Written with the group
//! commit like every other change; deleted with the function.
//!
//! The store keeps what the API says; the server validates Lambda's rules and the
//! pipeline applies the configuration.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::shared::Shared;

/// One function's (or version's, or alias's) event invoke configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub function: String,
    /// `$LATEST`, a version number or an alias name.
    pub qualifier: String,
    /// `MaximumRetryAttempts` (0 to 2); `None`: Lambda's default, 2.
    pub maximum_retry_attempts: Option<u32>,
    /// `MaximumEventAgeInSeconds` (60 to 21600); `None`: Lambda's default, 6 hours.
    pub maximum_event_age_seconds: Option<u32>,
    /// `DestinationConfig.OnSuccess.Destination`.
    pub on_success: Option<String>,
    /// `DestinationConfig.OnFailure.Destination`.
    pub on_failure: Option<String>,
    /// Milliseconds since the epoch of the last change.
    pub last_modified_ms: u64,
}

/// Lambda's default retries of an asynchronous invocation.
pub const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 2;
/// Lambda's default oldest age of an asynchronous invocation's event (6 hours).
pub const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS: u32 = 21_600;

/// Event invoke configurations; see [`crate::Store::event_invoke_configs`].
pub struct EventInvokeConfigs<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> EventInvokeConfigs<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Stores a configuration, replacing the one of its function and qualifier.
    pub async fn put(&self, config: EventInvokeConfig) -> Result<EventInvokeConfig, StoreError> {
        self.shared
            .db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO lambda_event_invoke_configs (function, qualifier, config)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config",
                    params![
                        config.function,
                        config.qualifier,
                        serde_json::to_string(&config)?
                    ],
                )
                .map_err(StoreError::from)?;
                Ok::<_, crate::tx::TxError<StoreError>>(config)
            })
            .await
    }

    /// The configuration of a function and qualifier, if any.
    pub async fn get(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        let (function, qualifier) = (function.to_owned(), qualifier.to_owned());
        self.shared
            .db
            .read(move |conn| {
                load(conn, &function, &qualifier).map_err(crate::tx::TxError::<StoreError>::Store)
            })
            .await
    }

    /// A function's configurations, by qualifier.
    pub async fn list(&self, function: &str) -> Result<Vec<EventInvokeConfig>, StoreError> {
        let function = function.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT config FROM lambda_event_invoke_configs WHERE function = ?1
                     ORDER BY qualifier",
                )?;
                let rows = stmt.query_map([&function], |row| row.get::<_, String>(0))?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(serde_json::from_str(&row?)?);
                }
                Ok::<_, crate::tx::TxError<StoreError>>(out)
            })
            .await
    }

    /// Deletes a configuration; whether there was one.
    pub async fn delete(&self, function: &str, qualifier: &str) -> Result<bool, StoreError> {
        let (function, qualifier) = (function.to_owned(), qualifier.to_owned());
        self.shared
            .db
            .write(move |conn| {
                let deleted = conn.execute(
                    "DELETE FROM lambda_event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
                    params![function, qualifier],
                )?;
                Ok::<_, crate::tx::TxError<StoreError>>(deleted > 0)
            })
            .await
    }
}

fn load(
    conn: &Connection,
    function: &str,
    qualifier: &str,
) -> Result<Option<EventInvokeConfig>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT config FROM lambda_event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
            params![function, qualifier],
            |row| row.get(0),
        )
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// Deletes every configuration of a function, inside the caller's transaction.
pub(crate) fn delete_all(conn: &Connection, function: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM lambda_event_invoke_configs WHERE function = ?1",
        [function],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    #[tokio::test]
    async fn configurations_survive_reopening_and_go_with_their_function() {
        let dir = tempfile::tempdir().expect("tempdir");
        let open = || {
            Store::open(
                dir.path(),
                StoreSettings {
                    region: "us-east-1".to_owned(),
                    account_id: "000000000000".to_owned(),
                    access_key_id: "test".to_owned(),
                },
                eddy_telemetry::Telemetry::default(),
            )
            .expect("open")
        };
        let config = EventInvokeConfig {
            function: "f".to_owned(),
            qualifier: "$LATEST".to_owned(),
            maximum_retry_attempts: Some(0),
            maximum_event_age_seconds: None,
            on_success: Some("arn:aws:sqs:us-east-1:000000000000:ok".to_owned()),
            on_failure: None,
            last_modified_ms: 5,
        };
        {
            let store = open();
            let configs = store.event_invoke_configs();
            configs.put(config.clone()).await.expect("put");
            let mut alias = config.clone();
            alias.qualifier = "live".to_owned();
            configs.put(alias).await.expect("put alias");
            store.close();
        }
        let store = open();
        let configs = store.event_invoke_configs();
        assert_eq!(
            configs.get("f", "$LATEST").await.expect("get"),
            Some(config.clone())
        );
        assert_eq!(configs.list("f").await.expect("list").len(), 2);
        assert!(configs.delete("f", "live").await.expect("delete"));
        assert!(!configs.delete("f", "live").await.expect("delete again"));
        store
            .shared
            .db
            .write(|conn| delete_all(conn, "f").map_err(crate::tx::TxError::<StoreError>::Store))
            .await
            .expect("delete all");
        assert!(configs.list("f").await.expect("list").is_empty());
    }
}
