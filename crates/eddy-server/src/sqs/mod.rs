//! SQS over HTTP, in both wire protocols on one endpoint: AWS JSON 1.0 (`X-Amz-Target:
//! AmazonSQS.<Operation>`) and query (form `Action=...`, XML answers).
//!
//! A request is SigV4-verified, read into a typed [`SqsOperation`] (its input struct,
//! [`decode`] and [`query`]), run by the handler of its family against the store with
//! its [`RequestContext`], and answered in the protocol it came in ([`respond`]). The
//! handlers, one module per family, know nothing of either protocol:
//!
//! - [`queues`]: CreateQueue, GetQueueUrl, ListQueues, ListDeadLetterSourceQueues,
//!   GetQueueAttributes, SetQueueAttributes, DeleteQueue, PurgeQueue;
//! - [`send`]: SendMessage, SendMessageBatch; [`receive`]: ReceiveMessage;
//! - [`receipts`]: DeleteMessage(Batch), ChangeMessageVisibility(Batch);
//! - [`tags_permissions`]: TagQueue, UntagQueue, ListQueueTags, AddPermission,
//!   RemovePermission;
//! - [`move_tasks`]: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
//!
//! Errors are the store's `SqsError`, whose kind knows its `__type` shape name, query
//! code, HTTP status and fault.

pub mod batch;
pub mod context;
pub mod decode;
pub mod message_attributes;
pub mod move_tasks;
pub mod operation;
pub mod query;
pub mod queues;
pub mod receipts;
pub mod receive;
pub mod respond;
pub mod send;
pub mod tags_permissions;
pub mod xml;

use bytes::Bytes;

use eddy_store::sqs::{SqsError, SqsErrorKind};

pub use context::RequestContext;
pub use operation::SqsOperation;
pub use respond::{Protocol, Reply, error_response};

use crate::sigv4::{self, AuthError, SignedRequest};
use crate::state::{AppState, RequestIds};

/// The largest SQS request body accepted (a 1 MiB batch, JSON-escaped, with room).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

fn auth_error(error: AuthError) -> SqsError {
    let kind = match error {
        AuthError::Missing => SqsErrorKind::MissingAuthenticationToken,
        AuthError::Incomplete(_) => SqsErrorKind::IncompleteSignature,
        AuthError::UnknownAccessKey | AuthError::InvalidToken | AuthError::ExpiredToken => {
            SqsErrorKind::InvalidClientTokenId
        }
        AuthError::SignatureMismatch | AuthError::Expired(_) => SqsErrorKind::SignatureDoesNotMatch,
    };
    SqsError::new(kind, error.to_string())
}

/// The form parameters of a query request: the query string, then a form body.
fn query_params(parts: &http::request::Parts, body: &[u8]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("application/x-www-form-urlencoded"));
    if is_form && !body.is_empty() {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    params
}

/// The operation of a JSON request: named by `X-Amz-Target`, its input the body.
fn json_operation(headers: &http::HeaderMap, body: &[u8]) -> Result<SqsOperation, SqsError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = target
        .strip_prefix("AmazonSQS.")
        .ok_or_else(|| operation::invalid_action(target))?;
    SqsOperation::from_json(name, body)
}

/// Handles one SQS request whose body has been read. Latency on demand
/// (`sqs_latency`) holds the answer back: a fault narrowed to a queue, only the
/// answers of the operations that address that queue.
pub async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> http::Response<s3s::Body> {
    let (response, queue) = answer(state, parts, body, ids).await;
    if let Some(latency) = state.store.faults().sqs_latency(queue.as_deref()) {
        tokio::time::sleep(latency).await;
    }
    response
}

/// The answer to one SQS request, and the name of the queue it addresses (none when
/// it addresses no queue or could not be read).
async fn answer(
    state: &AppState,
    parts: &http::request::Parts,
    body: Bytes,
    ids: &RequestIds,
) -> (http::Response<s3s::Body>, Option<String>) {
    let protocol = Protocol::of(&parts.headers);
    let now = eddy_store::time::now_ms() as i64 / 1000;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let signature = match sigv4::verify(&signed, now, |key, token| state.resolve_secret(key, token))
    {
        Ok(signature) => signature,
        Err(error) => return (error_response(protocol, &auth_error(error), ids), None),
    };
    let operation = match protocol {
        Protocol::Json => json_operation(&parts.headers, &body),
        Protocol::Query => match query::parse_request(query_params(parts, &body), parts.uri.path())
        {
            Ok(Some(operation)) => Ok(operation),
            Ok(None) => return (respond::unknown_operation(ids), None),
            Err(error) => Err(error),
        },
    };
    let operation = match operation {
        Ok(operation) => operation,
        Err(error) => return (error_response(protocol, &error, ids), None),
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4566");
    let mut context = RequestContext::new(state, &signature.region, host);
    context.trace_header = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty());
    let reply = Reply {
        protocol,
        request_id: &ids.request_id,
    };
    let queue = operation.addressed_queue(&context);
    let response = match operation.run(&context, reply).await {
        Ok(body) => respond::success(protocol, body, ids),
        Err(error) => error_response(protocol, &error, ids),
    };
    (response, queue)
}
