//! The host forms of S3 requests, as AWS names its endpoints with `localhost` in place
//! of `amazonaws.com`: `s3.localhost` and `s3.<region>.localhost` are path-style
//! endpoints (the second of one region), `<bucket>.s3.localhost` and
//! `<bucket>.s3.<region>.localhost` name the bucket in the host, and so does the older
//! `<bucket>.localhost`. Any other host (`127.0.0.1:4566`, `localhost:4566`) is
//! path-style and serves every region.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

use crate::s3::regions::is_region;

/// What a Host header says: the bucket it names, and the region of its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct HostForm<'a> {
    pub bucket: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// Reads a Host header (with or without its port); `home` is eddy's configured region
/// (a region name like any other in the host).
pub(super) fn parse<'a>(host: &'a str, home: &str) -> HostForm<'a> {
    let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
    let Some(rest) = name.strip_suffix(".localhost") else {
        return HostForm::default();
    };
    if rest == "s3" {
        return HostForm::default();
    }
    if let Some(region) = rest.strip_prefix("s3.")
        && is_region(region, home)
    {
        return HostForm {
            bucket: None,
            region: Some(region),
        };
    }
    if let Some(bucket) = rest.strip_suffix(".s3")
        && !bucket.is_empty()
    {
        return HostForm {
            bucket: Some(bucket),
            region: None,
        };
    }
    if let Some((head, region)) = rest.rsplit_once('.')
        && is_region(region, home)
        && let Some(bucket) = head.strip_suffix(".s3")
        && !bucket.is_empty()
    {
        return HostForm {
            bucket: Some(bucket),
            region: Some(region),
        };
    }
    HostForm {
        bucket: (!rest.is_empty()).then_some(rest),
        region: None,
    }
}

/// The Host header of a request (or the authority of its URI).
pub(super) fn host_of<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
}

/// The host forms for `s3s`: a bucket in the host is virtual-hosted addressing.
#[derive(Debug, Clone)]
pub(super) struct LocalhostHost {
    home: String,
}

impl LocalhostHost {
    pub(super) fn new(home: &str) -> Self {
        Self {
            home: home.to_owned(),
        }
    }
}

impl S3Host for LocalhostHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let form = parse(host, &self.home);
        let mut virtual_host = VirtualHost::new(host);
        if let Some(bucket) = form.bucket {
            virtual_host = virtual_host.with_bucket(bucket);
        }
        if let Some(region) = form.region {
            virtual_host = virtual_host.with_region(region);
        }
        Ok(virtual_host)
    }
}

/// The bucket a request names, in its host or else as the first segment of its path,
/// and whether it was in the host.
pub(super) fn bucket_of<'r, B>(
    request: &'r http::Request<B>,
    home: &str,
) -> Option<(&'r str, bool)> {
    if let Some(host) = host_of(request)
        && let Some(bucket) = parse(host, home).bucket
    {
        return Some((bucket, true));
    }
    let first = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()?;
    (!first.is_empty()).then_some((first, false))
}

/// The name of the bucket a request names (see [`bucket_of`]).
pub(super) fn bucket_name<B>(request: &http::Request<B>, home: &str) -> Option<String> {
    bucket_of(request, home).map(|(bucket, _)| bucket.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{HostForm, parse};

    fn form<'a>(bucket: Option<&'a str>, region: Option<&'a str>) -> HostForm<'a> {
        HostForm { bucket, region }
    }

    #[test]
    fn host_forms() {
        let home = "us-east-1";
        assert_eq!(parse("127.0.0.1:4566", home), form(None, None));
        assert_eq!(parse("localhost:4566", home), form(None, None));
        assert_eq!(parse("s3.localhost:4566", home), form(None, None));
        assert_eq!(
            parse("s3.eu-west-1.localhost:4566", home),
            form(None, Some("eu-west-1"))
        );
        assert_eq!(
            parse("photos.s3.localhost:4566", home),
            form(Some("photos"), None)
        );
        assert_eq!(
            parse("my.photos.s3.ap-south-2.localhost", home),
            form(Some("my.photos"), Some("ap-south-2"))
        );
        assert_eq!(
            parse("photos.localhost:4566", home),
            form(Some("photos"), None)
        );
        // A bucket named `s3` is addressed as `s3.s3.localhost`.
        assert_eq!(parse("s3.s3.localhost", home), form(Some("s3"), None));
        // Not a region: the old `<bucket>.localhost` form.
        assert_eq!(
            parse("s3.moon-1.localhost", home),
            form(Some("s3.moon-1"), None)
        );
        assert_eq!(
            parse("s3.local.localhost", "local"),
            form(None, Some("local"))
        );
    }
}
