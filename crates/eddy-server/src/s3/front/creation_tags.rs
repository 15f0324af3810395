//! The tags of a new bucket (`<Tags>` in CreateBucket's `CreateBucketConfiguration`,
//! which S3 added in 2025 and `s3s` does not read yet): the body of a CreateBucket is
//! read here, its tags handed to `buckets` in the request's extensions, and the body
//! passed on unchanged.

use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use s3s::dto::Tagging;
use s3s::xml::Deserializer;

use super::error_body::Resource;
use crate::s3::errors::malformed_xml;
use crate::s3::tags::CreationTags;

/// A CreateBucketConfiguration is a few hundred bytes; S3 refuses far less than this.
const MAX_CREATE_BUCKET_BODY: usize = 1024 * 1024;

/// Reads the tags of a CreateBucket request into its extensions; other requests pass
/// through untouched. The error is the response to send.
pub(super) async fn read_creation_tags(
    request: Request<s3s::Body>,
    resource: &Resource,
) -> Result<Request<s3s::Body>, Response<s3s::Body>> {
    let is_create_bucket =
        request.method() == Method::PUT
            && resource.bucket.is_some()
            && resource.key.is_none()
            && request.uri().query().unwrap_or("").split('&').all(|pair| {
                pair.is_empty() || pair.starts_with("x-id=") || pair.starts_with("X-Amz-")
            });
    if !is_create_bucket {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let Ok(collected) = Limited::new(body, MAX_CREATE_BUCKET_BODY).collect().await else {
        return Err(refused());
    };
    let bytes = collected.to_bytes();
    let mut request = Request::from_parts(parts, s3s::Body::from(bytes.clone()));
    let text = String::from_utf8_lossy(&bytes);
    if let Some(tags) = tags_of(&text).map_err(|()| refused())? {
        request.extensions_mut().insert(CreationTags(tags));
    }
    Ok(request)
}

/// The `<Tags>` of a CreateBucketConfiguration, read as a tag set.
fn tags_of(body: &str) -> Result<Option<s3s::dto::TagSet>, ()> {
    let Some(start) = body.find("<Tags>") else {
        return Ok(None);
    };
    let inner_start = start + "<Tags>".len();
    let inner_end = body[inner_start..].find("</Tags>").ok_or(())? + inner_start;
    let document = format!(
        "<Tagging><TagSet>{}</TagSet></Tagging>",
        &body[inner_start..inner_end]
    );
    let mut d = Deserializer::new(document.as_bytes());
    let tagging: Tagging = d
        .named_element("Tagging", Deserializer::content)
        .map_err(|_| ())?;
    Ok(Some(tagging.tag_set))
}

fn refused() -> Response<s3s::Body> {
    malformed_xml()
        .to_http_response()
        .unwrap_or_else(|_| Response::new(s3s::Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::tags_of;

    #[test]
    fn reads_the_tags_of_a_bucket_configuration() {
        let body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint><Tags><Tag><Key>team</Key><Value>data</Value></Tag><Tag><Key>env</Key><Value>dev</Value></Tag></Tags></CreateBucketConfiguration>";
        let tags = tags_of(body).expect("parses").expect("tags");
        let pairs: Vec<_> = tags
            .iter()
            .map(|t| (t.key.as_deref(), t.value.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [(Some("team"), Some("data")), (Some("env"), Some("dev"))]
        );
        assert_eq!(tags_of("<CreateBucketConfiguration/>"), Ok(None));
        assert!(tags_of("<Tags><Tag><Key>k</Key>").is_err());
    }
}
