//! Bucket tags (Get/Put/DeleteBucketTagging), up to 50 a bucket.

use s3s::dto::{
    DeleteBucketTaggingInput, DeleteBucketTaggingOutput, GetBucketTaggingInput,
    GetBucketTaggingOutput, PutBucketTaggingInput, PutBucketTaggingOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;

use crate::s3::errors::to_wire;
use crate::s3::tags::{MAX_BUCKET_TAGS, tag_set, tags_from_set};

pub(in crate::s3) async fn get_bucket_tagging(
    store: &Store,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let tags = store
        .buckets()
        .tags(&req.input.bucket)
        .await
        .map_err(to_wire)?
        .ok_or_else(|| s3_error!(NoSuchTagSet, "The TagSet does not exist"))?;
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: tag_set(&tags),
    }))
}

pub(in crate::s3) async fn put_bucket_tagging(
    store: &Store,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let input = req.input;
    let tags = tags_from_set(input.tagging, MAX_BUCKET_TAGS)?;
    store
        .buckets()
        .set_tags(&input.bucket, Some(tags))
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(PutBucketTaggingOutput {}))
}

pub(in crate::s3) async fn delete_bucket_tagging(
    store: &Store,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    store
        .buckets()
        .set_tags(&req.input.bucket, None)
        .await
        .map_err(to_wire)?;
    let mut response = S3Response::new(DeleteBucketTaggingOutput {});
    response.status = Some(http::StatusCode::NO_CONTENT);
    Ok(response)
}
