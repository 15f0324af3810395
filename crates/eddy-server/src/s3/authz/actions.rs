//! What an S3 operation needs when it comes unsigned: the IAM action a bucket policy
//! names it by (`s3:GetObject`, or `s3:GetObjectVersion` for a version), and the ACL
//! permission that grants it instead (READ on the bucket lists it, READ on an object
//! reads it, WRITE on the bucket writes and deletes its objects, ...).

use eddy_store::s3::AclPermission;

/// Where the ACL permission that grants an operation must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AclNeed {
    Bucket(AclPermission),
    Object(AclPermission),
}

/// What an unsigned request for one operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Need {
    /// The IAM action (`s3:...`).
    pub action: String,
    /// The ACL permission that also grants it.
    pub acl: Option<AclNeed>,
    /// Whether it reads an object (S3 answers a missing key 403, not 404, to a
    /// requester who may not list the bucket).
    pub reads_object: bool,
}

/// The needs of object operations: (operation, action, action on a version id, ACL).
const OBJECT_OPERATIONS: &[(&str, &str, &str, Option<AclNeed>)] = {
    use AclNeed::{Bucket, Object};
    use AclPermission::{Read, ReadAcp, Write, WriteAcp};
    &[
        (
            "GetObject",
            "s3:GetObject",
            "s3:GetObjectVersion",
            Some(Object(Read)),
        ),
        (
            "HeadObject",
            "s3:GetObject",
            "s3:GetObjectVersion",
            Some(Object(Read)),
        ),
        (
            "GetObjectAttributes",
            "s3:GetObjectAttributes",
            "s3:GetObjectVersionAttributes",
            Some(Object(Read)),
        ),
        (
            "GetObjectAcl",
            "s3:GetObjectAcl",
            "s3:GetObjectVersionAcl",
            Some(Object(ReadAcp)),
        ),
        (
            "PutObjectAcl",
            "s3:PutObjectAcl",
            "s3:PutObjectVersionAcl",
            Some(Object(WriteAcp)),
        ),
        (
            "GetObjectTagging",
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
            None,
        ),
        (
            "PutObjectTagging",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            None,
        ),
        (
            "DeleteObjectTagging",
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
            None,
        ),
        (
            "PutObject",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "CopyObject",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "CreateMultipartUpload",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "UploadPart",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "UploadPartCopy",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "CompleteMultipartUpload",
            "s3:PutObject",
            "s3:PutObject",
            Some(Bucket(Write)),
        ),
        (
            "AbortMultipartUpload",
            "s3:AbortMultipartUpload",
            "s3:AbortMultipartUpload",
            Some(Bucket(Write)),
        ),
        (
            "ListParts",
            "s3:ListMultipartUploadParts",
            "s3:ListMultipartUploadParts",
            None,
        ),
        (
            "DeleteObject",
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            Some(Bucket(Write)),
        ),
        (
            "RestoreObject",
            "s3:RestoreObject",
            "s3:RestoreObject",
            None,
        ),
        (
            "GetObjectRetention",
            "s3:GetObjectRetention",
            "s3:GetObjectRetention",
            None,
        ),
        (
            "PutObjectRetention",
            "s3:PutObjectRetention",
            "s3:PutObjectRetention",
            None,
        ),
        (
            "GetObjectLegalHold",
            "s3:GetObjectLegalHold",
            "s3:GetObjectLegalHold",
            None,
        ),
        (
            "PutObjectLegalHold",
            "s3:PutObjectLegalHold",
            "s3:PutObjectLegalHold",
            None,
        ),
    ]
};

/// Bucket operations whose IAM action is not `s3:` and the operation's name, and
/// those an ACL grants.
const BUCKET_OPERATIONS: &[(&str, &str, Option<AclPermission>)] = {
    use AclPermission::{Read, ReadAcp, WriteAcp};
    &[
        ("ListObjects", "s3:ListBucket", Some(Read)),
        ("ListObjectsV2", "s3:ListBucket", Some(Read)),
        ("HeadBucket", "s3:ListBucket", Some(Read)),
        ("ListObjectVersions", "s3:ListBucketVersions", Some(Read)),
        (
            "ListMultipartUploads",
            "s3:ListBucketMultipartUploads",
            Some(Read),
        ),
        ("GetBucketAcl", "s3:GetBucketAcl", Some(ReadAcp)),
        ("PutBucketAcl", "s3:PutBucketAcl", Some(WriteAcp)),
        ("GetBucketCors", "s3:GetBucketCORS", None),
        ("PutBucketCors", "s3:PutBucketCORS", None),
        ("DeleteBucketCors", "s3:PutBucketCORS", None),
        (
            "GetBucketLifecycleConfiguration",
            "s3:GetLifecycleConfiguration",
            None,
        ),
        (
            "PutBucketLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
            None,
        ),
        (
            "DeleteBucketLifecycle",
            "s3:PutLifecycleConfiguration",
            None,
        ),
        ("GetBucketEncryption", "s3:GetEncryptionConfiguration", None),
        ("PutBucketEncryption", "s3:PutEncryptionConfiguration", None),
        (
            "DeleteBucketEncryption",
            "s3:PutEncryptionConfiguration",
            None,
        ),
        (
            "GetPublicAccessBlock",
            "s3:GetBucketPublicAccessBlock",
            None,
        ),
        (
            "PutPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            None,
        ),
        (
            "DeletePublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            None,
        ),
        (
            "GetBucketNotificationConfiguration",
            "s3:GetBucketNotification",
            None,
        ),
        (
            "PutBucketNotificationConfiguration",
            "s3:PutBucketNotification",
            None,
        ),
        (
            "DeleteBucketOwnershipControls",
            "s3:PutBucketOwnershipControls",
            None,
        ),
        (
            "GetBucketAccelerateConfiguration",
            "s3:GetAccelerateConfiguration",
            None,
        ),
        (
            "PutBucketAccelerateConfiguration",
            "s3:PutAccelerateConfiguration",
            None,
        ),
        (
            "GetBucketReplication",
            "s3:GetReplicationConfiguration",
            None,
        ),
        (
            "PutBucketReplication",
            "s3:PutReplicationConfiguration",
            None,
        ),
        (
            "DeleteBucketReplication",
            "s3:PutReplicationConfiguration",
            None,
        ),
        (
            "GetObjectLockConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            None,
        ),
        (
            "PutObjectLockConfiguration",
            "s3:PutBucketObjectLockConfiguration",
            None,
        ),
        ("DeleteBucketTagging", "s3:PutBucketTagging", None),
        (
            "GetBucketRequestPayment",
            "s3:GetBucketRequestPayment",
            None,
        ),
    ]
};

/// Operations an unsigned request can never make (they name no bucket of an owner).
/// An unsigned form upload (PostObject) is decided as the PutObject of its key.
const OWNERLESS_OPERATIONS: &[&str] = &["CreateBucket", "ListBuckets", "PostObject"];

/// What `operation` needs (`versioned`: the request names a version id); `None` for
/// an operation no unsigned request may make.
pub(super) fn need(operation: &str, versioned: bool) -> Option<Need> {
    if OWNERLESS_OPERATIONS.contains(&operation) {
        return None;
    }
    if let Some((_, action, version_action, acl)) = OBJECT_OPERATIONS
        .iter()
        .find(|(name, ..)| *name == operation)
    {
        let action = if versioned { version_action } else { action };
        return Some(Need {
            action: (*action).to_owned(),
            acl: *acl,
            reads_object: matches!(acl, Some(AclNeed::Object(AclPermission::Read))),
        });
    }
    let (action, acl) = BUCKET_OPERATIONS
        .iter()
        .find(|(name, ..)| *name == operation)
        .map_or_else(
            || (configuration_action(operation), None),
            |(_, action, acl)| ((*action).to_owned(), acl.map(AclNeed::Bucket)),
        );
    Some(Need {
        action,
        acl,
        reads_object: false,
    })
}

/// The action of a bucket configuration operation not in the table: S3 names the
/// keyed configurations' List and Delete by their Get and Put, and the others by the
/// operation.
fn configuration_action(operation: &str) -> String {
    for kind in ["Analytics", "Inventory", "Metrics", "IntelligentTiering"] {
        let suffix = format!("Bucket{kind}Configuration");
        let plural = format!("{suffix}s");
        if operation == format!("List{plural}") || operation == format!("Get{suffix}") {
            return format!("s3:Get{kind}Configuration");
        }
        if operation == format!("Put{suffix}") || operation == format!("Delete{suffix}") {
            return format!("s3:Put{kind}Configuration");
        }
    }
    format!("s3:{operation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_name_their_iam_actions() {
        let action = |op, versioned| need(op, versioned).map(|n| n.action);
        assert_eq!(action("GetObject", false).as_deref(), Some("s3:GetObject"));
        assert_eq!(
            action("GetObject", true).as_deref(),
            Some("s3:GetObjectVersion")
        );
        assert_eq!(
            action("ListObjectsV2", false).as_deref(),
            Some("s3:ListBucket")
        );
        assert_eq!(
            action("GetBucketPolicy", false).as_deref(),
            Some("s3:GetBucketPolicy")
        );
        assert_eq!(
            action("ListBucketMetricsConfigurations", false).as_deref(),
            Some("s3:GetMetricsConfiguration")
        );
        assert_eq!(action("CreateBucket", false), None);
    }

    #[test]
    fn acls_grant_reads_and_writes() {
        let get = need("GetObject", false).expect("a need");
        assert_eq!(get.acl, Some(AclNeed::Object(AclPermission::Read)));
        assert!(get.reads_object);
        let put = need("PutObject", false).expect("a need");
        assert_eq!(put.acl, Some(AclNeed::Bucket(AclPermission::Write)));
        assert!(!put.reads_object);
    }
}
