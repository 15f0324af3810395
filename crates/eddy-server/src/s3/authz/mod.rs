//! Access of unsigned (anonymous) requests, decided as S3 decides it: the bucket
//! policy (`policy`; an explicit Deny wins), then the ACL grants to everyone (`acl`,
//! only while the bucket's ownership enables ACLs), under the bucket's Block Public
//! Access settings (`RestrictPublicBuckets` shuts a bucket with a public policy to
//! anonymous requests, `IgnorePublicAcls` ignores public grants). Signed requests are
//! not decided here: they are the account's, which may do everything.

pub(in crate::s3) mod acl;
mod actions;
pub(in crate::s3) mod policy;

use s3s::{S3Error as WireError, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{AclGrant, Config, ConfigKind, ObjectMeta, S3Error};

use self::actions::{AclNeed, Need};
use self::policy::{PolicyDocument, Verdict};
use super::bucket_config::acl::bucket_grants;
use super::bucket_config::ownership::acls_enabled;
use super::bucket_config::public_access::bucket_public_access;
use super::errors::to_wire;

/// What an unsigned request names: a bucket, and maybe an object (and its version).
#[derive(Debug, Clone, Copy)]
pub(in crate::s3) struct Target<'a> {
    pub bucket: &'a str,
    pub key: Option<&'a str>,
    pub version_id: Option<&'a str>,
}

/// The keys of an unsigned DeleteObjects its requester may not delete, by their place
/// in the request: each is answered `AccessDenied` in the result, as on S3.
#[derive(Debug, Clone, Default)]
pub(in crate::s3) struct DeniedKeys(pub std::collections::BTreeSet<usize>);

/// S3's answer to an unsigned request it does not allow.
pub(in crate::s3) fn access_denied() -> WireError {
    s3_error!(AccessDenied, "Access Denied")
}

/// Allows an unsigned request for `operation` on `target` (an existing bucket) when
/// the bucket's policy or ACLs allow it; otherwise `AccessDenied`.
pub(in crate::s3) async fn authorize_anonymous(
    store: &Store,
    operation: &str,
    target: Target<'_>,
) -> S3Result<()> {
    let need = actions::need(operation, target.version_id.is_some()).ok_or_else(access_denied)?;
    let rules = BucketRules::load(store, target.bucket).await?;
    rules.authorize(store, &need, target).await
}

/// What decides the unsigned requests of one bucket.
struct BucketRules {
    bucket: String,
    policy: Option<PolicyDocument>,
    /// `RestrictPublicBuckets` with a public policy: no anonymous access at all.
    restricted: bool,
    /// Whether ACL grants count (ACLs enabled and `IgnorePublicAcls` off).
    acls_count: bool,
    bucket_grants: Vec<AclGrant>,
}

impl BucketRules {
    async fn load(store: &Store, bucket: &str) -> S3Result<Self> {
        let policy = match store
            .bucket_configs()
            .get(bucket, ConfigKind::Policy, "")
            .await
            .map_err(to_wire)?
        {
            Config::Set(document) => PolicyDocument::parse(&document, bucket).ok(),
            Config::Unset | Config::Removed => None,
        };
        let block = bucket_public_access(store, bucket)
            .await?
            .unwrap_or_default();
        let restricted = block.restrict_public_buckets == Some(true)
            && policy.as_ref().is_some_and(PolicyDocument::is_public);
        let acls_count =
            block.ignore_public_acls != Some(true) && acls_enabled(store, bucket).await?;
        let bucket_grants = if acls_count {
            bucket_grants(store, bucket).await?
        } else {
            Vec::new()
        };
        Ok(Self {
            bucket: bucket.to_owned(),
            policy,
            restricted,
            acls_count,
            bucket_grants,
        })
    }

    fn policy_verdict(&self, action: &str, resource: &str) -> Verdict {
        self.policy
            .as_ref()
            .map_or(Verdict::Silent, |p| p.evaluate_anonymous(action, resource))
    }

    async fn authorize(&self, store: &Store, need: &Need, target: Target<'_>) -> S3Result<()> {
        if self.restricted {
            return Err(access_denied());
        }
        let resource = match target.key {
            Some(key) => format!("arn:aws:s3:::{}/{key}", self.bucket),
            None => format!("arn:aws:s3:::{}", self.bucket),
        };
        let verdict = self.policy_verdict(&need.action, &resource);
        if verdict == Verdict::Deny {
            return Err(access_denied());
        }
        let object_acl = matches!(need.acl, Some(AclNeed::Object(_)));
        let object = match target.key {
            Some(key) if need.reads_object || (object_acl && verdict != Verdict::Allow) => {
                find_version(store, target.bucket, key, target.version_id).await?
            }
            _ => None,
        };
        let granted = verdict == Verdict::Allow
            || match need.acl {
                Some(AclNeed::Bucket(wanted)) => {
                    self.acls_count && acl::everyone_has(&self.bucket_grants, wanted)
                }
                Some(AclNeed::Object(wanted)) => {
                    self.acls_count
                        && object
                            .as_ref()
                            .and_then(|meta| meta.attrs.acl.as_deref())
                            .is_some_and(|grants| acl::everyone_has(grants, wanted))
                }
                None => false,
            };
        let missing = need.reads_object && object.is_none();
        // A read of a missing object: 404 (from the operation) for a requester who may
        // list the bucket, 403 for anyone else, as on S3.
        if missing {
            return if self.may_list() {
                Ok(())
            } else {
                Err(access_denied())
            };
        }
        if granted {
            Ok(())
        } else {
            Err(access_denied())
        }
    }

    /// Whether anyone may list the bucket (then a missing key is 404, not 403).
    fn may_list(&self) -> bool {
        let resource = format!("arn:aws:s3:::{}", self.bucket);
        self.policy_verdict("s3:ListBucket", &resource) == Verdict::Allow
            || (self.acls_count
                && acl::everyone_has(&self.bucket_grants, eddy_store::s3::AclPermission::Read))
    }
}

/// The version a request names, or `None` when there is none.
async fn find_version(
    store: &Store,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<Option<ObjectMeta>> {
    match store.objects().get_version(bucket, key, version_id).await {
        Ok(meta) => Ok(Some(meta)),
        Err(S3Error::NoSuchKey | S3Error::NoSuchVersion) => Ok(None),
        Err(error) => Err(to_wire(error)),
    }
}
