//! Bucket versioning on top of the `objects` table.
//!
//! The current version of a key, when it is an object, is its row in `objects` (with
//! its `version_id`, NULL for the `null` version). Every older version and every delete
//! marker is a row of `object_versions`, ordered by `seq`. So a key's latest version is
//! its `objects` row if there is one, else its highest-`seq` row in `object_versions`
//! (then a delete marker). Plain listings read `objects` alone; ListObjectVersions
//! merges both. Each version keeps its own immutable blob file.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::objects::{ObjectAttrs, ObjectMeta};

/// The versioning state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: every write replaces the `null` version.
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub(crate) fn from_column(value: Option<String>) -> Self {
        match value.as_deref() {
            Some("Enabled") => Self::Enabled,
            Some("Suspended") => Self::Suspended,
            _ => Self::Unversioned,
        }
    }

    /// The `Status` S3 reports; `None` for a bucket that never had versioning.
    pub fn status(self) -> Option<&'static str> {
        match self {
            Self::Unversioned => None,
            Self::Enabled => Some("Enabled"),
            Self::Suspended => Some("Suspended"),
        }
    }

    /// The version id an event carries: none on buckets that never had versioning,
    /// else the id (`null` for the null version).
    pub fn event_version_id(self, version_id: Option<&str>) -> Option<String> {
        match self {
            Self::Unversioned => None,
            _ => Some(version_id.unwrap_or(NULL_VERSION).to_owned()),
        }
    }
}

/// How S3 names the version of objects written while versioning was off.
pub const NULL_VERSION: &str = "null";

/// A new version id: 32 URL-safe characters, unique.
pub fn new_version_id() -> String {
    crate::ids::random_uuid().simple().to_string()
}

/// The stored form of a version id from a request: `null` is NULL.
pub fn stored_version(label: &str) -> Option<&str> {
    (label != NULL_VERSION).then_some(label)
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

/// One version of a key: an object, or a delete marker (no bytes).
#[derive(Debug, Clone)]
pub struct VersionEntry {
    pub meta: ObjectMeta,
    pub delete_marker: bool,
    pub is_latest: bool,
}

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
    if crate::objects::load_object(conn, bucket, key)?.is_some() {
        return Ok(());
    }
    let Some(newest) = newest_noncurrent(conn, bucket, key)? else {
        return Ok(());
    };
    if newest.entry.delete_marker {
        return Ok(());
    }
    crate::objects::insert_current(conn, &newest.entry.meta)?;
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

/// What ListObjectVersions asks for.
#[derive(Debug, Clone, Default)]
pub struct VersionQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
    pub max_keys: usize,
}

/// One page of ListObjectVersions: versions newest first within each key.
#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    pub entries: Vec<VersionEntry>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
}

/// Every version of one key, newest first.
fn versions_of_key(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<Vec<VersionEntry>, StoreError> {
    let mut entries = Vec::new();
    if let Some(current) = crate::objects::load_object(conn, bucket, key)? {
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

/// The keys of a bucket in order, from both tables, after `after` (inclusive when
/// `inclusive`), at most `limit`.
fn keys_after(
    conn: &Connection,
    bucket: &str,
    after: &str,
    inclusive: bool,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let op = if inclusive { ">=" } else { ">" };
    let sql = format!(
        "SELECT key FROM objects WHERE bucket = ?1 AND key {op} ?2
         UNION SELECT key FROM object_versions WHERE bucket = ?1 AND key {op} ?2
         ORDER BY key LIMIT ?3"
    );
    let keys = conn
        .prepare_cached(&sql)?
        .query_map(params![bucket, after, limit as i64], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// One page of every version of every key under a prefix.
pub(crate) fn list_versions(
    conn: &Connection,
    bucket: &str,
    query: &VersionQuery,
) -> Result<VersionPage, StoreError> {
    let mut page = VersionPage::default();
    if query.max_keys == 0 {
        return Ok(page);
    }
    let marker = query.key_marker.clone().unwrap_or_default();
    // With a version marker the marker key is resumed after that version.
    let resume_version = query
        .version_id_marker
        .clone()
        .filter(|_| !marker.is_empty());
    let (mut after, mut inclusive) = if marker.is_empty() || marker.as_str() < query.prefix.as_str()
    {
        (query.prefix.clone(), true)
    } else {
        (marker.clone(), resume_version.is_some())
    };
    let delimiter = query.delimiter.as_deref().filter(|d| !d.is_empty());
    loop {
        let keys = keys_after(conn, bucket, &after, inclusive, 1000)?;
        if keys.is_empty() {
            return Ok(page);
        }
        for key in keys {
            after = key.clone();
            inclusive = false;
            if !key.starts_with(&query.prefix) {
                if key.as_str() > query.prefix.as_str() {
                    return Ok(page);
                }
                continue;
            }
            let folded = delimiter.and_then(|d| {
                key[query.prefix.len()..]
                    .find(d)
                    .map(|i| key[..query.prefix.len() + i + d.len()].to_owned())
            });
            if let Some(common) = folded {
                if page.common_prefixes.last() == Some(&common)
                    || (common.as_str() <= marker.as_str() && marker.starts_with(&common))
                {
                    continue;
                }
                if page.entries.len() + page.common_prefixes.len() == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.next_key_marker = Some(common.clone());
                page.next_version_id_marker = None;
                page.common_prefixes.push(common);
                continue;
            }
            let mut versions = versions_of_key(conn, bucket, &key)?;
            if key == marker
                && let Some(resume) = &resume_version
            {
                let position = versions
                    .iter()
                    .position(|v| v.meta.version_id.as_deref().unwrap_or(NULL_VERSION) == resume);
                versions = match position {
                    Some(i) => versions.split_off(i + 1),
                    None => Vec::new(),
                };
            }
            for version in versions {
                if page.entries.len() + page.common_prefixes.len() == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.next_key_marker = Some(key.clone());
                page.next_version_id_marker = Some(
                    version
                        .meta
                        .version_id
                        .clone()
                        .unwrap_or_else(|| NULL_VERSION.to_owned()),
                );
                page.entries.push(version);
            }
        }
    }
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
    let current = crate::objects::load_object(conn, bucket, key)?;
    let target_current = match (version_label, &current) {
        (None, Some(_)) => true,
        (None, None) => return Ok(None),
        (Some(label), Some(meta)) => meta.version_id.as_deref() == stored_version(label),
        (Some(_), None) => false,
    };
    let update = |attrs: &ObjectAttrs| {
        let mut attrs = attrs.clone();
        attrs.tags = tags.clone().unwrap_or_default();
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
