//! The S3 front: what happens to an S3 request around `s3s`. It builds the `s3s`
//! service (credentials, the host forms of `host`, access of unsigned requests), refuses what
//! S3 refuses on its face before `s3s` reads the request (a signing region that does
//! not match the endpoint or the bucket, `regions`), buffers XML bodies with S3's
//! limit, reads a new bucket's tags (`creation_tags`), and after the answer completes
//! error bodies (request ids and the elements S3 adds, `error_body`), closes
//! connections whose refused body was not read, and counts the request for metrics.
//! CORS preflights are answered here and CORS headers added to answers (`cors`). A
//! form upload refused for a failed policy condition is answered as S3 answers it
//! (`post_policy`). What each operation does is not known here: `s3s` calls
//! `dispatch::EddyS3` for that.

mod access;
mod cors;
mod creation_tags;
mod error_body;
mod host;
mod object_attributes;
mod post_policy;
mod refusals;
mod regions;
mod xml_body;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::service::{S3Service, S3ServiceBuilder};

use eddy_store::Store;
use eddy_telemetry::S3RequestServed;

use super::convert::ReplyStatus;
use super::dispatch::EddyS3;
use crate::state::{Credential, RequestIds, Sessions};

/// The `s3s` service of eddy: SigV4 with the configured credentials, virtual-hosted
/// and path-style addressing, and unsigned requests decided by bucket policies and ACLs.
pub fn service(store: Store, credentials: &[Credential], sessions: Arc<Sessions>) -> S3Service {
    let store_region = store.settings().region.clone();
    let mut builder = S3ServiceBuilder::new(EddyS3::new(store.clone()));
    builder.set_auth(access::CredentialStore::new(credentials, sessions));
    builder.set_host(host::LocalhostHost::new(&store_region));
    builder.set_access(access::AccessControl::new(store.clone()));
    builder.build()
}

/// Serves one S3 request through `service`; `ids` are the request's ids, which its
/// events and its error body repeat; `sessions` are the temporary credentials STS
/// issued. CORS preflights (`OPTIONS`) are answered here.
pub async fn handle(
    service: &S3Service,
    mut request: Request<Incoming>,
    ids: &RequestIds,
    store: &Store,
    sessions: &Sessions,
    fault: Option<eddy_faults::S3WriteFault>,
) -> Response<s3s::Body> {
    let account_id = &store.settings().account_id;
    let telemetry = store.telemetry();
    if request.method() == http::Method::OPTIONS {
        let mut response = cors::preflight(store, &request).await;
        error_body::add_request_ids_to_error(&mut response, ids, &error_body::Resource::default());
        telemetry.emit(S3RequestServed {
            operation: "OPTIONS",
            status: response.status().as_u16(),
            bytes_in: 0,
            bytes_out: 0,
        });
        return response;
    }
    let cors_request = cors::CorsRequest::of(&request, &store.settings().region);
    let resource = error_body::Resource::of(&request, &store.settings().region);
    let slot = access::OperationSlot::default();
    request.extensions_mut().insert(ids.clone());
    request.extensions_mut().insert(slot.clone());
    let form_upload = post_policy::is_form_upload(&request);
    let bytes_in = content_length(request.headers());
    let has_body = refusals::has_body(request.headers());
    let request = request.map(s3s::Body::from);
    let refused = match regions::refuse_wrong_region(&request, store, ids).await {
        Some(response) => Some(response),
        None => access::refuse_bad_session(&request, sessions)
            .or_else(|| refusals::refuse_early(&request, account_id))
            .or_else(|| fault.and_then(refusals::injected_fault)),
    };
    let (mut response, signed) = match refused {
        Some(response) => (response, false),
        None => access::noting_signature(serve(service, request, &resource)).await,
    };
    // A form without a signature stays refused as `s3s` refuses it (400).
    if form_upload && signed {
        post_policy::as_s3_refusal(&mut response);
    }
    if let Some(ReplyStatus(status)) = response.extensions().get::<ReplyStatus>().copied() {
        *response.status_mut() = status;
    }
    error_body::add_request_ids_to_error(&mut response, ids, &resource);
    object_attributes::unquote_etag(&mut response, &slot.name());
    if let Some(cors_request) = cors_request {
        cors_request.add_headers(store, &mut response).await;
    }
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::warn!(operation = %slot.name(), status, "S3 request answered with a server error");
    }
    let bytes_out = if status < 300 {
        content_length(response.headers())
    } else {
        0
    };
    telemetry.emit(S3RequestServed {
        operation: &slot.name(),
        status,
        bytes_in,
        bytes_out,
    });
    refusals::close_after_refused_body(&mut response, has_body);
    response
}

/// The bucket a request names, in its host or its path (`home`: eddy's configured
/// region, which host names may carry).
pub fn bucket_name<B>(request: &Request<B>, home: &str) -> Option<String> {
    host::bucket_name(request, home)
}

/// Reads what `s3s` needs read first (XML bodies with S3's limit, a new bucket's
/// tags), then lets `s3s` serve the request.
async fn serve(
    service: &S3Service,
    request: Request<s3s::Body>,
    resource: &error_body::Resource,
) -> Response<s3s::Body> {
    let request = match xml_body::buffer_xml_body(request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let request = match creation_tags::read_creation_tags(request, resource).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    match service.call(request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(?error, "S3 service failed");
            let mut response = Response::new(s3s::Body::from(Bytes::from_static(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>",
            )));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

fn content_length(headers: &http::HeaderMap) -> u64 {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
