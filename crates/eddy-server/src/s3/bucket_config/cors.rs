//! CORS (Get/Put/DeleteBucketCors): the rules, validated as S3 validates them, and
//! S3's matching of a cross-origin request against them ([`find_rule`]), which the
//! front uses for preflight (`OPTIONS`) requests and the CORS headers of answers.

use s3s::dto::{
    CORSConfiguration, CORSRule, DeleteBucketCorsInput, DeleteBucketCorsOutput, GetBucketCorsInput,
    GetBucketCorsOutput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load, malformed, no_content, save};

const ROOT: &str = "CORSConfiguration";
/// The most rules a CORS configuration may have.
const MAX_RULES: usize = 100;
/// The methods a rule may allow.
const METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

pub(in crate::s3) async fn get_bucket_cors(
    store: &Store,
    req: S3Request<GetBucketCorsInput>,
) -> S3Result<S3Response<GetBucketCorsOutput>> {
    let config = bucket_cors(store, &req.input.bucket)
        .await?
        .ok_or_else(|| {
            s3_error!(
                NoSuchCORSConfiguration,
                "The CORS configuration does not exist"
            )
        })?;
    Ok(S3Response::new(GetBucketCorsOutput {
        cors_rules: Some(config.cors_rules),
    }))
}

pub(in crate::s3) async fn put_bucket_cors(
    store: &Store,
    req: S3Request<PutBucketCorsInput>,
) -> S3Result<S3Response<PutBucketCorsOutput>> {
    let input = req.input;
    validate(&input.cors_configuration)?;
    save(
        store,
        &input.bucket,
        ConfigKind::Cors,
        "",
        ROOT,
        &input.cors_configuration,
    )
    .await?;
    Ok(S3Response::new(PutBucketCorsOutput {}))
}

pub(in crate::s3) async fn delete_bucket_cors(
    store: &Store,
    req: S3Request<DeleteBucketCorsInput>,
) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
    super::document::remove(store, &req.input.bucket, ConfigKind::Cors, "").await?;
    Ok(no_content(DeleteBucketCorsOutput {}))
}

/// A bucket's CORS configuration (`None`: it has none).
pub(in crate::s3) async fn bucket_cors(
    store: &Store,
    bucket: &str,
) -> S3Result<Option<CORSConfiguration>> {
    load(store, bucket, ConfigKind::Cors, "", ROOT).await
}

fn validate(config: &CORSConfiguration) -> S3Result<()> {
    if config.cors_rules.is_empty() {
        return Err(malformed());
    }
    if config.cors_rules.len() > MAX_RULES {
        return Err(s3_error!(
            InvalidRequest,
            "The number of CORS rules should not exceed allowed limit of 100 rules."
        ));
    }
    for rule in &config.cors_rules {
        if rule.allowed_methods.is_empty() || rule.allowed_origins.is_empty() {
            return Err(malformed());
        }
        if rule.id.as_ref().is_some_and(|id| id.len() > 255) {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
        for method in &rule.allowed_methods {
            if !METHODS.contains(&method.as_str()) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Found unsupported HTTP method in CORS config. Unsupported method is {}",
                    method
                ));
            }
        }
        for origin in &rule.allowed_origins {
            if origin.matches('*').count() > 1 {
                return Err(s3_error!(
                    InvalidRequest,
                    "AllowedOrigin \"{}\" can not have more than one wildcard.",
                    origin
                ));
            }
        }
        for header in rule.allowed_headers.iter().flatten() {
            if header.matches('*').count() > 1 {
                return Err(s3_error!(
                    InvalidRequest,
                    "AllowedHeader \"{}\" can not have more than one wildcard.",
                    header
                ));
            }
        }
        if rule.max_age_seconds.is_some_and(|age| age < 0) {
            return Err(malformed());
        }
    }
    Ok(())
}

/// The first rule that allows a request from `origin` with `method` and the request
/// headers `headers` (lower-case names), as S3 matches: the origin against each
/// allowed origin (one `*` wildcard), the method exactly, and every header against the
/// allowed headers (case-insensitive, one `*` wildcard).
pub(in crate::s3) fn find_rule<'c>(
    config: &'c CORSConfiguration,
    origin: &str,
    method: &str,
    headers: &[String],
) -> Option<&'c CORSRule> {
    config.cors_rules.iter().find(|rule| {
        rule.allowed_origins
            .iter()
            .any(|allowed| wildcard_match(allowed, origin))
            && rule.allowed_methods.iter().any(|m| m.as_str() == method)
            && headers.iter().all(|header| {
                rule.allowed_headers.iter().flatten().any(|allowed| {
                    wildcard_match(&allowed.to_ascii_lowercase(), &header.to_ascii_lowercase())
                })
            })
    })
}

/// Whether `value` matches `pattern`, where one `*` in the pattern stands for any run
/// of characters.
fn wildcard_match(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => {
            value.len() >= head.len() + tail.len()
                && value.starts_with(head)
                && value.ends_with(tail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_run() {
        assert!(wildcard_match("*", "http://a.example"));
        assert!(wildcard_match("http://*.example", "http://a.example"));
        assert!(!wildcard_match("http://*.example", "https://a.example"));
        assert!(!wildcard_match("http://a*a", "http://a"));
        assert!(wildcard_match("x-amz-*", "x-amz-date"));
        assert!(!wildcard_match("x-amz-date", "x-amz-meta"));
    }
}
