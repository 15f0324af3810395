//! Storage Class Analysis configurations (Get/Put/Delete/ListBucketAnalytics
//! Configuration(s)), by id. (eddy stores them; it runs no analysis.)

use s3s::dto::{
    AnalyticsConfiguration, DeleteBucketAnalyticsConfigurationInput,
    DeleteBucketAnalyticsConfigurationOutput, GetBucketAnalyticsConfigurationInput,
    GetBucketAnalyticsConfigurationOutput, ListBucketAnalyticsConfigurationsInput,
    ListBucketAnalyticsConfigurationsOutput, PutBucketAnalyticsConfigurationInput,
    PutBucketAnalyticsConfigurationOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::no_content;
use super::keyed::{self, Keyed};

impl Keyed for AnalyticsConfiguration {
    const KIND: ConfigKind = ConfigKind::Analytics;
    const ROOT: &'static str = "AnalyticsConfiguration";
    fn id(&self) -> &str {
        &self.id
    }
    fn validate(&self) -> S3Result<()> {
        Ok(())
    }
}

pub(in crate::s3) async fn get_bucket_analytics_configuration(
    store: &Store,
    req: S3Request<GetBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<GetBucketAnalyticsConfigurationOutput>> {
    let config =
        keyed::get::<AnalyticsConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(S3Response::new(GetBucketAnalyticsConfigurationOutput {
        analytics_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_bucket_analytics_configuration(
    store: &Store,
    req: S3Request<PutBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<PutBucketAnalyticsConfigurationOutput>> {
    let input = req.input;
    keyed::put(
        store,
        &input.bucket,
        &input.id,
        &input.analytics_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketAnalyticsConfigurationOutput {}))
}

pub(in crate::s3) async fn delete_bucket_analytics_configuration(
    store: &Store,
    req: S3Request<DeleteBucketAnalyticsConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketAnalyticsConfigurationOutput>> {
    keyed::delete::<AnalyticsConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(no_content(DeleteBucketAnalyticsConfigurationOutput {}))
}

pub(in crate::s3) async fn list_bucket_analytics_configurations(
    store: &Store,
    req: S3Request<ListBucketAnalyticsConfigurationsInput>,
) -> S3Result<S3Response<ListBucketAnalyticsConfigurationsOutput>> {
    let input = req.input;
    let page = keyed::list::<AnalyticsConfiguration>(
        store,
        &input.bucket,
        input.continuation_token.as_deref(),
    )
    .await?;
    Ok(S3Response::new(ListBucketAnalyticsConfigurationsOutput {
        is_truncated: Some(page.next.is_some()),
        next_continuation_token: page.next,
        continuation_token: input.continuation_token,
        analytics_configuration_list: (!page.items.is_empty()).then_some(page.items),
    }))
}
