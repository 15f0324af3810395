//! The region of an S3 request against the region of its endpoint and of its bucket,
//! checked before `s3s` reads the request, as S3 checks it before the signature.
//!
//! eddy is every region's endpoint at once: a request is served in the region it is
//! signed for, unless its host names another (`s3.<region>.localhost`). A request for
//! a bucket of another region is refused as S3 refuses it: `301 PermanentRedirect`
//! with the bucket's endpoint where the client chose the endpoint (path-style, or a
//! host naming a region), `400 AuthorizationHeaderMalformed` with the expected
//! `<Region>` where S3's DNS would have taken the request to the bucket's region
//! (`<bucket>.s3.localhost`, `<bucket>.localhost`). Both carry
//! `x-amz-bucket-region`, which SDKs read to retry in the right region; HEAD answers
//! carry no body. GetBucketLocation is answered from every region, and CreateBucket
//! checks its `LocationConstraint` itself (`buckets`).

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};

use eddy_store::Store;

use super::host::{self, bucket_of};
use crate::s3::regions::is_region;
use crate::sigv4::parse_authorization;
use crate::state::RequestIds;

/// The region a request is signed for, and whether its signature is presigned in the
/// query (`X-Amz-Credential`) rather than in the Authorization header.
fn signing_region<B>(request: &Request<B>) -> Option<(String, bool)> {
    if let Some(value) = request.headers().get(http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return parse_authorization(value).ok().map(|a| (a.region, false));
    }
    let query = request.uri().query()?;
    let credential = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "X-Amz-Credential")?
        .1;
    credential
        .split('/')
        .nth(2)
        .map(|region| (region.to_owned(), true))
}

/// The region of the request the signing region must match, and why.
enum Refusal {
    /// Signed for the wrong region: 400 with the expected `<Region>`.
    WrongSigningRegion { expected: String },
    /// The bucket lives in another region than the endpoint: 301 with its endpoint.
    Redirect { bucket_region: String },
}

/// Answers a request whose signing region does not match its endpoint or its bucket,
/// as S3 does; `None` lets the request through.
pub(super) async fn refuse_wrong_region<B>(
    request: &Request<B>,
    store: &Store,
    ids: &RequestIds,
) -> Option<Response<s3s::Body>> {
    let (signed, presigned) = signing_region(request)?;
    let home = store.settings().region.as_str();
    let form = host::host_of(request)
        .map(|h| host::parse(h, home))
        .unwrap_or_default();
    if let Some(endpoint) = form.region
        && endpoint != signed
    {
        return Some(wrong_signing_region(
            request, &signed, endpoint, presigned, None, ids,
        ));
    }
    let bucket = bucket_of(request, home);
    let bucket_region = match bucket {
        Some((bucket, in_host)) if !answers_in_every_region(request, bucket, in_host) => {
            store.buckets().region(bucket).await.ok().flatten()
        }
        _ => None,
    };
    let refusal = match (&bucket_region, bucket) {
        // A region S3 does not know is wrong wherever the request goes.
        _ if !is_region(&signed, home) => Refusal::WrongSigningRegion {
            expected: bucket_region.clone().unwrap_or_else(|| home.to_owned()),
        },
        (Some(region), Some((_, in_host))) if *region != signed => {
            if in_host && form.region.is_none() {
                Refusal::WrongSigningRegion {
                    expected: region.clone(),
                }
            } else {
                Refusal::Redirect {
                    bucket_region: region.clone(),
                }
            }
        }
        _ => return None,
    };
    Some(match refusal {
        Refusal::WrongSigningRegion { expected } => wrong_signing_region(
            request,
            &signed,
            &expected,
            presigned,
            bucket_region.as_deref(),
            ids,
        ),
        Refusal::Redirect { bucket_region } => {
            let bucket = bucket.map_or("", |(b, _)| b);
            permanent_redirect(request, bucket, &bucket_region, ids)
        }
    })
}

/// GetBucketLocation answers in every region (it is how clients find a bucket's
/// region), and CreateBucket checks its location constraint itself.
fn answers_in_every_region<B>(request: &Request<B>, bucket: &str, in_host: bool) -> bool {
    let path = request.uri().path().trim_start_matches('/');
    let on_bucket = if in_host {
        path.is_empty()
    } else {
        path == bucket || path == format!("{bucket}/")
    };
    if !on_bucket {
        return false;
    }
    let query = request.uri().query().unwrap_or("");
    let mut names = form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name.into_owned())
        .filter(|name| !name.starts_with("X-Amz-") && !name.starts_with("x-id"));
    match *request.method() {
        Method::GET => names.any(|name| name == "location"),
        Method::PUT => names.next().is_none(),
        _ => false,
    }
}

/// 400 `AuthorizationHeaderMalformed` (or `AuthorizationQueryParametersError` for a
/// presigned URL) naming the region the request should have been signed for.
fn wrong_signing_region<B>(
    request: &Request<B>,
    signed: &str,
    expected: &str,
    presigned: bool,
    bucket_region: Option<&str>,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    let (code, message) = if presigned {
        (
            "AuthorizationQueryParametersError",
            format!(
                "Error parsing the X-Amz-Credential parameter; the region '{}' is wrong; expecting '{}'",
                xml_escape(signed),
                expected
            ),
        )
    } else {
        (
            "AuthorizationHeaderMalformed",
            format!(
                "The authorization header is malformed; the region '{}' is wrong; expecting '{}'",
                xml_escape(signed),
                expected
            ),
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><Region>{expected}</Region><RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        ids.request_id, ids.host_id
    );
    answer(request, StatusCode::BAD_REQUEST, body, bucket_region)
}

/// 301 `PermanentRedirect` naming the bucket's endpoint.
fn permanent_redirect<B>(
    request: &Request<B>,
    bucket: &str,
    bucket_region: &str,
    ids: &RequestIds,
) -> Response<s3s::Body> {
    let port = host::host_of(request)
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, port)| format!(":{port}"))
        .unwrap_or_default();
    let bucket = xml_escape(bucket);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Endpoint>{bucket}.s3.{bucket_region}.localhost{port}</Endpoint><Bucket>{bucket}</Bucket><RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        ids.request_id, ids.host_id
    );
    answer(
        request,
        StatusCode::MOVED_PERMANENTLY,
        body,
        Some(bucket_region),
    )
}

/// The answer: the XML body (none for HEAD) and `x-amz-bucket-region`.
fn answer<B>(
    request: &Request<B>,
    status: StatusCode,
    body: String,
    bucket_region: Option<&str>,
) -> Response<s3s::Body> {
    let head = request.method() == Method::HEAD;
    let mut response = Response::new(if head {
        s3s::Body::empty()
    } else {
        s3s::Body::from(Bytes::from(body))
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if !head {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    if let Some(region) = bucket_region.and_then(|r| HeaderValue::from_str(r).ok()) {
        headers.insert("x-amz-bucket-region", region);
    }
    response
}

/// Escapes the five XML specials (a signing region is the client's text).
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
