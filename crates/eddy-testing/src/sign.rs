//! SigV4 signing of test and benchmark requests with the `aws-sigv4` crate.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// The AWS service a request is signed for: its signing name and, for S3, the
/// settings S3 clients sign with (the payload hash sent as `x-amz-content-sha256`, the
/// path signed as sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    Sqs,
    /// Any other service, by its signing name (`lambda`, `iam`, `sts`, `logs`).
    Named(&'static str),
}

impl Service {
    /// The name in the credential scope.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Sqs => "sqs",
            Service::Named(name) => name,
        }
    }
}

/// What the signature covers of the body.
#[derive(Debug, Clone)]
pub enum Payload<'a> {
    /// The body's SHA-256 is computed and signed (what SDKs do over plain HTTP).
    Bytes(&'a [u8]),
    /// `UNSIGNED-PAYLOAD`, for a streamed body too large to hash before sending.
    Unsigned,
    /// A payload hash given by the caller (the streaming kinds of S3), which is also
    /// sent as `x-amz-content-sha256` by the caller.
    Precomputed(String),
}

/// Where the signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The `authorization` header.
    Headers,
    /// A presigned URL valid for this long.
    Query { expires_in: Duration },
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("incomplete SigV4 signing parameters")]
    Params(#[source] aws_sigv4::sign::v4::signing_params::BuildError),
    #[error("cannot sign a request to {url}")]
    Request {
        url: String,
        #[source]
        source: aws_sigv4::http_request::SigningError,
    },
    #[error("the signed request to {url} is not a valid HTTP request")]
    Http {
        url: String,
        #[source]
        source: http::Error,
    },
}

/// A request's headers and URL after signing.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The headers given, then the ones the signature adds.
    pub headers: Vec<(String, String)>,
    /// The URL: as given, or with the signature's query parameters when presigned.
    pub url: String,
}

/// Signs requests with one set of credentials in one region.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
}

impl Default for Signer {
    /// eddy's default credentials (`test`/`test`) in `us-east-1`.
    fn default() -> Self {
        Self::new("test", "test", "us-east-1")
    }
}

impl Signer {
    pub fn new(access_key_id: &str, secret_access_key: &str, region: &str) -> Self {
        Self {
            credentials: Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "eddy-testing",
            ),
            region: region.to_owned(),
        }
    }

    /// The same credentials, signing for another region.
    pub fn in_region(&self, region: &str) -> Self {
        Self {
            credentials: self.credentials.clone(),
            region: region.to_owned(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Adds `x-amz-date`, `authorization` (and for S3 `x-amz-content-sha256`) to
    /// `request`, whose full URL is `url`. Every header already on the request is signed.
    pub fn sign<B>(
        &self,
        service: Service,
        url: &str,
        request: &mut http::Request<B>,
        payload: Payload<'_>,
    ) -> Result<(), SignError> {
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect();
        let method = request.method().as_str().to_owned();
        let instructions =
            self.instructions(service, &method, url, &headers, payload, Location::Headers)?;
        instructions.apply_to_request_http1x(request);
        Ok(())
    }

    /// Signs a request given as loose parts. `headers` should include `host`; they are
    /// signed as they are, even ones the `http` crate would refuse (for hostile input).
    pub fn sign_parts(
        &self,
        service: Service,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        payload: Payload<'_>,
        location: Location,
    ) -> Result<Signed, SignError> {
        let instructions = self.instructions(service, method, url, headers, payload, location)?;
        let mut signed = Signed {
            headers: headers.to_vec(),
            url: url.to_owned(),
        };
        if let Location::Query { .. } = location {
            // The query parameters need the URL encoding `http` applies.
            let mut request = http::Request::builder()
                .method(method)
                .uri(url)
                .body(())
                .map_err(|source| SignError::Http {
                    url: url.to_owned(),
                    source,
                })?;
            instructions.apply_to_request_http1x(&mut request);
            signed.url = request.uri().to_string();
        } else {
            for (name, value) in instructions.headers() {
                signed.headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(signed)
    }

    fn instructions(
        &self,
        service: Service,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        payload: Payload<'_>,
        location: Location,
    ) -> Result<aws_sigv4::http_request::SigningInstructions, SignError> {
        let mut settings = SigningSettings::default();
        if service == Service::S3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        if let Payload::Precomputed(_) = payload {
            // The caller sends the hash header; it is signed like any other header.
            settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        }
        if let Location::Query { expires_in } = location {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires_in);
        }
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(SignError::Params)?
            .into();
        let body = match &payload {
            Payload::Bytes(bytes) => SignableBody::Bytes(bytes),
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Precomputed(hash) => SignableBody::Precomputed(hash.clone()),
        };
        let request_error = |source| SignError::Request {
            url: url.to_owned(),
            source,
        };
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            body,
        )
        .map_err(request_error)?;
        let (instructions, _signature) =
            sign(signable, &params).map_err(request_error)?.into_parts();
        Ok(instructions)
    }
}
