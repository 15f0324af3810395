//! What an asynchronous invocation leaves behind when it ends: Lambda's invocation
//! record (`version` 1.0, `timestamp`, `requestContext`, `requestPayload`,
//! `responseContext`, `responsePayload`) sent to the on-success or on-failure
//! destination of the function's event invoke configuration, and Lambda's error
//! document for a failed attempt.
//!
//! Destinations are SQS queues of this eddy (the record is the message body) and
//! functions created through the Lambda API (invoked asynchronously with the record,
//! through the same durable queue). SNS topics and EventBridge buses are stored by the
//! API, as Lambda accepts them, but eddy has neither: their records are logged as not
//! delivered.

use bytes::Bytes;
use eddy_store::Store;
use eddy_store::lambda_async::AsyncInvocation;
use eddy_store::sqs::SendRequest;
use serde::Serialize;

use crate::external::Failure;
use crate::function::InvokeError;

/// Why the record was written (`requestContext.condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

/// Lambda's error document for a failed invocation (`errorMessage`, `errorType`,
/// `stackTrace`).
#[derive(Debug, Serialize)]
pub struct ErrorDocument {
    #[serde(rename = "errorMessage")]
    pub error_message: String,
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "stackTrace", skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

/// The function's own error document, or Lambda's for a failure the runtime did not
/// report (a timeout, a process that exited or could not start).
pub fn error_document(request_id: &str, failure: Failure) -> Bytes {
    if let Some(document) = failure.document.filter(|d| !d.is_empty()) {
        return document;
    }
    let document = match failure.error {
        InvokeError::Timeout(timeout) => ErrorDocument {
            error_message: format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            ),
            error_type: "Sandbox.Timedout".to_owned(),
            stack_trace: Vec::new(),
        },
        InvokeError::Function {
            error_type,
            message,
        } => ErrorDocument {
            error_message: format!("RequestId: {request_id} Error: {message}"),
            error_type,
            stack_trace: Vec::new(),
        },
        InvokeError::Throttled(throttle) => ErrorDocument {
            error_message: format!("Rate Exceeded. ({throttle})"),
            error_type: "TooManyRequestsException".to_owned(),
            stack_trace: Vec::new(),
        },
    };
    serde_json::to_vec(&document).map_or_else(|_| Bytes::new(), Bytes::from)
}

/// The answer of the last attempt, when one ran.
#[derive(Debug, Clone)]
pub struct Response {
    pub executed_version: String,
    /// `Some("Unhandled")` when the function failed.
    pub function_error: Option<&'static str>,
    pub payload: Bytes,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    request_id: &'a str,
    function_arn: String,
    condition: Condition,
    approximate_invoke_count: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseContext<'a> {
    status_code: u16,
    executed_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_error: Option<&'static str>,
}

/// Lambda's invocation record. The payloads are the caller's and the function's own
/// JSON, of any shape: they are carried as JSON values.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InvocationRecord<'a> {
    version: &'static str,
    timestamp: String,
    request_context: RequestContext<'a>,
    request_payload: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_context: Option<ResponseContext<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_payload: Option<serde_json::Value>,
}

/// A payload as a JSON value; a payload that is not JSON as a string.
fn json_of(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The record of an invocation that ended with `condition` after `attempts` attempts.
pub fn invocation_record(
    function_arn: &str,
    invocation: &AsyncInvocation,
    condition: Condition,
    attempts: u32,
    response: Option<&Response>,
) -> String {
    let executed = response.map_or("$LATEST", |r| r.executed_version.as_str());
    let record = InvocationRecord {
        version: "1.0",
        timestamp: eddy_store::time::iso8601_millis(eddy_store::time::now_ms()),
        request_context: RequestContext {
            request_id: &invocation.request_id,
            function_arn: format!("{function_arn}:{executed}"),
            condition,
            approximate_invoke_count: attempts,
        },
        request_payload: json_of(&invocation.payload),
        response_context: response.map(|r| ResponseContext {
            status_code: 200,
            executed_version: &r.executed_version,
            function_error: r.function_error,
        }),
        response_payload: response.map(|r| json_of(&r.payload)),
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// Sends a record to a destination ARN: an SQS queue of this eddy, or a function of its
/// Lambda API (queued as an asynchronous invocation). Anything else is logged.
pub async fn deliver(store: &Store, destination: &str, record: String) {
    let settings = store.settings();
    let parts: Vec<&str> = destination.split(':').collect();
    let local =
        |region: &str, account: &str| region == settings.region && account == settings.account_id;
    match parts.as_slice() {
        ["arn", _, "sqs", region, account, queue] if local(region, account) => {
            let request = SendRequest {
                body: record,
                ..SendRequest::default()
            };
            if let Err(error) = store.messages().send(queue, request).await {
                tracing::warn!(%destination, %error, "cannot send the invocation record to its destination queue");
            }
        }
        [
            "arn",
            _,
            "lambda",
            region,
            account,
            "function",
            name,
            rest @ ..,
        ] if local(region, account) && rest.len() <= 1 => {
            let qualifier = rest.first().map(|q| (*q).to_owned());
            let version = match qualifier.as_deref() {
                None | Some("$LATEST") => None,
                Some(q) => match q.parse::<u32>() {
                    Ok(number) => Some(number),
                    // An alias: the version it names now.
                    Err(_) => match store.function_aliases().get(name, q).await {
                        Ok(alias) => alias.function_version.parse::<u32>().ok(),
                        Err(error) => {
                            tracing::warn!(%destination, %error, "the destination alias does not exist; the invocation record is dropped");
                            return;
                        }
                    },
                },
            };
            let now = eddy_store::time::now_ms();
            let invocation = AsyncInvocation {
                request_id: eddy_store::ids::random_uuid().to_string(),
                function: (*name).to_owned(),
                version,
                qualifier,
                payload: Bytes::from(record),
                attempts: 0,
                due_ms: now,
                enqueued_ms: now,
            };
            if let Err(error) = store.async_invocations().enqueue(invocation).await {
                tracing::warn!(%destination, %error, "cannot invoke the destination function");
            }
        }
        _ => {
            tracing::warn!(%destination, "eddy cannot deliver to this destination (only SQS queues and Lambda functions of this eddy); the invocation record is dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_record_has_lambdas_shape() {
        let invocation = AsyncInvocation {
            request_id: "r-1".to_owned(),
            function: "f".to_owned(),
            version: None,
            qualifier: None,
            payload: Bytes::from_static(br#"{"n": 1}"#),
            attempts: 2,
            due_ms: 0,
            enqueued_ms: 0,
        };
        let response = Response {
            executed_version: "$LATEST".to_owned(),
            function_error: Some("Unhandled"),
            payload: Bytes::from_static(br#"{"errorMessage":"boom","errorType":"RuntimeError"}"#),
        };
        let record: serde_json::Value = serde_json::from_str(&invocation_record(
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            &invocation,
            Condition::RetriesExhausted,
            3,
            Some(&response),
        ))
        .expect("json");
        assert_eq!(record["version"], "1.0");
        assert_eq!(
            record["requestContext"],
            serde_json::json!({
                "requestId": "r-1",
                "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            })
        );
        assert_eq!(record["requestPayload"], serde_json::json!({"n": 1}));
        assert_eq!(
            record["responseContext"],
            serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
        );
        assert_eq!(record["responsePayload"]["errorMessage"], "boom");
        assert!(
            record["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }
}
