//! S3 Intelligent-Tiering archive configurations (Get/Put/Delete/ListBucket
//! IntelligentTieringConfiguration(s)), by id, with S3's limits on the days of each
//! tier. (eddy stores them; it moves no objects between tiers.)

use s3s::dto::{
    DeleteBucketIntelligentTieringConfigurationInput,
    DeleteBucketIntelligentTieringConfigurationOutput,
    GetBucketIntelligentTieringConfigurationInput, GetBucketIntelligentTieringConfigurationOutput,
    IntelligentTieringConfiguration, ListBucketIntelligentTieringConfigurationsInput,
    ListBucketIntelligentTieringConfigurationsOutput,
    PutBucketIntelligentTieringConfigurationInput, PutBucketIntelligentTieringConfigurationOutput,
};
use s3s::dto::{IntelligentTieringAccessTier, IntelligentTieringStatus};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::document::malformed;

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::no_content;
use super::keyed::{self, Keyed};

impl Keyed for IntelligentTieringConfiguration {
    const KIND: ConfigKind = ConfigKind::IntelligentTiering;
    const ROOT: &'static str = "IntelligentTieringConfiguration";
    fn id(&self) -> &str {
        &self.id
    }
    fn validate(&self) -> S3Result<()> {
        if !matches!(
            self.status.as_str(),
            IntelligentTieringStatus::ENABLED | IntelligentTieringStatus::DISABLED
        ) || self.tierings.is_empty()
        {
            return Err(malformed());
        }
        for tiering in &self.tierings {
            let (least, tier) = match tiering.access_tier.as_str() {
                IntelligentTieringAccessTier::ARCHIVE_ACCESS => (90, "ARCHIVE_ACCESS"),
                IntelligentTieringAccessTier::DEEP_ARCHIVE_ACCESS => (180, "DEEP_ARCHIVE_ACCESS"),
                _ => return Err(malformed()),
            };
            if !(least..=730).contains(&tiering.days) {
                return Err(s3_error!(
                    InvalidArgument,
                    "The days for {} must be between {} and 730",
                    tier,
                    least
                ));
            }
        }
        Ok(())
    }
}

pub(in crate::s3) async fn get_bucket_intelligent_tiering_configuration(
    store: &Store,
    req: S3Request<GetBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<GetBucketIntelligentTieringConfigurationOutput>> {
    let config =
        keyed::get::<IntelligentTieringConfiguration>(store, &req.input.bucket, &req.input.id)
            .await?;
    Ok(S3Response::new(
        GetBucketIntelligentTieringConfigurationOutput {
            intelligent_tiering_configuration: Some(config),
        },
    ))
}

pub(in crate::s3) async fn put_bucket_intelligent_tiering_configuration(
    store: &Store,
    req: S3Request<PutBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<PutBucketIntelligentTieringConfigurationOutput>> {
    let input = req.input;
    keyed::put(
        store,
        &input.bucket,
        &input.id,
        &input.intelligent_tiering_configuration,
    )
    .await?;
    Ok(S3Response::new(
        PutBucketIntelligentTieringConfigurationOutput {},
    ))
}

pub(in crate::s3) async fn delete_bucket_intelligent_tiering_configuration(
    store: &Store,
    req: S3Request<DeleteBucketIntelligentTieringConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketIntelligentTieringConfigurationOutput>> {
    keyed::delete::<IntelligentTieringConfiguration>(store, &req.input.bucket, &req.input.id)
        .await?;
    Ok(no_content(
        DeleteBucketIntelligentTieringConfigurationOutput {},
    ))
}

pub(in crate::s3) async fn list_bucket_intelligent_tiering_configurations(
    store: &Store,
    req: S3Request<ListBucketIntelligentTieringConfigurationsInput>,
) -> S3Result<S3Response<ListBucketIntelligentTieringConfigurationsOutput>> {
    let input = req.input;
    let page = keyed::list::<IntelligentTieringConfiguration>(
        store,
        &input.bucket,
        input.continuation_token.as_deref(),
    )
    .await?;
    Ok(S3Response::new(
        ListBucketIntelligentTieringConfigurationsOutput {
            is_truncated: Some(page.next.is_some()),
            next_continuation_token: page.next,
            continuation_token: input.continuation_token,
            intelligent_tiering_configuration_list: (!page.items.is_empty()).then_some(page.items),
        },
    ))
}
