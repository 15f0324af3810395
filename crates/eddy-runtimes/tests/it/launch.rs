//! Launching: OS-only runtimes run the function's own `bootstrap`, interpreters are
//! probed by running them, and what cannot start says why in Lambda's or eddy's words.

use std::os::unix::fs::PermissionsExt;

use eddy_runtimes::interpreter::{ProbeFailure, probe};
use eddy_runtimes::{
    InterpreterOverrides, Language, LaunchError, ManagedRuntimes, Runtime, find_interpreter,
};
use serde_json::json;

use crate::function::FunctionProcess;
use crate::runtime_api::{Event, PostKind};

/// A `bootstrap` speaking the Runtime API itself, as a provided.al2023 function's does.
const BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
with urllib.request.urlopen(api + "next") as response:
    request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(response.read())
answer = {"event": event, "execution_env": os.environ.get("AWS_EXECUTION_ENV"), "cwd": os.getcwd()}
urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=json.dumps(answer).encode(), method="POST"))
"#;

#[tokio::test]
async fn os_only_runtimes_run_the_functions_bootstrap() {
    let task_root = tempfile::tempdir().expect("temp dir");
    let bootstrap = task_root.path().join("bootstrap");
    std::fs::write(&bootstrap, BOOTSTRAP).expect("write bootstrap");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let function = FunctionProcess::start(
        Runtime::ProvidedAl2023,
        &InterpreterOverrides::default(),
        task_root.path(),
        "unused.handler",
    )
    .await;
    assert_eq!(function.launch.command, [bootstrap.display().to_string()]);
    let post = function.invoke(Event::new(json!({"n": 1}))).await;
    assert_eq!(post.kind, PostKind::Response, "{}", function.describe());
    let root = task_root.path().canonicalize().expect("canonical");
    assert_eq!(
        post.json(),
        json!({"event": {"n": 1}, "execution_env": "AWS_Lambda_provided.al2023", "cwd": root.display().to_string()})
    );
}

#[test]
fn a_missing_or_unexecutable_bootstrap_is_an_invalid_entrypoint() {
    let clients = tempfile::tempdir().expect("temp dir");
    let runtimes =
        ManagedRuntimes::new(clients.path(), InterpreterOverrides::default()).expect("install");
    let task_root = tempfile::tempdir().expect("temp dir");
    let bootstrap = task_root.path().join("bootstrap");

    let missing = runtimes
        .launch(Runtime::ProvidedAl2, task_root.path())
        .unwrap_err();
    assert!(matches!(missing, LaunchError::MissingBootstrap { .. }));
    assert_eq!(
        missing.to_string(),
        format!(
            "Couldn't find valid bootstrap(s): [{}]",
            bootstrap.display()
        )
    );

    std::fs::write(&bootstrap, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let unexecutable = runtimes
        .launch(Runtime::ProvidedAl2, task_root.path())
        .unwrap_err();
    assert_eq!(
        unexecutable.to_string(),
        format!("fork/exec {}: permission denied", bootstrap.display())
    );
    assert_eq!(LaunchError::ERROR_TYPE, "Runtime.InvalidEntrypoint");
}

#[test]
fn interpreters_are_launched_with_the_installed_client_and_the_runtimes_environment() {
    let clients = tempfile::tempdir().expect("temp dir");
    let runtimes =
        ManagedRuntimes::new(clients.path(), InterpreterOverrides::default()).expect("install");
    let launch = runtimes
        .launch(Runtime::NodeJs20, clients.path())
        .expect("node runs here");
    let client = clients.path().join("node/bootstrap.mjs");
    assert_eq!(launch.command[1], client.display().to_string());
    assert_eq!(
        launch.environment["AWS_EXECUTION_ENV"],
        "AWS_Lambda_nodejs20.x"
    );
    assert_eq!(
        launch.environment["LAMBDA_RUNTIME_DIR"],
        clients.path().join("node").display().to_string()
    );
    let node = find_interpreter(
        Language::NodeJs { major: 20 },
        &InterpreterOverrides::default(),
    )
    .expect("node");
    assert_eq!(
        launch.notice.is_none(),
        node.version.major == 20,
        "{:?}",
        launch.notice
    );
}

#[test]
fn a_program_that_does_not_run_is_no_interpreter() {
    // A pyenv-style shim: present on PATH, failing unless its version is active.
    let dir = tempfile::tempdir().expect("temp dir");
    let shim = dir.path().join("python3.12");
    std::fs::write(
        &shim,
        "#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n",
    )
    .expect("write");
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let failure = probe(Language::Python { minor: 12 }, &shim.display().to_string()).unwrap_err();
    assert_eq!(
        failure,
        ProbeFailure::Failed {
            status: "exit status: 127".into(),
            output: "pyenv: python3.12: command not found".into(),
        }
    );

    let overrides = InterpreterOverrides {
        python: Some(shim.display().to_string()),
        node: Some(dir.path().join("no-such-node").display().to_string()),
    };
    let missing = find_interpreter(Language::Python { minor: 12 }, &overrides).unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!(
            "no interpreter runs python3.12 functions here: EDDY_PYTHON=`{}` fails (exit status: 127: pyenv: python3.12: command not found). Point EDDY_PYTHON at a working interpreter (Python 3.9 or newer), or unset it to use Python 3.12 (`python3.12` on PATH)",
            shim.display()
        )
    );
    let missing = find_interpreter(Language::NodeJs { major: 22 }, &overrides).unwrap_err();
    assert!(
        missing.to_string().ends_with("no-such-node` not found. Point EDDY_NODE at a working interpreter (Node.js 18 or newer), or unset it to use Node.js 22 (`node` on PATH)"),
        "{missing}"
    );
}

#[test]
fn an_interpreter_older_than_the_client_supports_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = dir.path().join("python3");
    std::fs::write(&old, "#!/bin/sh\necho 3.7.17\n").expect("write");
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let program = old.display().to_string();
    assert_eq!(
        probe(Language::Python { minor: 12 }, &program),
        Err(ProbeFailure::TooOld(eddy_runtimes::interpreter::Version {
            major: 3,
            minor: 7,
            patch: 17
        }))
    );
}
