//! Static website hosting (Get/Put/DeleteBucketWebsite): an index document (with an
//! optional error document and routing rules) or a redirect of every request. A new
//! bucket answers `NoSuchWebsiteConfiguration`. (eddy stores the configuration; it has
//! no website endpoint that serves it.)

use s3s::dto::{
    DeleteBucketWebsiteInput, DeleteBucketWebsiteOutput, GetBucketWebsiteInput,
    GetBucketWebsiteOutput, PutBucketWebsiteInput, PutBucketWebsiteOutput, WebsiteConfiguration,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load, no_content, remove, save};

const ROOT: &str = "WebsiteConfiguration";
const MAX_ROUTING_RULES: usize = 50;

pub(in crate::s3) async fn get_bucket_website(
    store: &Store,
    req: S3Request<GetBucketWebsiteInput>,
) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
    let config: WebsiteConfiguration =
        load(store, &req.input.bucket, ConfigKind::Website, "", ROOT)
            .await?
            .ok_or_else(|| {
                s3_error!(
                    NoSuchWebsiteConfiguration,
                    "The specified bucket does not have a website configuration"
                )
            })?;
    Ok(S3Response::new(GetBucketWebsiteOutput {
        error_document: config.error_document,
        index_document: config.index_document,
        redirect_all_requests_to: config.redirect_all_requests_to,
        routing_rules: config.routing_rules,
    }))
}

pub(in crate::s3) async fn put_bucket_website(
    store: &Store,
    req: S3Request<PutBucketWebsiteInput>,
) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
    let input = req.input;
    validate(&input.website_configuration)?;
    save(
        store,
        &input.bucket,
        ConfigKind::Website,
        "",
        ROOT,
        &input.website_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketWebsiteOutput {}))
}

pub(in crate::s3) async fn delete_bucket_website(
    store: &Store,
    req: S3Request<DeleteBucketWebsiteInput>,
) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Website, "").await?;
    Ok(no_content(DeleteBucketWebsiteOutput {}))
}

fn validate(config: &WebsiteConfiguration) -> S3Result<()> {
    if let Some(redirect) = &config.redirect_all_requests_to {
        if config.index_document.is_some()
            || config.error_document.is_some()
            || config.routing_rules.is_some()
        {
            return Err(s3_error!(
                InvalidArgument,
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules."
            ));
        }
        if redirect.host_name.is_empty() {
            return Err(s3_error!(
                InvalidArgument,
                "The RedirectAllRequestsTo HostName is not well-formed"
            ));
        }
        return Ok(());
    }
    let Some(index) = &config.index_document else {
        return Err(s3_error!(
            InvalidArgument,
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty"
        ));
    };
    if index.suffix.is_empty() || index.suffix.contains('/') {
        return Err(s3_error!(
            InvalidArgument,
            "The IndexDocument Suffix is not well formed"
        ));
    }
    if config
        .error_document
        .as_ref()
        .is_some_and(|e| e.key.is_empty())
    {
        return Err(s3_error!(
            InvalidArgument,
            "The ErrorDocument Key is not well formed"
        ));
    }
    if let Some(rules) = &config.routing_rules {
        if rules.len() > MAX_ROUTING_RULES {
            return Err(s3_error!(
                InvalidArgument,
                "The number of routing rules must not exceed 50"
            ));
        }
        for rule in rules {
            let redirect = &rule.redirect;
            if redirect.replace_key_prefix_with.is_some() && redirect.replace_key_with.is_some() {
                return Err(s3_error!(
                    InvalidArgument,
                    "You can only define ReplaceKeyPrefix or ReplaceKey but not both."
                ));
            }
        }
    }
    Ok(())
}
