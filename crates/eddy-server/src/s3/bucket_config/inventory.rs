//! Inventory configurations (Get/Put/Delete/ListBucketInventoryConfiguration(s)), by
//! id, validated as S3 does (format, frequency, versions). (eddy stores them; it
//! writes no inventory reports.)

use s3s::dto::{
    DeleteBucketInventoryConfigurationInput, DeleteBucketInventoryConfigurationOutput,
    GetBucketInventoryConfigurationInput, GetBucketInventoryConfigurationOutput,
    InventoryConfiguration, ListBucketInventoryConfigurationsInput,
    ListBucketInventoryConfigurationsOutput, PutBucketInventoryConfigurationInput,
    PutBucketInventoryConfigurationOutput,
};
use s3s::dto::{InventoryFormat, InventoryFrequency, InventoryIncludedObjectVersions};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::document::malformed;

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::no_content;
use super::keyed::{self, Keyed};

impl Keyed for InventoryConfiguration {
    const KIND: ConfigKind = ConfigKind::Inventory;
    const ROOT: &'static str = "InventoryConfiguration";
    fn id(&self) -> &str {
        &self.id
    }
    fn validate(&self) -> S3Result<()> {
        let destination = &self.destination.s3_bucket_destination;
        if !matches!(
            destination.format.as_str(),
            InventoryFormat::CSV | InventoryFormat::ORC | InventoryFormat::PARQUET
        ) || !matches!(
            self.schedule.frequency.as_str(),
            InventoryFrequency::DAILY | InventoryFrequency::WEEKLY
        ) || !matches!(
            self.included_object_versions.as_str(),
            InventoryIncludedObjectVersions::ALL | InventoryIncludedObjectVersions::CURRENT
        ) {
            return Err(malformed());
        }
        if !destination.bucket.starts_with("arn:aws:s3:::") {
            return Err(s3_error!(
                InvalidArgument,
                "Invalid bucket ARN: {}",
                destination.bucket
            ));
        }
        Ok(())
    }
}

pub(in crate::s3) async fn get_bucket_inventory_configuration(
    store: &Store,
    req: S3Request<GetBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<GetBucketInventoryConfigurationOutput>> {
    let config =
        keyed::get::<InventoryConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(S3Response::new(GetBucketInventoryConfigurationOutput {
        inventory_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_bucket_inventory_configuration(
    store: &Store,
    req: S3Request<PutBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<PutBucketInventoryConfigurationOutput>> {
    let input = req.input;
    keyed::put(
        store,
        &input.bucket,
        &input.id,
        &input.inventory_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketInventoryConfigurationOutput {}))
}

pub(in crate::s3) async fn delete_bucket_inventory_configuration(
    store: &Store,
    req: S3Request<DeleteBucketInventoryConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketInventoryConfigurationOutput>> {
    keyed::delete::<InventoryConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(no_content(DeleteBucketInventoryConfigurationOutput {}))
}

pub(in crate::s3) async fn list_bucket_inventory_configurations(
    store: &Store,
    req: S3Request<ListBucketInventoryConfigurationsInput>,
) -> S3Result<S3Response<ListBucketInventoryConfigurationsOutput>> {
    let input = req.input;
    let page = keyed::list::<InventoryConfiguration>(
        store,
        &input.bucket,
        input.continuation_token.as_deref(),
    )
    .await?;
    Ok(S3Response::new(ListBucketInventoryConfigurationsOutput {
        is_truncated: Some(page.next.is_some()),
        next_continuation_token: page.next,
        continuation_token: input.continuation_token,
        inventory_configuration_list: (!page.items.is_empty()).then_some(page.items),
    }))
}
