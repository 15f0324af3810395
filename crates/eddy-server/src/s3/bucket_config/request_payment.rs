//! Requester Pays (Get/PutBucketRequestPayment): `BucketOwner` (a new bucket's) or
//! `Requester`. (eddy bills nobody: the setting is stored and returned.)

use s3s::dto::{
    GetBucketRequestPaymentInput, GetBucketRequestPaymentOutput, Payer,
    PutBucketRequestPaymentInput, PutBucketRequestPaymentOutput, RequestPaymentConfiguration,
};
use s3s::{S3Request, S3Response, S3Result};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load, malformed, save};

const ROOT: &str = "RequestPaymentConfiguration";

pub(in crate::s3) async fn get_bucket_request_payment(
    store: &Store,
    req: S3Request<GetBucketRequestPaymentInput>,
) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
    let config: Option<RequestPaymentConfiguration> = load(
        store,
        &req.input.bucket,
        ConfigKind::RequestPayment,
        "",
        ROOT,
    )
    .await?;
    Ok(S3Response::new(GetBucketRequestPaymentOutput {
        payer: Some(
            config.map_or_else(|| Payer::from(Payer::BUCKET_OWNER.to_owned()), |c| c.payer),
        ),
    }))
}

pub(in crate::s3) async fn put_bucket_request_payment(
    store: &Store,
    req: S3Request<PutBucketRequestPaymentInput>,
) -> S3Result<S3Response<PutBucketRequestPaymentOutput>> {
    let input = req.input;
    let config = input.request_payment_configuration;
    if !matches!(
        config.payer.as_str(),
        Payer::BUCKET_OWNER | Payer::REQUESTER
    ) {
        return Err(malformed());
    }
    save(
        store,
        &input.bucket,
        ConfigKind::RequestPayment,
        "",
        ROOT,
        &config,
    )
    .await?;
    Ok(S3Response::new(PutBucketRequestPaymentOutput {}))
}
