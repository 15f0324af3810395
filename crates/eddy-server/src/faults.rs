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

/// The bucket and key an S3 request addresses: the bucket as the S3 front reads it
/// (in the host, `bucket.localhost` and its regional forms, or the first segment of the
/// path; `home` is eddy's configured region); the key is then the path, or the rest of
/// it. The bucket is empty for a service request, the key absent for a bucket request.
pub fn request_object<B>(request: &http::Request<B>, home: &str) -> (String, Option<String>) {
    let Some(bucket) = crate::s3::front::bucket_name(request, home) else {
        return (String::new(), None);
    };
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let path = request.uri().path().trim_start_matches('/');
    let virtual_hosted = host.starts_with(&format!("{bucket}."));
    let key = if virtual_hosted {
        path
    } else {
        path.split_once('/').map_or("", |(_, key)| key)
    };
    let key = Some(key).filter(|k| !k.is_empty()).map(|k| {
        percent_encoding::percent_decode_str(k)
            .decode_utf8_lossy()
            .into_owned()
    });
    (bucket, key)
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
            request_object(&request("127.0.0.1:4566", "/source/a%20b.txt"), "us-east-1"),
            ("source".to_owned(), Some("a b.txt".to_owned()))
        );
        assert_eq!(
            request_object(&request("source.localhost:4566", "/dir/k"), "us-east-1"),
            ("source".to_owned(), Some("dir/k".to_owned()))
        );
        assert_eq!(
            request_object(&request("127.0.0.1:4566", "/source"), "us-east-1"),
            ("source".to_owned(), None)
        );
        assert_eq!(
            request_object(&request("127.0.0.1:4566", "/"), "us-east-1"),
            (String::new(), None)
        );
    }
}
