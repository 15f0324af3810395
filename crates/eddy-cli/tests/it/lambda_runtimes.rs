//! Other runtimes and start-up failures through the Lambda API: a Node.js handler (an
//! ES module) deployed as a zip and invoked, and a Python handler whose module does
//! not import, answered with Lambda's `Runtime.ImportModuleError`.

use std::io::Write as _;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

use super::lambda_api::lambda;
use crate::util::harness::Eddy;
use crate::util::lambda::{CreatePython, ROLE};

fn zip_of(name: &str, source: &str) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(source.as_bytes()).expect("zip write");
        zip.finish().expect("zip finish");
    }
    buffer.into_inner()
}

#[tokio::test]
async fn a_node_handler_runs_and_a_broken_python_module_is_an_import_error() {
    let node_present = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    if node_present {
        client
            .create_function()
            .function_name("node-echo")
            .runtime(Runtime::Nodejs20x)
            .handler("index.handler")
            .role(ROLE)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(zip_of(
                        "index.mjs",
                        "export const handler = async (event, context) => ({ doubled: event.n * 2, name: context.functionName });\n",
                    )))
                    .build(),
            )
            .send()
            .await
            .expect("create node function");
        let output = client
            .invoke()
            .function_name("node-echo")
            .payload(Blob::new(r#"{"n": 21}"#))
            .send()
            .await
            .expect("invoke node");
        assert_eq!(output.function_error(), None, "{output:?}");
        let answer: serde_json::Value =
            serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json");
        assert_eq!(
            answer,
            serde_json::json!({"doubled": 42, "name": "node-echo"})
        );
    } else {
        eprintln!("Node.js part skipped: node is not installed");
    }

    client
        .create_python("broken", "import not_a_module_anywhere\n")
        .send()
        .await
        .expect("create broken function");
    let output = client
        .invoke()
        .function_name("broken")
        .send()
        .await
        .expect("invoke broken");
    assert_eq!(output.function_error(), Some("Unhandled"));
    let document: serde_json::Value =
        serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json");
    assert_eq!(
        document["errorType"], "Runtime.ImportModuleError",
        "{document}"
    );
    assert!(
        document["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("not_a_module_anywhere")),
        "{document}"
    );
}
