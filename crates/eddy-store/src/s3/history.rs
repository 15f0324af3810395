//! The history of keys in versioned buckets, on top of the `objects` table.
//!
//! The current version of a key, when it is an object, is its row in `objects` (with
//! its `version_id`, NULL for the `null` version). Every older version and every delete
//! marker is a row of `object_versions`, ordered by `seq`. So a key's latest version is
//! its `objects` row if there is one, else its highest-`seq` row in `object_versions`
//! (then a delete marker). Plain listings read `objects` alone; ListObjectVersions
//! merges both. Each version keeps its own immutable blob.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::model::{ObjectAttrs, ObjectMeta, VersionEntry, stored_version};
use super::rows::{insert_current, load_object};
use crate::error::StoreError;

/// A row of `object_versions`.
pub(crate) struct Noncurrent {
    pub seq: i64,
    pub entry: VersionEntry,
}

const NONCURRENT_COLUMNS: &str =
    "seq, key, blob, size, etag, last_modified_ms, attrs, version_id, delete_marker";

fn noncurrent_from_row(bucket: &str, row: &Row<'_>) -> rusqlite::Result<Noncurrent> {
    Ok(Noncurrent {
        seq: row.get(0)?,
        entry: VersionEntry {
            meta: ObjectMeta {
                bucket: bucket.to_owned(),
                key: row.get(1)?,
                blob: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                size: row.get(3)?,
                etag: row.get(4)?,
                last_modified_ms: row.get(5)?,
                attrs: serde_json::from_str(&row.get::<_, String>(6)?).unwrap_or_default(),
                version_id: row.get(7)?,
            },
            delete_marker: row.get::<_, i64>(8)? != 0,
            is_latest: false,
        },
    })
}

/// Moves a current version into the history (it stops being current).
pub(crate) fn archive(conn: &Connection, meta: &ObjectMeta) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO object_versions (bucket, key, version_id, delete_marker, blob, size, etag, last_modified_ms, attrs)
         VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        meta.bucket,
        meta.key,
        meta.version_id,
        meta.blob,
        meta.size,
        meta.etag,
        meta.last_modified_ms,
        serde_json::to_string(&meta.attrs)?,
    ])?;
    Ok(())
}

/// Adds a delete marker as the latest version of a key.
pub(crate) fn insert_delete_marker(
    conn: &Connection,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    now_ms: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO object_versions (bucket, key, version_id, delete_marker, blob, size, etag, last_modified_ms, attrs)
         VALUES (?1, ?2, ?3, 1, NULL, 0, '', ?4, '{}')",
    )?
    .execute(params![bucket, key, version_id, now_ms])?;
    Ok(())
}

/// Removes the key's older `null` version (object or delete marker), which a new
/// `null` version replaces; returns the blobs to delete.
pub(crate) fn remove_noncurrent_null(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Vec<String>, StoreError> {
    let blobs = conn
        .prepare_cached(
            "SELECT blob FROM object_versions WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL AND blob IS NOT NULL",
        )?
        .query_map(params![bucket, key], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    conn.prepare_cached(
        "DELETE FROM object_versions WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL",
    )?
    .execute(params![bucket, key])?;
    Ok(blobs)
}

/// The history row of one version of a key (`None` version: the null version).
pub(crate) fn load_noncurrent(
    conn: &Connection,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Option<Noncurrent>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {NONCURRENT_COLUMNS} FROM object_versions
             WHERE bucket = ?1 AND key = ?2 AND version_id IS ?3 ORDER BY seq DESC LIMIT 1"
        ))?
        .query_row(params![bucket, key, version_id], |row| {
            noncurrent_from_row(bucket, row)
        })
        .optional()?)
}

/// The newest history row of a key.
pub(crate) fn newest_noncurrent(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Option<Noncurrent>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {NONCURRENT_COLUMNS} FROM object_versions
             WHERE bucket = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1"
        ))?
        .query_row(params![bucket, key], |row| noncurrent_from_row(bucket, row))
        .optional()?)
}

pub(crate) fn delete_noncurrent(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM object_versions WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// After the current version of a key went away: if the newest remaining version is
/// an object (not a delete marker), it becomes current again.
pub(crate) fn promote_newest(conn: &Connection, bucket: &str, key: &str) -> Result<(), StoreError> {
    if load_object(conn, bucket, key)?.is_some() {
        return Ok(());
    }
    let Some(newest) = newest_noncurrent(conn, bucket, key)? else {
        return Ok(());
    };
    if newest.entry.delete_marker {
        return Ok(());
    }
    insert_current(conn, &newest.entry.meta)?;
    delete_noncurrent(conn, newest.seq)
}

/// Whether the bucket keeps any older version or delete marker.
pub(crate) fn has_history(conn: &Connection, bucket: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM object_versions WHERE bucket = ?1 LIMIT 1")?
        .query_row([bucket], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every version of one key, newest first.
pub(crate) fn versions_of_key(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Vec<VersionEntry>, StoreError> {
    let mut entries = Vec::new();
    if let Some(current) = load_object(conn, bucket, key)? {
        entries.push(VersionEntry {
            meta: current,
            delete_marker: false,
            is_latest: true,
        });
    }
    let history = conn
        .prepare_cached(&format!(
            "SELECT {NONCURRENT_COLUMNS} FROM object_versions
             WHERE bucket = ?1 AND key = ?2 ORDER BY seq DESC"
        ))?
        .query_map(params![bucket, key], |row| noncurrent_from_row(bucket, row))?
        .collect::<Result<Vec<_>, _>>()?;
    let no_current = entries.is_empty();
    for (i, row) in history.into_iter().enumerate() {
        let mut entry = row.entry;
        entry.is_latest = no_current && i == 0;
        entries.push(entry);
    }
    Ok(entries)
}

/// Replaces the tag set of one version (the current one when `version_id` is
/// `None`); returns the version's id, or `None` when there is no such version.
pub(crate) fn set_tags(
    conn: &Connection,
    bucket: &str,
    key: &str,
    version_label: Option<&str>,
    tags: Option<std::collections::BTreeMap<String, String>>,
) -> Result<Option<ObjectMeta>, StoreError> {
    update_attrs(conn, bucket, key, version_label, |attrs| {
        attrs.tags = tags.clone().unwrap_or_default();
    })
}

/// Changes the attributes of an object version (the current one when `version_label`
/// is `None`) with `change`; returns the version changed, or `None` when there is no
/// such version (or it is a delete marker).
pub(crate) fn update_attrs(
    conn: &Connection,
    bucket: &str,
    key: &str,
    version_label: Option<&str>,
    change: impl Fn(&mut ObjectAttrs),
) -> Result<Option<ObjectMeta>, StoreError> {
    let current = load_object(conn, bucket, key)?;
    let target_current = match (version_label, &current) {
        (None, Some(_)) => true,
        (None, None) => return Ok(None),
        (Some(label), Some(meta)) => meta.version_id.as_deref() == stored_version(label),
        (Some(_), None) => false,
    };
    let update = |attrs: &ObjectAttrs| {
        let mut attrs = attrs.clone();
        change(&mut attrs);
        attrs
    };
    if target_current && let Some(mut meta) = current {
        meta.attrs = update(&meta.attrs);
        conn.prepare_cached("UPDATE objects SET attrs = ?3 WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key, serde_json::to_string(&meta.attrs)?])?;
        return Ok(Some(meta));
    }
    let Some(label) = version_label else {
        return Ok(None);
    };
    let Some(row) = load_noncurrent(conn, bucket, key, stored_version(label))? else {
        return Ok(None);
    };
    if row.entry.delete_marker {
        return Ok(None);
    }
    let mut meta = row.entry.meta;
    meta.attrs = update(&meta.attrs);
    conn.prepare_cached("UPDATE object_versions SET attrs = ?2 WHERE seq = ?1")?
        .execute(params![row.seq, serde_json::to_string(&meta.attrs)?])?;
    Ok(Some(meta))
}
