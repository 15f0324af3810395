//! Multipart uploads (the [`Uploads`] handle): parts are file blobs stored as they
//! arrive; completion concatenates the chosen parts into one new blob and commits it
//! like any object write, removing the upload in the same transaction. A completed
//! upload's result is remembered for a day, so a retried completion gets it again.

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, params};

use super::commit::{announce, commit_object, new_version};
use super::error::S3Error;
use super::model::{ChecksumKind, MIN_PART_SIZE, ObjectAttrs, ObjectMeta, Part, Upload};
use super::notification_rules::ChangeContext;
use super::rows::{load_parts, load_upload, require_bucket};
use crate::blobs::StagedBlob;
use crate::error::StoreError;
use crate::shared::Shared;
use crate::time::now_ms;

/// How long a completed upload's result is kept for retried completions.
const COMPLETION_MEMORY_MS: u64 = 24 * 60 * 60 * 1000;

/// Multipart uploads; see [`crate::Store::uploads`].
pub struct Uploads<'s> {
    shared: &'s Arc<Shared>,
}

impl<'s> Uploads<'s> {
    pub(crate) fn new(shared: &'s Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Starts an upload of `bucket/key`; the object gets `attrs` on completion.
    pub async fn create(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
    ) -> Result<Upload, S3Error> {
        let upload = Upload {
            upload_id: crate::ids::random_uuid().simple().to_string(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            created_ms: now_ms(),
            attrs,
        };
        let row = upload.clone();
        self.shared
            .db
            .write(move |conn| {
                require_bucket(conn, &row.bucket)?;
                conn.execute(
                    "INSERT INTO uploads (upload_id, bucket, key, created_ms, attrs) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.upload_id,
                        row.bucket,
                        row.key,
                        row.created_ms,
                        serde_json::to_string(&row.attrs)?
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(upload)
    }

    /// An upload in progress.
    pub async fn get(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Upload, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.shared
            .db
            .read(move |conn| load_upload(conn, &bucket, &key, &upload_id))
            .await
    }

    /// Stores a part (replacing an earlier part of the same number) with its checksums.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        staged: StagedBlob,
        etag: String,
        checksums: BTreeMap<String, String>,
    ) -> Result<Part, S3Error> {
        let blobs = &self.shared.blobs;
        if staged.inline_data().is_some() {
            // Completion concatenates part files; parts are staged as files.
            blobs.discard(staged).await;
            return Err(S3Error::InvalidArgument(
                "a multipart part must be staged as a file".into(),
            ));
        }
        let staged = blobs.place_or_discard(staged).await?;
        let part = Part {
            part_number,
            blob: staged.id.clone(),
            size: staged.size,
            etag,
            last_modified_ms: now_ms(),
            checksums,
        };
        let row = part.clone();
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let result = self
            .shared
            .db
            .write(move |conn| {
                load_upload(conn, &bucket, &key, &upload_id)?;
                let previous: Option<String> = conn
                    .query_row(
                        "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                        params![upload_id, row.part_number],
                        |r| r.get(0),
                    )
                    .optional()?;
                conn.execute(
                    "INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, last_modified_ms, checksums)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        upload_id,
                        row.part_number,
                        row.blob,
                        row.size,
                        row.etag,
                        row.last_modified_ms,
                        serde_json::to_string(&row.checksums)?
                    ],
                )?;
                Ok(previous)
            })
            .await;
        match result {
            Ok(previous) => {
                blobs.remove(previous.into_iter().collect()).await;
                Ok(part)
            }
            Err(error) => {
                blobs.remove(vec![part.blob]).await;
                Err(error)
            }
        }
    }

    /// The parts of an upload, by part number.
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.shared
            .db
            .read(move |conn| {
                load_upload(conn, &bucket, &key, &upload_id)?;
                Ok(load_parts(conn, &upload_id)?)
            })
            .await
    }

    /// The uploads in progress into `bucket` whose key starts with `prefix`.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Upload>, S3Error> {
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        self.shared
            .db
            .read(move |conn| {
                require_bucket(conn, &bucket)?;
                let mut stmt = conn.prepare_cached(
                    "SELECT upload_id, key, created_ms, attrs FROM uploads WHERE bucket = ?1 ORDER BY key, created_ms",
                )?;
                let uploads = stmt
                    .query_map([&bucket], |row| {
                        Ok(Upload {
                            upload_id: row.get(0)?,
                            bucket: bucket.clone(),
                            key: row.get(1)?,
                            created_ms: row.get(2)?,
                            attrs: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(uploads.into_iter().filter(|u| u.key.starts_with(&prefix)).collect())
            })
            .await
    }

    /// Aborts an upload and removes its parts.
    pub async fn abort(&self, bucket: &str, key: &str, upload_id: &str) -> Result<(), S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let blobs = self
            .shared
            .db
            .write(move |conn| {
                load_upload(conn, &bucket, &key, &upload_id)?;
                let blobs: Vec<String> = load_parts(conn, &upload_id)?
                    .into_iter()
                    .map(|p| p.blob)
                    .collect();
                conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
                Ok(blobs)
            })
            .await?;
        self.shared.blobs.remove(blobs).await;
        Ok(())
    }

    /// Completes a multipart upload from the listed parts (number, ETag), in order.
    /// `checksum` computes the object's checksums and their type from the upload and
    /// the chosen parts (or refuses them); the parts' checksums of the same algorithms
    /// are kept on the object.
    pub async fn complete<F, E>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        requested: Vec<(u32, String)>,
        checksum: F,
        context: ChangeContext,
    ) -> Result<ObjectMeta, E>
    where
        F: FnOnce(&Upload, &[Part]) -> Result<(BTreeMap<String, String>, ChecksumKind), E>,
        E: From<S3Error>,
    {
        let upload = match self.get(bucket, key, upload_id).await {
            Err(S3Error::NoSuchUpload) => {
                // A retry of a completion that succeeded gets the same answer.
                return match self.completed(bucket, key, upload_id).await? {
                    Some(meta) => Ok(meta),
                    None => Err(S3Error::NoSuchUpload.into()),
                };
            }
            other => other?,
        };
        let stored = self.list_parts(bucket, key, upload_id).await?;
        let chosen = choose_parts(&stored, &requested)?;
        let (checksums, checksum_type) = checksum(&upload, &chosen)?;
        let etag = multipart_etag(&chosen)?;
        let blobs = &self.shared.blobs;
        let staged = blobs
            .concat(chosen.iter().map(|p| p.blob.clone()).collect())
            .await
            .map_err(S3Error::from)?;
        let staged = blobs
            .place_or_discard(staged)
            .await
            .map_err(S3Error::from)?;
        let part_checksums = chosen
            .iter()
            .map(|p| {
                p.checksums
                    .iter()
                    .filter(|(name, _)| checksums.contains_key(*name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect()
            })
            .collect();
        let attrs = ObjectAttrs {
            part_sizes: chosen.iter().map(|p| p.size).collect(),
            part_checksums,
            checksums,
            checksum_type: Some(checksum_type),
            checksum_algorithm: None,
            ..upload.attrs
        };
        let meta = new_version(bucket, key, &staged, etag, attrs);
        // The row, the upload's removal and the events commit together.
        let blob = meta.blob.clone();
        let shared = self.shared.clone();
        let sequencer = self.shared.next_sequencer();
        let upload_id = upload_id.to_owned();
        let result = self
            .shared
            .db
            .write(move |conn| {
                let parts: Vec<String> = load_parts(conn, &upload_id)?
                    .into_iter()
                    .map(|p| p.blob)
                    .collect();
                load_upload(conn, &meta.bucket, &meta.key, &upload_id)?;
                let committed = commit_object(
                    conn,
                    &shared,
                    meta,
                    "s3:ObjectCreated:CompleteMultipartUpload",
                    &sequencer,
                    &context,
                )?;
                conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
                remember_completion(conn, &upload_id, &committed.meta)?;
                Ok((committed, parts))
            })
            .await;
        match result {
            Ok((committed, parts)) => {
                let mut remove = parts;
                announce(self.shared, &committed);
                remove.extend(committed.removed_blobs);
                blobs.remove(remove).await;
                Ok(committed.meta)
            }
            Err(error) => {
                // A file placed for nothing.
                blobs.remove(vec![blob]).await;
                Err(error.into())
            }
        }
    }

    /// The result of an upload completed in the last day, for a retried completion.
    async fn completed(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<ObjectMeta>, S3Error> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.shared
            .db
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT etag, version_id, size, completed_ms, attrs FROM completed_uploads
                         WHERE upload_id = ?1 AND bucket = ?2 AND key = ?3",
                    )?
                    .query_row(params![upload_id, bucket, key], |row| {
                        Ok(ObjectMeta {
                            bucket: bucket.clone(),
                            key: key.clone(),
                            blob: String::new(),
                            etag: row.get(0)?,
                            version_id: row.get(1)?,
                            size: row.get(2)?,
                            last_modified_ms: row.get(3)?,
                            attrs: serde_json::from_str(&row.get::<_, String>(4)?)
                                .unwrap_or_default(),
                        })
                    })
                    .optional()?)
            })
            .await
    }
}

/// The stored parts a completion names (number, ETag), checked as S3 checks them:
/// at least one, in ascending order, each uploaded with that ETag, all but the last at
/// least [`MIN_PART_SIZE`].
fn choose_parts(stored: &[Part], requested: &[(u32, String)]) -> Result<Vec<Part>, S3Error> {
    if requested.is_empty() {
        return Err(S3Error::InvalidArgument(
            "You must specify at least one part".into(),
        ));
    }
    let mut chosen = Vec::with_capacity(requested.len());
    let mut previous_number = 0;
    for (number, etag) in requested {
        if *number <= previous_number {
            return Err(S3Error::InvalidPartOrder);
        }
        previous_number = *number;
        let part = stored
            .iter()
            .find(|p| p.part_number == *number && p.etag == etag.trim_matches('"'))
            .ok_or_else(|| {
                S3Error::InvalidPart(
                    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.".into(),
                )
            })?;
        chosen.push(part.clone());
    }
    if chosen[..chosen.len() - 1]
        .iter()
        .any(|p| p.size < MIN_PART_SIZE)
    {
        return Err(S3Error::EntityTooSmall);
    }
    Ok(chosen)
}

/// A multipart object's ETag: the MD5 of the parts' MD5s, and the number of parts.
fn multipart_etag(parts: &[Part]) -> Result<String, S3Error> {
    let mut md5_of_md5s = Md5::new();
    for part in parts {
        let raw = hex::decode(&part.etag)
            .map_err(|_| StoreError::Corrupt(format!("part ETag {}", part.etag)))?;
        md5_of_md5s.update(&raw);
    }
    Ok(format!(
        "{}-{}",
        hex::encode(md5_of_md5s.finalize().as_slice()),
        parts.len()
    ))
}

/// Records a completed upload's result, and forgets those older than a day.
fn remember_completion(
    conn: &Connection,
    upload_id: &str,
    meta: &ObjectMeta,
) -> Result<(), StoreError> {
    let now = now_ms();
    conn.prepare_cached("DELETE FROM completed_uploads WHERE completed_ms < ?1")?
        .execute([now.saturating_sub(COMPLETION_MEMORY_MS)])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, etag, version_id, size, completed_ms, attrs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        upload_id,
        meta.bucket,
        meta.key,
        meta.etag,
        meta.version_id,
        meta.size,
        now,
        serde_json::to_string(&meta.attrs)?
    ])?;
    Ok(())
}
