//! Transfer Acceleration (Get/PutBucketAccelerateConfiguration): `Enabled` or
//! `Suspended`; a new bucket answers an empty configuration. (eddy has no accelerated
//! endpoint: the setting is stored and returned.)

use s3s::dto::{
    AccelerateConfiguration, BucketAccelerateStatus, GetBucketAccelerateConfigurationInput,
    GetBucketAccelerateConfigurationOutput, PutBucketAccelerateConfigurationInput,
    PutBucketAccelerateConfigurationOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load, malformed, save};

const ROOT: &str = "AccelerateConfiguration";

pub(in crate::s3) async fn get_bucket_accelerate_configuration(
    store: &Store,
    req: S3Request<GetBucketAccelerateConfigurationInput>,
) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
    let config: Option<AccelerateConfiguration> =
        load(store, &req.input.bucket, ConfigKind::Accelerate, "", ROOT).await?;
    Ok(S3Response::new(GetBucketAccelerateConfigurationOutput {
        request_charged: None,
        status: config.and_then(|c| c.status),
    }))
}

pub(in crate::s3) async fn put_bucket_accelerate_configuration(
    store: &Store,
    req: S3Request<PutBucketAccelerateConfigurationInput>,
) -> S3Result<S3Response<PutBucketAccelerateConfigurationOutput>> {
    let input = req.input;
    let config = input.accelerate_configuration;
    match config.status.as_ref().map(BucketAccelerateStatus::as_str) {
        Some(BucketAccelerateStatus::ENABLED | BucketAccelerateStatus::SUSPENDED) => {}
        _ => return Err(malformed()),
    }
    if input.bucket.contains('.') {
        return Err(s3_error!(
            InvalidRequest,
            "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names"
        ));
    }
    save(
        store,
        &input.bucket,
        ConfigKind::Accelerate,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutBucketAccelerateConfigurationOutput {}))
}
