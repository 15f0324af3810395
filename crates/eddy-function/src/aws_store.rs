//! The function's object store over the AWS SDK for S3: Amazon S3 itself, eddy, or any
//! S3-compatible endpoint.
//!
//! A copy is one `CopyObject` conditioned with `x-amz-copy-source-if-match` on the
//! event's eTag. Objects above 5 GiB, which `CopyObject` refuses, are copied with a
//! multipart upload of `UploadPartCopy` ranges, each conditioned the same way. Content
//! type and user metadata are kept.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::{CopyError, CopyRequest, ObjectStore};

/// The largest object a single `CopyObject` may copy.
pub const MAX_SINGLE_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The range each `UploadPartCopy` copies in a multipart copy.
pub const MULTIPART_COPY_PART_BYTES: u64 = 512 * 1024 * 1024;

/// Characters escaped in `x-amz-copy-source`: everything but unreserved ones and `/`.
const COPY_SOURCE_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An [`ObjectStore`] backed by an S3 client.
#[derive(Clone, Debug)]
pub struct AwsS3Store {
    client: Client,
}

impl AwsS3Store {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// The `x-amz-copy-source` value for a bucket and a decoded key.
pub fn copy_source(bucket: &str, key: &str) -> String {
    format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE_ESCAPES))
}

fn quoted(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// Maps an SDK error to the function's view: a failed precondition means the source
/// changed, a missing key means it is gone, anything else is a failure.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(error: SdkError<E>) -> CopyError {
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().map(str::to_owned);
    match (status, code.as_deref()) {
        (_, Some("PreconditionFailed")) | (Some(412), _) => CopyError::SourceChanged,
        (_, Some("NoSuchKey")) => CopyError::SourceGone,
        (_, Some(code)) => CopyError::Failed(format!(
            "{code}: {}",
            error.message().unwrap_or("no message")
        )),
        _ => CopyError::Failed(format!("{error:?}")),
    }
}

/// Whether a single-part copy's ETag shows that the store copied a version other than
/// the one the copy was conditioned on (S3 honours the condition; some emulators do
/// not). Multipart ETags are not content hashes and prove nothing either way.
fn ignored_copy_condition(expected: &str, copied: &str) -> bool {
    let expected = expected.trim_matches('"');
    let copied = copied.trim_matches('"');
    !expected.contains('-') && !copied.contains('-') && expected != copied
}

impl ObjectStore for AwsS3Store {
    async fn copy_object(&self, request: &CopyRequest) -> Result<(), CopyError> {
        let size = request.source_size.unwrap_or(0);
        if size > MAX_SINGLE_COPY_BYTES {
            return self.multipart_copy(request, size).await;
        }
        let output = self
            .client
            .copy_object()
            .bucket(&request.destination_bucket)
            .key(&request.destination_key)
            .copy_source(copy_source(&request.source_bucket, &request.source_key))
            .set_copy_source_if_match(request.source_etag.as_deref().map(quoted))
            .send()
            .await
            .map_err(classify)?;
        let copied_etag = output.copy_object_result().and_then(|r| r.e_tag());
        if let (Some(expected), Some(copied)) = (request.source_etag.as_deref(), copied_etag)
            && ignored_copy_condition(expected, copied)
        {
            tracing::warn!(
                bucket = %request.source_bucket,
                key = %request.source_key,
                expected,
                copied,
                "the store ignored x-amz-copy-source-if-match and copied another version of the source"
            );
        }
        Ok(())
    }
}

impl AwsS3Store {
    async fn multipart_copy(&self, request: &CopyRequest, size: u64) -> Result<(), CopyError> {
        let head = self
            .client
            .head_object()
            .bucket(&request.source_bucket)
            .key(&request.source_key)
            .set_if_match(request.source_etag.as_deref().map(quoted))
            .send()
            .await
            .map_err(|e| match classify(e) {
                // HeadObject has no body, so a missing key shows as a bare 404.
                CopyError::Failed(reason) if reason.contains("NotFound") => CopyError::SourceGone,
                other => other,
            })?;
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&request.destination_bucket)
            .key(&request.destination_key)
            .set_content_type(head.content_type().map(str::to_owned))
            .set_metadata(head.metadata().cloned())
            .send()
            .await
            .map_err(classify)?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| CopyError::Failed("CreateMultipartUpload returned no upload id".into()))?
            .to_owned();
        match self.copy_parts(request, size, &upload_id).await {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(&request.destination_bucket)
                    .key(&request.destination_key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(())
            }
            Err(error) => {
                let abort = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&request.destination_bucket)
                    .key(&request.destination_key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                if let Err(abort_error) = abort {
                    tracing::warn!(%upload_id, error = ?abort_error, "could not abort multipart copy");
                }
                Err(error)
            }
        }
    }

    async fn copy_parts(
        &self,
        request: &CopyRequest,
        size: u64,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, CopyError> {
        let mut parts = Vec::new();
        let mut start = 0u64;
        let mut part_number = 1i32;
        while start < size {
            let end = (start + MULTIPART_COPY_PART_BYTES).min(size) - 1;
            let output = self
                .client
                .upload_part_copy()
                .bucket(&request.destination_bucket)
                .key(&request.destination_key)
                .upload_id(upload_id)
                .part_number(part_number)
                .copy_source(copy_source(&request.source_bucket, &request.source_key))
                .copy_source_range(format!("bytes={start}-{end}"))
                .set_copy_source_if_match(request.source_etag.as_deref().map(quoted))
                .send()
                .await
                .map_err(classify)?;
            let etag = output
                .copy_part_result()
                .and_then(|r| r.e_tag())
                .ok_or_else(|| {
                    CopyError::Failed(format!("UploadPartCopy {part_number} returned no ETag"))
                })?;
            parts.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .e_tag(etag)
                    .build(),
            );
            start = end + 1;
            part_number += 1;
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_escapes_key() {
        assert_eq!(
            copy_source("src", "a b+c/ü.txt"),
            "src/a%20b%2Bc/%C3%BC.txt"
        );
        assert_eq!(
            copy_source("src", "plain/key-1_2.~txt"),
            "src/plain/key-1_2.~txt"
        );
    }

    #[test]
    fn detects_an_ignored_copy_condition() {
        assert!(ignored_copy_condition("abc", "\"def\""));
        assert!(!ignored_copy_condition("abc", "\"abc\""));
        assert!(!ignored_copy_condition("abc-2", "\"def\""));
    }

    #[test]
    fn quotes_etag_once() {
        assert_eq!(quoted("abc"), "\"abc\"");
        assert_eq!(quoted("\"abc\""), "\"abc\"");
    }
}
