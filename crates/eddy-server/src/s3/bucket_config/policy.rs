//! The bucket policy (Get/Put/DeleteBucketPolicy, GetBucketPolicyStatus): a JSON
//! policy document, checked for S3's required shape (statements with an effect, an
//! action, a principal, and resources of this bucket), refused when it would make
//! the bucket public while Block Public Access blocks public policies, and returned as
//! it was given. The policy is evaluated for unsigned requests (`authz`); signed
//! requests are the account's, which may do everything.

use s3s::dto::{
    DeleteBucketPolicyInput, DeleteBucketPolicyOutput, GetBucketPolicyInput, GetBucketPolicyOutput,
    GetBucketPolicyStatusInput, GetBucketPolicyStatusOutput, PolicyStatus, PutBucketPolicyInput,
    PutBucketPolicyOutput,
};
use s3s::{S3Error as WireError, S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load_config, no_content, remove};
use super::public_access::bucket_public_access;
use crate::s3::authz::policy::PolicyDocument;
use crate::s3::errors::to_wire;

pub(in crate::s3) async fn get_bucket_policy(
    store: &Store,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let policy = load_config(store, &req.input.bucket, ConfigKind::Policy, "")
        .await?
        .document()
        .ok_or_else(no_policy)?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}

pub(in crate::s3) async fn put_bucket_policy(
    store: &Store,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let input = req.input;
    let document = PolicyDocument::parse(&input.policy, &input.bucket)?;
    let block = bucket_public_access(store, &input.bucket).await?;
    if block.is_some_and(|b| b.block_public_policy == Some(true)) && document.is_public() {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    store
        .bucket_configs()
        .put(&input.bucket, ConfigKind::Policy, "", input.policy)
        .await
        .map_err(to_wire)?;
    Ok(no_content(PutBucketPolicyOutput {}))
}

pub(in crate::s3) async fn delete_bucket_policy(
    store: &Store,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Policy, "").await?;
    Ok(no_content(DeleteBucketPolicyOutput {}))
}

pub(in crate::s3) async fn get_bucket_policy_status(
    store: &Store,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let bucket = &req.input.bucket;
    let policy = load_config(store, bucket, ConfigKind::Policy, "")
        .await?
        .document()
        .ok_or_else(no_policy)?;
    let document = PolicyDocument::parse(&policy, bucket)?;
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(document.is_public()),
        }),
    }))
}

fn no_policy() -> WireError {
    s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")
}
