//! The Python client under real interpreters: Python 3.9 and 3.12 when this machine
//! has them (on PATH, or installed by pyenv), and whatever `python3.12` resolves to
//! here (`python3` when 3.12 is missing).

use std::path::PathBuf;

use eddy_runtimes::interpreter::probe;
use eddy_runtimes::{InterpreterOverrides, Language, Runtime, find_interpreter};
use serde_json::json;

use crate::function::{
    FunctionProcess, LOG_GROUP, LOG_STREAM, fixtures, is_log_timestamp, post_text_order,
};
use crate::runtime_api::{Event, FUNCTION_ARN, PostKind};

/// A runtime and the interpreter overrides that make it run on a chosen Python.
struct Case {
    runtime: Runtime,
    overrides: InterpreterOverrides,
}

impl Case {
    async fn start(&self, handler: &str) -> FunctionProcess {
        FunctionProcess::start(self.runtime, &self.overrides, &fixtures("python"), handler).await
    }

    fn minor(&self) -> u32 {
        match self.runtime.language() {
            Some(Language::Python { minor }) => minor,
            _ => unreachable!("a Python case"),
        }
    }
}

/// `python3.<minor>` installed by pyenv, which runs even where its shim does not.
fn pyenv_python(minor: u32) -> Option<String> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pyenv")))?;
    let prefix = format!("3.{minor}.");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .map(|dir| dir.join("bin").join(format!("python3.{minor}")))
        .map(|path| path.to_string_lossy().into_owned())
        .find(|program| probe(Language::Python { minor }, program).is_ok())
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut programs = Vec::new();
    for runtime in [Runtime::Python39, Runtime::Python312] {
        let Some(language) = runtime.language() else {
            continue;
        };
        let Language::Python { minor } = language else {
            continue;
        };
        let overrides = match find_interpreter(language, &InterpreterOverrides::default()) {
            Ok(found) if found.is_exact(language) => InterpreterOverrides::default(),
            _ => {
                if let Some(program) = pyenv_python(minor) {
                    InterpreterOverrides {
                        python: Some(program),
                        node: None,
                    }
                } else {
                    eprintln!(
                        "not tested here: Python 3.{minor} (neither python3.{minor} nor pyenv's runs)"
                    );
                    continue;
                }
            }
        };
        if let Ok(found) = find_interpreter(language, &overrides) {
            programs.push(found.program);
        }
        cases.push(Case { runtime, overrides });
    }
    // What python3.12 functions get on this machine by default, when that is another program.
    let default = InterpreterOverrides::default();
    if let Ok(found) = find_interpreter(Language::Python { minor: 12 }, &default)
        && !programs.contains(&found.program)
    {
        cases.push(Case {
            runtime: Runtime::Python312,
            overrides: default,
        });
    }
    for case in &cases {
        if let Some(language) = case.runtime.language()
            && let Ok(found) = find_interpreter(language, &case.overrides)
        {
            eprintln!(
                "testing {} with {} (Python {})",
                case.runtime, found.program, found.version
            );
        }
    }
    assert!(!cases.is_empty(), "no Python 3.9 or newer runs here");
    cases
}

#[tokio::test]
async fn results_carry_the_context_lambda_gives() {
    for case in cases() {
        let function = case.start("index.echo").await;
        for word in ["first", "second"] {
            let mut event = Event::new(json!({"word": word}));
            event.time_limit_ms = 5_000;
            event.trace_id = Some(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
            );
            event.cognito_identity =
                Some(r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#.into());
            event.client_context =
                Some(r#"{"custom":{"k":"v"},"env":{},"client":{"app_title":"app"}}"#.into());
            let request_id = event.request_id.clone();
            let post = function.invoke(event).await;
            assert_eq!(post.kind, PostKind::Response, "{}", function.describe());
            assert_eq!(post.content_type.as_deref(), Some("application/json"));
            let mut result = post.json();
            let remaining = result["remaining_ms"]
                .take()
                .as_u64()
                .expect("remaining time");
            assert!(
                remaining > 3_000 && remaining <= 5_000,
                "remaining {remaining} ms"
            );
            assert_eq!(
                result,
                json!({
                    "event": {"word": word},
                    "function_name": "fixture",
                    "function_version": "$LATEST",
                    "invoked_function_arn": FUNCTION_ARN,
                    "memory_limit_in_mb": "256",
                    "aws_request_id": request_id,
                    "log_group_name": LOG_GROUP,
                    "log_stream_name": LOG_STREAM,
                    "remaining_ms": null,
                    "cognito_identity_id": "id-1",
                    "client_custom": {"k": "v"},
                    "client_app_title": "app",
                    "trace_id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                    "text": "café",
                })
            );
            // From python3.12 on Lambda writes non-ASCII characters as they are.
            let escaped = post.text().contains(r#""text": "caf\u00e9""#);
            assert_eq!(escaped, case.minor() < 12, "{}", post.text());
        }
    }
}

#[tokio::test]
async fn decimals_become_numbers_and_an_unserialisable_result_is_a_marshal_error() {
    for case in cases() {
        let function = case.start("index.decimals").await;
        let post = function.invoke(Event::new(json!({}))).await;
        assert_eq!(post.json(), json!({"half": 1.5, "ten": 10}));

        let function = case.start("index.unserialisable").await;
        let event = Event::new(json!({}));
        let request_id = event.request_id.clone();
        let post = function.invoke(event).await;
        assert_eq!(post.kind, PostKind::Error);
        assert_eq!(
            post.error_type_header.as_deref(),
            Some("Runtime.MarshalError")
        );
        assert_eq!(
            post.json(),
            json!({
                "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            })
        );
    }
}

#[tokio::test]
async fn a_raised_exception_is_posted_in_lambdas_shape_and_logged() {
    for case in cases() {
        let function = case.start("index.fails").await;
        let event = Event::new(json!({"why": "no reason"}));
        let request_id = event.request_id.clone();
        let post = function.invoke(event).await;
        assert_eq!(post.kind, PostKind::Error, "{}", function.describe());
        assert_eq!(post.error_type_header.as_deref(), Some("ValueError"));
        let error = post.json();
        let fields = [
            "\"errorMessage\"",
            "\"errorType\"",
            "\"requestId\"",
            "\"stackTrace\"",
        ];
        assert!(
            post_text_order(&post.text(), &fields),
            "fields out of Lambda's order: {}",
            post.text()
        );
        assert_eq!(error["errorMessage"], "rejected: no reason");
        assert_eq!(error["errorType"], "ValueError");
        assert_eq!(error["requestId"], request_id.as_str());
        let trace = error["stackTrace"].as_array().expect("stack trace");
        assert_eq!(trace.len(), 1, "only the user's frame: {trace:?}");
        let frame = trace[0].as_str().expect("a string");
        let file = fixtures("python").join("index.py");
        assert!(
            frame.starts_with(&format!("  File \"{}\", line ", file.display())),
            "{frame}"
        );
        assert!(
            frame.ends_with(", in fails\n    raise ValueError(\"rejected: \" + event[\"why\"])\n"),
            "{frame:?}"
        );

        let line = function
            .wait_for_line(|line| line.starts_with("[ERROR] ValueError:"))
            .await;
        assert!(
            line.starts_with("[ERROR] ValueError: rejected: no reason\rTraceback (most recent call last):\r  File "),
            "{line:?}"
        );
    }
}

#[tokio::test]
async fn logging_and_print_reach_stdout_as_on_lambda() {
    for case in cases() {
        let function = case.start("index.logs").await;
        let event = Event::new(json!({"word": "eddy"}));
        let request_id = event.request_id.clone();
        let post = function.invoke(event).await;
        assert_eq!(post.json(), json!("logged"));
        let info = function
            .wait_for_line(|line| line.starts_with("[INFO]"))
            .await;
        let fields: Vec<&str> = info.split('\t').collect();
        assert_eq!(fields.len(), 4, "{info:?}");
        assert!(is_log_timestamp(fields[1]), "{info:?}");
        assert_eq!(fields[2], request_id);
        assert_eq!(fields[3], "info about eddy");
        let warning = function
            .wait_for_line(|line| line.starts_with("[WARNING]"))
            .await;
        assert!(
            warning.ends_with(&format!("\t{request_id}\ta warning")),
            "{warning:?}"
        );
        function.wait_for_line(|line| line == "printed eddy").await;
        let lines = function.output_lines();
        assert!(
            !lines.iter().any(|line| line.contains("below the level")),
            "{lines:?}"
        );
    }
}

#[tokio::test]
async fn handlers_in_packages_are_found_by_slashed_and_dotted_names() {
    for case in cases() {
        for handler in ["pkg/sub/mod.handler", "pkg.sub.mod.handler"] {
            let function = case.start(handler).await;
            let post = function.invoke(Event::new(json!({}))).await;
            assert_eq!(post.json(), json!("nested module"), "{handler}");
        }
    }
}

/// Starts `handler`, expects an init error, and returns its document and log lines.
async fn init_error(
    case: &Case,
    handler: &str,
) -> (serde_json::Value, Option<String>, Vec<String>) {
    let function = case.start(handler).await;
    let (post, lines) = function.init_error(1).await;
    (post.json(), post.error_type_header, lines)
}

#[tokio::test]
async fn a_missing_module_is_an_import_module_error() {
    for case in cases() {
        let (error, header, lines) = init_error(&case, "missing.handler").await;
        assert_eq!(
            error,
            json!({
                "errorMessage": "Unable to import module 'missing': No module named 'missing'",
                "errorType": "Runtime.ImportModuleError",
                "requestId": "",
                "stackTrace": [],
            })
        );
        assert_eq!(header.as_deref(), Some("Runtime.ImportModuleError"));
        assert!(
            lines.contains(&"[ERROR] Runtime.ImportModuleError: Unable to import module 'missing': No module named 'missing'\rTraceback (most recent call last):".to_owned()),
            "{lines:?}"
        );

        let (error, _, _) = init_error(&case, "imports_missing.handler").await;
        assert_eq!(error["errorType"], "Runtime.ImportModuleError");
        assert_eq!(
            error["errorMessage"],
            "Unable to import module 'imports_missing': No module named 'not_installed_anywhere'"
        );
    }
}

#[tokio::test]
async fn a_missing_function_is_handler_not_found() {
    for case in cases() {
        let (error, header, _) = init_error(&case, "index.absent").await;
        assert_eq!(
            error,
            json!({
                "errorMessage": "Handler 'absent' missing on module 'index'",
                "errorType": "Runtime.HandlerNotFound",
                "requestId": "",
                "stackTrace": [],
            })
        );
        assert_eq!(header.as_deref(), Some("Runtime.HandlerNotFound"));
    }
}

#[tokio::test]
async fn a_syntax_error_is_a_user_code_syntax_error() {
    for case in cases() {
        let (error, _, _) = init_error(&case, "broken.handler").await;
        assert_eq!(error["errorType"], "Runtime.UserCodeSyntaxError");
        let message = error["errorMessage"].as_str().expect("message");
        assert!(
            message.starts_with("Syntax error in module 'broken': "),
            "{message}"
        );
        assert!(message.contains("broken.py, line 1)"), "{message}");
        let file = fixtures("python").join("broken.py");
        assert_eq!(
            error["stackTrace"],
            json!([format!(
                "  File \"{}\" Line 1\n    def handler(event, context)\n",
                file.display()
            )])
        );
    }
}

#[tokio::test]
async fn other_init_failures_are_reported_with_the_users_exception() {
    for case in cases() {
        let (error, header, _) = init_error(&case, "raises_at_import.handler").await;
        assert_eq!(error["errorType"], "RuntimeError");
        assert_eq!(error["errorMessage"], "configuration is missing");
        assert_eq!(header.as_deref(), Some("RuntimeError"));
        let trace = error["stackTrace"].as_array().expect("trace");
        assert!(
            trace.iter().any(|frame| frame
                .as_str()
                .is_some_and(|f| f.contains("raises_at_import.py"))),
            "{trace:?}"
        );

        let (error, _, _) = init_error(&case, "index").await;
        assert_eq!(
            error,
            json!({
                "errorMessage": "Bad handler 'index': not enough values to unpack (expected 2, got 1)",
                "errorType": "Runtime.MalformedHandlerName",
                "requestId": "",
                "stackTrace": [],
            })
        );
    }
}
