//! IAM (query protocol, `https://iam.amazonaws.com/doc/2010-05-08/`) on the same port
//! as S3, SQS and Lambda: a request comes here when its SigV4 credential scope names
//! the `iam` service. Control plane only: roles and policies are stored and answered
//! as IAM answers, but nothing is enforced on any request.
//!
//! A request is SigV4-verified, its form parameters read ([`query::Params`]), its
//! `Action` run against the store's IAM handles and answered with IAM's XML:
//!
//! - [`roles`]: Create/Get/List/Update/DeleteRole, UpdateAssumeRolePolicy,
//!   Tag/Untag/ListRoleTags, ListInstanceProfilesForRole;
//! - [`policies`]: managed policies and their versions, Attach/Detach/
//!   ListAttachedRolePolicies, inline role policies (Put/Get/Delete/ListRolePolicies);
//! - [`validate`]: policy documents, names, paths and ids; [`query`]: the wire
//!   protocol (shared with STS); [`error`]: IAM's error codes.

pub mod error;
pub mod policies;
pub mod query;
pub mod roles;
pub mod validate;

use bytes::Bytes;

use crate::sigv4::{self, SignedRequest};
use crate::state::{AppState, RequestIds};
use error::{IamError, IamErrorCode};
use query::{Params, Xml};

/// The XML namespace of IAM's answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The largest IAM or STS request body read (several policy documents, encoded).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What one IAM request works with.
pub struct IamContext<'a> {
    pub state: &'a AppState,
    pub account_id: &'a str,
}

impl IamContext<'_> {
    pub(crate) fn store(&self) -> &eddy_store::Store {
        &self.state.store
    }
}

/// Checks a request's signature (configured credentials or STS-issued ones).
pub(crate) fn authenticate(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<sigv4::AuthorizationHeader, IamError> {
    let now = eddy_store::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    Ok(sigv4::verify(&signed, now, |key, token| {
        state.resolve_secret(key, token)
    })?)
}

/// Handles one IAM request; `body` is the request body, or why it could not be read.
pub async fn handle<E>(
    state: &AppState,
    parts: &http::request::Parts,
    body: Result<Bytes, E>,
    ids: &RequestIds,
) -> http::Response<s3s::Body> {
    let result = match body {
        Ok(body) => run(state, parts, &body).await,
        Err(_) => Err(IamError::validation(format!(
            "Request must be smaller than {MAX_BODY_BYTES} bytes"
        ))),
    };
    match result {
        Ok((action, xml)) => query::response(NAMESPACE, &action, xml, &ids.request_id),
        Err(error) => query::error_response(NAMESPACE, &error, &ids.request_id),
    }
}

/// Runs one action; returns its name and result (none for an action without output).
async fn run(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<(String, Option<Xml>), IamError> {
    authenticate(state, parts, body)?;
    let params = Params::parse(parts, body);
    let action = params.action().unwrap_or_default().to_owned();
    let context = IamContext {
        state,
        account_id: &state.store.settings().account_id,
    };
    let p = &params;
    let result = match action.as_str() {
        "CreateRole" => Some(context.create_role(p).await?),
        "GetRole" => Some(context.get_role(p).await?),
        "ListRoles" => Some(context.list_roles(p).await?),
        "UpdateRole" => context.update_role(p).await?,
        "DeleteRole" => context.delete_role(p).await?,
        "UpdateAssumeRolePolicy" => context.update_assume_role_policy(p).await?,
        "TagRole" => context.tag_role(p).await?,
        "UntagRole" => context.untag_role(p).await?,
        "ListRoleTags" => Some(context.list_role_tags(p).await?),
        "ListInstanceProfilesForRole" => Some(context.list_instance_profiles_for_role(p).await?),
        "CreatePolicy" => Some(context.create_policy(p).await?),
        "GetPolicy" => Some(context.get_policy(p).await?),
        "DeletePolicy" => context.delete_policy(p).await?,
        "ListPolicies" => Some(context.list_policies(p).await?),
        "GetPolicyVersion" => Some(context.get_policy_version(p).await?),
        "ListPolicyVersions" => Some(context.list_policy_versions(p).await?),
        "CreatePolicyVersion" => Some(context.create_policy_version(p).await?),
        "DeletePolicyVersion" => context.delete_policy_version(p).await?,
        "SetDefaultPolicyVersion" => context.set_default_policy_version(p).await?,
        "AttachRolePolicy" => context.attach_role_policy(p).await?,
        "DetachRolePolicy" => context.detach_role_policy(p).await?,
        "ListAttachedRolePolicies" => Some(context.list_attached_role_policies(p).await?),
        "PutRolePolicy" => context.put_role_policy(p).await?,
        "GetRolePolicy" => Some(context.get_role_policy(p).await?),
        "DeleteRolePolicy" => context.delete_role_policy(p).await?,
        "ListRolePolicies" => Some(context.list_role_policies(p).await?),
        other => {
            return Err(IamError::new(
                IamErrorCode::InvalidAction,
                format!("Could not find operation {other} for version 2010-05-08"),
            ));
        }
    };
    Ok((action, result))
}

/// A policy document as IAM returns it: URL-encoded.
pub(crate) fn encode_document(document: &str) -> String {
    percent_encoding::utf8_percent_encode(document, DOCUMENT_ENCODE_SET).to_string()
}

const DOCUMENT_ENCODE_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
