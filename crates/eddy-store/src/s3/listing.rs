//! Listings: one page of a bucket's keys with common prefixes folded (ListObjects,
//! ListObjectsV2), and one page of every version of every key (ListObjectVersions).

use rusqlite::{Connection, params};

use super::history::versions_of_key;
use super::model::{ListPage, ListQuery, NULL_VERSION, VersionPage, VersionQuery};
use super::rows::{OBJECT_COLUMNS, object_from_row};
use crate::error::StoreError;

/// One page of the current keys of a bucket.
pub(crate) fn list_page(
    conn: &Connection,
    bucket: &str,
    query: &ListQuery,
) -> Result<ListPage, StoreError> {
    let mut page = ListPage::default();
    if query.max_keys == 0 {
        return Ok(page);
    }
    let mut after = match &query.start_after {
        Some(s) if s.as_str() >= query.prefix.as_str() => s.clone(),
        _ => String::new(),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM objects
         WHERE bucket = ?1 AND key > ?2 AND key >= ?3 ORDER BY key LIMIT 1000"
    ))?;
    loop {
        let rows = stmt
            .query_map(params![bucket, after, query.prefix], |row| {
                object_from_row(bucket, row)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(page);
        }
        for meta in rows {
            after.clone_from(&meta.key);
            if !meta.key.starts_with(&query.prefix) {
                return Ok(page);
            }
            let entries = page.objects.len() + page.common_prefixes.len();
            let folded = query
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    meta.key[query.prefix.len()..]
                        .find(d)
                        .map(|i| meta.key[..query.prefix.len() + i + d.len()].to_owned())
                });
            if let Some(common) = folded {
                // A common prefix already listed, on this page or (as the marker) on
                // the previous one, is not listed again.
                let marker_covers = query
                    .start_after
                    .as_deref()
                    .is_some_and(|after| after.starts_with(common.as_str()));
                if page.common_prefixes.last() == Some(&common) || marker_covers {
                    continue;
                }
                if entries == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.last = Some(common.clone());
                page.common_prefixes.push(common);
            } else {
                if entries == query.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                page.last = Some(meta.key.clone());
                page.objects.push(meta);
            }
        }
    }
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
            after.clone_from(&key);
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
