//! How the HTTP front meets faults on demand (`eddy_faults`): the body of
//! `POST /_eddy/api/faults`, and what an S3 request addresses (its bucket and key), so
//! that `s3_slow_down`, `s3_internal_error` and `s3_latency` strike the requests of
//! their bucket and show in the trace of the file concerned.

use serde::Deserialize;

use eddy_faults::FaultSpec;

/// The body of `POST /_eddy/api/faults`: the faults in force from now on (an empty list
/// clears them).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub faults: Vec<FaultSpec>,
}

/// Whether an S3 request writes (PUT, POST, DELETE).
pub fn is_write(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::PUT | http::Method::POST | http::Method::DELETE
    )
}

/// The bucket and key an S3 request addresses: `bucket.localhost` in the host (the key
/// is then the path), else the first segment of the path and the rest. The bucket is
/// empty for a service request, the key absent for a bucket request.
pub fn request_object<B>(request: &http::Request<B>) -> (String, Option<String>) {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let path = request.uri().path().trim_start_matches('/');
    let decode = |key: &str| {
        Some(key).filter(|k| !k.is_empty()).map(|k| {
            percent_encoding::percent_decode_str(k)
                .decode_utf8_lossy()
                .into_owned()
        })
    };
    if let Some(bucket) = name.strip_suffix(".localhost").filter(|b| !b.is_empty()) {
        return (bucket.to_owned(), decode(path));
    }
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    (bucket.to_owned(), decode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str, path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .header(http::header::HOST, host)
            .body(())
            .expect("request")
    }

    #[test]
    fn the_bucket_and_key_of_path_and_virtual_host_requests() {
        assert_eq!(
            request_object(&request("127.0.0.1:4566", "/source/a%20b.txt")),
            ("source".to_owned(), Some("a b.txt".to_owned()))
        );
        assert_eq!(
            request_object(&request("source.localhost:4566", "/dir/k")),
            ("source".to_owned(), Some("dir/k".to_owned()))
        );
        assert_eq!(
            request_object(&request("127.0.0.1:4566", "/source")),
            ("source".to_owned(), None)
        );
        assert_eq!(
            request_object(&request("127.0.0.1:4566", "/")),
            (String::new(), None)
        );
    }
}
