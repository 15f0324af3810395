//! The `x-amz-expiration` header of PutObject, GetObject and HeadObject: when the
//! bucket's lifecycle rules will expire the object, and by which rule (the earliest
//! of the enabled rules with an expiration that cover it). As on S3, a rule's days
//! count from the object's creation and end at the next midnight UTC (a lifecycle
//! day lasts `lifecycle_day_seconds`).

use s3s::dto::{BucketLifecycleConfiguration, ExpirationStatus};

use eddy_store::Store;
use eddy_store::s3::ObjectMeta;

use super::bucket_config::lifecycle::bucket_lifecycle;
use super::convert::{format_http_date, timestamp, timestamp_ms};
use super::lifecycle_sweeper::Scope;

/// The `x-amz-expiration` value of the current object `meta`: `expiry-date="…",
/// rule-id="…"`, or `None` when no rule expires it.
pub(super) async fn expiration_header(store: &Store, meta: &ObjectMeta) -> Option<String> {
    let config = bucket_lifecycle(store, &meta.bucket).await.ok().flatten()?;
    expiration_by(&config, store.lifecycle_day_ms(), meta)
}

/// [`expiration_header`] with the bucket's lifecycle rules already read (a new
/// object's write reads them with its other bucket configurations).
pub(super) fn expiration_by(
    config: &BucketLifecycleConfiguration,
    day_ms: u64,
    meta: &ObjectMeta,
) -> Option<String> {
    let mut earliest: Option<(u64, String)> = None;
    for rule in config
        .rules
        .iter()
        .filter(|r| r.status.as_str() == ExpirationStatus::ENABLED)
    {
        let Some(expiration) = &rule.expiration else {
            continue;
        };
        let at = if let Some(days) = expiration.days {
            let days = u64::try_from(days).unwrap_or(0);
            let end = meta
                .last_modified_ms
                .saturating_add(days.saturating_mul(day_ms));
            end.div_ceil(day_ms).saturating_mul(day_ms)
        } else if let Some(date) = &expiration.date {
            timestamp_ms(date)
        } else {
            continue;
        };
        if !Scope::of(rule).covers(meta) {
            continue;
        }
        if earliest.as_ref().is_none_or(|(first, _)| at < *first) {
            earliest = Some((at, rule.id.clone().unwrap_or_default()));
        }
    }
    let (at, rule_id) = earliest?;
    let date = format_http_date(&timestamp(at))?;
    Some(format!("expiry-date=\"{date}\", rule-id=\"{rule_id}\""))
}
