//! Server access logging (Get/PutBucketLogging): a target bucket and prefix, or none
//! (a new bucket's: an empty `BucketLoggingStatus`). The target bucket must exist.
//! (eddy stores the setting; it writes no access logs.)

use s3s::dto::{
    BucketLoggingStatus, GetBucketLoggingInput, GetBucketLoggingOutput, PutBucketLoggingInput,
    PutBucketLoggingOutput, SimplePrefix, TargetObjectKeyFormat,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ConfigKind, S3Error};

use super::document::{load, remove, save};
use crate::s3::errors::to_wire;

const ROOT: &str = "BucketLoggingStatus";

pub(in crate::s3) async fn get_bucket_logging(
    store: &Store,
    req: S3Request<GetBucketLoggingInput>,
) -> S3Result<S3Response<GetBucketLoggingOutput>> {
    let status: Option<BucketLoggingStatus> =
        load(store, &req.input.bucket, ConfigKind::Logging, "", ROOT).await?;
    Ok(S3Response::new(GetBucketLoggingOutput {
        logging_enabled: status.and_then(|s| s.logging_enabled),
    }))
}

pub(in crate::s3) async fn put_bucket_logging(
    store: &Store,
    req: S3Request<PutBucketLoggingInput>,
) -> S3Result<S3Response<PutBucketLoggingOutput>> {
    let input = req.input;
    let mut status = input.bucket_logging_status;
    let Some(enabled) = &mut status.logging_enabled else {
        // An empty status turns logging off.
        remove(store, &input.bucket, ConfigKind::Logging, "").await?;
        return Ok(S3Response::new(PutBucketLoggingOutput {}));
    };
    match store.buckets().get(&enabled.target_bucket).await {
        Ok(_) => {}
        Err(S3Error::NoSuchBucket) => {
            return Err(s3_error!(
                InvalidTargetBucketForLogging,
                "The target bucket for logging does not exist"
            ));
        }
        Err(error) => return Err(to_wire(error)),
    }
    // Without a key format S3 uses (and reports) the simple prefix.
    if enabled.target_object_key_format.is_none() {
        enabled.target_object_key_format = Some(TargetObjectKeyFormat {
            partitioned_prefix: None,
            simple_prefix: Some(SimplePrefix {}),
        });
    }
    save(store, &input.bucket, ConfigKind::Logging, "", ROOT, &status).await?;
    Ok(S3Response::new(PutBucketLoggingOutput {}))
}
