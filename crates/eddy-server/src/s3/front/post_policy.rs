//! Refusals of signed browser form uploads (POST Object) whose fields break a
//! condition of their policy: `s3s` answers them `400 InvalidPolicyDocument`, S3
//! answers `403 AccessDenied` with `Invalid according to Policy: Policy Condition
//! failed:` and the condition (a policy S3 cannot read stays `400`, and so does a form
//! with a policy but no signature, which S3 refuses with 400 before reading it).

use s3s::{S3Error as WireError, S3ErrorCode};

/// Whether `request` is a browser form upload (a `multipart/form-data` POST).
pub(super) fn is_form_upload<B>(request: &http::Request<B>) -> bool {
    request.method() == http::Method::POST
        && request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
}

/// Rewrites the answer of a form upload refused for a failed policy condition as S3
/// words it.
pub(super) fn as_s3_refusal(response: &mut http::Response<s3s::Body>) {
    if response.status() != http::StatusCode::BAD_REQUEST {
        return;
    }
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    if !text.contains("<Code>InvalidPolicyDocument</Code>") {
        return;
    }
    let Some(message) = element(text, "Message") else {
        return;
    };
    let Some(condition) = failed_condition(&unescape(message)) else {
        return;
    };
    let error = WireError::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: Policy Condition failed: {condition}"),
    );
    if let Ok(refusal) = error.to_http_response() {
        *response = refusal;
    }
}

/// The condition an `s3s` message of a failed condition names, as the policy wrote
/// it (`["eq", "$bucket", "name"]`); `None` for other messages.
fn failed_condition(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Policy condition '")?;
    let (operator, rest) = rest.split_once("' for field '")?;
    let (field, rest) = rest.split_once("' failed: expected ")?;
    let expected = rest.strip_prefix("prefix ").unwrap_or(rest);
    let value = expected.strip_prefix('\'')?;
    let (value, _) = value.split_once("', got '")?;
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    Some(format!(
        "[{}, {}, {}]",
        quote(operator),
        quote(&format!("${field}")),
        quote(value)
    ))
}

/// The text of the first `<name>` element of `xml`.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

/// Undoes XML's escapes of text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_conditions_are_named_as_the_policy_wrote_them() {
        assert_eq!(
            failed_condition(
                "Policy condition 'eq' for field 'bucket' failed: expected 'a', got 'b'"
            )
            .as_deref(),
            Some(r#"["eq", "$bucket", "a"]"#)
        );
        assert_eq!(
            failed_condition(
                "Policy condition 'starts-with' for field 'key' failed: expected prefix 'fo\"o', got 'x'"
            )
            .as_deref(),
            Some(r#"["starts-with", "$key", "fo\"o"]"#)
        );
        assert_eq!(failed_condition("failed to parse POST policy"), None);
    }

    #[test]
    fn a_failed_condition_is_403_access_denied() {
        let error = WireError::with_message(
            S3ErrorCode::InvalidPolicyDocument,
            "Policy condition 'eq' for field 'acl' failed: expected 'private', got 'public-read'",
        );
        let Ok(mut response) = error.to_http_response() else {
            panic!("no response");
        };
        as_s3_refusal(&mut response);
        assert_eq!(response.status(), http::StatusCode::FORBIDDEN);
        let bytes = response.body().bytes().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
        assert!(
            text.contains("Invalid according to Policy: Policy Condition failed: [&quot;eq&quot;, &quot;$acl&quot;, &quot;private&quot;]")
                || text.contains(r#"Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]"#),
            "{text}"
        );
    }
}
