//! Block Public Access (Get/Put/DeletePublicAccessBlock): a new bucket blocks all
//! public access (S3's default since April 2023); after a delete the bucket has no
//! configuration and answers `NoSuchPublicAccessBlockConfiguration`.

use s3s::dto::{
    DeletePublicAccessBlockInput, DeletePublicAccessBlockOutput, GetPublicAccessBlockInput,
    GetPublicAccessBlockOutput, PublicAccessBlockConfiguration, PutPublicAccessBlockInput,
    PutPublicAccessBlockOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;
use eddy_store::s3::{Config, ConfigKind};

use crate::s3::errors::custom_error;

use super::document::{from_document, load_config, no_content, remove, save};

const ROOT: &str = "PublicAccessBlockConfiguration";

pub(in crate::s3) async fn get_public_access_block(
    store: &Store,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let config = bucket_public_access(store, &req.input.bucket)
        .await?
        .ok_or_else(|| {
            custom_error(
                "NoSuchPublicAccessBlockConfiguration",
                http::StatusCode::NOT_FOUND,
                "The public access block configuration was not found",
            )
        })?;
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_public_access_block(
    store: &Store,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let input = req.input;
    let given = input.public_access_block_configuration;
    // A setting left out is false, and S3 returns it as false.
    let config = PublicAccessBlockConfiguration {
        block_public_acls: Some(given.block_public_acls.unwrap_or(false)),
        block_public_policy: Some(given.block_public_policy.unwrap_or(false)),
        ignore_public_acls: Some(given.ignore_public_acls.unwrap_or(false)),
        restrict_public_buckets: Some(given.restrict_public_buckets.unwrap_or(false)),
    };
    save(
        store,
        &input.bucket,
        ConfigKind::PublicAccessBlock,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutPublicAccessBlockOutput {}))
}

pub(in crate::s3) async fn delete_public_access_block(
    store: &Store,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    remove(store, &req.input.bucket, ConfigKind::PublicAccessBlock, "").await?;
    Ok(no_content(DeletePublicAccessBlockOutput {}))
}

/// A bucket's Block Public Access settings (`None`: it has none, after a delete).
pub(in crate::s3) async fn bucket_public_access(
    store: &Store,
    bucket: &str,
) -> S3Result<Option<PublicAccessBlockConfiguration>> {
    match load_config(store, bucket, ConfigKind::PublicAccessBlock, "").await? {
        Config::Unset => Ok(Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(true),
            block_public_policy: Some(true),
            ignore_public_acls: Some(true),
            restrict_public_buckets: Some(true),
        })),
        Config::Removed => Ok(None),
        Config::Set(document) => from_document(ROOT, &document).map(Some),
    }
}
