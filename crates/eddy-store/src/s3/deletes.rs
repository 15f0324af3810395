//! How a delete changes a key's versions: without a version id it removes the object,
//! or on a versioned bucket puts a delete marker on top; with one it removes that
//! version for good and the newest remaining version becomes current again.

use rusqlite::{Connection, params};

use super::history;
use super::model::{Deleted, NULL_VERSION, Versioning, new_version_id, stored_version};
use super::rows::load_object;
use crate::error::StoreError;

/// A delete without a version id: removes the object, or on a versioned bucket puts
/// a delete marker on top. Returns the event, what happened and the blobs to delete.
pub(crate) fn delete_latest(
    conn: &Connection,
    versioning: Versioning,
    bucket: &str,
    key: &str,
    now: u64,
) -> Result<(&'static str, Deleted, Vec<String>), StoreError> {
    let previous = load_object(conn, bucket, key)?;
    let mut blobs = Vec::new();
    if let Some(previous) = &previous {
        conn.prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key])?;
        if previous.version_id.is_some() || versioning == Versioning::Enabled {
            history::archive(conn, previous)?;
        } else {
            blobs.push(previous.blob.clone());
        }
    }
    if versioning == Versioning::Unversioned {
        let deleted = Deleted {
            version_id: None,
            delete_marker: false,
            changed: previous.is_some(),
        };
        return Ok(("s3:ObjectRemoved:Delete", deleted, blobs));
    }
    let marker = (versioning == Versioning::Enabled).then(new_version_id);
    if marker.is_none() {
        blobs.extend(history::remove_noncurrent_null(conn, bucket, key)?);
    }
    history::insert_delete_marker(conn, bucket, key, marker.as_deref(), now)?;
    let deleted = Deleted {
        version_id: Some(marker.unwrap_or_else(|| NULL_VERSION.to_owned())),
        delete_marker: true,
        changed: true,
    };
    Ok(("s3:ObjectRemoved:DeleteMarkerCreated", deleted, blobs))
}

/// A delete of one version for good; the newest remaining version becomes current.
pub(crate) fn delete_version(
    conn: &Connection,
    versioning: Versioning,
    bucket: &str,
    key: &str,
    label: &str,
) -> Result<(&'static str, Deleted, Vec<String>), StoreError> {
    let wanted = stored_version(label);
    let mut deleted = Deleted {
        version_id: (versioning != Versioning::Unversioned || wanted.is_some())
            .then(|| label.to_owned()),
        delete_marker: false,
        changed: false,
    };
    let mut blobs = Vec::new();
    if let Some(current) =
        load_object(conn, bucket, key)?.filter(|m| m.version_id.as_deref() == wanted)
    {
        conn.prepare_cached("DELETE FROM objects WHERE bucket = ?1 AND key = ?2")?
            .execute(params![bucket, key])?;
        blobs.push(current.blob);
        deleted.changed = true;
    } else if let Some(row) = history::load_noncurrent(conn, bucket, key, wanted)? {
        history::delete_noncurrent(conn, row.seq)?;
        if !row.entry.delete_marker {
            blobs.push(row.entry.meta.blob);
        }
        deleted.delete_marker = row.entry.delete_marker;
        deleted.changed = true;
    }
    if deleted.changed {
        history::promote_newest(conn, bucket, key)?;
    }
    Ok(("s3:ObjectRemoved:Delete", deleted, blobs))
}
