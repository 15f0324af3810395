//! CloudWatch request metrics configurations (Get/Put/Delete/ListBucketMetrics
//! Configuration(s)), by id. (eddy stores them; its own metrics are on /metrics.)

use s3s::dto::{
    DeleteBucketMetricsConfigurationInput, DeleteBucketMetricsConfigurationOutput,
    GetBucketMetricsConfigurationInput, GetBucketMetricsConfigurationOutput,
    ListBucketMetricsConfigurationsInput, ListBucketMetricsConfigurationsOutput,
    MetricsConfiguration, PutBucketMetricsConfigurationInput, PutBucketMetricsConfigurationOutput,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::no_content;
use super::keyed::{self, Keyed};

impl Keyed for MetricsConfiguration {
    const KIND: ConfigKind = ConfigKind::Metrics;
    const ROOT: &'static str = "MetricsConfiguration";
    fn id(&self) -> &str {
        &self.id
    }
    fn validate(&self) -> S3Result<()> {
        Ok(())
    }
}

pub(in crate::s3) async fn get_bucket_metrics_configuration(
    store: &Store,
    req: S3Request<GetBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<GetBucketMetricsConfigurationOutput>> {
    let config =
        keyed::get::<MetricsConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(S3Response::new(GetBucketMetricsConfigurationOutput {
        metrics_configuration: Some(config),
    }))
}

pub(in crate::s3) async fn put_bucket_metrics_configuration(
    store: &Store,
    req: S3Request<PutBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<PutBucketMetricsConfigurationOutput>> {
    let input = req.input;
    keyed::put(
        store,
        &input.bucket,
        &input.id,
        &input.metrics_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketMetricsConfigurationOutput {}))
}

pub(in crate::s3) async fn delete_bucket_metrics_configuration(
    store: &Store,
    req: S3Request<DeleteBucketMetricsConfigurationInput>,
) -> S3Result<S3Response<DeleteBucketMetricsConfigurationOutput>> {
    keyed::delete::<MetricsConfiguration>(store, &req.input.bucket, &req.input.id).await?;
    Ok(no_content(DeleteBucketMetricsConfigurationOutput {}))
}

pub(in crate::s3) async fn list_bucket_metrics_configurations(
    store: &Store,
    req: S3Request<ListBucketMetricsConfigurationsInput>,
) -> S3Result<S3Response<ListBucketMetricsConfigurationsOutput>> {
    let input = req.input;
    let page = keyed::list::<MetricsConfiguration>(
        store,
        &input.bucket,
        input.continuation_token.as_deref(),
    )
    .await?;
    Ok(S3Response::new(ListBucketMetricsConfigurationsOutput {
        is_truncated: Some(page.next.is_some()),
        next_continuation_token: page.next,
        continuation_token: input.continuation_token,
        metrics_configuration_list: (!page.items.is_empty()).then_some(page.items),
    }))
}
