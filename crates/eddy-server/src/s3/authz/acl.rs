//! ACL grants as S3's requests carry them and its answers show them: a canned ACL
//! (`x-amz-acl`), explicit grant headers (`x-amz-grant-read: uri="..."`), or an
//! `AccessControlPolicy` body become the store's [`AclGrant`]s, and back. A leaf: it
//! knows `s3s`'s types and the store's, and no other module of `s3`.

use s3s::dto::{AccessControlPolicy, Grant, Grantee, Grants, Permission, Type};
use s3s::{S3Error as WireError, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::{
    ALL_USERS_URI, AUTHENTICATED_USERS_URI, AclGrant, AclGrantee, AclPermission, LOG_DELIVERY_URI,
};

/// The ACL a Put*Acl (or a write with ACL headers) asks for, as it came.
#[derive(Debug, Default)]
pub(in crate::s3) struct AclRequest<'a> {
    /// The canned ACL (`x-amz-acl`).
    pub canned: Option<&'a str>,
    pub full_control: Option<&'a str>,
    pub read: Option<&'a str>,
    pub read_acp: Option<&'a str>,
    pub write: Option<&'a str>,
    pub write_acp: Option<&'a str>,
    /// The `AccessControlPolicy` body.
    pub policy: Option<&'a AccessControlPolicy>,
}

/// The owner of every bucket and object of the account, as a grantee.
pub(in crate::s3) fn owner_grantee(store: &Store) -> AclGrantee {
    AclGrantee::CanonicalUser {
        id: store.settings().account_id.clone(),
        display_name: Some("eddy".to_owned()),
    }
}

/// The grants of a bucket or object with no ACL of its own: the owner's FULL_CONTROL.
pub(in crate::s3) fn owner_only(store: &Store) -> Vec<AclGrant> {
    vec![AclGrant {
        grantee: owner_grantee(store),
        permission: AclPermission::FullControl,
    }]
}

impl AclRequest<'_> {
    /// Whether the request names an ACL at all.
    pub(in crate::s3) fn is_empty(&self) -> bool {
        self.canned.is_none() && !self.has_headers() && self.policy.is_none()
    }

    fn has_headers(&self) -> bool {
        [
            self.full_control,
            self.read,
            self.read_acp,
            self.write,
            self.write_acp,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// The grants asked for (a request naming none asks for `private`).
    pub(in crate::s3) fn grants(&self, store: &Store) -> S3Result<Vec<AclGrant>> {
        if self.canned.is_some() && self.has_headers() {
            return Err(s3_error!(
                InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            ));
        }
        if self.policy.is_some() && (self.canned.is_some() || self.has_headers()) {
            return Err(s3_error!(
                UnexpectedContent,
                "This request does not support content"
            ));
        }
        if let Some(policy) = self.policy {
            return policy.grants.iter().flatten().map(grant_from_dto).collect();
        }
        if self.has_headers() {
            let mut grants = Vec::new();
            for (header, permission) in [
                (self.full_control, AclPermission::FullControl),
                (self.read, AclPermission::Read),
                (self.read_acp, AclPermission::ReadAcp),
                (self.write, AclPermission::Write),
                (self.write_acp, AclPermission::WriteAcp),
            ] {
                for grantee in header
                    .map(grantees_of_header)
                    .transpose()?
                    .unwrap_or_default()
                {
                    grants.push(AclGrant {
                        grantee,
                        permission,
                    });
                }
            }
            return Ok(grants);
        }
        canned(store, self.canned.unwrap_or("private"))
    }
}

/// The grants of a canned ACL (of buckets or objects).
fn canned(store: &Store, name: &str) -> S3Result<Vec<AclGrant>> {
    let group = |uri: &str, permission| AclGrant {
        grantee: AclGrantee::Group {
            uri: uri.to_owned(),
        },
        permission,
    };
    let mut grants = owner_only(store);
    match name {
        "private" | "bucket-owner-read" | "bucket-owner-full-control" | "aws-exec-read" => {}
        "public-read" => grants.push(group(ALL_USERS_URI, AclPermission::Read)),
        "public-read-write" => {
            grants.push(group(ALL_USERS_URI, AclPermission::Read));
            grants.push(group(ALL_USERS_URI, AclPermission::Write));
        }
        "authenticated-read" => grants.push(group(AUTHENTICATED_USERS_URI, AclPermission::Read)),
        "log-delivery-write" => {
            grants.push(group(LOG_DELIVERY_URI, AclPermission::Write));
            grants.push(group(LOG_DELIVERY_URI, AclPermission::ReadAcp));
        }
        _ => return Err(s3_error!(InvalidArgument, "Invalid canned ACL: {name}")),
    }
    Ok(grants)
}

/// The grantees of one grant header: `id="..."`, `uri="..."` or `emailAddress="..."`,
/// separated by commas.
fn grantees_of_header(header: &str) -> S3Result<Vec<AclGrantee>> {
    header
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (kind, value) = part
                .split_once('=')
                .ok_or_else(|| s3_error!(InvalidArgument, "Invalid grant header: {part}"))?;
            let value = value.trim().trim_matches('"').to_owned();
            match kind.trim() {
                "id" => Ok(AclGrantee::CanonicalUser {
                    id: value,
                    display_name: None,
                }),
                "uri" => group(value),
                "emailAddress" => Err(unresolvable_email()),
                other => Err(s3_error!(
                    InvalidArgument,
                    "Argument format not recognized: {other}"
                )),
            }
        })
        .collect()
}

fn group(uri: String) -> S3Result<AclGrantee> {
    if [ALL_USERS_URI, AUTHENTICATED_USERS_URI, LOG_DELIVERY_URI].contains(&uri.as_str()) {
        Ok(AclGrantee::Group { uri })
    } else {
        Err(s3_error!(InvalidArgument, "Invalid group uri"))
    }
}

/// eddy knows no account by email address, as S3 knows none it cannot resolve.
fn unresolvable_email() -> WireError {
    s3_error!(
        UnresolvableGrantByEmailAddress,
        "The e-mail address you provided does not match any account on record."
    )
}

fn malformed_acl() -> WireError {
    s3_error!(
        MalformedACLError,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

fn grant_from_dto(grant: &Grant) -> S3Result<AclGrant> {
    let permission = grant
        .permission
        .as_ref()
        .and_then(|p| AclPermission::parse(p.as_str()))
        .ok_or_else(malformed_acl)?;
    let grantee = grant.grantee.as_ref().ok_or_else(malformed_acl)?;
    let grantee = match grantee.type_.as_str() {
        Type::CANONICAL_USER => AclGrantee::CanonicalUser {
            id: grantee.id.clone().ok_or_else(malformed_acl)?,
            display_name: grantee.display_name.clone(),
        },
        Type::GROUP => group(grantee.uri.clone().ok_or_else(malformed_acl)?)?,
        Type::AMAZON_CUSTOMER_BY_EMAIL => return Err(unresolvable_email()),
        _ => return Err(malformed_acl()),
    };
    Ok(AclGrant {
        grantee,
        permission,
    })
}

/// The grants as S3 answers them.
pub(in crate::s3) fn grants_to_dto(grants: &[AclGrant]) -> Grants {
    grants
        .iter()
        .map(|grant| {
            let grantee = match &grant.grantee {
                AclGrantee::CanonicalUser { id, display_name } => Grantee {
                    display_name: display_name.clone(),
                    id: Some(id.clone()),
                    type_: Type::from(Type::CANONICAL_USER.to_owned()),
                    email_address: None,
                    uri: None,
                },
                AclGrantee::Group { uri } => Grantee {
                    display_name: None,
                    id: None,
                    type_: Type::from(Type::GROUP.to_owned()),
                    email_address: None,
                    uri: Some(uri.clone()),
                },
                AclGrantee::Email { address } => Grantee {
                    display_name: None,
                    id: None,
                    type_: Type::from(Type::AMAZON_CUSTOMER_BY_EMAIL.to_owned()),
                    email_address: Some(address.clone()),
                    uri: None,
                },
            };
            Grant {
                grantee: Some(grantee),
                permission: Some(Permission::from(grant.permission.as_str().to_owned())),
            }
        })
        .collect()
}

/// Whether `grants` give everyone (signed or not) `wanted`.
pub(in crate::s3) fn everyone_has(grants: &[AclGrant], wanted: AclPermission) -> bool {
    grants.iter().any(|grant| {
        matches!(&grant.grantee, AclGrantee::Group { uri } if uri == ALL_USERS_URI)
            && grant.permission.gives(wanted)
    })
}

/// Whether `grants` are public (to everyone or to every AWS account).
pub(in crate::s3) fn any_public(grants: &[AclGrant]) -> bool {
    grants.iter().any(|grant| grant.grantee.is_public())
}

/// The [`AclRequest`] of an object write's input (`x-amz-acl`, `x-amz-grant-*`).
macro_rules! object_acl_request {
    ($input:expr) => {
        $crate::s3::authz::acl::AclRequest {
            canned: $input.acl.as_ref().map(|acl| acl.as_str()),
            full_control: $input.grant_full_control.as_deref(),
            read: $input.grant_read.as_deref(),
            read_acp: $input.grant_read_acp.as_deref(),
            write: None,
            write_acp: $input.grant_write_acp.as_deref(),
            policy: None,
        }
    };
}
pub(in crate::s3) use object_acl_request;
