//! The values the S3 side of the store reads and writes: objects and their
//! attributes, buckets, versions, listings, multipart uploads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Stored attributes of an object besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// User metadata (`x-amz-meta-*`), names lowercased.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Checksums by algorithm name (`CRC32`, `SHA256`, ...), base64.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// The object's tag set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The sizes of the parts of a multipart object, in order (GetObject
    /// `partNumber`); empty for an object uploaded in one piece.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    /// The KMS encryption the object reports; `None` for SSE-S3 (`AES256`), which
    /// every other object reports. (eddy does not encrypt the bytes on its disk.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_encryption: Option<KmsEncryption>,
    /// For an object stored with a customer-provided key (SSE-C): the key's MD5,
    /// base64 (the key itself is never kept). For an upload in progress: the key its
    /// parts must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_customer_key_md5: Option<String>,
    /// How the object's checksum was computed (`None` for objects stored before eddy
    /// recorded it: a single-part object's checksum is then full-object). For a
    /// multipart upload in progress: the type it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<ChecksumKind>,
    /// For a multipart upload in progress: the algorithm named at its creation
    /// (`None`: S3's default, a full-object CRC64NVME not reported on the upload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// The checksums of each part of a multipart object, in order (by algorithm name,
    /// base64); empty for an object uploaded in one piece.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<BTreeMap<String, String>>,
    /// The Object Lock retention of this version (for an upload in progress: the one
    /// its object gets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// The Object Lock legal hold of this version: `None` when never set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<bool>,
    /// The version's ACL grants (`None`: the owner's FULL_CONTROL only, as every
    /// object has while the bucket's ownership is "bucket owner enforced").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<super::access_model::AclGrant>>,
    /// The version's restore, for an archived object (RestoreObject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<super::access_model::RestoreState>,
}

/// An Object Lock retention: the version cannot be deleted before `until_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    /// The retain-until date, in milliseconds since the epoch.
    pub until_ms: u64,
}

/// S3's Object Lock retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetentionMode {
    /// Users with `s3:BypassGovernanceRetention` may shorten, remove or ignore it.
    Governance,
    /// No one may shorten or remove it before it ends.
    Compliance,
}

impl RetentionMode {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }
}

/// S3's `ChecksumType`: how an object's checksum covers its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChecksumKind {
    /// A checksum of the whole object's bytes (CRCs of parts combine into one).
    FullObject,
    /// A checksum of the parts' checksums, followed by `-` and the number of parts.
    Composite,
}

impl ChecksumKind {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }
}

/// SSE-KMS or DSSE-KMS, as an object reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsEncryption {
    /// `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    /// The key named by the request or the bucket (`None`: S3's managed key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Whether an S3 Bucket Key is used.
    #[serde(default)]
    pub bucket_key_enabled: bool,
}

/// An object's metadata row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub bucket: String,
    pub key: String,
    pub blob: String,
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    pub last_modified_ms: u64,
    pub attrs: ObjectAttrs,
    /// `None` for the `null` version (written while versioning was off).
    pub version_id: Option<String>,
}

impl ObjectMeta {
    /// The version id as S3 reports it (`null` for the null version).
    pub fn version_label(&self) -> &str {
        self.version_id.as_deref().unwrap_or(NULL_VERSION)
    }
}

/// What a DeleteObject did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The version removed, or the id of the delete marker created
    /// (`x-amz-version-id`); `None` on buckets that never had versioning.
    pub version_id: Option<String>,
    /// Whether a delete marker was created or removed (`x-amz-delete-marker`).
    pub delete_marker: bool,
    /// Whether anything changed (a missing key changes nothing).
    pub changed: bool,
}

/// A bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub created_ms: u64,
    pub region: String,
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// List keys strictly after this one.
    pub start_after: Option<String>,
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix of the page: where the next page starts after.
    pub last: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub created_ms: u64,
    pub attrs: ObjectAttrs,
}

/// An uploaded part.
#[derive(Debug, Clone)]
pub struct Part {
    pub part_number: u32,
    pub blob: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
    /// Its checksums by algorithm name, base64.
    pub checksums: BTreeMap<String, String>,
}

/// The smallest part but the last of a multipart upload.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The versioning state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: every write replaces the `null` version.
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub(crate) fn from_column(value: Option<String>) -> Self {
        match value.as_deref() {
            Some("Enabled") => Self::Enabled,
            Some("Suspended") => Self::Suspended,
            _ => Self::Unversioned,
        }
    }

    /// The `Status` S3 reports; `None` for a bucket that never had versioning.
    pub fn status(self) -> Option<&'static str> {
        match self {
            Self::Unversioned => None,
            Self::Enabled => Some("Enabled"),
            Self::Suspended => Some("Suspended"),
        }
    }

    /// The version id an event carries: none on buckets that never had versioning,
    /// else the id (`null` for the null version).
    pub fn event_version_id(self, version_id: Option<&str>) -> Option<String> {
        match self {
            Self::Unversioned => None,
            _ => Some(version_id.unwrap_or(NULL_VERSION).to_owned()),
        }
    }
}

/// How S3 names the version of objects written while versioning was off.
pub const NULL_VERSION: &str = "null";

/// A new version id: 32 URL-safe characters, unique.
pub fn new_version_id() -> String {
    crate::ids::random_uuid().simple().to_string()
}

/// The stored form of a version id from a request: `null` is NULL.
pub fn stored_version(label: &str) -> Option<&str> {
    (label != NULL_VERSION).then_some(label)
}

/// One version of a key: an object, or a delete marker (no bytes).
#[derive(Debug, Clone)]
pub struct VersionEntry {
    pub meta: ObjectMeta,
    pub delete_marker: bool,
    pub is_latest: bool,
}

/// What ListObjectVersions asks for.
#[derive(Debug, Clone, Default)]
pub struct VersionQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
    pub max_keys: usize,
}

/// One page of ListObjectVersions: versions newest first within each key.
#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    pub entries: Vec<VersionEntry>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
}
