//! Helpers of the SQS tests: SigV4-signed query-protocol requests (form bodies signed
//! by `eddy_testing`'s signer, sent over a plain HTTP/1.1 connection) and readers of
//! their XML answers.

use std::time::Duration;

pub use eddy_testing::raw::RawResponse;
use eddy_testing::raw::send;
use eddy_testing::sign::{Location, Payload, Service, Signer};

/// A query-protocol client signing like an AWS SDK.
pub struct QueryClient {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl QueryClient {
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key: "test".into(),
            secret_key: "test".into(),
            region: "us-east-1".into(),
        }
    }

    fn host(&self) -> String {
        self.endpoint.trim_start_matches("http://").to_owned()
    }

    /// POSTs a signed form `Action=...&Version=2012-11-05&<params>` to `path`.
    pub fn post(&self, path: &str, action: &str, params: &[(&str, &str)]) -> RawResponse {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", "2012-11-05");
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let body = form.finish();
        self.post_body(path, body.as_bytes())
    }

    /// POSTs a signed form body as it is.
    pub fn post_body(&self, path: &str, body: &[u8]) -> RawResponse {
        let url = format!("{}{path}", self.endpoint);
        let headers = vec![
            ("host".to_owned(), self.host()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let signed = self.sign_headers("POST", &url, &headers, body, Location::Headers);
        send(&self.endpoint, "POST", path, &signed.0, body)
    }

    /// GETs `path?Action=...&<params>`, signed in headers, or presigned in the query.
    pub fn get(
        &self,
        path: &str,
        action: &str,
        params: &[(&str, &str)],
        presigned: bool,
    ) -> RawResponse {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("Action", action);
        query.append_pair("Version", "2012-11-05");
        for (k, v) in params {
            query.append_pair(k, v);
        }
        let query = query.finish().replace('+', "%20");
        let url = format!("{}{path}?{query}", self.endpoint);
        let headers = vec![("host".to_owned(), self.host())];
        let location = if presigned {
            Location::Query {
                expires_in: Duration::from_secs(300),
            }
        } else {
            Location::Headers
        };
        let (headers, url) = self.sign_headers("GET", &url, &headers, b"", location);
        let path_and_query = url.trim_start_matches(&self.endpoint).to_owned();
        send(&self.endpoint, "GET", &path_and_query, &headers, b"")
    }

    /// Signs a request; returns the headers to send and the (maybe presigned) URL.
    pub fn sign_headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        location: Location,
    ) -> (Vec<(String, String)>, String) {
        let signed = Signer::new(&self.access_key, &self.secret_key, &self.region)
            .sign_parts(
                Service::Sqs,
                method,
                url,
                headers,
                Payload::Bytes(body),
                location,
            )
            .expect("sign");
        (signed.headers, signed.url)
    }
}
