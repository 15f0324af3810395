//! Published versions and aliases of the functions created through the Lambda API
//! ([`FunctionVersions`], [`Aliases`]).
//!
//! A version is an immutable copy of `$LATEST`'s configuration and package, numbered
//! from 1. Publishing when nothing changed since the last version returns that version
//! (as Lambda does). An alias names a version (or `$LATEST`).

use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::lambda::{FunctionRecord, FunctionStoreError, load};
use crate::shared::Shared;
use crate::tx::{TxResult, abort};

/// An alias of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub function: String,
    pub name: String,
    /// A version number, or `$LATEST`.
    pub function_version: String,
    pub description: String,
    pub revision_id: String,
}

/// Function versions; see [`crate::Store::function_versions`].
pub struct FunctionVersions<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> FunctionVersions<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Publishes `$LATEST` as a new version (with `description` when given), or
    /// returns the last version when neither code nor configuration changed since.
    /// `revision` is the new version's `RevisionId`.
    pub async fn publish(
        &self,
        name: &str,
        description: Option<String>,
        revision: String,
    ) -> Result<(u32, FunctionRecord), FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let Some(latest) = load(conn, &name)? else {
                    return abort(FunctionStoreError::NotFound(name));
                };
                if let Some((number, last)) = versions(conn, &name)?.pop()
                    && same_function(&last, &latest)
                {
                    return Ok((number, last));
                }
                let number: u32 = conn.query_row(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM lambda_function_versions WHERE name = ?1",
                    [&name],
                    |row| row.get(0),
                )?;
                let mut version = latest;
                if let Some(description) = description {
                    version.description = description;
                }
                version.revision_id = revision;
                conn.execute(
                    "INSERT INTO lambda_function_versions (name, version, config, code)
                     SELECT name, ?2, ?3, code FROM lambda_functions WHERE name = ?1",
                    params![name, number, serde_json::to_string(&version)?],
                )?;
                Ok((number, version))
            })
            .await
    }

    /// One version's configuration.
    pub async fn get(
        &self,
        name: &str,
        version: u32,
    ) -> Result<FunctionRecord, FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let config: Option<String> = conn
                    .query_row(
                        "SELECT config FROM lambda_function_versions WHERE name = ?1 AND version = ?2",
                        params![name, version],
                        |row| row.get(0),
                    )
                    .optional()?;
                match config {
                    Some(config) => Ok(serde_json::from_str(&config)?),
                    None => abort(FunctionStoreError::VersionNotFound {
                        name,
                        version: version.to_string(),
                    }),
                }
            })
            .await
    }

    /// One version's package.
    pub async fn code(&self, name: &str, version: u32) -> Result<Bytes, FunctionStoreError> {
        let name = name.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let code: Option<Vec<u8>> = conn
                    .query_row(
                        "SELECT code FROM lambda_function_versions WHERE name = ?1 AND version = ?2",
                        params![name, version],
                        |row| row.get(0),
                    )
                    .optional()?;
                match code {
                    Some(code) => Ok(Bytes::from(code)),
                    None => abort(FunctionStoreError::VersionNotFound {
                        name,
                        version: version.to_string(),
                    }),
                }
            })
            .await
    }

    /// Every published version of a function, in order.
    pub async fn list(&self, name: &str) -> Result<Vec<(u32, FunctionRecord)>, FunctionStoreError> {
        let name = name.to_owned();
        self.shared.db.read(move |conn| versions(conn, &name)).await
    }
}

/// Whether publishing `latest` would repeat `last` (Lambda compares code and settings).
fn same_function(last: &FunctionRecord, latest: &FunctionRecord) -> bool {
    let comparable = |r: &FunctionRecord| {
        let mut r = r.clone();
        r.revision_id.clear();
        r.last_modified_ms = 0;
        r.description.clear();
        r
    };
    comparable(last) == comparable(latest)
}

fn versions(
    conn: &Connection,
    name: &str,
) -> TxResult<Vec<(u32, FunctionRecord)>, FunctionStoreError> {
    let mut stmt = conn.prepare(
        "SELECT version, config FROM lambda_function_versions WHERE name = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([name], |row| {
        Ok((row.get::<_, u32>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (number, config) = row?;
        out.push((number, serde_json::from_str(&config)?));
    }
    Ok(out)
}

/// Function aliases; see [`crate::Store::function_aliases`].
pub struct Aliases<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Aliases<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates an alias (or, with `replace`, changes an existing one). The version it
    /// names must exist.
    pub async fn put(
        &self,
        alias: AliasRecord,
        replace: bool,
    ) -> Result<AliasRecord, FunctionStoreError> {
        self.shared
            .db
            .write(move |conn| {
                if load(conn, &alias.function)?.is_none() {
                    return abort(FunctionStoreError::NotFound(alias.function));
                }
                if alias.function_version != "$LATEST" {
                    let exists: Option<u32> = conn
                        .query_row(
                            "SELECT version FROM lambda_function_versions WHERE name = ?1 AND version = ?2",
                            params![alias.function, alias.function_version],
                            |row| row.get(0),
                        )
                        .optional()?;
                    if exists.is_none() {
                        return abort(FunctionStoreError::VersionNotFound {
                            name: alias.function,
                            version: alias.function_version,
                        });
                    }
                }
                let existing = find(conn, &alias.function, &alias.name)?;
                match (existing.is_some(), replace) {
                    (true, false) => {
                        return abort(FunctionStoreError::AliasExists {
                            name: alias.function,
                            alias: alias.name,
                        });
                    }
                    (false, true) => {
                        return abort(FunctionStoreError::AliasNotFound {
                            name: alias.function,
                            alias: alias.name,
                        });
                    }
                    _ => {}
                }
                conn.execute(
                    "INSERT OR REPLACE INTO lambda_aliases (function, name, config) VALUES (?1, ?2, ?3)",
                    params![alias.function, alias.name, serde_json::to_string(&alias)?],
                )?;
                Ok(alias)
            })
            .await
    }

    pub async fn get(&self, function: &str, name: &str) -> Result<AliasRecord, FunctionStoreError> {
        let (function, name) = (function.to_owned(), name.to_owned());
        self.shared
            .db
            .read(move |conn| match find(conn, &function, &name)? {
                Some(alias) => Ok(alias),
                None => abort(FunctionStoreError::AliasNotFound {
                    name: function,
                    alias: name,
                }),
            })
            .await
    }

    /// A function's aliases, by name.
    pub async fn list(&self, function: &str) -> Result<Vec<AliasRecord>, FunctionStoreError> {
        let function = function.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT config FROM lambda_aliases WHERE function = ?1 ORDER BY name",
                )?;
                let rows = stmt.query_map([&function], |row| row.get::<_, String>(0))?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(serde_json::from_str(&row?)?);
                }
                Ok(out)
            })
            .await
    }

    pub async fn delete(&self, function: &str, name: &str) -> Result<(), FunctionStoreError> {
        let (function, name) = (function.to_owned(), name.to_owned());
        self.shared
            .db
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM lambda_aliases WHERE function = ?1 AND name = ?2",
                    params![function, name],
                )?;
                Ok(())
            })
            .await
    }
}

fn find(
    conn: &Connection,
    function: &str,
    name: &str,
) -> TxResult<Option<AliasRecord>, FunctionStoreError> {
    let config: Option<String> = conn
        .query_row(
            "SELECT config FROM lambda_aliases WHERE function = ?1 AND name = ?2",
            params![function, name],
            |row| row.get(0),
        )
        .optional()?;
    match config {
        Some(config) => Ok(Some(serde_json::from_str(&config)?)),
        None => Ok(None),
    }
}
