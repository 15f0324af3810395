//! Lambda functions created through the Lambda API (the [`Functions`] handle): each
//! function's configuration and its deployment package (the zip as uploaded), in one
//! row, written with the group commit like every other durable change.
//!
//! The store keeps what the API says about a function; it does not validate Lambda's
//! rules (the server does) nor run anything (the pipeline does).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::shared::Shared;
use crate::tx::{TxResult, abort};

/// A function's configuration as stored (`$LATEST`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    /// Seconds.
    pub timeout: u32,
    /// Megabytes.
    pub memory_size: u32,
    pub environment: BTreeMap<String, String>,
    pub architectures: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// The base64 SHA-256 of the deployment package.
    pub code_sha256: String,
    pub code_size: u64,
    /// Milliseconds since the epoch of the last change.
    pub last_modified_ms: u64,
    /// Changes with every update (Lambda's `RevisionId`).
    pub revision_id: String,
    /// `DeadLetterConfig.TargetArn`: where asynchronous invocations that failed every
    /// attempt go.
    #[serde(default)]
    pub dead_letter_target: Option<String>,
    /// The statements AddPermission added to the function's resource policy (stored
    /// and reported, not enforced).
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// PutFunctionConcurrency's `ReservedConcurrentExecutions`: at most this many
    /// invocations at once (0 throttles every invocation).
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
}

/// One statement of a function's resource policy, as AddPermission gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub sid: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
}

/// Why a function operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum FunctionStoreError {
    #[error("function {0} does not exist")]
    NotFound(String),
    #[error("function {0} already exists")]
    AlreadyExists(String),
    /// The caller's expected revision is not the function's current one.
    #[error("the revision of function {0} changed")]
    RevisionChanged(String),
    #[error("function {name} has no version {version}")]
    VersionNotFound { name: String, version: String },
    #[error("function {name} has no alias {alias}")]
    AliasNotFound { name: String, alias: String },
    #[error("function {name} has an alias {alias} already")]
    AliasExists { name: String, alias: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Functions; see [`crate::Store::functions`].
pub struct Functions<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Functions<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a function with its deployment package.
    pub async fn create(
        &self,
        record: FunctionRecord,
        code: Bytes,
    ) -> Result<FunctionRecord, FunctionStoreError> {
        self.shared
            .db
            .write(move |conn| {
                if load(conn, &record.name)?.is_some() {
                    return abort(FunctionStoreError::AlreadyExists(record.name));
                }
                conn.execute(
                    "INSERT INTO lambda_functions (name, config, code) VALUES (?1, ?2, ?3)",
                    params![record.name, serde_json::to_string(&record)?, code.as_ref()],
                )?;
                Ok(record)
            })
            .await
    }

    /// A function's configuration.
    pub async fn get(&self, name: &str) -> Result<FunctionRecord, FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| match load(conn, &name)? {
                Some(record) => Ok(record),
                None => abort(FunctionStoreError::NotFound(name)),
            })
            .await
    }

    /// A function's deployment package.
    pub async fn code(&self, name: &str) -> Result<Bytes, FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let code: Option<Vec<u8>> = conn
                    .query_row(
                        "SELECT code FROM lambda_functions WHERE name = ?1",
                        [&name],
                        |row| row.get(0),
                    )
                    .optional()?;
                match code {
                    Some(code) => Ok(Bytes::from(code)),
                    None => abort(FunctionStoreError::NotFound(name)),
                }
            })
            .await
    }

    /// Every function, by name.
    pub async fn list(&self) -> Result<Vec<FunctionRecord>, FunctionStoreError> {
        self.shared
            .db
            .read(|conn| {
                let mut stmt = conn.prepare("SELECT config FROM lambda_functions ORDER BY name")?;
                let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
                let mut records = Vec::new();
                for row in rows {
                    records.push(serde_json::from_str(&row?)?);
                }
                Ok(records)
            })
            .await
    }

    /// Replaces a function's configuration, and its package when `code` is given.
    /// With `expected_revision`, refuses when the function changed since that revision.
    pub async fn update(
        &self,
        record: FunctionRecord,
        code: Option<Bytes>,
        expected_revision: Option<String>,
    ) -> Result<FunctionRecord, FunctionStoreError> {
        self.shared
            .db
            .write(move |conn| {
                let Some(current) = load(conn, &record.name)? else {
                    return abort(FunctionStoreError::NotFound(record.name));
                };
                if expected_revision.is_some_and(|r| r != current.revision_id) {
                    return abort(FunctionStoreError::RevisionChanged(record.name));
                }
                let config = serde_json::to_string(&record)?;
                match code {
                    Some(code) => conn.execute(
                        "UPDATE lambda_functions SET config = ?2, code = ?3 WHERE name = ?1",
                        params![record.name, config, code.as_ref()],
                    )?,
                    None => conn.execute(
                        "UPDATE lambda_functions SET config = ?2 WHERE name = ?1",
                        params![record.name, config],
                    )?,
                };
                Ok(record)
            })
            .await
    }

    /// Deletes a function, its package, its published versions, its aliases and its
    /// event invoke configurations.
    pub async fn delete(&self, name: &str) -> Result<(), FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let deleted =
                    conn.execute("DELETE FROM lambda_functions WHERE name = ?1", [&name])?;
                if deleted == 0 {
                    return abort(FunctionStoreError::NotFound(name));
                }
                conn.execute(
                    "DELETE FROM lambda_function_versions WHERE name = ?1",
                    [&name],
                )?;
                conn.execute("DELETE FROM lambda_aliases WHERE function = ?1", [&name])?;
                crate::lambda_event_config::delete_all(conn, &name)?;
                Ok(())
            })
            .await
    }
}

pub(crate) fn load(
    conn: &Connection,
    name: &str,
) -> TxResult<Option<FunctionRecord>, FunctionStoreError> {
    let config: Option<String> = conn
        .query_row(
            "SELECT config FROM lambda_functions WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()?;
    match config {
        Some(config) => Ok(Some(serde_json::from_str(&config)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreSettings};

    fn record(name: &str) -> FunctionRecord {
        FunctionRecord {
            name: name.to_owned(),
            runtime: "python3.12".to_owned(),
            handler: "index.handler".to_owned(),
            role: "arn:aws:iam::000000000000:role/r".to_owned(),
            description: String::new(),
            timeout: 3,
            memory_size: 128,
            environment: BTreeMap::new(),
            architectures: vec!["x86_64".to_owned()],
            tags: BTreeMap::new(),
            code_sha256: "sha".to_owned(),
            code_size: 3,
            last_modified_ms: 1,
            revision_id: "r1".to_owned(),
            dead_letter_target: None,
            permissions: Vec::new(),
            reserved_concurrency: None,
        }
    }

    fn open(dir: &std::path::Path) -> Store {
        Store::open(
            dir,
            StoreSettings {
                region: "us-east-1".to_owned(),
                account_id: "000000000000".to_owned(),
                access_key_id: "test".to_owned(),
            },
            eddy_telemetry::Telemetry::default(),
        )
        .expect("open")
    }

    #[tokio::test]
    async fn a_function_and_its_code_survive_reopening_and_updates_check_the_revision() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = open(dir.path());
            store
                .functions()
                .create(record("f"), Bytes::from_static(b"zip"))
                .await
                .expect("create");
            assert!(matches!(
                store.functions().create(record("f"), Bytes::new()).await,
                Err(FunctionStoreError::AlreadyExists(_))
            ));
            store.close();
        }
        let store = open(dir.path());
        assert_eq!(store.functions().get("f").await.expect("get"), record("f"));
        assert_eq!(
            store.functions().code("f").await.expect("code").as_ref(),
            b"zip"
        );
        let mut changed = record("f");
        changed.revision_id = "r2".to_owned();
        assert!(matches!(
            store
                .functions()
                .update(changed.clone(), None, Some("other".to_owned()))
                .await,
            Err(FunctionStoreError::RevisionChanged(_))
        ));
        store
            .functions()
            .update(
                changed,
                Some(Bytes::from_static(b"new")),
                Some("r1".to_owned()),
            )
            .await
            .expect("update");
        assert_eq!(
            store.functions().code("f").await.expect("code").as_ref(),
            b"new"
        );
        store.functions().delete("f").await.expect("delete");
        assert!(matches!(
            store.functions().get("f").await,
            Err(FunctionStoreError::NotFound(_))
        ));
        assert!(store.functions().list().await.expect("list").is_empty());
    }
}
