//! Virtual-hosted addressing: `bucket.localhost:4566` names the bucket in the host;
//! any other host (`127.0.0.1:4566`, `localhost:4566`) is path-style.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// Treats `<bucket>.localhost` as a virtual host, everything else as path-style.
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalhostHost;

impl S3Host for LocalhostHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
        match name.strip_suffix(".localhost") {
            Some(bucket) if !bucket.is_empty() => Ok(VirtualHost::new(host).with_bucket(bucket)),
            _ => Ok(VirtualHost::new(host)),
        }
    }
}

/// The bucket a request names: in its host (`<bucket>.localhost`) or else the first
/// segment of its path.
pub(super) fn bucket_of<B>(request: &http::Request<B>) -> Option<String> {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host());
    if let Some(host) = host
        && let Ok(virtual_host) = LocalhostHost.parse_host_header(host)
        && let Some(bucket) = virtual_host.bucket()
    {
        return Some(bucket.to_owned());
    }
    let first = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()?;
    (!first.is_empty()).then(|| first.to_owned())
}
