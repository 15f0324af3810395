//! The Node.js client under the `node` this machine has.

use std::time::Duration;

use eddy_runtimes::{InterpreterOverrides, Language, Runtime, find_interpreter};
use serde_json::json;

use crate::function::{
    FunctionProcess, LOG_GROUP, LOG_STREAM, fixtures, is_log_timestamp, post_text_order,
};
use crate::runtime_api::{Event, FUNCTION_ARN, PostKind};

/// The runtime named for the installed Node.js (nodejs20.x for Node 20, say).
fn runtime() -> Runtime {
    let found = find_interpreter(
        Language::NodeJs { major: 22 },
        &InterpreterOverrides::default(),
    )
    .unwrap_or_else(|missing| panic!("{missing}"));
    Language::NodeJs {
        major: found.version.major,
    }
    .runtime()
    .unwrap_or(Runtime::NodeJs22)
}

async fn start(dir: &str, handler: &str) -> FunctionProcess {
    let root = fixtures("node").join(dir);
    FunctionProcess::start(runtime(), &InterpreterOverrides::default(), &root, handler).await
}

async fn result_of(dir: &str, handler: &str) -> serde_json::Value {
    let function = start(dir, handler).await;
    let post = function.invoke(Event::new(json!({"word": "eddy"}))).await;
    assert_eq!(post.kind, PostKind::Response, "{}", function.describe());
    post.json()
}

#[tokio::test]
async fn results_carry_the_context_lambda_gives() {
    let function = start("cjs", "index.echo").await;
    for word in ["first", "second"] {
        let mut event = Event::new(json!({"word": word}));
        event.time_limit_ms = 5_000;
        event.trace_id = Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into());
        event.cognito_identity =
            Some(r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#.into());
        let request_id = event.request_id.clone();
        let post = function.invoke(event).await;
        assert_eq!(post.kind, PostKind::Response, "{}", function.describe());
        let mut result = post.json();
        let remaining = result["remainingMs"]
            .take()
            .as_i64()
            .expect("remaining time");
        assert!(
            remaining > 3_000 && remaining <= 5_000,
            "remaining {remaining} ms"
        );
        assert_eq!(
            result,
            json!({
                "event": {"word": word},
                "functionName": "fixture",
                "functionVersion": "$LATEST",
                "invokedFunctionArn": FUNCTION_ARN,
                "memoryLimitInMB": "256",
                "awsRequestId": request_id,
                "logGroupName": LOG_GROUP,
                "logStreamName": LOG_STREAM,
                "remainingMs": null,
                "waits": true,
                "identity": {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
                "traceId": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            })
        );
    }
}

#[tokio::test]
async fn es_modules_are_loaded_from_mjs_files_and_type_module_packages() {
    assert_eq!(
        result_of("esm", "index.handler").await,
        json!({"module": "index.mjs", "event": {"word": "eddy"}})
    );
    assert_eq!(
        result_of("esm-type", "index.handler").await,
        json!({"module": "index.js with \"type\": \"module\"", "esm": true})
    );
    assert_eq!(
        result_of("cjs", "lib/inner.handler").await,
        json!("in a subdirectory")
    );
    assert_eq!(
        result_of("cjs", "index.nested.deeper.handler").await,
        json!("nested handler")
    );
}

#[tokio::test]
async fn a_callback_result_waits_for_the_event_loop_unless_told_not_to() {
    let function = start("cjs", "index.callbackWaits").await;
    let event = Event::new(json!({}));
    let request_id = event.request_id.clone();
    let post = function.invoke(event).await;
    assert_eq!(post.json(), json!("after the timer"));
    let handed_out = function.api.handed_out(&request_id).expect("handed out");
    assert!(
        post.received - handed_out >= Duration::from_millis(400),
        "the response did not wait for the timer"
    );
    function
        .wait_for_line(|line| line.ends_with("\tINFO\ttimer fired"))
        .await;

    let function = start("cjs", "index.callbackNow").await;
    let event = Event::new(json!({}));
    let request_id = event.request_id.clone();
    let post = function.invoke(event).await;
    assert_eq!(post.json(), json!("right away"));
    let handed_out = function.api.handed_out(&request_id).expect("handed out");
    assert!(
        post.received - handed_out < Duration::from_secs(10),
        "the response waited for the 20 s timer"
    );

    // A synchronous handler that never calls back succeeds with null once the loop is empty.
    assert_eq!(result_of("cjs", "index.neverCallsBack").await, json!(null));
}

/// What a handler that fails posts: the error document and its error-type header.
async fn error_of(handler: &str) -> (serde_json::Value, Option<String>, String) {
    let function = start("cjs", handler).await;
    let post = function.invoke(Event::new(json!({}))).await;
    assert_eq!(post.kind, PostKind::Error, "{}", function.describe());
    (post.json(), post.error_type_header.clone(), post.text())
}

#[tokio::test]
async fn failures_are_posted_as_nodes_runtime_reports_them() {
    let (error, header, error_text) = error_of("index.throws").await;
    assert_eq!(error["errorType"], "TypeError");
    assert_eq!(
        error["errorMessage"],
        "Cannot read properties of null (reading 'property')"
    );
    assert_eq!(header.as_deref(), Some("TypeError"));
    let trace = error["trace"].as_array().expect("trace");
    assert_eq!(
        trace[0],
        "TypeError: Cannot read properties of null (reading 'property')"
    );
    let index = fixtures("node").join("cjs/index.js");
    assert!(
        trace[1]
            .as_str()
            .is_some_and(|frame| frame.contains(&index.display().to_string())),
        "{trace:?}"
    );
    let posted = post_text_order(
        &error_text,
        &["\"errorType\"", "\"errorMessage\"", "\"trace\""],
    );
    assert!(posted, "fields out of Node's order: {error_text}");

    let (error, _, _) = error_of("index.callbackError").await;
    assert_eq!(error["errorType"], "RangeError");
    assert_eq!(error["errorMessage"], "out of range");

    let (error, header, _) = error_of("index.rejectsWithString").await;
    assert_eq!(
        error,
        json!({"errorType": "string", "errorMessage": "a plain string", "trace": []})
    );
    assert_eq!(header.as_deref(), Some("string"));

    let (error, _, _) = error_of("index.circular").await;
    assert_eq!(error["errorType"], "Error");
    assert_eq!(error["errorMessage"], "Unable to stringify response body");
}

#[tokio::test]
async fn console_output_is_formatted_as_on_lambda() {
    let function = start("cjs", "index.logs").await;
    let event = Event::new(json!({"word": "eddy"}));
    let request_id = event.request_id.clone();
    let post = function.invoke(event).await;
    assert_eq!(post.json(), json!("logged"));
    let line = function
        .wait_for_line(|line| line.ends_with("\tINFO\thello eddy"))
        .await;
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 4, "{line:?}");
    assert!(is_log_timestamp(fields[0]), "{line:?}");
    assert_eq!(fields[1], request_id);
    let line = function
        .wait_for_line(|line| line.contains("\tERROR\ttwo"))
        .await;
    assert!(
        line.ends_with(&format!("\t{request_id}\tERROR\ttwo\rlines")),
        "{line:?}"
    );
}

/// Starts `handler` of the CommonJS fixtures, expects an init error, and returns its document.
async fn init_error(handler: &str) -> (serde_json::Value, Option<String>, Vec<String>) {
    let function = start("cjs", handler).await;
    let (post, lines) = function.init_error(129).await;
    (post.json(), post.error_type_header, lines)
}

#[tokio::test]
async fn a_missing_module_is_an_import_module_error() {
    let (error, header, lines) = init_error("missing.handler").await;
    assert_eq!(error["errorType"], "Runtime.ImportModuleError");
    assert_eq!(header.as_deref(), Some("Runtime.ImportModuleError"));
    let message = error["errorMessage"].as_str().expect("message");
    let (first, stack) = message.split_once('\n').expect("two parts");
    assert_eq!(first, "Error: Cannot find module 'missing'");
    assert!(
        stack.starts_with("Require stack:\n- ") && stack.ends_with("/node/bootstrap.mjs"),
        "{message:?}"
    );
    let trace = error["trace"].as_array().expect("trace");
    assert_eq!(
        trace[0],
        "Runtime.ImportModuleError: Error: Cannot find module 'missing'"
    );
    assert!(
        lines.iter().any(|line| line.contains(
            "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"Runtime.ImportModuleError\""
        )),
        "{lines:?}"
    );

    let (error, _, _) = init_error("requires_missing.handler").await;
    assert_eq!(error["errorType"], "Runtime.ImportModuleError");
    let message = error["errorMessage"].as_str().expect("message");
    let requiring = fixtures("node").join("cjs/requires_missing.js");
    assert!(
        message.starts_with(&format!(
            "Error: Cannot find module 'not-installed-anywhere'\nRequire stack:\n- {}\n- ",
            requiring.display()
        )),
        "{message:?}"
    );
}

#[tokio::test]
async fn a_missing_function_is_handler_not_found() {
    let (error, header, _) = init_error("index.absent").await;
    assert_eq!(error["errorType"], "Runtime.HandlerNotFound");
    assert_eq!(
        error["errorMessage"],
        "index.absent is undefined or not exported"
    );
    assert_eq!(header.as_deref(), Some("Runtime.HandlerNotFound"));
    let (error, _, _) = init_error("index.notAFunction").await;
    assert_eq!(
        error["errorMessage"],
        "index.notAFunction is not a function"
    );
    let (error, _, _) = init_error("index").await;
    assert_eq!(error["errorType"], "Runtime.MalformedHandlerName");
    assert_eq!(error["errorMessage"], "Bad handler");
}

#[tokio::test]
async fn a_syntax_error_is_a_user_code_syntax_error() {
    let (error, _, _) = init_error("broken.handler").await;
    assert_eq!(error["errorType"], "Runtime.UserCodeSyntaxError");
    let message = error["errorMessage"].as_str().expect("message");
    assert!(message.starts_with("SyntaxError: "), "{message}");
}
