//! Error bodies as S3 writes them: with `<RequestId>` and `<HostId>`, with S3's
//! message where `s3s` raised an error without one, and with the numbered
//! `<ArgumentName1>`/`<ArgumentValue1>` elements some errors carry.

use crate::state::RequestIds;

/// Adds `<RequestId>` and `<HostId>` to an S3 error body, as S3 writes them (the
/// same ids as the response's `x-amz-request-id` and `x-amz-id-2` headers).
pub(super) fn add_request_ids_to_error(response: &mut http::Response<s3s::Body>, ids: &RequestIds) {
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

/// Text as XML character data.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
