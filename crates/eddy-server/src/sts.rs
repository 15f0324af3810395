//! STS (query protocol, `https://sts.amazonaws.com/doc/2011-06-15/`) on the same port:
//! a request comes here when its SigV4 credential scope names the `sts` service.
//!
//! - GetCallerIdentity: the account, and for a configured access key an IAM user named
//!   after the key (`arn:aws:iam::<account>:user/<access key id>`, its `AIDA...` id
//!   derived from the key, so it is the same every time); for temporary credentials
//!   the assumed role (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
//! - AssumeRole: the role must exist; the temporary credentials (`ASIA...`, a secret, a
//!   session token, an expiration) are stored durably before they are returned, and
//!   every service's SigV4 check accepts them, with their token, until they expire.
//!   Nothing the role's policies say is enforced.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use eddy_store::sts::SessionRecord;

use crate::iam::error::{IamError, IamErrorCode};
use crate::iam::query::{self, Params, Xml, timestamp};
use crate::iam::validate;
use crate::state::{AppState, RequestIds};

/// The XML namespace of STS's answers.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// AssumeRole's session lengths: 15 minutes to 12 hours (and the role's maximum).
const MIN_DURATION_SECONDS: i64 = 900;
const MAX_DURATION_SECONDS: i64 = 43_200;
const DEFAULT_DURATION_SECONDS: i64 = 3600;

/// AssumeRole's members.
#[derive(Debug)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub role_session_name: String,
    pub duration_seconds: i64,
}

impl AssumeRoleInput {
    pub fn from_params(params: &Params) -> Result<Self, IamError> {
        let role_arn = params.required("RoleArn")?;
        if !(20..=2048).contains(&role_arn.len()) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
            )));
        }
        let role_session_name = params.required("RoleSessionName")?;
        if role_session_name.len() < 2 {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{role_session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
            )));
        }
        validate::name("roleSessionName", &role_session_name, 64)?;
        let duration_seconds = params
            .integer("DurationSeconds")?
            .unwrap_or(DEFAULT_DURATION_SECONDS);
        if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&duration_seconds) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{duration_seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value {}",
                if duration_seconds < MIN_DURATION_SECONDS {
                    "greater than or equal to 900"
                } else {
                    "less than or equal to 43200"
                }
            )));
        }
        Ok(Self {
            role_arn,
            role_session_name,
            duration_seconds,
        })
    }
}

/// Handles one STS request; `body` is the request body, or why it could not be read.
pub async fn handle<E>(
    state: &AppState,
    parts: &http::request::Parts,
    body: Result<Bytes, E>,
    ids: &RequestIds,
) -> http::Response<s3s::Body> {
    let result = match body {
        Ok(body) => run(state, parts, &body).await,
        Err(_) => Err(IamError::validation("The request body is too large.")),
    };
    match result {
        Ok((action, xml)) => query::response(NAMESPACE, &action, Some(xml), &ids.request_id),
        Err(error) => query::error_response(NAMESPACE, &error, &ids.request_id),
    }
}

async fn run(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<(String, Xml), IamError> {
    let auth = crate::iam::authenticate(state, parts, body)?;
    let params = Params::parse(parts, body);
    let action = params.action().unwrap_or_default().to_owned();
    let caller = Caller::of(state, &auth.access_key_id);
    let xml = match action.as_str() {
        "GetCallerIdentity" => {
            let mut x = Xml::default();
            x.text("UserId", &caller.user_id)
                .text("Account", &state.store.settings().account_id)
                .text("Arn", &caller.arn);
            x
        }
        "AssumeRole" => assume_role(state, &caller, &params).await?,
        other => {
            return Err(IamError::new(
                IamErrorCode::InvalidAction,
                format!("Could not find operation {other} for version 2011-06-15"),
            ));
        }
    };
    Ok((action, xml))
}

/// Who signed a request, as STS names it.
struct Caller {
    user_id: String,
    arn: String,
}

impl Caller {
    fn of(state: &AppState, access_key_id: &str) -> Self {
        if let Some(session) = state.sessions.get(access_key_id) {
            return Self {
                user_id: session.assumed_role_id,
                arn: session.assumed_role_arn,
            };
        }
        Self {
            user_id: user_id(access_key_id),
            arn: format!(
                "arn:aws:iam::{}:user/{access_key_id}",
                state.store.settings().account_id
            ),
        }
    }
}

/// The `AIDA...` user id of a configured access key: derived from the key, so stable.
fn user_id(access_key_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(access_key_id.as_bytes());
    let mut out = String::from("AIDA");
    for byte in digest.iter().take(17) {
        out.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
    }
    out
}

async fn assume_role(state: &AppState, caller: &Caller, params: &Params) -> Result<Xml, IamError> {
    let input = AssumeRoleInput::from_params(params)?;
    let denied = || {
        IamError::new(
            IamErrorCode::AccessDenied,
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                caller.arn, input.role_arn
            ),
        )
    };
    let role_name = input
        .role_arn
        .split_once(":role/")
        .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest))
        .ok_or_else(denied)?;
    let role = match state.store.iam_roles().get(role_name).await {
        Ok(role) if role.arn == input.role_arn => role,
        Ok(_) | Err(eddy_store::iam::IamStoreError::NoSuchEntity(_)) => return Err(denied()),
        Err(error) => return Err(error.into()),
    };
    if input.duration_seconds > i64::from(role.max_session_duration) {
        return Err(IamError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let now = eddy_store::time::now_ms();
    let session = SessionRecord {
        access_key_id: validate::random_chars("ASIA", 16),
        secret_access_key: secret(),
        session_token: session_token(),
        expiration_ms: now + input.duration_seconds as u64 * 1000,
        role_arn: role.arn.clone(),
        assumed_role_id: format!("{}:{}", role.role_id, input.role_session_name),
        assumed_role_arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            state.store.settings().account_id,
            role.name,
            input.role_session_name
        ),
    };
    state
        .store
        .sts_sessions()
        .insert(session.clone(), now)
        .await?;
    state.sessions.insert(session.clone());
    let mut x = Xml::default();
    x.open("Credentials")
        .text("AccessKeyId", &session.access_key_id)
        .text("SecretAccessKey", &session.secret_access_key)
        .text("SessionToken", &session.session_token)
        .text("Expiration", &timestamp(session.expiration_ms))
        .close("Credentials")
        .open("AssumedRoleUser")
        .text("AssumedRoleId", &session.assumed_role_id)
        .text("Arn", &session.assumed_role_arn)
        .close("AssumedRoleUser")
        .text("PackedPolicySize", "0");
    Ok(x)
}

/// 30 random bytes as 40 base64 characters, as AWS secrets look.
fn secret() -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(eddy_store::ids::random_uuid().as_bytes());
    bytes.extend_from_slice(&eddy_store::ids::random_uuid().as_bytes()[..14]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A random session token (base64, a few hundred characters, as STS's are).
fn session_token() -> String {
    use base64::Engine as _;
    let mut bytes = b"eddy-session:".to_vec();
    for _ in 0..12 {
        bytes.extend_from_slice(eddy_store::ids::random_uuid().as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_stable_and_aws_shaped() {
        let id = user_id("test");
        assert_eq!(id, user_id("test"));
        assert_ne!(id, user_id("other"));
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert_eq!(secret().len(), 40);
    }
}
