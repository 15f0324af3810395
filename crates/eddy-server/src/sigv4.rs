//! SigV4 verification for the services `s3s` does not cover (SQS): rebuild the
//! canonical request from what arrived (Authorization header or presigned query), sign
//! it with the configured secret, and compare signatures in constant time.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The largest clock difference accepted between a request's date and the server's.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Request is missing Authentication Token")]
    Missing,
    #[error(
        "Authorization header requires Credential, SignedHeaders and Signature parameters: {0}"
    )]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
    #[error("Signature expired: {0} is now earlier or later than the allowed 15 minutes.")]
    Expired(String),
    /// Temporary credentials past their expiration.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// Temporary credentials with a missing or wrong session token.
    #[error("The security token included in the request is invalid.")]
    InvalidToken,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses an Authorization header value.
pub fn parse_authorization(value: &str) -> Result<AuthorizationHeader, AuthError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| AuthError::Incomplete("unsupported algorithm".into()))?;
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.trim(), v.trim());
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (
        fields.get("Credential"),
        fields.get("SignedHeaders"),
        fields.get("Signature"),
    ) else {
        return Err(AuthError::Incomplete(value.to_owned()));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(AuthError::Incomplete(format!(
            "malformed credential scope {credential}"
        )));
    }
    Ok(AuthorizationHeader {
        access_key_id: scope[0].to_owned(),
        date: scope[1].to_owned(),
        region: scope[2].to_owned(),
        service: scope[3].to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature: signature.to_string(),
    })
}

/// The credential scope service of a request, from its Authorization header.
pub fn scope_service(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    parse_authorization(value).ok().map(|a| a.service)
}

/// RFC 3986 encoding as SigV4 wants it: everything but unreserved characters.
fn uri_encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && byte == b'/');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded_pairs(query)
        .into_iter()
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Splits a query string into decoded pairs; `+` stays a plus (RFC 3986 query).
fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            let text = String::from_utf8_lossy(v.as_bytes());
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// What verification needs of a request.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The credential scope service of a presigned request (`X-Amz-Credential` in the
/// query string).
pub fn presigned_scope_service(query: &str) -> Option<String> {
    let credential = form_urlencoded_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")?
        .1;
    credential.split('/').nth(3).map(str::to_owned)
}

/// The session token a request carries (`X-Amz-Security-Token`, header or presigned
/// query), for temporary credentials.
pub fn security_token<'a>(
    headers: &'a HeaderMap,
    query: &str,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(value) = headers.get("x-amz-security-token") {
        return value.to_str().ok().map(std::borrow::Cow::Borrowed);
    }
    form_urlencoded_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| std::borrow::Cow::Owned(v))
}

/// The access key id a request was signed with (header or presigned query).
pub fn access_key_id(headers: &HeaderMap, query: &str) -> Option<String> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        return parse_authorization(value.to_str().ok()?)
            .ok()
            .map(|a| a.access_key_id);
    }
    let credential = form_urlencoded_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")?
        .1;
    credential.split('/').next().map(str::to_owned)
}

/// Verifies the SigV4 signature of a request, in the Authorization header or presigned
/// in the query string; returns the parsed authorization on success. `now` is epoch
/// seconds; `lookup` finds the secret of an access key given the request's session
/// token (or refuses the key).
pub fn verify(
    request: &SignedRequest<'_>,
    now: i64,
    lookup: impl Fn(&str, Option<&str>) -> Result<String, AuthError>,
) -> Result<AuthorizationHeader, AuthError> {
    let token = security_token(request.headers, request.query);
    let lookup = |key: &str| lookup(key, token.as_deref());
    let Some(value) = request.headers.get(http::header::AUTHORIZATION) else {
        if request.query.contains("X-Amz-Signature=") {
            return verify_presigned(request, now, lookup);
        }
        return Err(AuthError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Incomplete("non-ASCII Authorization header".into()))?;
    let auth = parse_authorization(value)?;
    let amz_date = request
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AuthError::Incomplete("missing X-Amz-Date".into()))?;
    check_date(amz_date, &auth, now, None)?;
    let secret = lookup(&auth.access_key_id)?;
    let payload_hash = match request
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(hash) => hash.to_owned(),
        None => sha256_hex(request.body),
    };
    if payload_hash != "UNSIGNED-PAYLOAD" && payload_hash != sha256_hex(request.body) {
        return Err(AuthError::SignatureMismatch);
    }
    let expected = signature(
        request,
        &auth,
        amz_date,
        &canonical_query(request.query),
        &payload_hash,
        &secret,
    );
    if expected.as_bytes().ct_eq(auth.signature.as_bytes()).into() {
        Ok(auth)
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

/// Checks a request date against the clock (and the expiry of a presigned request).
fn check_date(
    amz_date: &str,
    auth: &AuthorizationHeader,
    now: i64,
    expires: Option<i64>,
) -> Result<(), AuthError> {
    let parsed = time::PrimitiveDateTime::parse(
        amz_date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| AuthError::Incomplete(format!("malformed X-Amz-Date {amz_date}")))?
    .assume_utc()
    .unix_timestamp();
    match expires {
        Some(expires) => {
            if parsed - now > MAX_SKEW_SECONDS || now > parsed + expires {
                return Err(AuthError::Expired(amz_date.to_owned()));
            }
        }
        None => {
            if (parsed - now).abs() > MAX_SKEW_SECONDS {
                return Err(AuthError::Expired(amz_date.to_owned()));
            }
        }
    }
    if !amz_date.starts_with(&auth.date) {
        return Err(AuthError::SignatureMismatch);
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(AuthError::Incomplete(
            "SignedHeaders must include host".into(),
        ));
    }
    Ok(())
}

/// The signature SigV4 expects for a request, given its canonical query and payload hash.
fn signature(
    request: &SignedRequest<'_>,
    auth: &AuthorizationHeader,
    amz_date: &str,
    canonical_query: &str,
    payload_hash: &str,
    secret: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&canonical_header_value(request.headers, name));
        canonical_headers.push('\n');
    }
    // Non-S3 services sign the path URI-encoded once more.
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    let canonical_path = uri_encode(path, true);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        canonical_path,
        canonical_query,
        canonical_headers,
        auth.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

/// The SigV4 signing key of a (secret, date, region, service) scope, four chained HMACs.
fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    key = hmac(&key, region.as_bytes());
    key = hmac(&key, service.as_bytes());
    hmac(&key, b"aws4_request")
}

/// A derived signing key and the scope it was derived for.
struct CachedSigningKey {
    secret: String,
    date: String,
    region: String,
    service: String,
    key: Vec<u8>,
}

/// How many scopes each thread remembers (clients use one or two; dates change daily).
const SIGNING_KEY_CACHE_SIZE: usize = 8;

thread_local! {
    /// Signing keys derived recently on this thread, newest last: the key of a scope
    /// stays the same all day, so deriving it for every request is wasted work.
    static SIGNING_KEYS: std::cell::RefCell<Vec<CachedSigningKey>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The signing key of a scope, from this thread's cache or derived (and cached).
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    SIGNING_KEYS.with_borrow_mut(|cache| {
        if let Some(hit) = cache.iter().find(|entry| {
            entry.date == date
                && entry.region == region
                && entry.service == service
                && entry.secret == secret
        }) {
            return hit.key.clone();
        }
        let key = derive_signing_key(secret, date, region, service);
        if cache.len() >= SIGNING_KEY_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push(CachedSigningKey {
            secret: secret.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            key: key.clone(),
        });
        key
    })
}

/// Verifies a presigned request: the `X-Amz-*` query parameters carry the signature.
fn verify_presigned(
    request: &SignedRequest<'_>,
    now: i64,
    lookup: impl Fn(&str) -> Result<String, AuthError>,
) -> Result<AuthorizationHeader, AuthError> {
    let pairs = form_urlencoded_pairs(request.query);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| AuthError::Incomplete(format!("missing {name}")))
    };
    if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(AuthError::Incomplete("unsupported algorithm".into()));
    }
    let credential = get("X-Amz-Credential")?;
    let amz_date = get("X-Amz-Date")?;
    let expires: i64 = get("X-Amz-Expires")?
        .parse()
        .ok()
        .filter(|e| (1..=604_800).contains(e))
        .ok_or_else(|| AuthError::Incomplete("X-Amz-Expires must be 1 to 604800".into()))?;
    let signed_headers = get("X-Amz-SignedHeaders")?;
    let provided = get("X-Amz-Signature")?;
    let auth = parse_authorization(&format!(
        "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, Signature={provided}"
    ))?;
    check_date(&amz_date, &auth, now, Some(expires))?;
    let secret = lookup(&auth.access_key_id)?;
    let unsigned_query = request
        .query
        .split('&')
        .filter(|p| !p.starts_with("X-Amz-Signature="))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = canonical_query(&unsigned_query);
    for payload_hash in [sha256_hex(request.body), "UNSIGNED-PAYLOAD".to_owned()] {
        let expected = signature(
            request,
            &auth,
            &amz_date,
            &canonical,
            &payload_hash,
            &secret,
        );
        if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
            return Ok(auth);
        }
    }
    Err(AuthError::SignatureMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_keys_are_cached_per_scope() {
        // The example of AWS's "derive a signing key" documentation.
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let expected = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d";
        assert_eq!(
            hex::encode(derive_signing_key(secret, "20120215", "us-east-1", "iam")),
            expected
        );
        for _ in 0..2 {
            assert_eq!(
                hex::encode(signing_key(secret, "20120215", "us-east-1", "iam")),
                expected
            );
        }
        let other = signing_key(secret, "20120215", "us-east-1", "sqs");
        assert_eq!(
            other,
            derive_signing_key(secret, "20120215", "us-east-1", "sqs")
        );
        assert_ne!(hex::encode(other), expected);
    }

    #[test]
    fn parses_authorization_header() {
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .expect("valid header");
        assert_eq!(auth.access_key_id, "test");
        assert_eq!(auth.service, "sqs");
        assert_eq!(auth.signed_headers, vec!["host", "x-amz-date"]);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=x").is_err());
    }

    #[test]
    fn encodes_like_sigv4() {
        assert_eq!(uri_encode("a b/c~", true), "a%20b/c~");
        assert_eq!(canonical_query("b=2&a=1&c=x%20y"), "a=1&b=2&c=x%20y");
    }
}
