//! The bucket family: CreateBucket, DeleteBucket, HeadBucket, ListBuckets and
//! GetBucketLocation, and S3's bucket name rules. A new bucket's first
//! configurations (from CreateBucket's headers) come from `bucket_config`; it lives in
//! the region of its `LocationConstraint` (`regions`), with the tags of its `Tags`.

use s3s::dto::{
    Bucket, BucketCannedACL, BucketLocationConstraint, CreateBucketInput, CreateBucketOutput,
    DeleteBucketInput, DeleteBucketOutput, GetBucketLocationInput, GetBucketLocationOutput,
    HeadBucketInput, HeadBucketOutput, ListBucketsInput, ListBucketsOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{ConfigKind, NewBucket, S3Error};

use super::authz::acl::AclRequest;
use super::bucket_config;
use super::convert::{decode_token, encode_token, owner, timestamp};
use super::errors::to_wire;
use super::regions::{US_EAST_1, constraint_region};
use super::tags::{CreationTags, MAX_BUCKET_TAGS, check_tags};

pub(super) async fn create_bucket(
    store: &Store,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let bucket = &req.input.bucket;
    if !valid_bucket_name(bucket) {
        return Err(s3_error!(
            InvalidBucketName,
            "The specified bucket is not valid."
        ));
    }
    let home = store.settings().region.as_str();
    // A request signed for no region (anonymous) is refused by access control.
    let endpoint = req.region.as_ref().map_or(US_EAST_1, |r| r.as_str());
    let constraint = req
        .input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(BucketLocationConstraint::as_str)
        .filter(|c| !c.is_empty());
    let region = bucket_region(constraint, endpoint, home)?.to_owned();
    let mut new = new_bucket(store, &req.input)?;
    new.region = Some(region.clone());
    if let Some(alias) = constraint.filter(|c| *c != region) {
        new.configs
            .push((ConfigKind::LocationAlias, alias.to_owned()));
    }
    if let Some(CreationTags(set)) = req.extensions.get::<CreationTags>() {
        new.tags = Some(check_tags(
            set.iter().map(|t| {
                (
                    t.key.clone().unwrap_or_default(),
                    t.value.clone().unwrap_or_default(),
                )
            }),
            MAX_BUCKET_TAGS,
        )?);
    }
    match store.buckets().create_with(bucket, new).await {
        Ok(()) => {}
        // us-east-1 answers a repeated CreateBucket by its owner with 200 OK; every
        // other region with 409 BucketAlreadyOwnedByYou.
        Err(S3Error::BucketAlreadyOwnedByYou)
            if region == US_EAST_1
                && store
                    .buckets()
                    .region(bucket)
                    .await
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(US_EAST_1) => {}
        Err(error) => return Err(to_wire(error)),
    }
    // Outside us-east-1, S3 answers with the bucket's virtual-hosted URL.
    let location = if region == US_EAST_1 {
        format!("/{bucket}")
    } else {
        let port = req
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit_once(':'))
            .map(|(_, port)| format!(":{port}"))
            .unwrap_or_default();
        format!("http://{bucket}.s3.localhost{port}/")
    };
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(location),
    }))
}

/// The region of a new bucket: its `LocationConstraint`'s, for a request sent to
/// `endpoint` (the region it is signed for). us-east-1 (S3's global endpoint) creates
/// buckets of every region and its own when the constraint is left out; every other
/// region only its own, which the constraint must name.
fn bucket_region<'a>(
    constraint: Option<&'a str>,
    endpoint: &'a str,
    home: &str,
) -> S3Result<&'a str> {
    let Some(constraint) = constraint else {
        if endpoint == US_EAST_1 {
            return Ok(US_EAST_1);
        }
        return Err(s3_error!(
            IllegalLocationConstraintException,
            "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
        ));
    };
    let named = constraint_region(constraint, home);
    match named {
        Some(region) if endpoint == US_EAST_1 || region == endpoint => Ok(region),
        None if constraint != US_EAST_1 || endpoint == US_EAST_1 => Err(s3_error!(
            InvalidLocationConstraint,
            "The specified location-constraint is not valid"
        )),
        _ => Err(s3_error!(
            IllegalLocationConstraintException,
            "The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to."
        )),
    }
}

/// The configurations CreateBucket's headers give a new bucket: its Object Ownership,
/// its ACL, and Object Lock (which turns versioning on).
fn new_bucket(store: &Store, input: &CreateBucketInput) -> S3Result<NewBucket> {
    let mut new = NewBucket::default();
    if let Some(ownership) = &input.object_ownership {
        new.configs.push((
            ConfigKind::Ownership,
            bucket_config::ownership::creation_document(ownership)?,
        ));
    }
    let acl = AclRequest {
        canned: input.acl.as_ref().map(BucketCannedACL::as_str),
        full_control: input.grant_full_control.as_deref(),
        read: input.grant_read.as_deref(),
        read_acp: input.grant_read_acp.as_deref(),
        write: input.grant_write.as_deref(),
        write_acp: input.grant_write_acp.as_deref(),
        policy: None,
    };
    if let Some(document) = bucket_config::acl::creation_document(store, input, &acl)? {
        new.configs.push((ConfigKind::Acl, document));
    }
    if input.object_lock_enabled_for_bucket == Some(true) {
        new.versioning_enabled = true;
        new.configs.push((
            ConfigKind::ObjectLock,
            bucket_config::object_lock::creation_document()?,
        ));
    }
    Ok(new)
}

pub(super) async fn delete_bucket(
    store: &Store,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    store
        .buckets()
        .delete(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(DeleteBucketOutput {}))
}

pub(super) async fn head_bucket(
    store: &Store,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let bucket = store
        .buckets()
        .get(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(bucket.region),
        ..Default::default()
    }))
}

pub(super) async fn list_buckets(
    store: &Store,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let input = req.input;
    let max = input.max_buckets.unwrap_or(10_000).clamp(1, 10_000) as usize;
    let after = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut matching: Vec<_> = store
        .buckets()
        .list()
        .await
        .map_err(to_wire)?
        .into_iter()
        .filter(|b| b.name.starts_with(&prefix))
        .filter(|b| after.as_ref().is_none_or(|a| b.name > *a))
        .filter(|b| input.bucket_region.as_ref().is_none_or(|r| *r == b.region))
        .collect();
    let truncated = matching.len() > max;
    matching.truncate(max);
    let next = truncated
        .then(|| matching.last().map(|b| encode_token(&b.name)))
        .flatten();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(
            matching
                .into_iter()
                .map(|b| Bucket {
                    name: Some(b.name),
                    creation_date: Some(timestamp(b.created_ms)),
                    bucket_region: Some(b.region),
                })
                .collect(),
        ),
        owner: Some(owner(store)),
        prefix: input.prefix,
        continuation_token: next,
    }))
}

pub(super) async fn get_bucket_location(
    store: &Store,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let bucket = store
        .buckets()
        .get(&req.input.bucket)
        .await
        .map_err(to_wire)?;
    // A bucket created as `EU` answers `EU`, as on S3.
    let alias = store
        .bucket_configs()
        .get(&bucket.name, ConfigKind::LocationAlias, "")
        .await
        .map_err(to_wire)?
        .document();
    // us-east-1 answers with an empty LocationConstraint.
    let constraint = alias
        .or_else(|| (bucket.region != "us-east-1").then_some(bucket.region))
        .map(BucketLocationConstraint::from);
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint: constraint,
    }))
}

/// S3's rules for the name of a new bucket.
pub(super) fn valid_bucket_name(name: &str) -> bool {
    let len_ok = (3..=63).contains(&name.len());
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let not_ip = name.parse::<std::net::Ipv4Addr>().is_err();
    len_ok && chars_ok && ends_ok && not_ip && !name.contains("..") && !name.starts_with("xn--")
}

#[cfg(test)]
mod tests {
    use super::valid_bucket_name;

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("source"));
        assert!(valid_bucket_name("my.bucket-1"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("Upper"));
        assert!(!valid_bucket_name("_eddy"));
        assert!(!valid_bucket_name("192.168.1.1"));
        assert!(!valid_bucket_name("a..b"));
    }
}
