//! CORS at the front, per the bucket's CORS rules (`bucket_config::cors`): preflight
//! `OPTIONS` requests are answered here, unsigned, as S3 answers them; an answer to a
//! request that names an `Origin` gets the CORS headers of the first rule that allows
//! its origin and method. Requests without `Origin` (every SDK's) cost nothing here.

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use s3s::dto::{CORSConfiguration, CORSRule};

use eddy_store::Store;

use super::host::bucket_name;
use crate::s3::bucket_config::cors::{bucket_cors, find_rule};
use crate::s3::errors::custom_error;

/// The answer to a preflight request (`OPTIONS`) for whatever it names.
pub(super) async fn preflight<B>(store: &Store, request: &Request<B>) -> Response<s3s::Body> {
    match preflight_headers(store, request).await {
        Ok(headers) => {
            let mut response = Response::new(s3s::Body::empty());
            *response.headers_mut() = headers;
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            response
        }
        Err(error) => error.to_http_response().unwrap_or_else(|_| {
            let mut response = Response::new(s3s::Body::empty());
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
        }),
    }
}

async fn preflight_headers<B>(
    store: &Store,
    request: &Request<B>,
) -> Result<HeaderMap, s3s::S3Error> {
    let headers = request.headers();
    let Some(origin) = header(headers, "origin") else {
        return Err(custom_error(
            "BadRequest",
            StatusCode::BAD_REQUEST,
            "Insufficient information. Origin request header needed.",
        ));
    };
    let method = header(headers, "access-control-request-method");
    let Some(method) = method.filter(|m| Method::from_bytes(m.as_bytes()).is_ok()) else {
        return Err(custom_error(
            "BadRequest",
            StatusCode::BAD_REQUEST,
            &format!(
                "Invalid Access-Control-Request-Method: {}",
                header(headers, "access-control-request-method").unwrap_or("null")
            ),
        ));
    };
    let requested_headers: Vec<String> = header(headers, "access-control-request-headers")
        .map(|list| {
            list.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let config = match bucket_name(request, &store.settings().region) {
        Some(bucket) => bucket_cors(store, &bucket).await?,
        None => None,
    };
    let Some(config) = config else {
        return Err(custom_error(
            "CORSResponse",
            StatusCode::FORBIDDEN,
            "CORS is not enabled for this bucket.",
        ));
    };
    let Some(rule) = find_rule(&config, origin, method, &requested_headers) else {
        return Err(custom_error(
            "CORSResponse",
            StatusCode::FORBIDDEN,
            "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        ));
    };
    let mut out = HeaderMap::new();
    add_rule_headers(&mut out, rule, origin);
    if !requested_headers.is_empty() {
        insert(
            &mut out,
            "access-control-allow-headers",
            &requested_headers.join(", "),
        );
    }
    Ok(out)
}

/// What an actual (not preflight) request needs to add CORS headers to its answer:
/// its origin and method, when it names an origin.
pub(super) struct CorsRequest {
    bucket: String,
    origin: String,
    method: String,
}

impl CorsRequest {
    pub(super) fn of<B>(request: &Request<B>, home: &str) -> Option<Self> {
        let origin = header(request.headers(), "origin")?.to_owned();
        Some(Self {
            bucket: bucket_name(request, home)?,
            origin,
            method: request.method().as_str().to_owned(),
        })
    }

    /// Adds the headers of the bucket's first rule that allows this request.
    pub(super) async fn add_headers(&self, store: &Store, response: &mut Response<s3s::Body>) {
        let Ok(Some(config)) = bucket_cors(store, &self.bucket).await else {
            return;
        };
        let rule = find_rule(&config, &self.origin, &self.method, &[]);
        if let Some(rule) = rule {
            add_rule_headers(response.headers_mut(), rule, &self.origin);
        } else {
            add_vary(response.headers_mut(), &config);
        }
    }
}

fn add_rule_headers(headers: &mut HeaderMap, rule: &CORSRule, origin: &str) {
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    if any_origin {
        insert(headers, "access-control-allow-origin", "*");
    } else {
        insert(headers, "access-control-allow-origin", origin);
        insert(headers, "access-control-allow-credentials", "true");
    }
    let methods: Vec<&str> = rule.allowed_methods.iter().map(String::as_str).collect();
    insert(headers, "access-control-allow-methods", &methods.join(", "));
    if let Some(expose) = rule.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        insert(headers, "access-control-expose-headers", &expose.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        insert(headers, "access-control-max-age", &age.to_string());
    }
    insert(
        headers,
        "vary",
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    );
}

/// A bucket with CORS rules varies its answers by origin even when none matched.
fn add_vary(headers: &mut HeaderMap, config: &CORSConfiguration) {
    if !config.cors_rules.is_empty() {
        insert(
            headers,
            "vary",
            "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
        );
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
