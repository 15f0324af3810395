//! Default encryption (GetBucketEncryption): SSE-S3 (AES256), which every S3 bucket
//! has. (eddy does not encrypt the bytes on its disk.)

use s3s::dto::{
    GetBucketEncryptionInput, GetBucketEncryptionOutput, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;

use crate::s3::buckets::require_bucket;

pub(in crate::s3) async fn get_bucket_encryption(
    store: &Store,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    require_bucket(store, &req.input.bucket).await?;
    // Every S3 bucket has SSE-S3 (AES256) as its default encryption.
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
            rules: vec![ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                    kms_master_key_id: None,
                    sse_algorithm: ServerSideEncryption::from(
                        ServerSideEncryption::AES256.to_owned(),
                    ),
                }),
                bucket_key_enabled: Some(false),
            }],
        }),
    }))
}
