//! Bucket policy documents: their grammar as S3 checks it on PutBucketPolicy, S3's
//! test for a "public" policy, and the evaluation of a policy for an unsigned request.
//!
//! Evaluation covers what an anonymous request can match: `Principal` `"*"` or
//! `{"AWS": "*"}` (and `NotPrincipal`), `Action`/`NotAction` with IAM's wildcards
//! (case-insensitive), `Resource`/`NotResource` ARNs with wildcards. Of conditions, only
//! `Bool` on `aws:SecureTransport` is understood (eddy serves plain HTTP, so it is
//! `false`); a statement with any other condition does not apply, whatever its effect.

use std::collections::BTreeMap;

use s3s::{S3Error as WireError, S3Result};
use serde::Deserialize;

/// The largest bucket policy S3 takes.
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A policy document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(in crate::s3) struct PolicyDocument {
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
enum ConditionValue {
    Text(String),
    Flag(bool),
    Number(#[expect(dead_code, reason = "a number is never `false`")] f64),
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

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::s3) enum Verdict {
    /// A statement denies it (which wins over any allow).
    Deny,
    /// A statement allows it and none denies it.
    Allow,
    /// No statement applies.
    Silent,
}

fn malformed_policy(message: &str) -> WireError {
    WireError::with_message(s3s::S3ErrorCode::MalformedPolicy, message.to_owned())
}

impl PolicyDocument {
    /// The policy, checked as S3 checks a bucket policy of `bucket`.
    pub(in crate::s3) fn parse(policy: &str, bucket: &str) -> S3Result<Self> {
        if policy.len() > MAX_POLICY_BYTES {
            return Err(malformed_policy("Policies must be less than 20 KB"));
        }
        if !policy.trim_start().starts_with('{') {
            return Err(malformed_policy(
                "Policies must be valid JSON and the first byte must be '{'",
            ));
        }
        let document: Self = serde_json::from_str(policy)
            .map_err(|_| malformed_policy("This policy contains invalid Json"))?;
        if let Some(version) = &document.version
            && version != "2012-10-17"
            && version != "2008-10-17"
        {
            return Err(malformed_policy("Invalid policy document version"));
        }
        let statements = document.statements();
        if statements.is_empty() {
            return Err(malformed_policy("Missing required field Statement"));
        }
        for statement in statements {
            statement.check(bucket)?;
        }
        Ok(document)
    }

    fn statements(&self) -> &[Statement] {
        self.statement
            .as_ref()
            .map(OneOrMany::items)
            .unwrap_or_default()
    }

    /// Whether the policy grants access to anyone: an `Allow` to the principal `*`
    /// without a condition (S3's test for "public", simplified to its common case).
    pub(in crate::s3) fn is_public(&self) -> bool {
        self.statements().iter().any(|s| {
            s.effect.as_deref() == Some("Allow")
                && s.condition.as_ref().is_none_or(BTreeMap::is_empty)
                && s.principal.as_ref().is_some_and(Principal::is_everyone)
        })
    }

    /// What the policy says about an unsigned request for `action` on `resource`
    /// (an S3 ARN).
    pub(in crate::s3) fn evaluate_anonymous(&self, action: &str, resource: &str) -> Verdict {
        let mut verdict = Verdict::Silent;
        for statement in self.statements() {
            if !statement.applies_to_anonymous(action, resource) {
                continue;
            }
            match statement.effect.as_deref() {
                Some("Deny") => return Verdict::Deny,
                Some("Allow") => verdict = Verdict::Allow,
                _ => {}
            }
        }
        verdict
    }
}

impl Statement {
    fn check(&self, bucket: &str) -> S3Result<()> {
        match self.effect.as_deref() {
            Some("Allow" | "Deny") => {}
            Some(_) => return Err(malformed_policy("Invalid effect")),
            None => return Err(malformed_policy("Missing required field Effect")),
        }
        if self.principal.is_none() && self.not_principal.is_none() {
            return Err(malformed_policy("Missing required field Principal"));
        }
        let actions = self
            .action
            .as_ref()
            .or(self.not_action.as_ref())
            .ok_or_else(|| malformed_policy("Missing required field Action"))?;
        if actions
            .items()
            .iter()
            .any(|a| !(a == "*" || a.to_ascii_lowercase().starts_with("s3:")))
        {
            return Err(malformed_policy("Policy has invalid action"));
        }
        let resources = self
            .resource
            .as_ref()
            .or(self.not_resource.as_ref())
            .ok_or_else(|| malformed_policy("Missing required field Resource"))?;
        if !resources.items().iter().all(|r| names_bucket(r, bucket)) {
            return Err(malformed_policy("Policy has invalid resource"));
        }
        Ok(())
    }

    fn applies_to_anonymous(&self, action: &str, resource: &str) -> bool {
        let principal = match (&self.principal, &self.not_principal) {
            (Some(principal), _) => principal.is_everyone(),
            (None, Some(excluded)) => !excluded.is_everyone(),
            (None, None) => false,
        };
        let action = action.to_ascii_lowercase();
        let action_matches = |patterns: &OneOrMany<String>| {
            patterns
                .items()
                .iter()
                .any(|p| glob_match(p.to_ascii_lowercase().as_bytes(), action.as_bytes()))
        };
        let actions = match (&self.action, &self.not_action) {
            (Some(listed), _) => action_matches(listed),
            (None, Some(excluded)) => !action_matches(excluded),
            (None, None) => false,
        };
        let resource_matches = |patterns: &OneOrMany<String>| {
            patterns
                .items()
                .iter()
                .any(|p| glob_match(p.as_bytes(), resource.as_bytes()))
        };
        let resources = match (&self.resource, &self.not_resource) {
            (Some(listed), _) => resource_matches(listed),
            (None, Some(excluded)) => !resource_matches(excluded),
            (None, None) => false,
        };
        principal && actions && resources && self.conditions_hold()
    }

    /// Whether every condition holds for an unsigned request over plain HTTP; a
    /// condition eddy does not evaluate makes the statement not apply.
    fn conditions_hold(&self) -> bool {
        let Some(conditions) = &self.condition else {
            return true;
        };
        conditions.iter().all(|(operator, keys)| {
            keys.iter().all(|(key, values)| {
                operator == "Bool"
                    && key.eq_ignore_ascii_case("aws:SecureTransport")
                    && values.items().iter().any(ConditionValue::is_false)
            })
        })
    }
}

impl ConditionValue {
    fn is_false(&self) -> bool {
        match self {
            Self::Text(text) => text.eq_ignore_ascii_case("false"),
            Self::Flag(flag) => !flag,
            Self::Number(_) => false,
        }
    }
}

impl Principal {
    fn is_everyone(&self) -> bool {
        match self {
            Self::Anyone(s) => s == "*",
            Self::Ids(ids) => ids
                .get("AWS")
                .is_some_and(|aws| aws.items().iter().any(|id| id == "*")),
        }
    }
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

    fn policy(statements: &str) -> PolicyDocument {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        PolicyDocument::parse(&text, "b1").expect("a valid policy")
    }

    #[test]
    fn anonymous_reads_follow_allow_and_deny() {
        let document = policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::b1/*"},
               {"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/secret/*"}"#,
        );
        let read = |key: &str| {
            document.evaluate_anonymous("s3:GetObject", &format!("arn:aws:s3:::b1/{key}"))
        };
        assert_eq!(read("public/a"), Verdict::Allow);
        assert_eq!(read("secret/a"), Verdict::Deny);
        assert_eq!(
            document.evaluate_anonymous("s3:PutObject", "arn:aws:s3:::b1/a"),
            Verdict::Silent
        );
        assert_eq!(
            document.evaluate_anonymous("s3:ListBucket", "arn:aws:s3:::b1"),
            Verdict::Silent
        );
    }

    #[test]
    fn statements_for_named_principals_or_unknown_conditions_do_not_apply() {
        let document = policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b1/*"},
               {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b1/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
        );
        assert_eq!(
            document.evaluate_anonymous("s3:GetObject", "arn:aws:s3:::b1/a"),
            Verdict::Silent
        );
    }

    #[test]
    fn insecure_transport_denies_apply_over_http() {
        let document = policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"},
               {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b1/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        );
        assert_eq!(
            document.evaluate_anonymous("s3:GetObject", "arn:aws:s3:::b1/a"),
            Verdict::Deny
        );
    }

    #[test]
    fn not_action_and_not_principal_apply_to_the_rest() {
        let document = policy(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"s3:Delete*","Resource":"arn:aws:s3:::b1/*"}"#,
        );
        assert_eq!(
            document.evaluate_anonymous("s3:GetObject", "arn:aws:s3:::b1/a"),
            Verdict::Allow
        );
        assert_eq!(
            document.evaluate_anonymous("s3:DeleteObject", "arn:aws:s3:::b1/a"),
            Verdict::Silent
        );
    }
}
