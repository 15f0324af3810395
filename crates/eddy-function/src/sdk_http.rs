//! The HTTP client of every AWS SDK client eddy makes (the Lambda bootstrap, `eddy
//! worker`, the operator commands, the test harnesses): the SDK's own hyper client,
//! with TLS by rustls over ring.
//!
//! eddy builds the SDK without its default HTTPS client, whose TLS runs over aws-lc: a C
//! library whose build takes longer than the rest of the SDK's, twice in CI (the tests
//! and the Lambda bootstrap). Plain `http://` endpoints (eddy, other emulators) and
//! AWS's `https://` ones both work with this client.

use aws_sdk_s3::config::SharedHttpClient;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// A new HTTP(S) client for an SDK configuration (`ConfigLoader::http_client`).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
