//! How the store's values are written in S3's requests and answers: timestamps and
//! HTTP dates, ETags, reported version ids, the owner, URL-encoded keys,
//! continuation tokens, and the request ids a change carries into its events.
//! A leaf: it knows `s3s`'s types and the store's, and no other module of `s3`.

use std::time::{Duration, UNIX_EPOCH};

use s3s::dto::{ETag, Owner, Timestamp, TimestampFormat};
use s3s::{S3Request, S3Result, s3_error};

use eddy_store::Store;
use eddy_store::s3::ObjectMeta;
use eddy_store::s3::{ChangeContext, Requester};

use crate::state::RequestIds;

/// The store's change context of a request: the ids its S3 events repeat.
pub(super) fn context<T>(req: &S3Request<T>) -> ChangeContext {
    let ids = req
        .extensions
        .get::<RequestIds>()
        .cloned()
        .unwrap_or_else(RequestIds::generate);
    let requester = req.credentials.as_ref().map_or(Requester::Anonymous, |c| {
        Requester::AccessKey(c.access_key.clone())
    });
    let trace_header = req
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ChangeContext {
        request_id: ids.request_id,
        host_id: ids.host_id,
        source_ip: ids.source_ip,
        requester,
        trace_header,
    }
}

/// The status an operation answers with when `s3s` writes another (RestoreObject's
/// 202 Accepted): carried in the response's extensions, applied by the front.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReplyStatus(pub http::StatusCode);

pub(super) fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

pub(super) fn timestamp_ms(ts: &Timestamp) -> u64 {
    let dt: time::OffsetDateTime = ts.clone().into();
    (dt.unix_timestamp_nanos() / 1_000_000).max(0) as u64
}

pub(super) fn format_http_date(ts: &Timestamp) -> Option<String> {
    let mut out = Vec::new();
    ts.format(TimestampFormat::HttpDate, &mut out).ok()?;
    String::from_utf8(out).ok()
}

pub(super) fn parse_http_date(value: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, value).ok()
}

pub(super) fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

/// The `x-amz-version-id` to report for an object: its id, or `null` when the null
/// version was asked for by name; nothing for objects of never-versioned buckets.
pub(super) fn reported_version(meta: &ObjectMeta, requested: Option<&str>) -> Option<String> {
    meta.version_id
        .clone()
        .or_else(|| requested.map(str::to_owned))
}

/// The owner S3 reports for everything in this account.
pub(super) fn owner(store: &Store) -> Owner {
    Owner {
        display_name: Some("eddy".to_owned()),
        id: Some(store.settings().account_id.clone()),
    }
}

/// A key, prefix or marker as a listing answers it: URL-encoded when the request asked
/// for `encoding-type=url`.
pub(super) fn maybe_url_encode(value: String, url: bool) -> String {
    if url {
        percent_encoding::utf8_percent_encode(&value, URL_ENCODE).to_string()
    } else {
        value
    }
}

const URL_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The continuation token that resumes a listing after `last`.
pub(super) fn encode_token(last: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

pub(super) fn decode_token(token: &str) -> S3Result<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::{decode_token, encode_token};

    #[test]
    fn continuation_tokens_round_trip() {
        assert_eq!(
            decode_token(&encode_token("a/b c")).ok().as_deref(),
            Some("a/b c")
        );
        assert!(decode_token("!!!").is_err());
    }
}
