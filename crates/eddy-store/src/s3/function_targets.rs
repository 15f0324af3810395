//! Lambda functions as destinations of bucket notifications, inside the store's
//! transactions: which function (and version) a configuration's ARN names, whether
//! the function's resource policy lets S3 invoke it (the check S3 makes when the
//! configuration is stored), and the asynchronous invocation an event queues (in the
//! object change's transaction, like a queue message: the outbox).

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StoreError;
use crate::lambda::{FunctionRecord, Permission};
use crate::lambda_async::{AsyncInvocation, insert};
use crate::shared::StoreSettings;

/// The service principal S3 invokes functions as.
pub const S3_PRINCIPAL: &str = "s3.amazonaws.com";

/// A function named by a notification configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionTarget {
    /// The qualifier the ARN named, if any.
    pub qualifier: Option<String>,
    /// `$LATEST`'s record: its resource policy is the one checked.
    pub record: FunctionRecord,
    /// The published version invoked (`None`: `$LATEST`).
    pub version: Option<u32>,
}

/// The function `arn` names in this store's region and account, resolving an alias to
/// its version; `None` when the function, version or alias does not exist.
pub(crate) fn resolve(
    conn: &Connection,
    settings: &StoreSettings,
    arn: &str,
) -> Result<Option<FunctionTarget>, StoreError> {
    let parts: Vec<&str> = arn.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        ["arn", _, "lambda", region, account, "function", name] => {
            if *region != settings.region || *account != settings.account_id {
                return Ok(None);
            }
            (*name, None)
        }
        [
            "arn",
            _,
            "lambda",
            region,
            account,
            "function",
            name,
            qualifier,
        ] => {
            if *region != settings.region || *account != settings.account_id {
                return Ok(None);
            }
            (*name, Some(*qualifier))
        }
        _ => return Ok(None),
    };
    let Some(record) = load_json::<FunctionRecord>(
        conn,
        "SELECT config FROM lambda_functions WHERE name = ?1",
        params![name],
    )?
    else {
        return Ok(None);
    };
    let version = match qualifier {
        None | Some("$LATEST") => None,
        Some(qualifier) => {
            let number = if let Ok(number) = qualifier.parse::<u32>() {
                number
            } else {
                let Some(alias) = load_json::<crate::lambda_versions::AliasRecord>(
                    conn,
                    "SELECT config FROM lambda_aliases WHERE function = ?1 AND name = ?2",
                    params![name, qualifier],
                )?
                else {
                    return Ok(None);
                };
                match alias.function_version.parse::<u32>() {
                    Ok(number) => number,
                    Err(_) => {
                        return Ok(Some(FunctionTarget {
                            qualifier: Some(qualifier.to_owned()),
                            record,
                            version: None,
                        }));
                    }
                }
            };
            let exists: Option<u32> = conn
                .query_row(
                    "SELECT version FROM lambda_function_versions WHERE name = ?1 AND version = ?2",
                    params![name, number],
                    |row| row.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            Some(number)
        }
    };
    Ok(Some(FunctionTarget {
        qualifier: qualifier.map(str::to_owned),
        record,
        version,
    }))
}

fn load_json<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    let json: Option<String> = conn.query_row(sql, params, |row| row.get(0)).optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// Whether the function's resource policy allows S3 to invoke it for events of
/// `bucket` in `account`: a statement for `s3.amazonaws.com` (or `*`) with
/// `lambda:InvokeFunction` (or a wildcard), whose `SourceArn` (when given) matches the
/// bucket's ARN and whose `SourceAccount` (when given) is the account.
pub fn allows_s3(permissions: &[Permission], bucket: &str, account: &str) -> bool {
    let bucket_arn = eddy_events::arn::bucket_arn(bucket);
    permissions.iter().any(|p| {
        (p.principal == S3_PRINCIPAL || p.principal == "*")
            && matches!(
                p.action.as_str(),
                "lambda:InvokeFunction" | "lambda:*" | "*"
            )
            && p.source_arn
                .as_deref()
                .is_none_or(|pattern| arn_like(pattern, &bucket_arn))
            && p.source_account.as_deref().is_none_or(|a| a == account)
    })
}

/// IAM's `ArnLike`: `*` matches any run of characters, `?` any one character.
fn arn_like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, vi));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            vi = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Queues the asynchronous invocation of `target` with an event body, inside the
/// caller's transaction; due at `now`.
pub(crate) fn queue_invocation(
    conn: &Connection,
    target: &FunctionTarget,
    body: String,
    now: u64,
) -> Result<(), StoreError> {
    insert(
        conn,
        &AsyncInvocation {
            request_id: crate::ids::random_uuid().to_string(),
            function: target.record.name.clone(),
            version: target.version,
            payload: Bytes::from(body),
            attempts: 0,
            due_ms: now,
            qualifier: target.qualifier.clone(),
            enqueued_ms: now,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(principal: &str, source_arn: Option<&str>, account: Option<&str>) -> Permission {
        Permission {
            sid: "s".into(),
            action: "lambda:InvokeFunction".into(),
            principal: principal.into(),
            source_arn: source_arn.map(str::to_owned),
            source_account: account.map(str::to_owned),
        }
    }

    #[test]
    fn only_a_statement_for_s3_matching_the_bucket_and_account_allows() {
        let acct = "000000000000";
        assert!(!allows_s3(&[], "b", acct));
        assert!(allows_s3(
            &[permission(S3_PRINCIPAL, None, None)],
            "b",
            acct
        ));
        assert!(!allows_s3(
            &[permission("sns.amazonaws.com", None, None)],
            "b",
            acct
        ));
        let exact = permission(S3_PRINCIPAL, Some("arn:aws:s3:::b"), Some(acct));
        assert!(allows_s3(std::slice::from_ref(&exact), "b", acct));
        assert!(!allows_s3(&[exact], "other", acct));
        let wildcard = permission(S3_PRINCIPAL, Some("arn:aws:s3:::up-*"), None);
        assert!(allows_s3(std::slice::from_ref(&wildcard), "up-1", acct));
        assert!(!allows_s3(&[wildcard], "down", acct));
        let other_account = permission(S3_PRINCIPAL, None, Some("111111111111"));
        assert!(!allows_s3(&[other_account], "b", acct));
        let mut get = permission(S3_PRINCIPAL, None, None);
        get.action = "lambda:GetFunction".into();
        assert!(!allows_s3(&[get], "b", acct));
    }

    #[test]
    fn arn_like_wildcards() {
        assert!(arn_like("a*c", "abbbc"));
        assert!(arn_like("a?c", "abc"));
        assert!(!arn_like("a?c", "abbc"));
        assert!(arn_like("*", ""));
        assert!(!arn_like("abc", "abcd"));
    }
}
