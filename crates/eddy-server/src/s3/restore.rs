//! RestoreObject (`POST ?restore`) of objects stored as `GLACIER` or `DEEP_ARCHIVE`, and
//! the sweep that completes restores. A restore takes [`RESTORE_DELAY`] whatever its
//! tier (S3 takes minutes to hours): long enough to see `x-amz-restore:
//! ongoing-request="true"` and `RestoreAlreadyInProgress`, short enough for tests.
//! The restored copy is readable until its expiry (the request's `Days`, rounded up
//! to midnight UTC as on S3; a day lasts `lifecycle_day_seconds`), which raises
//! `s3:ObjectRestore:Delete`; the restore itself is kept in the store.

use std::time::Duration;

use s3s::dto::{RestoreObjectInput, RestoreObjectOutput, RestoreRequestType};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ChangeContext, RestoreOutcome};
use eddy_store::time::now_ms;

use super::convert::{ReplyStatus, context};
use super::errors::to_wire;
use super::lifecycle_sweeper::service_context;

/// How long a restore takes, for every retrieval tier.
pub const RESTORE_DELAY: Duration = Duration::from_secs(1);

/// How often [`complete_due`] should run for restores to complete on time.
pub const SWEEP_EVERY: Duration = Duration::from_millis(200);

pub(super) async fn restore_object(
    store: &Store,
    req: S3Request<RestoreObjectInput>,
) -> S3Result<S3Response<RestoreObjectOutput>> {
    let context = context(&req);
    let input = req.input;
    let request = input.restore_request.unwrap_or_default();
    if request
        .type_
        .as_ref()
        .is_some_and(|t| t.as_str() == RestoreRequestType::SELECT)
    {
        return Err(s3_error!(
            NotImplemented,
            "S3 Select restores are not available (S3 Select is closed to new customers)"
        ));
    }
    let days = match request.days {
        Some(days) if days >= 1 => u32::try_from(days).unwrap_or(u32::MAX),
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "The number of days to restore must be a positive integer"
            ));
        }
        None => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    let delay_ms = u64::try_from(RESTORE_DELAY.as_millis()).unwrap_or(u64::MAX);
    let outcome = store
        .objects()
        .restore(
            &input.bucket,
            &input.key,
            input.version_id.as_deref(),
            days,
            delay_ms,
            context,
        )
        .await
        .map_err(to_wire)?;
    let mut response = S3Response::new(RestoreObjectOutput::default());
    if let RestoreOutcome::Started(_) = outcome {
        response
            .extensions
            .insert(ReplyStatus(http::StatusCode::ACCEPTED));
    }
    Ok(response)
}

/// Completes the restores due by now, raising `s3:ObjectRestore:Completed` for each,
/// then removes the restored copies expired by now, raising `s3:ObjectRestore:Delete`
/// for each; returns how many of both.
pub async fn complete_due(store: &Store) -> usize {
    let make: fn() -> ChangeContext = service_context;
    let completed = match store.objects().complete_restores(now_ms(), make).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(%error, "completing S3 restores failed");
            0
        }
    };
    let expired = match store.objects().expire_restores(now_ms(), make).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(%error, "expiring restored S3 copies failed");
            0
        }
    };
    completed + expired
}
