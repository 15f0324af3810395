//! Size limit of S3 request bodies that are XML documents (DeleteObjects,
//! CompleteMultipartUpload, the bucket and object configurations): they are buffered
//! whole, so they are read here with a limit first and refused with S3's
//! `MaxMessageLengthExceeded` when larger. (s3s has the same limit, but reports a
//! streamed body over it as `InternalError`.)

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The largest XML body accepted, as s3s's default `xml_max_body_size`.
const MAX_XML_BODY_BYTES: usize = 20 * 1024 * 1024;

/// Query parameters that make a PUT or POST carry an XML document.
const XML_SUBRESOURCES: &[&str] = &[
    "delete",
    "uploadId",
    "notification",
    "tagging",
    "versioning",
    "cors",
    "lifecycle",
    "policy",
    "acl",
    "website",
    "encryption",
    "replication",
    "object-lock",
    "legal-hold",
    "retention",
    "restore",
    "select",
    "ownershipControls",
    "publicAccessBlock",
    "accelerate",
    "requestPayment",
    "logging",
    "analytics",
    "metrics",
    "inventory",
    "intelligent-tiering",
];

/// Whether the body of this request is an XML document s3s buffers whole.
fn carries_xml(method: &Method, query: Option<&str>) -> bool {
    if method != Method::PUT && method != Method::POST {
        return false;
    }
    let keys: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .collect();
    // UploadPart streams its body.
    !keys.contains(&"partNumber") && keys.iter().any(|k| XML_SUBRESOURCES.contains(k))
}

/// Reads the body of an XML-carrying request with the limit; other requests pass
/// through untouched. The error is the response to send.
pub(super) async fn buffer_xml_body(
    request: Request<s3s::Body>,
) -> Result<Request<s3s::Body>, Response<s3s::Body>> {
    if !carries_xml(request.method(), request.uri().query()) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, MAX_XML_BODY_BYTES).collect().await {
        Ok(collected) => Ok(Request::from_parts(
            parts,
            s3s::Body::from(collected.to_bytes()),
        )),
        Err(error) if error.is::<LengthLimitError>() => Err(error_response(
            "MaxMessageLengthExceeded",
            "Your request was too big.",
        )),
        Err(_) => Err(error_response(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        )),
    }
}

fn error_response(code: &str, message: &str) -> Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = Response::new(s3s::Body::from(Bytes::from(xml)));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{Method, carries_xml};

    #[test]
    fn xml_operations_are_recognised() {
        assert!(carries_xml(&Method::POST, Some("delete")));
        assert!(carries_xml(&Method::POST, Some("uploadId=abc")));
        assert!(carries_xml(&Method::PUT, Some("notification=")));
        assert!(!carries_xml(
            &Method::PUT,
            Some("partNumber=1&uploadId=abc")
        ));
        assert!(!carries_xml(&Method::PUT, Some("x-id=PutObject")));
        assert!(!carries_xml(&Method::PUT, None));
        assert!(!carries_xml(&Method::GET, Some("tagging")));
    }
}
