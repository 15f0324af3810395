//! Bucket configurations (the [`BucketConfigs`] handle): one document per bucket and
//! [`ConfigKind`] (and, for the kinds a bucket may have several of, per id), stored as
//! the S3 document the server validated. The store does not read the documents: the
//! server owns their format; the store owns where they live, that they commit with the
//! group (durable before the answer), and that they go with their bucket.
//!
//! A kind with a default (Object Ownership, Block Public Access) remembers its removal,
//! so a bucket answers "default", "removed" or its own document ([`Config`]).

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

use super::error::S3Error;
use super::rows::require_bucket;
use crate::shared::Shared;

/// The kinds of bucket configuration S3 has (versioning, tags and notifications have
/// their own homes: [`super::Buckets`] and [`super::Notifications`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigKind {
    Cors,
    Lifecycle,
    Policy,
    Encryption,
    PublicAccessBlock,
    Ownership,
    ObjectLock,
    Accelerate,
    RequestPayment,
    Website,
    Logging,
    Replication,
    /// The `LocationConstraint` a bucket was created with when it is not its region's
    /// name (`EU`, which GetBucketLocation answers).
    LocationAlias,
    /// The bucket's ACL grants (JSON of [`super::AclGrant`]s), while ACLs are enabled.
    Acl,
    /// Keyed by id, up to 1,000 a bucket.
    Analytics,
    /// Keyed by id.
    Inventory,
    /// Keyed by id.
    IntelligentTiering,
    /// Keyed by id.
    Metrics,
}

impl ConfigKind {
    /// Its name in the `bucket_configs` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cors => "cors",
            Self::Lifecycle => "lifecycle",
            Self::Policy => "policy",
            Self::Encryption => "encryption",
            Self::PublicAccessBlock => "public-access-block",
            Self::Ownership => "ownership",
            Self::ObjectLock => "object-lock",
            Self::Accelerate => "accelerate",
            Self::RequestPayment => "request-payment",
            Self::Website => "website",
            Self::Logging => "logging",
            Self::Replication => "replication",
            Self::Acl => "acl",
            Self::LocationAlias => "location-alias",
            Self::Analytics => "analytics",
            Self::Inventory => "inventory",
            Self::IntelligentTiering => "intelligent-tiering",
            Self::Metrics => "metrics",
        }
    }

    /// Whether deleting it leaves the bucket without one (rather than back at the
    /// default a new bucket has): S3's defaults for new buckets since April 2023.
    pub fn removal_is_remembered(self) -> bool {
        matches!(self, Self::Ownership | Self::PublicAccessBlock)
    }
}

/// A bucket's configuration of one kind (and id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Config {
    /// Never set: the bucket has what a new bucket has.
    Unset,
    /// Deleted (only for kinds whose removal is remembered).
    Removed,
    /// The document stored.
    Set(String),
}

impl Config {
    /// The document, if one is stored.
    pub fn document(self) -> Option<String> {
        match self {
            Self::Set(document) => Some(document),
            Self::Unset | Self::Removed => None,
        }
    }
}

/// The configuration documents of a new bucket, stored with it in one transaction.
#[derive(Debug, Clone, Default)]
pub struct NewBucket {
    /// The region the bucket lives in (`None`: the store's own region).
    pub region: Option<String>,
    /// The bucket's first tag set (CreateBucket's `Tags`).
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    /// Versioning `Enabled` from the start (a bucket created with Object Lock).
    pub versioning_enabled: bool,
    pub configs: Vec<(ConfigKind, String)>,
}

/// Bucket configurations; see [`crate::Store::bucket_configs`].
pub struct BucketConfigs<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> BucketConfigs<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// A bucket's configuration of `kind` (`id`: "" for kinds without ids).
    pub async fn get(&self, bucket: &str, kind: ConfigKind, id: &str) -> Result<Config, S3Error> {
        let bucket = bucket.to_owned();
        let id = id.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                Ok(stored_config(conn, &bucket, kind, &id)?)
            })
            .await
    }

    /// A bucket's configurations of several kinds without ids, in the order of `kinds`,
    /// read together in one trip to the database (a write path needs several of them
    /// for every request: the default encryption and Object Lock of a PUT).
    pub async fn get_kinds<const N: usize>(
        &self,
        bucket: &str,
        kinds: [ConfigKind; N],
    ) -> Result<[Config; N], S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                let mut configs = [const { Config::Unset }; N];
                for (config, kind) in configs.iter_mut().zip(kinds) {
                    *config = stored_config(conn, &bucket, kind, "")?;
                }
                Ok(configs)
            })
            .await
    }

    /// Every document of a keyed kind, as (id, document), by id.
    pub async fn list(
        &self,
        bucket: &str,
        kind: ConfigKind,
    ) -> Result<Vec<(String, String)>, S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                let rows = conn
                    .prepare_cached(
                        "SELECT id, document FROM bucket_configs WHERE bucket = ?1 AND kind = ?2 AND document IS NOT NULL ORDER BY id",
                    )?
                    .query_map(params![bucket, kind.as_str()], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// Stores (replaces) a configuration document.
    pub async fn put(
        &self,
        bucket: &str,
        kind: ConfigKind,
        id: &str,
        document: String,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let id = id.to_owned();
        self.shared
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                put_row(conn, &bucket, kind, &id, Some(&document))?;
                Ok(())
            })
            .await
    }

    /// Deletes a configuration; returns whether the bucket had one stored.
    pub async fn delete(&self, bucket: &str, kind: ConfigKind, id: &str) -> Result<bool, S3Error> {
        let bucket = bucket.to_owned();
        let id = id.to_owned();
        self.shared
            .db
            .write(move |conn| {
                require_bucket(conn, &bucket)?;
                let had = conn
                    .prepare_cached(
                        "SELECT 1 FROM bucket_configs WHERE bucket = ?1 AND kind = ?2 AND id = ?3 AND document IS NOT NULL",
                    )?
                    .query_row(params![bucket, kind.as_str(), id], |_| Ok(()))
                    .optional()?
                    .is_some();
                if kind.removal_is_remembered() {
                    put_row(conn, &bucket, kind, &id, None)?;
                } else {
                    conn.execute(
                        "DELETE FROM bucket_configs WHERE bucket = ?1 AND kind = ?2 AND id = ?3",
                        params![bucket, kind.as_str(), id],
                    )?;
                }
                Ok(had)
            })
            .await
    }
}

fn put_row(
    conn: &rusqlite::Connection,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
    document: Option<&str>,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bucket_configs (bucket, kind, id, document) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![bucket, kind.as_str(), id, document])?;
    Ok(())
}

/// Stores a new bucket's configurations (inside its creating transaction).
pub(crate) fn insert_new_bucket_configs(
    conn: &rusqlite::Connection,
    bucket: &str,
    configs: &[(ConfigKind, String)],
) -> Result<(), rusqlite::Error> {
    for (kind, document) in configs {
        put_row(conn, bucket, *kind, "", Some(document))?;
    }
    Ok(())
}

/// The stored configuration of `kind` and `id` of a bucket that exists.
fn stored_config(
    conn: &rusqlite::Connection,
    bucket: &str,
    kind: ConfigKind,
    id: &str,
) -> Result<Config, crate::error::StoreError> {
    let stored: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT document FROM bucket_configs WHERE bucket = ?1 AND kind = ?2 AND id = ?3",
        )?
        .query_row(params![bucket, kind.as_str(), id], |row| row.get(0))
        .optional()?;
    Ok(match stored {
        None => Config::Unset,
        Some(None) => Config::Removed,
        Some(Some(document)) => Config::Set(document),
    })
}
