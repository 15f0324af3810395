//! The lifecycle sweeper: runs each bucket's enabled lifecycle rules as S3 does, in the
//! background. Expiration (after `Days` or from a `Date`) deletes current objects (a
//! delete marker on a versioned bucket), `ExpiredObjectDeleteMarker` removes delete
//! markers left with no version under them, `NoncurrentVersionExpiration` removes
//! versions that have been noncurrent for `NoncurrentDays` (keeping the newest
//! `NewerNoncurrentVersions`), and `AbortIncompleteMultipartUpload` aborts uploads older
//! than `DaysAfterInitiation`. Removals raise `s3:LifecycleExpiration:*` events.
//!
//! How long a lifecycle day lasts is the caller's: a day (S3's) by default, shorter for
//! tests (`lifecycle_day_seconds` in `eddy.toml`). Transitions are not run: every
//! storage class lives on the same disk.

use std::collections::BTreeMap;
use std::time::Duration;

use s3s::dto::{BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule};

use eddy_store::Store;
use eddy_store::s3::{ChangeContext, ListQuery, ObjectMeta, Requester, VersionEntry, VersionQuery};
use eddy_store::time::now_ms;

use super::bucket_config::lifecycle::bucket_lifecycle;
use crate::state::RequestIds;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub noncurrent_removed: usize,
    pub delete_markers_removed: usize,
    pub uploads_aborted: usize,
}

impl SweepReport {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Runs every bucket's lifecycle rules once; `day` is how long a lifecycle day lasts.
/// A bucket whose sweep fails is logged and skipped.
pub async fn sweep(store: &Store, day: Duration) -> SweepReport {
    let mut report = SweepReport::default();
    let Ok(buckets) = store.buckets().list().await else {
        return report;
    };
    let day_ms = u64::try_from(day.as_millis()).unwrap_or(u64::MAX).max(1);
    for bucket in buckets {
        let config = match bucket_lifecycle(store, &bucket.name).await {
            Ok(Some(config)) => config,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(bucket = %bucket.name, ?error, "lifecycle configuration unreadable");
                continue;
            }
        };
        if let Err(error) = sweep_bucket(store, &bucket.name, &config, day_ms, &mut report).await {
            tracing::warn!(bucket = %bucket.name, %error, "lifecycle sweep of the bucket failed");
        }
    }
    report
}

/// The objects a rule applies to.
pub(super) struct Scope {
    prefix: String,
    tags: Vec<(String, String)>,
    larger_than: Option<i64>,
    smaller_than: Option<i64>,
}

impl Scope {
    pub(super) fn of(rule: &LifecycleRule) -> Self {
        let mut scope = Self {
            prefix: rule.prefix.clone().unwrap_or_default(),
            tags: Vec::new(),
            larger_than: None,
            smaller_than: None,
        };
        if let Some(filter) = &rule.filter {
            if let Some(prefix) = &filter.prefix {
                scope.prefix.clone_from(prefix);
            }
            if let Some(tag) = &filter.tag {
                scope.tags.push(tag_pair(tag));
            }
            scope.larger_than = filter.object_size_greater_than;
            scope.smaller_than = filter.object_size_less_than;
            if let Some(and) = &filter.and {
                if let Some(prefix) = &and.prefix {
                    scope.prefix.clone_from(prefix);
                }
                scope.tags.extend(and.tags.iter().flatten().map(tag_pair));
                scope.larger_than = and.object_size_greater_than.or(scope.larger_than);
                scope.smaller_than = and.object_size_less_than.or(scope.smaller_than);
            }
        }
        scope
    }

    pub(super) fn covers(&self, meta: &ObjectMeta) -> bool {
        let size = i64::try_from(meta.size).unwrap_or(i64::MAX);
        meta.key.starts_with(&self.prefix)
            && self.larger_than.is_none_or(|n| size > n)
            && self.smaller_than.is_none_or(|n| size < n)
            && self
                .tags
                .iter()
                .all(|(k, v)| meta.attrs.tags.get(k) == Some(v))
    }
}

fn tag_pair(tag: &s3s::dto::Tag) -> (String, String) {
    (
        tag.key.clone().unwrap_or_default(),
        tag.value.clone().unwrap_or_default(),
    )
}

async fn sweep_bucket(
    store: &Store,
    bucket: &str,
    config: &BucketLifecycleConfiguration,
    day_ms: u64,
    report: &mut SweepReport,
) -> Result<(), eddy_store::s3::S3Error> {
    let now = now_ms();
    let after = |days: i32| u64::try_from(days).unwrap_or(0).saturating_mul(day_ms);
    for rule in config
        .rules
        .iter()
        .filter(|r| r.status.as_str() == ExpirationStatus::ENABLED)
    {
        let scope = Scope::of(rule);
        if let Some(expiration) = &rule.expiration {
            let due = |meta: &ObjectMeta| {
                let by_days = expiration
                    .days
                    .is_some_and(|d| meta.last_modified_ms.saturating_add(after(d)) <= now);
                let by_date = expiration.date.as_ref().is_some_and(|date| {
                    time::OffsetDateTime::from(date.clone()).unix_timestamp() * 1000
                        <= i64::try_from(now).unwrap_or(i64::MAX)
                });
                by_days || by_date
            };
            for meta in current_objects(store, bucket, &scope.prefix).await? {
                if scope.covers(&meta) && due(&meta) {
                    store
                        .objects()
                        .expire(bucket, &meta.key, None, service_context())
                        .await?;
                    report.expired += 1;
                }
            }
        }
        let wants_markers = rule
            .expiration
            .as_ref()
            .is_some_and(|e| e.expired_object_delete_marker == Some(true));
        let noncurrent = rule.noncurrent_version_expiration.as_ref();
        if wants_markers || noncurrent.is_some() {
            for (key, versions) in versions_by_key(store, bucket, &scope.prefix).await? {
                if let Some(noncurrent) = noncurrent
                    && let Some(days) = noncurrent.noncurrent_days
                {
                    let keep = usize::try_from(noncurrent.newer_noncurrent_versions.unwrap_or(0))
                        .unwrap_or(0);
                    // Newest first: a version became noncurrent when the one above it
                    // was written.
                    for (index, pair) in versions.windows(2).enumerate() {
                        let (newer, older) = (&pair[0], &pair[1]);
                        // S3's lifecycle leaves a version under Object Lock alone.
                        if index >= keep
                            && scope.covers(&older.meta)
                            && newer.meta.last_modified_ms.saturating_add(after(days)) <= now
                            && (older.delete_marker
                                || super::object_lock::check_delete(&older.meta, false).is_ok())
                        {
                            store
                                .objects()
                                .expire(
                                    bucket,
                                    &key,
                                    Some(older.meta.version_label()),
                                    service_context(),
                                )
                                .await?;
                            report.noncurrent_removed += 1;
                        }
                    }
                }
                if wants_markers
                    && let [only] = versions.as_slice()
                    && only.delete_marker
                {
                    store
                        .objects()
                        .expire(
                            bucket,
                            &key,
                            Some(only.meta.version_label()),
                            service_context(),
                        )
                        .await?;
                    report.delete_markers_removed += 1;
                }
            }
        }
        if let Some(days) = rule
            .abort_incomplete_multipart_upload
            .as_ref()
            .and_then(|a| a.days_after_initiation)
        {
            for upload in store.uploads().list(bucket, &scope.prefix).await? {
                if upload.created_ms.saturating_add(after(days)) <= now {
                    store
                        .uploads()
                        .abort(bucket, &upload.key, &upload.upload_id)
                        .await?;
                    report.uploads_aborted += 1;
                }
            }
        }
    }
    Ok(())
}

/// The current objects under `prefix`, every page.
async fn current_objects(
    store: &Store,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectMeta>, eddy_store::s3::S3Error> {
    let mut objects = Vec::new();
    let mut start_after = None;
    loop {
        let page = store
            .objects()
            .list(
                bucket,
                ListQuery {
                    prefix: prefix.to_owned(),
                    delimiter: None,
                    start_after: start_after.take(),
                    max_keys: 1000,
                },
            )
            .await?;
        objects.extend(page.objects);
        if !page.is_truncated {
            return Ok(objects);
        }
        start_after = page.last;
    }
}

/// Every version under `prefix`, newest first within each key.
async fn versions_by_key(
    store: &Store,
    bucket: &str,
    prefix: &str,
) -> Result<BTreeMap<String, Vec<VersionEntry>>, eddy_store::s3::S3Error> {
    let mut keys: BTreeMap<String, Vec<VersionEntry>> = BTreeMap::new();
    let mut markers = (None, None);
    loop {
        let page = store
            .objects()
            .list_versions(
                bucket,
                VersionQuery {
                    prefix: prefix.to_owned(),
                    delimiter: None,
                    key_marker: markers.0.take(),
                    version_id_marker: markers.1.take(),
                    max_keys: 1000,
                },
            )
            .await?;
        for entry in page.entries {
            keys.entry(entry.meta.key.clone()).or_default().push(entry);
        }
        if !page.is_truncated {
            return Ok(keys);
        }
        markers = (page.next_key_marker, page.next_version_id_marker);
    }
}

/// The request S3 itself makes when a rule removes something (or a restore
/// completes).
pub(super) fn service_context() -> ChangeContext {
    let ids = RequestIds::generate();
    ChangeContext {
        request_id: ids.request_id,
        host_id: ids.host_id,
        source_ip: "s3.amazonaws.com".to_owned(),
        requester: Requester::S3Service,
        trace_header: None,
    }
}
