//! The bucket policy (Get/Put/DeleteBucketPolicy, GetBucketPolicyStatus): a JSON
//! policy document, checked for S3's required shape (statements with an effect, an
//! action, a principal, and resources of this bucket), refused when it would make
//! the bucket public while Block Public Access blocks public policies, and returned as
//! it was given. eddy stores the policy; it does not evaluate it (every request to
//! eddy is signed by its one account).

use std::collections::BTreeMap;

use s3s::dto::{
    DeleteBucketPolicyInput, DeleteBucketPolicyOutput, GetBucketPolicyInput, GetBucketPolicyOutput,
    GetBucketPolicyStatusInput, GetBucketPolicyStatusOutput, PolicyStatus, PutBucketPolicyInput,
    PutBucketPolicyOutput,
};
use s3s::{S3Error as WireError, S3Request, S3Response, S3Result, s3_error};
use serde::Deserialize;

use eddy_store::Store;
use eddy_store::s3::ConfigKind;

use super::document::{load_config, no_content, remove};
use super::public_access::bucket_public_access;
use crate::s3::errors::to_wire;

/// The largest bucket policy S3 takes.
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A policy document, as far as S3 checks it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    statement: Option<OneOrMany<Statement>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    #[serde(default)]
    effect: Option<String>,
    #[serde(default)]
    principal: Option<Principal>,
    #[serde(default)]
    not_principal: Option<Principal>,
    #[serde(default)]
    action: Option<OneOrMany<String>>,
    #[serde(default)]
    not_action: Option<OneOrMany<String>>,
    #[serde(default)]
    resource: Option<OneOrMany<String>>,
    #[serde(default)]
    not_resource: Option<OneOrMany<String>>,
    #[serde(default)]
    condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<ConditionValue>>>>,
}

/// A value a condition compares with: IAM takes strings, and booleans and numbers
/// written bare.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "read to check the policy's shape; eddy does not evaluate it"
)]
enum ConditionValue {
    Text(String),
    Flag(bool),
    Number(f64),
}

/// A principal: `"*"` or a map of kinds (`AWS`, `Service`, ...) to ids.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Principal {
    Anyone(String),
    Ids(BTreeMap<String, OneOrMany<String>>),
}

/// IAM's "a value or a list of values".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn items(&self) -> &[T] {
        match self {
            Self::One(item) => std::slice::from_ref(item),
            Self::Many(items) => items,
        }
    }
}

pub(in crate::s3) async fn get_bucket_policy(
    store: &Store,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let policy = load_config(store, &req.input.bucket, ConfigKind::Policy, "")
        .await?
        .document()
        .ok_or_else(no_policy)?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}

pub(in crate::s3) async fn put_bucket_policy(
    store: &Store,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let input = req.input;
    let document = parse(&input.policy, &input.bucket)?;
    let block = bucket_public_access(store, &input.bucket).await?;
    if block.is_some_and(|b| b.block_public_policy == Some(true)) && is_public(&document) {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    store
        .bucket_configs()
        .put(&input.bucket, ConfigKind::Policy, "", input.policy)
        .await
        .map_err(to_wire)?;
    Ok(no_content(PutBucketPolicyOutput {}))
}

pub(in crate::s3) async fn delete_bucket_policy(
    store: &Store,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    remove(store, &req.input.bucket, ConfigKind::Policy, "").await?;
    Ok(no_content(DeleteBucketPolicyOutput {}))
}

pub(in crate::s3) async fn get_bucket_policy_status(
    store: &Store,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let bucket = &req.input.bucket;
    let policy = load_config(store, bucket, ConfigKind::Policy, "")
        .await?
        .document()
        .ok_or_else(no_policy)?;
    let document = parse(&policy, bucket)?;
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(is_public(&document)),
        }),
    }))
}

fn no_policy() -> WireError {
    s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")
}

fn malformed_policy(message: &str) -> WireError {
    WireError::with_message(s3s::S3ErrorCode::MalformedPolicy, message.to_owned())
}

/// The policy, checked as S3 checks a bucket policy.
fn parse(policy: &str, bucket: &str) -> S3Result<PolicyDocument> {
    if policy.len() > MAX_POLICY_BYTES {
        return Err(malformed_policy("Policies must be less than 20 KB"));
    }
    if !policy.trim_start().starts_with('{') {
        return Err(malformed_policy(
            "Policies must be valid JSON and the first byte must be '{'",
        ));
    }
    let document: PolicyDocument = serde_json::from_str(policy)
        .map_err(|_| malformed_policy("This policy contains invalid Json"))?;
    if let Some(version) = &document.version
        && version != "2012-10-17"
        && version != "2008-10-17"
    {
        return Err(malformed_policy("Invalid policy document version"));
    }
    let statements = document
        .statement
        .as_ref()
        .map(OneOrMany::items)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed_policy("Missing required field Statement"))?;
    for statement in statements {
        match statement.effect.as_deref() {
            Some("Allow" | "Deny") => {}
            Some(_) => return Err(malformed_policy("Invalid effect")),
            None => return Err(malformed_policy("Missing required field Effect")),
        }
        if statement.principal.is_none() && statement.not_principal.is_none() {
            return Err(malformed_policy("Missing required field Principal"));
        }
        let actions = statement
            .action
            .as_ref()
            .or(statement.not_action.as_ref())
            .ok_or_else(|| malformed_policy("Missing required field Action"))?;
        if actions
            .items()
            .iter()
            .any(|a| !(a == "*" || a.to_ascii_lowercase().starts_with("s3:")))
        {
            return Err(malformed_policy("Policy has invalid action"));
        }
        let resources = statement
            .resource
            .as_ref()
            .or(statement.not_resource.as_ref())
            .ok_or_else(|| malformed_policy("Missing required field Resource"))?;
        if !resources.items().iter().all(|r| names_bucket(r, bucket)) {
            return Err(malformed_policy("Policy has invalid resource"));
        }
    }
    Ok(document)
}

/// Whether a policy resource can name `bucket` or its objects: `*`, or an S3 ARN whose
/// bucket part (before the first `/`) matches the bucket, with IAM's `*` and `?`.
fn names_bucket(resource: &str, bucket: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let Some(path) = resource.strip_prefix("arn:aws:s3:::") else {
        return false;
    };
    let bucket_part = path.split('/').next().unwrap_or_default();
    glob_match(bucket_part.as_bytes(), bucket.as_bytes())
}

/// IAM's wildcard match: `*` any run of characters, `?` any one. (One row of matches
/// per pattern byte: linear in the pattern whatever its stars.)
fn glob_match(pattern: &[u8], value: &[u8]) -> bool {
    // matched[j]: the pattern so far matches value[..j].
    let mut matched = vec![false; value.len() + 1];
    matched[0] = true;
    for &p in pattern {
        let mut next = vec![false; value.len() + 1];
        for j in 0..=value.len() {
            next[j] = match p {
                b'*' => matched[j] || (j > 0 && next[j - 1]),
                b'?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && value[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[value.len()]
}

/// Whether a policy grants access to anyone: an `Allow` to the principal `*` without
/// a condition (S3's test for "public", simplified to its common case).
fn is_public(document: &PolicyDocument) -> bool {
    document
        .statement
        .as_ref()
        .map(OneOrMany::items)
        .unwrap_or_default()
        .iter()
        .any(|s| {
            s.effect.as_deref() == Some("Allow")
                && s.condition.as_ref().is_none_or(BTreeMap::is_empty)
                && s.principal.as_ref().is_some_and(is_everyone)
        })
}

fn is_everyone(principal: &Principal) -> bool {
    match principal {
        Principal::Anyone(s) => s == "*",
        Principal::Ids(ids) => ids
            .get("AWS")
            .is_some_and(|aws| aws.items().iter().any(|id| id == "*")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_the_bucket_with_wildcards() {
        assert!(names_bucket("arn:aws:s3:::b1", "b1"));
        assert!(names_bucket("arn:aws:s3:::b1/*", "b1"));
        assert!(names_bucket("arn:aws:s3:::*/*", "b1"));
        assert!(names_bucket("arn:aws:s3:::b?", "b1"));
        assert!(names_bucket("*", "b1"));
        assert!(!names_bucket("arn:aws:s3:::b2/*", "b1"));
        assert!(!names_bucket("arn:aws:s3:::b1x", "b1"));
        assert!(!names_bucket("arn:aws:sqs:::b1", "b1"));
    }
}
