//! Lambda event source mappings created through the Lambda API (the
//! [`EventSourceMappings`] handle): one row per mapping, its settings as JSON, keyed by
//! its UUID. A create checks for a duplicate (same queue and function) in the same
//! transaction that inserts, so two concurrent creates cannot both succeed.
//!
//! The store keeps the settings; the pipeline polls the queue and the server checks
//! Lambda's rules.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::shared::Shared;
use crate::tx::{TxResult, abort};

/// A mapping's settings as stored, with Lambda's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRecord {
    pub uuid: String,
    pub function_name: String,
    /// The SQS queue (its name; the ARN is derived).
    pub queue_name: String,
    pub batch_size: u32,
    pub maximum_batching_window_seconds: u32,
    pub function_response_types: Vec<String>,
    /// FilterCriteria's patterns, as given.
    pub filter_patterns: Vec<String>,
    /// ScalingConfig.MaximumConcurrency, when set.
    pub maximum_concurrency: Option<u32>,
    pub enabled: bool,
    pub last_modified_ms: u64,
}

/// Why a mapping operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingStoreError {
    #[error("event source mapping {0} does not exist")]
    NotFound(String),
    /// A mapping of the same queue to the same function exists: its UUID.
    #[error("a mapping of the same queue and function exists: {0}")]
    Duplicate(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Event source mappings; see [`crate::Store::event_source_mappings`].
pub struct EventSourceMappings<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> EventSourceMappings<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a mapping unless one maps the same queue to the same function.
    pub async fn create(&self, record: MappingRecord) -> Result<MappingRecord, MappingStoreError> {
        self.shared
            .db
            .write(move |conn| {
                if let Some(existing) = all(conn)?.into_iter().find(|m| {
                    m.queue_name == record.queue_name && m.function_name == record.function_name
                }) {
                    return abort(MappingStoreError::Duplicate(existing.uuid));
                }
                conn.execute(
                    "INSERT INTO lambda_event_source_mappings (uuid, config) VALUES (?1, ?2)",
                    params![record.uuid, serde_json::to_string(&record)?],
                )?;
                Ok(record)
            })
            .await
    }

    pub async fn get(&self, uuid: &str) -> Result<MappingRecord, MappingStoreError> {
        let uuid = uuid.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let config: Option<String> = conn
                    .query_row(
                        "SELECT config FROM lambda_event_source_mappings WHERE uuid = ?1",
                        [&uuid],
                        |row| row.get(0),
                    )
                    .optional()?;
                match config {
                    Some(config) => Ok(serde_json::from_str(&config)?),
                    None => abort(MappingStoreError::NotFound(uuid)),
                }
            })
            .await
    }

    /// Every mapping, by UUID.
    pub async fn list(&self) -> Result<Vec<MappingRecord>, MappingStoreError> {
        self.shared.db.read(all).await
    }

    /// Replaces a mapping's settings.
    pub async fn update(&self, record: MappingRecord) -> Result<MappingRecord, MappingStoreError> {
        self.shared
            .db
            .write(move |conn| {
                let changed = conn.execute(
                    "UPDATE lambda_event_source_mappings SET config = ?2 WHERE uuid = ?1",
                    params![record.uuid, serde_json::to_string(&record)?],
                )?;
                if changed == 0 {
                    return abort(MappingStoreError::NotFound(record.uuid));
                }
                Ok(record)
            })
            .await
    }

    /// Deletes a mapping; returns what it was.
    pub async fn delete(&self, uuid: &str) -> Result<MappingRecord, MappingStoreError> {
        let uuid = uuid.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let config: Option<String> = conn
                    .query_row(
                        "SELECT config FROM lambda_event_source_mappings WHERE uuid = ?1",
                        [&uuid],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(config) = config else {
                    return abort(MappingStoreError::NotFound(uuid));
                };
                conn.execute(
                    "DELETE FROM lambda_event_source_mappings WHERE uuid = ?1",
                    [&uuid],
                )?;
                Ok(serde_json::from_str(&config)?)
            })
            .await
    }
}

fn all(conn: &Connection) -> TxResult<Vec<MappingRecord>, MappingStoreError> {
    let mut stmt = conn.prepare("SELECT config FROM lambda_event_source_mappings ORDER BY uuid")?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
    let mut records = Vec::new();
    for row in rows {
        records.push(serde_json::from_str(&row?)?);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    fn record(uuid: &str, function: &str) -> MappingRecord {
        MappingRecord {
            uuid: uuid.to_owned(),
            function_name: function.to_owned(),
            queue_name: "q".to_owned(),
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            function_response_types: vec!["ReportBatchItemFailures".to_owned()],
            filter_patterns: Vec::new(),
            maximum_concurrency: None,
            enabled: true,
            last_modified_ms: 1,
        }
    }

    #[tokio::test]
    async fn mappings_persist_and_a_duplicate_names_the_existing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = StoreSettings {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            access_key_id: "test".to_owned(),
        };
        {
            let store =
                Store::open(dir.path(), settings.clone(), Default::default()).expect("open");
            let mappings = store.event_source_mappings();
            mappings.create(record("a", "f")).await.expect("create");
            assert!(matches!(
                mappings.create(record("b", "f")).await,
                Err(MappingStoreError::Duplicate(uuid)) if uuid == "a"
            ));
            mappings
                .create(record("c", "g"))
                .await
                .expect("other function");
            store.close();
        }
        let store = Store::open(dir.path(), settings, Default::default()).expect("reopen");
        let mappings = store.event_source_mappings();
        assert_eq!(mappings.list().await.expect("list").len(), 2);
        let mut changed = record("a", "f");
        changed.enabled = false;
        mappings.update(changed.clone()).await.expect("update");
        assert_eq!(mappings.get("a").await.expect("get"), changed);
        mappings.delete("a").await.expect("delete");
        assert!(matches!(
            mappings.get("a").await,
            Err(MappingStoreError::NotFound(_))
        ));
    }
}
