//! Error bodies as S3 writes them: with `<RequestId>` and `<HostId>`, with S3's
//! message where `s3s` raised an error without one, with the elements an operation
//! named (`ERROR_ELEMENTS_HEADER`), with the resource S3 names for its code
//! (`<BucketName>`, `<Key>`, `<VersionId>`, `<UploadId>`), and with the numbered
//! `<ArgumentName1>`/`<ArgumentValue1>` elements some errors carry.

use crate::s3::errors::ERROR_ELEMENTS_HEADER;
use crate::state::RequestIds;

/// Adds `<RequestId>` and `<HostId>` to an S3 error body, as S3 writes them (the
/// same ids as the response's `x-amz-request-id` and `x-amz-id-2` headers).
pub(super) fn add_request_ids_to_error(
    response: &mut http::Response<s3s::Body>,
    ids: &RequestIds,
    resource: &Resource,
) {
    let elements = response.headers_mut().remove(ERROR_ELEMENTS_HEADER);
    // Never sent to the client, whatever happens below.
    let arguments = response
        .headers_mut()
        .remove(crate::s3::errors::ERROR_ARGUMENTS_HEADER);
    if response.status().as_u16() < 400 {
        return;
    }
    let Some(bytes) = response.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    if text.contains("<RequestId>") {
        return;
    }
    let Some(end) = text.rfind("</Error>") else {
        return;
    };
    let mut head = text[..end].to_owned();
    if let Some(elements) = elements {
        add_elements(&mut head, elements.as_bytes());
    }
    add_resource_elements(&mut head, resource);
    if let Some(arguments) = arguments {
        for (i, (name, value)) in form_urlencoded::parse(arguments.as_bytes()).enumerate() {
            let n = i + 1;
            head.push_str(&format!(
                "<ArgumentName{n}>{}</ArgumentName{n}><ArgumentValue{n}>{}</ArgumentValue{n}>",
                escape(&name),
                escape(&value)
            ));
        }
    }
    // Errors `s3s` raises itself may come without a message; S3 always has one.
    if !head.contains("<Message>")
        && let Some(code_end) = head.find("</Code>").map(|i| i + "</Code>".len())
        && let Some(message) = head[..code_end]
            .rsplit_once("<Code>")
            .and_then(|(_, code)| default_message(code.trim_end_matches("</Code>")))
    {
        head.insert_str(code_end, &format!("<Message>{message}</Message>"));
    }
    let body = format!(
        "{head}<RequestId>{}</RequestId><HostId>{}</HostId>{}",
        ids.request_id,
        ids.host_id,
        &text[end..]
    );
    if let Ok(length) = http::HeaderValue::from_str(&body.len().to_string()) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, length);
    }
    *response.body_mut() = s3s::Body::from(body);
}

/// What a request names, for the elements of its error body.
#[derive(Debug, Clone, Default)]
pub(super) struct Resource {
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    pub upload_id: Option<String>,
}

impl Resource {
    /// The bucket (in the host or the path), the key (the rest of the path, decoded),
    /// and the `versionId` and `uploadId` of the query.
    pub(super) fn of<B>(request: &http::Request<B>, home: &str) -> Self {
        let Some((bucket, in_host)) = super::host::bucket_of(request, home) else {
            return Self::default();
        };
        let path = request.uri().path().trim_start_matches('/');
        let raw_key = if in_host {
            Some(path)
        } else {
            path.split_once('/').map(|(_, key)| key)
        };
        let key = raw_key.filter(|k| !k.is_empty()).map(|k| {
            percent_encoding::percent_decode_str(k)
                .decode_utf8_lossy()
                .into_owned()
        });
        let query = |name: &str| {
            form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
        };
        Self {
            bucket: Some(bucket.to_owned()),
            key,
            version_id: query("versionId"),
            upload_id: query("uploadId"),
        }
    }
}

/// The resource elements S3 writes for an error code, after `<Message>`.
fn add_resource_elements(head: &mut String, resource: &Resource) {
    let Some(code) = head
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_owned())
    else {
        return;
    };
    let names: &[&str] = match code.as_str() {
        "NoSuchBucket"
        | "BucketNotEmpty"
        | "BucketAlreadyOwnedByYou"
        | "BucketAlreadyExists"
        | "NoSuchTagSet"
        | "NoSuchCORSConfiguration"
        | "NoSuchLifecycleConfiguration"
        | "NoSuchBucketPolicy"
        | "NoSuchWebsiteConfiguration"
        | "ServerSideEncryptionConfigurationNotFoundError"
        | "NoSuchPublicAccessBlockConfiguration"
        | "OwnershipControlsNotFoundError"
        | "ReplicationConfigurationNotFoundError" => &["BucketName"],
        "NoSuchKey" => &["Key"],
        "NoSuchVersion" => &["Key", "VersionId"],
        "NoSuchUpload" => &["UploadId"],
        _ => return,
    };
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for name in names {
        if head.contains(&format!("<{name}>")) {
            continue;
        }
        let value = match *name {
            "BucketName" => resource.bucket.as_deref(),
            "Key" => resource.key.as_deref(),
            "VersionId" => resource.version_id.as_deref(),
            _ => resource.upload_id.as_deref(),
        };
        if let Some(value) = value {
            encoded.append_pair(name, value);
        }
    }
    add_elements(head, encoded.finish().as_bytes());
}

/// Writes the elements an operation named for its error body (see
/// [`ERROR_ELEMENTS_HEADER`]) after its `<Message>`, escaped.
fn add_elements(head: &mut String, encoded: &[u8]) {
    let mut xml = String::new();
    for (name, value) in form_urlencoded::parse(encoded) {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        xml.push_str(&format!("<{name}>{}</{name}>", escape(&value)));
    }
    let at = head
        .find("</Message>")
        .map_or(head.len(), |i| i + "</Message>".len());
    head.insert_str(at, &xml);
}

/// Text as XML character data.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// S3's message for an error code, for errors that arrive without one.
fn default_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "InvalidBucketName" => "The specified bucket is not valid.",
        "AccessDenied" => "Access Denied",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published schema"
        }
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "InvalidRequest" => "Invalid Request",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "InvalidArgument" => "Invalid Argument",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        _ => return None,
    })
}
