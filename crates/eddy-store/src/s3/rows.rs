//! The rows of the S3 tables as the operations read and write them: buckets, current
//! objects (`objects`), multipart uploads and their parts. Older versions and delete
//! markers are in [`super::history`].

use rusqlite::{Connection, OptionalExtension, params};

use super::error::S3Error;
use super::model::{ObjectMeta, Part, Upload, Versioning};
use crate::error::StoreError;
use crate::tx::{TxResult, abort};

pub(crate) fn bucket_exists(conn: &Connection, bucket: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM buckets WHERE name = ?1")?
        .query_row([bucket], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Aborts with `NoSuchBucket` unless the bucket exists.
pub(crate) fn require_bucket(conn: &Connection, bucket: &str) -> TxResult<(), S3Error> {
    if bucket_exists(conn, bucket)? {
        Ok(())
    } else {
        abort(S3Error::NoSuchBucket)
    }
}

/// The versioning state of `bucket`, or `None` when the bucket does not exist.
pub(crate) fn bucket_versioning(
    conn: &Connection,
    bucket: &str,
) -> Result<Option<Versioning>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT versioning FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get::<_, Option<String>>(0))
        .optional()?
        .map(Versioning::from_column))
}

/// The columns [`object_from_row`] reads, in its order.
pub(crate) const OBJECT_COLUMNS: &str =
    "key, blob, size, etag, last_modified_ms, attrs, version_id";

pub(crate) fn object_from_row(
    bucket: &str,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<ObjectMeta> {
    Ok(ObjectMeta {
        bucket: bucket.to_owned(),
        key: row.get(0)?,
        blob: row.get(1)?,
        size: row.get(2)?,
        etag: row.get(3)?,
        last_modified_ms: row.get(4)?,
        attrs: serde_json::from_str(&row.get::<_, String>(5)?).unwrap_or_default(),
        version_id: row.get(6)?,
    })
}

/// The current version of a key, when it is an object.
pub(crate) fn load_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectMeta>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key = ?2"
        ))?
        .query_row(params![bucket, key], |row| object_from_row(bucket, row))
        .optional()?)
}

/// Makes `meta` the current version of its key.
pub(crate) fn insert_current(conn: &Connection, meta: &ObjectMeta) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO objects (bucket, key, blob, size, etag, last_modified_ms, attrs, version_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        meta.bucket,
        meta.key,
        meta.blob,
        meta.size,
        meta.etag,
        meta.last_modified_ms,
        serde_json::to_string(&meta.attrs)?,
        meta.version_id,
    ])?;
    Ok(())
}

/// A multipart upload of `bucket/key`; aborts with `NoSuchUpload` when there is none.
pub(crate) fn load_upload(
    conn: &Connection,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> TxResult<Upload, S3Error> {
    let upload = conn
        .prepare_cached("SELECT bucket, key, created_ms, attrs FROM uploads WHERE upload_id = ?1")?
        .query_row([upload_id], |row| {
            Ok(Upload {
                upload_id: upload_id.to_owned(),
                bucket: row.get(0)?,
                key: row.get(1)?,
                created_ms: row.get(2)?,
                attrs: serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default(),
            })
        })
        .optional()?
        .filter(|u| u.bucket == bucket && u.key == key);
    match upload {
        Some(upload) => Ok(upload),
        None => abort(S3Error::NoSuchUpload),
    }
}

/// The parts of an upload, by part number.
pub(crate) fn load_parts(conn: &Connection, upload_id: &str) -> Result<Vec<Part>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT part_number, blob, size, etag, last_modified_ms, checksums FROM parts WHERE upload_id = ?1 ORDER BY part_number",
    )?;
    let parts = stmt
        .query_map([upload_id], |row| {
            Ok(Part {
                part_number: row.get(0)?,
                blob: row.get(1)?,
                size: row.get(2)?,
                etag: row.get(3)?,
                last_modified_ms: row.get(4)?,
                checksums: serde_json::from_str(&row.get::<_, String>(5)?).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts)
}

/// The blobs of every part of every upload into `bucket`.
pub(crate) fn part_blobs_of_bucket(
    conn: &Connection,
    bucket: &str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.blob FROM parts p JOIN uploads u ON u.upload_id = p.upload_id WHERE u.bucket = ?1",
    )?;
    let rows = stmt
        .query_map([bucket], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
