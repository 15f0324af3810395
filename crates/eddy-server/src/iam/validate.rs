//! IAM's checks of what a request names and carries: policy documents (parsed into a
//! typed [`PolicyDocument`]: trust policies must name a principal, permission policies
//! must not), names, paths, and the random ids IAM gives roles and policies.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::IamError;

/// One value or a list of them, as policy grammar allows.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(items) => items.len(),
        }
    }
}

/// A scalar of a condition block.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    Text(String),
    Flag(bool),
    Number(f64),
}

/// A `Principal`: `"*"` or a map of principal types to ids.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    Wildcard(String),
    Typed(BTreeMap<String, OneOrMany<String>>),
}

/// Whether a statement allows or denies.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principal>,
    pub not_principal: Option<Principal>,
    pub action: Option<OneOrMany<String>>,
    pub not_action: Option<OneOrMany<String>>,
    pub resource: Option<OneOrMany<String>>,
    pub not_resource: Option<OneOrMany<String>>,
    pub condition: Option<BTreeMap<String, BTreeMap<String, OneOrMany<ConditionValue>>>>,
}

/// A policy document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statement: OneOrMany<Statement>,
}

/// What a document is for: who may assume a role, or what an identity may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Trust,
    Permissions,
}

/// The longest policy document accepted (IAM's model limit).
const MAX_DOCUMENT_CHARS: usize = 131_072;

/// Checks a policy document as IAM does; `MalformedPolicyDocument` otherwise.
pub fn policy_document(text: &str, kind: PolicyKind) -> Result<PolicyDocument, IamError> {
    if text.is_empty() || text.chars().count() > MAX_DOCUMENT_CHARS {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length between 1 and {MAX_DOCUMENT_CHARS}"
        )));
    }
    let document: PolicyDocument =
        serde_json::from_str(text).map_err(|_| IamError::malformed("Syntax errors in policy."))?;
    if let Some(version) = &document.version
        && version != "2012-10-17"
        && version != "2008-10-17"
    {
        return Err(IamError::malformed(
            "The policy must contain a valid version string",
        ));
    }
    let statements: Vec<&Statement> = match &document.statement {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many.iter().collect(),
    };
    if statements.is_empty() {
        return Err(IamError::malformed("Syntax errors in policy."));
    }
    for statement in statements {
        if statement.action.is_none() && statement.not_action.is_none() {
            return Err(IamError::malformed(
                "Policy statement must contain actions.",
            ));
        }
        if statement.action.as_ref().is_some_and(|a| a.len() == 0) {
            return Err(IamError::malformed(
                "Policy statement must contain actions.",
            ));
        }
        let has_principal = statement.principal.is_some() || statement.not_principal.is_some();
        let has_resource = statement.resource.is_some() || statement.not_resource.is_some();
        match kind {
            PolicyKind::Trust => {
                if !has_principal {
                    return Err(IamError::malformed("Missing required field Principal"));
                }
                if has_resource {
                    return Err(IamError::malformed("Has prohibited field Resource"));
                }
            }
            PolicyKind::Permissions => {
                if has_principal {
                    return Err(IamError::malformed(
                        "Policy document should not specify a principal.",
                    ));
                }
                if !has_resource {
                    return Err(IamError::malformed(
                        "Policy statement must contain resources.",
                    ));
                }
            }
        }
    }
    Ok(document)
}

/// Checks a role, policy or session name: 1 to `max` characters of `[\w+=,.@-]`.
pub fn name(member: &str, value: &str, max: usize) -> Result<(), IamError> {
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if value.is_empty() || value.chars().count() > max {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    if !valid_chars {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

/// Checks a path: `/` alone or `/.../` of printable characters, at most 512.
pub fn path(value: &str) -> Result<(), IamError> {
    let valid = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if valid {
        Ok(())
    } else {
        Err(IamError::validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ))
    }
}

/// A random IAM unique id: `prefix` and 17 characters of `[A-Z0-9]` (21 in all).
pub fn unique_id(prefix: &str) -> String {
    random_chars(prefix, 17)
}

/// `prefix` followed by `count` random characters of `[A-Z0-9]`.
pub fn random_chars(prefix: &str, count: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(prefix.len() + count);
    out.push_str(prefix);
    let mut bytes = Vec::new();
    while bytes.len() < count {
        bytes.extend_from_slice(eddy_store::ids::random_uuid().as_bytes());
    }
    for byte in bytes.into_iter().take(count) {
        out.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
    }
    out
}

/// Tag rules: at most 50, keys of 1 to 128 characters, values up to 256.
pub fn tags(tags: &[eddy_store::iam::Tag]) -> Result<(), IamError> {
    if tags.len() > 50 {
        return Err(IamError::new(
            super::error::IamErrorCode::LimitExceeded,
            "The number of tags has reached the maximum limit.",
        ));
    }
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 || tag.value.chars().count() > 256 {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
                tag.key
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const PERMS: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true}}}}"#;

    #[test]
    fn trust_and_permission_policies_are_told_apart() {
        assert!(policy_document(TRUST, PolicyKind::Trust).is_ok());
        assert!(policy_document(PERMS, PolicyKind::Permissions).is_ok());
        let error = policy_document(TRUST, PolicyKind::Permissions).expect_err("principal");
        assert_eq!(
            error.code,
            super::super::error::IamErrorCode::MalformedPolicyDocument
        );
        assert!(policy_document(PERMS, PolicyKind::Trust).is_err());
    }

    #[test]
    fn syntax_errors_and_bad_effects_are_malformed() {
        for bad in [
            "{",
            "[]",
            r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
        ] {
            let error = policy_document(bad, PolicyKind::Permissions).expect_err(bad);
            assert_eq!(error.message, "Syntax errors in policy.");
        }
    }

    #[test]
    fn ids_have_iam_shape() {
        let id = unique_id("AROA");
        assert_eq!(id.len(), 21);
        assert!(
            id[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_ne!(id, unique_id("AROA"));
        assert!(name("roleName", "my-role_1.x@y", 64).is_ok());
        assert!(name("roleName", "bad/name", 64).is_err());
        assert!(path("/service-role/").is_ok());
        assert!(path("service-role").is_err());
    }
}
