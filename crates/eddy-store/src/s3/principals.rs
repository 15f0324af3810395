//! The ids S3 shows for principals in event records: opaque, AWS-shaped, and stable,
//! never an access key itself (a tool that masks ids would otherwise mangle every
//! field that happens to contain the key). The bucket owner is a customer id (`A` and
//! 13 characters of `[A-Z0-9]`, derived from the account id), a requester an IAM user
//! id (`AWS:AIDA` and 17 characters of `[A-Z2-7]`, derived from its access key id),
//! and S3 itself, acting for a lifecycle rule, `s3.amazonaws.com`.

use sha2::{Digest, Sha256};

/// Who an object change is made by, as its event tells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Requester {
    /// The configured access key of the store (changes eddy makes for itself).
    #[default]
    Configured,
    /// A request signed with this access key id.
    AccessKey(String),
    /// S3 itself (lifecycle rules).
    S3Service,
    /// An unsigned request, allowed by the bucket's policy or ACLs.
    Anonymous,
}

/// What S3 shows as `principalId` for an unsigned request.
pub const ANONYMOUS_PRINCIPAL: &str = "ANONYMOUS_PRINCIPAL";

/// What S3 shows as `principalId` for S3 acting on its own.
pub const S3_SERVICE_PRINCIPAL: &str = "s3.amazonaws.com";

impl Requester {
    /// The `userIdentity.principalId` of an event; `configured` is the store's access key.
    pub fn principal_id(&self, configured: &str) -> String {
        match self {
            Self::Configured => user_principal_id(configured),
            Self::AccessKey(key) => user_principal_id(key),
            Self::S3Service => S3_SERVICE_PRINCIPAL.to_owned(),
            Self::Anonymous => ANONYMOUS_PRINCIPAL.to_owned(),
        }
    }
}

/// `AWS:AIDA...`: the IAM user id S3 shows for requests signed with `access_key_id`.
pub fn user_principal_id(access_key_id: &str) -> String {
    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let id: String = digest("user", access_key_id)
        .iter()
        .take(17)
        .map(|b| char::from(BASE32[usize::from(b % 32)]))
        .collect();
    format!("AWS:AIDA{id}")
}

/// The customer id S3 shows for the owner of the buckets of account `account_id`.
pub fn owner_principal_id(account_id: &str) -> String {
    const ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let id: String = digest("owner", account_id)
        .iter()
        .take(13)
        .map(|b| char::from(ALNUM[usize::from(b % 36)]))
        .collect();
    format!("A{id}")
}

fn digest(kind: &str, value: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"eddy principal ");
    hasher.update(kind.as_bytes());
    hasher.update(b"\0");
    hasher.update(value.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_aws_shaped_stable_and_hide_the_key() {
        let user = user_principal_id("test");
        assert_eq!(user.len(), "AWS:AIDA".len() + 17);
        assert!(user.starts_with("AWS:AIDA"));
        assert!(
            user[8..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        );
        assert_eq!(user, user_principal_id("test"));
        assert_ne!(user, user_principal_id("other"));
        assert!(!user[4..].contains("test"));
        let owner = owner_principal_id("000000000000");
        assert_eq!(owner.len(), 14);
        assert!(owner.starts_with('A'));
        assert!(
            owner
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(owner, owner_principal_id("000000000000"));
        assert_eq!(
            Requester::S3Service.principal_id("test"),
            "s3.amazonaws.com"
        );
        assert_eq!(Requester::Configured.principal_id("test"), user);
    }
}
