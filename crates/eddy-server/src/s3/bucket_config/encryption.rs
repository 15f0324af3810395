//! Default encryption (Get/Put/DeleteBucketEncryption): SSE-S3 (AES256) unless set to
//! SSE-KMS or DSSE-KMS; a delete returns the bucket to SSE-S3, as on S3 since January
//! 2023. Objects report the setting ([`object_encryption`]); eddy does not encrypt the
//! bytes on its disk.

use s3s::dto::{
    DeleteBucketEncryptionInput, DeleteBucketEncryptionOutput, GetBucketEncryptionInput,
    GetBucketEncryptionOutput, PutBucketEncryptionInput, PutBucketEncryptionOutput,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load, malformed, no_content, remove, save};

const ROOT: &str = "ServerSideEncryptionConfiguration";

pub(in crate::s3) async fn get_bucket_encryption(
    store: &Store,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let config = bucket_encryption(store, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_bucket_encryption(
    store: &Store,
    req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let input = req.input;
    let config = input.server_side_encryption_configuration;
    validate(&config)?;
    save(
        store,
        &input.bucket,
        ConfigKind::Encryption,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutBucketEncryptionOutput {}))
}

pub(in crate::s3) async fn delete_bucket_encryption(
    store: &Store,
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Encryption, "").await?;
    Ok(no_content(DeleteBucketEncryptionOutput {}))
}

/// A bucket's default encryption: its own, or SSE-S3.
pub(in crate::s3) async fn bucket_encryption(
    store: &Store,
    bucket: &str,
) -> S3Result<ServerSideEncryptionConfiguration> {
    Ok(load(store, bucket, ConfigKind::Encryption, "", ROOT)
        .await?
        .unwrap_or_else(|| ServerSideEncryptionConfiguration {
            rules: vec![ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                    kms_master_key_id: None,
                    sse_algorithm: ServerSideEncryption::from(
                        ServerSideEncryption::AES256.to_owned(),
                    ),
                }),
                bucket_key_enabled: Some(false),
            }],
        }))
}

/// What an object written to a bucket with `config` reports: the algorithm, the KMS
/// key id, and whether an S3 Bucket Key is used.
pub(in crate::s3) struct ObjectEncryption {
    pub algorithm: ServerSideEncryption,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

pub(in crate::s3) fn object_encryption(
    config: &ServerSideEncryptionConfiguration,
) -> ObjectEncryption {
    let rule = config.rules.first();
    let default = rule.and_then(|r| r.apply_server_side_encryption_by_default.as_ref());
    let algorithm = default.map_or_else(
        || ServerSideEncryption::from(ServerSideEncryption::AES256.to_owned()),
        |d| d.sse_algorithm.clone(),
    );
    let kms = algorithm.as_str() != ServerSideEncryption::AES256;
    ObjectEncryption {
        kms_key_id: default
            .and_then(|d| d.kms_master_key_id.clone())
            .filter(|_| kms),
        bucket_key_enabled: rule
            .and_then(|r| r.bucket_key_enabled)
            .filter(|enabled| kms && *enabled),
        algorithm,
    }
}

fn validate(config: &ServerSideEncryptionConfiguration) -> S3Result<()> {
    let [rule] = config.rules.as_slice() else {
        return Err(malformed());
    };
    let Some(default) = &rule.apply_server_side_encryption_by_default else {
        return Err(malformed());
    };
    match default.sse_algorithm.as_str() {
        ServerSideEncryption::AES256 => {
            if default.kms_master_key_id.is_some() {
                return Err(s3_error!(
                    InvalidArgument,
                    "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
                ));
            }
        }
        ServerSideEncryption::AWS_KMS | ServerSideEncryption::AWS_KMS_DSSE => {}
        _ => return Err(malformed()),
    }
    Ok(())
}
