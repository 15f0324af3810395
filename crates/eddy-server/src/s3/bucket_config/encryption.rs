//! Default encryption (Get/Put/DeleteBucketEncryption): SSE-S3 (AES256) unless set to
//! SSE-KMS or DSSE-KMS; a delete returns the bucket to SSE-S3, as on S3 since January
//! 2023. New objects take it (or the encryption their request names) and report it
//! ([`new_object_encryption`], [`reported`]); eddy does not encrypt the bytes on its
//! disk.

use s3s::dto::{
    DeleteBucketEncryptionInput, DeleteBucketEncryptionOutput, GetBucketEncryptionInput,
    GetBucketEncryptionOutput, PutBucketEncryptionInput, PutBucketEncryptionOutput,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{Config, ConfigKind, KmsEncryption};

use super::document::{load, malformed, no_content, parse, remove, save};

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
    Ok(or_default(
        load(store, bucket, ConfigKind::Encryption, "", ROOT).await?,
    ))
}

/// The default encryption a stored configuration (read with the store's
/// `get_kinds`) gives.
pub(super) fn from_stored(config: Config) -> S3Result<ServerSideEncryptionConfiguration> {
    Ok(or_default(parse(config, ROOT)?))
}

/// A bucket's configuration, or SSE-S3 when it has none.
fn or_default(
    config: Option<ServerSideEncryptionConfiguration>,
) -> ServerSideEncryptionConfiguration {
    config.unwrap_or_else(|| ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                kms_master_key_id: None,
                sse_algorithm: ServerSideEncryption::from(ServerSideEncryption::AES256.to_owned()),
            }),
            bucket_key_enabled: Some(false),
        }],
    })
}

/// The encryption a new object gets: the one its request names
/// (`x-amz-server-side-encryption` and its KMS headers) or else its bucket's default.
/// `None` is SSE-S3. `default` is the bucket's (see `new_object::NewObjectConfigs`).
pub(in crate::s3) fn new_object_encryption(
    default: &ServerSideEncryptionConfiguration,
    requested: Option<&ServerSideEncryption>,
    key_id: Option<&String>,
    bucket_key: Option<bool>,
) -> S3Result<Option<KmsEncryption>> {
    if let Some(algorithm) = requested {
        return match algorithm.as_str() {
            ServerSideEncryption::AES256 if key_id.is_none() => Ok(None),
            ServerSideEncryption::AES256 => Err(s3_error!(
                InvalidArgument,
                "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
            )),
            ServerSideEncryption::AWS_KMS | ServerSideEncryption::AWS_KMS_DSSE => {
                Ok(Some(KmsEncryption {
                    algorithm: algorithm.as_str().to_owned(),
                    key_id: key_id.cloned(),
                    bucket_key_enabled: bucket_key.unwrap_or(false),
                }))
            }
            _ => Err(s3_error!(
                InvalidArgument,
                "The encryption method specified is not supported"
            )),
        };
    }
    if key_id.is_some() {
        return Err(s3_error!(
            InvalidArgument,
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
        ));
    }
    let rule = default.rules.first();
    Ok(rule
        .and_then(|r| r.apply_server_side_encryption_by_default.as_ref())
        .filter(|d| d.sse_algorithm.as_str() != ServerSideEncryption::AES256)
        .map(|d| KmsEncryption {
            algorithm: d.sse_algorithm.as_str().to_owned(),
            key_id: d.kms_master_key_id.clone(),
            bucket_key_enabled: bucket_key
                .or_else(|| rule.and_then(|r| r.bucket_key_enabled))
                .unwrap_or(false),
        }))
}

/// What an object reports about its encryption: the algorithm, the KMS key's id and
/// whether an S3 Bucket Key is used (both for KMS only).
pub(in crate::s3) struct Reported {
    pub algorithm: ServerSideEncryption,
    pub key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

pub(in crate::s3) fn reported(store: &Store, kms: Option<&KmsEncryption>) -> Reported {
    match kms {
        None => Reported {
            algorithm: ServerSideEncryption::from(ServerSideEncryption::AES256.to_owned()),
            key_id: None,
            bucket_key_enabled: None,
        },
        Some(kms) => {
            let settings = store.settings();
            Reported {
                algorithm: ServerSideEncryption::from(kms.algorithm.clone()),
                // Without a key named, S3 uses its managed key for the account.
                key_id: Some(kms.key_id.clone().unwrap_or_else(|| {
                    format!(
                        "arn:aws:kms:{}:{}:alias/aws/s3",
                        settings.region, settings.account_id
                    )
                })),
                bucket_key_enabled: kms.bucket_key_enabled.then_some(true),
            }
        }
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
