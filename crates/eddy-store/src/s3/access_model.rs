//! Stored values about who may reach an object and whether it can be read: ACL grants
//! (of a bucket, kept as its `acl` configuration, and of an object version, kept in
//! its attributes) and the restore state of an archived object version.

use serde::{Deserialize, Serialize};

/// The group URI of everyone, signed or not.
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group URI of every signed request of any AWS account.
pub const AUTHENTICATED_USERS_URI: &str =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// The group URI of S3's log delivery.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// One ACL grant: a permission given to a grantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclGrant {
    pub grantee: AclGrantee,
    pub permission: AclPermission,
}

/// Who an ACL grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AclGrantee {
    /// An account, by its canonical id.
    CanonicalUser {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
    },
    /// A predefined group, by its URI ([`ALL_USERS_URI`], ...).
    Group { uri: String },
    /// An account, by its email address.
    Email { address: String },
}

impl AclGrantee {
    /// Whether the grant is to everyone ([`ALL_USERS_URI`]) or to every AWS account
    /// ([`AUTHENTICATED_USERS_URI`]): S3's "public" grants.
    pub fn is_public(&self) -> bool {
        matches!(self, Self::Group { uri } if uri == ALL_USERS_URI || uri == AUTHENTICATED_USERS_URI)
    }
}

/// S3's ACL permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclPermission {
    FullControl,
    Read,
    Write,
    ReadAcp,
    WriteAcp,
}

impl AclPermission {
    /// The name S3 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullControl => "FULL_CONTROL",
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::ReadAcp => "READ_ACP",
            Self::WriteAcp => "WRITE_ACP",
        }
    }

    /// The permission S3 names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "FULL_CONTROL" => Self::FullControl,
            "READ" => Self::Read,
            "WRITE" => Self::Write,
            "READ_ACP" => Self::ReadAcp,
            "WRITE_ACP" => Self::WriteAcp,
            _ => return None,
        })
    }

    /// Whether a grant of `self` gives `wanted` (FULL_CONTROL gives every permission).
    pub fn gives(self, wanted: Self) -> bool {
        self == Self::FullControl || self == wanted
    }
}

/// A restore of an archived (GLACIER or DEEP_ARCHIVE) object version: a temporary
/// copy readable from `completes_at_ms` until `expires_at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreState {
    /// When RestoreObject was accepted, in milliseconds since the epoch.
    pub requested_at_ms: u64,
    /// When the restored copy becomes readable.
    pub completes_at_ms: u64,
    /// When the restored copy is removed again.
    pub expires_at_ms: u64,
    /// Whether `s3:ObjectRestore:Completed` was raised.
    #[serde(default)]
    pub completion_reported: bool,
}

impl RestoreState {
    /// Whether the restore is still under way at `now_ms`.
    pub fn ongoing(&self, now_ms: u64) -> bool {
        now_ms < self.completes_at_ms
    }

    /// Whether the restored copy can be read at `now_ms`.
    pub fn readable(&self, now_ms: u64) -> bool {
        (self.completes_at_ms..self.expires_at_ms).contains(&now_ms)
    }
}
