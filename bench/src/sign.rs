//! SigV4 signing of the load generator's requests with the `aws-sigv4` crate, the
//! signer inside every AWS SDK for Rust, so eddy verifies exactly what SDKs send.

use std::time::SystemTime;

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// The AWS service a request is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    S3,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::S3 => "s3",
        }
    }
}

/// What the signature covers of the body.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// The body's SHA-256 is computed and signed (what SDKs do over plain HTTP).
    Bytes(&'a [u8]),
    /// `UNSIGNED-PAYLOAD`, for a streamed body too large to hash before sending.
    Unsigned,
}

/// Signs requests with one set of credentials in one region.
#[derive(Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
}

impl Signer {
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str) -> Self {
        Self {
            credentials: Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "eddy-bench",
            ),
            region: region.to_owned(),
        }
    }

    /// Adds `x-amz-date`, `authorization` (and for S3 `x-amz-content-sha256`) to
    /// `request`, whose full URL is `url`. Every header already on the request is signed.
    pub fn sign<B>(
        &self,
        service: Service,
        url: &str,
        request: &mut http::Request<B>,
        payload: Payload<'_>,
    ) -> anyhow::Result<()> {
        let mut settings = SigningSettings::default();
        if service == Service::S3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .context("incomplete SigV4 signing parameters")?
            .into();
        let body = match payload {
            Payload::Bytes(bytes) => SignableBody::Bytes(bytes),
            Payload::Unsigned => SignableBody::UnsignedPayload,
        };
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)));
        let signable = SignableRequest::new(request.method().as_str(), url, headers, body)
            .with_context(|| format!("cannot sign a request to {url}"))?;
        let (instructions, _signature) = sign(signable, &params)
            .with_context(|| format!("cannot sign a request to {url}"))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}
