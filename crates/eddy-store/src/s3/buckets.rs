//! Buckets (the [`Buckets`] handle): creation and deletion, listing, versioning state
//! and tag sets. A bucket's notification configuration is in
//! [`super::notifications`], its other configurations in [`super::bucket_configs`].

use std::collections::BTreeMap;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

use super::bucket_configs::{NewBucket, insert_new_bucket_configs};
use super::error::S3Error;
use super::history;
use super::model::{Bucket, Versioning};
use super::rows::{bucket_exists, bucket_versioning, part_blobs_of_bucket};
use crate::shared::Shared;
use crate::time::now_ms;
use crate::tx::abort;

/// Buckets; see [`crate::Store::buckets`].
pub struct Buckets<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Buckets<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Creates a bucket in the store's region.
    pub async fn create(&self, name: &str) -> Result<(), S3Error> {
        self.create_with(name, NewBucket::default()).await
    }

    /// Creates a bucket in its region (the store's when `new` names none) with its
    /// first configurations, in one transaction. An existing bucket is
    /// `BucketAlreadyOwnedByYou`, whatever its region.
    pub async fn create_with(&self, name: &str, new: NewBucket) -> Result<(), S3Error> {
        let owned = name.to_owned();
        let region = new
            .region
            .clone()
            .unwrap_or_else(|| self.shared.settings.region.clone());
        let stored = region.clone();
        self.shared
            .db
            .write(move |conn| {
                if bucket_exists(conn, &owned)? {
                    return abort(S3Error::BucketAlreadyOwnedByYou);
                }
                let versioning = new.versioning_enabled.then_some("Enabled");
                let tags = new.tags.as_ref().map(serde_json::to_string).transpose()?;
                conn.execute(
                    "INSERT INTO buckets (name, created_ms, region, versioning, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![owned, now_ms(), stored, versioning, tags],
                )?;
                insert_new_bucket_configs(conn, &owned, &new.configs)?;
                Ok(())
            })
            .await?;
        self.shared.bucket_regions().insert(name.to_owned(), region);
        Ok(())
    }

    /// The region of a bucket (`None`: no such bucket). Cached: S3 asks on every
    /// request.
    pub async fn region(&self, name: &str) -> Result<Option<String>, S3Error> {
        if let Some(region) = self.shared.bucket_regions().get(name) {
            return Ok(Some(region.clone()));
        }
        let owned = name.to_owned();
        let region: Option<String> = self
            .shared
            .db
            .read::<_, S3Error, _>(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT region FROM buckets WHERE name = ?1")?
                    .query_row([&owned], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        if let Some(region) = &region {
            self.shared
                .bucket_regions()
                .insert(name.to_owned(), region.clone());
        }
        Ok(region)
    }

    /// Deletes an empty bucket (no object, no older version or delete marker), with
    /// its unfinished uploads.
    pub async fn delete(&self, name: &str) -> Result<(), S3Error> {
        let bucket = name;
        let name = name.to_owned();
        let removed_uploads = self
            .shared
            .db
            .write(move |conn| {
                if !bucket_exists(conn, &name)? {
                    return abort(S3Error::NoSuchBucket);
                }
                let has_objects = conn
                    .prepare_cached("SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1")?
                    .query_row([&name], |_| Ok(()))
                    .optional()?
                    .is_some();
                if has_objects || history::has_history(conn, &name)? {
                    return abort(S3Error::BucketNotEmpty);
                }
                let blobs = part_blobs_of_bucket(conn, &name)?;
                conn.execute("DELETE FROM uploads WHERE bucket = ?1", [&name])?;
                conn.execute("DELETE FROM object_versions WHERE bucket = ?1", [&name])?;
                conn.execute("DELETE FROM bucket_configs WHERE bucket = ?1", [&name])?;
                conn.execute("DELETE FROM buckets WHERE name = ?1", [&name])?;
                Ok(blobs)
            })
            .await?;
        self.shared.bucket_regions().remove(bucket);
        self.shared.blobs.remove(removed_uploads).await;
        Ok(())
    }

    pub async fn get(&self, name: &str) -> Result<Bucket, S3Error> {
        let name = name.to_owned();
        let bucket = self
            .shared
            .db
            .read::<_, S3Error, _>(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT created_ms, region FROM buckets WHERE name = ?1")?
                    .query_row([&name], |row| {
                        Ok(Bucket {
                            name: name.clone(),
                            created_ms: row.get(0)?,
                            region: row.get(1)?,
                        })
                    })
                    .optional()?)
            })
            .await?;
        bucket.ok_or(S3Error::NoSuchBucket)
    }

    /// Every bucket, by name.
    pub async fn list(&self) -> Result<Vec<Bucket>, S3Error> {
        self.shared
            .db
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT name, created_ms, region FROM buckets ORDER BY name")?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok(Bucket {
                            name: row.get(0)?,
                            created_ms: row.get(1)?,
                            region: row.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// The versioning state of a bucket.
    pub async fn versioning(&self, bucket: &str) -> Result<Versioning, S3Error> {
        let bucket = bucket.to_owned();
        let versioning = self
            .shared
            .db
            .read::<_, S3Error, _>(move |conn| Ok(bucket_versioning(conn, &bucket)?))
            .await?;
        versioning.ok_or(S3Error::NoSuchBucket)
    }

    /// Turns versioning on (`true`) or suspends it (`false`).
    pub async fn set_versioning(&self, bucket: &str, enabled: bool) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        let status = if enabled { "Enabled" } else { "Suspended" };
        self.shared
            .db
            .write(move |conn| {
                let updated = conn.execute(
                    "UPDATE buckets SET versioning = ?2 WHERE name = ?1",
                    params![bucket, status],
                )?;
                if updated == 0 {
                    return abort(S3Error::NoSuchBucket);
                }
                Ok(())
            })
            .await
    }

    /// A bucket's tag set (`None`: it has none).
    pub async fn tags(&self, bucket: &str) -> Result<Option<BTreeMap<String, String>>, S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .read(move |conn| {
                let stored: Option<Option<String>> = conn
                    .prepare_cached("SELECT tags FROM buckets WHERE name = ?1")?
                    .query_row([&bucket], |row| row.get(0))
                    .optional()?;
                let Some(json) = stored else {
                    return abort(S3Error::NoSuchBucket);
                };
                Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
            })
            .await
    }

    /// Replaces (or with `None` removes) a bucket's tag set.
    pub async fn set_tags(
        &self,
        bucket: &str,
        tags: Option<BTreeMap<String, String>>,
    ) -> Result<(), S3Error> {
        let bucket = bucket.to_owned();
        self.shared
            .db
            .write(move |conn| {
                let json = tags.map(|t| serde_json::to_string(&t)).transpose()?;
                let updated = conn.execute(
                    "UPDATE buckets SET tags = ?2 WHERE name = ?1",
                    params![bucket, json],
                )?;
                if updated == 0 {
                    return abort(S3Error::NoSuchBucket);
                }
                Ok(())
            })
            .await
    }
}
