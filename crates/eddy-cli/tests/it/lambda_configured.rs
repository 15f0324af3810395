//! The functions and mappings of `eddy.toml` in the Lambda API, the dashboard's API and
//! `eddy status`, beside those created through the Lambda API: ListFunctions,
//! GetFunction(Configuration), ListEventSourceMappings and GetEventSourceMapping show
//! them in Lambda's shapes (the mapping's UUID stays the same across a restart), and
//! a change, delete or Invoke of one answers `InvalidParameterValueException`.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

use super::lambda_api::{ROLE, lambda, python_zip};
use super::operator::{eddy_command, http_get, stdout};
use crate::util::harness::{Eddy, EddyOptions};
use crate::util::s3::create_queue;

const COPY_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:eddy-copy";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:file-events";

/// The code and message of a call that must fail.
fn refused<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> (String, String) {
    match result {
        Ok(_) => panic!("the call must be refused"),
        Err(error) => (
            error.code().unwrap_or_default().to_owned(),
            error.message().unwrap_or_default().to_owned(),
        ),
    }
}

fn assert_read_only((code, message): (String, String)) {
    assert_eq!(code, "InvalidParameterValueException", "{message}");
    assert!(message.contains("configured in eddy.toml"), "{message}");
}

#[tokio::test]
async fn configured_functions_and_mappings_appear_in_the_api_read_only() {
    let mut eddy = Eddy::process();
    let client = lambda(&eddy).await;
    let sqs = eddy.sqs().await;
    let (_, api_queue) = create_queue(&sqs, "api-events").await;
    client
        .create_function()
        .function_name("api-fn")
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .role(ROLE)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(python_zip("def handler(e, c):\n    return 1\n")))
                .build(),
        )
        .send()
        .await
        .expect("create");
    let api_mapping = client
        .create_event_source_mapping()
        .function_name("api-fn")
        .event_source_arn(&api_queue)
        .send()
        .await
        .expect("create mapping")
        .uuid()
        .expect("uuid")
        .to_owned();

    let listed = client.list_functions().send().await.expect("list");
    let names: Vec<&str> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["api-fn", "eddy-copy"]);
    let copy = client
        .get_function()
        .function_name("eddy-copy")
        .send()
        .await
        .expect("get configured function");
    let configuration = copy.configuration().expect("configuration");
    assert_eq!(configuration.function_arn(), Some(COPY_ARN));
    assert_eq!(configuration.runtime(), Some(&Runtime::Providedal2023));
    assert_eq!(configuration.version(), Some("$LATEST"));
    assert_eq!(
        configuration.state(),
        Some(&aws_sdk_lambda::types::State::Active)
    );
    assert!(
        configuration
            .description()
            .is_some_and(|d| d.contains("built-in copy function")),
        "{configuration:?}"
    );
    assert!(copy.code().is_none(), "no deployment package");
    let by_arn = client
        .get_function_configuration()
        .function_name(COPY_ARN)
        .send()
        .await
        .expect("get configuration by ARN");
    assert_eq!(by_arn.timeout(), configuration.timeout());
    let no_version = refused(
        client
            .get_function()
            .function_name("eddy-copy")
            .qualifier("1")
            .send()
            .await,
    );
    assert_eq!(
        no_version,
        (
            "ResourceNotFoundException".to_owned(),
            format!("Function not found: {COPY_ARN}:1")
        )
    );

    assert_read_only(refused(
        client
            .update_function_configuration()
            .function_name("eddy-copy")
            .timeout(9)
            .send()
            .await,
    ));
    assert_read_only(refused(
        client
            .delete_function()
            .function_name("eddy-copy")
            .send()
            .await,
    ));
    assert_read_only(refused(
        client.invoke().function_name("eddy-copy").send().await,
    ));
    let taken = refused(
        client
            .create_function()
            .function_name("eddy-copy")
            .runtime(Runtime::Python312)
            .handler("index.handler")
            .role(ROLE)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(python_zip("def handler(e, c):\n    return 1\n")))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(taken.0, "ResourceConflictException", "{taken:?}");

    let mappings = client
        .list_event_source_mappings()
        .send()
        .await
        .expect("list mappings");
    let configured = mappings
        .event_source_mappings()
        .iter()
        .find(|m| m.event_source_arn() == Some(QUEUE_ARN))
        .expect("the eddy.toml mapping is listed");
    assert_eq!(configured.function_arn(), Some(COPY_ARN));
    assert_eq!(configured.batch_size(), Some(10));
    assert_eq!(configured.state(), Some("Enabled"));
    assert_eq!(
        configured.function_response_types(),
        [aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures]
    );
    assert!(
        mappings
            .event_source_mappings()
            .iter()
            .any(|m| m.uuid() == Some(api_mapping.as_str()))
    );
    let uuid = configured.uuid().expect("uuid").to_owned();
    let got = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("get configured mapping");
    assert_eq!(got.event_source_arn(), Some(QUEUE_ARN));
    let only_copy = client
        .list_event_source_mappings()
        .function_name("eddy-copy")
        .send()
        .await
        .expect("filtered list");
    assert_eq!(only_copy.event_source_mappings().len(), 1);
    assert_read_only(refused(
        client
            .update_event_source_mapping()
            .uuid(&uuid)
            .batch_size(5)
            .send()
            .await,
    ));
    assert_read_only(refused(
        client
            .delete_event_source_mapping()
            .uuid(&uuid)
            .send()
            .await,
    ));

    // The dashboard's API and `eddy status` show both kinds.
    let (status, body) = http_get(&format!("{}/_eddy/api/overview", eddy.endpoint)).await;
    assert_eq!(status, 200);
    let overview: serde_json::Value = serde_json::from_str(&body).expect("json");
    let functions = overview["pipeline"]["functions"]
        .as_array()
        .expect("functions");
    let sources: Vec<(&str, &str)> = functions
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or(""),
                f["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(sources, [("eddy-copy", "eddy.toml"), ("api-fn", "api")]);
    let mapping_sources: Vec<(&str, &str)> = overview["pipeline"]["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .map(|m| {
            (
                m["queue"].as_str().unwrap_or(""),
                m["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        mapping_sources,
        [("file-events", "eddy.toml"), ("api-events", "api")]
    );
    let text = stdout(&eddy_command(&eddy, &["status"]));
    let api_line = text
        .lines()
        .find(|l| l.starts_with("api-fn"))
        .expect("the API function's row");
    assert!(
        api_line.contains("python3.12") && api_line.ends_with("api"),
        "{text}"
    );
    let mapping_line = text
        .lines()
        .find(|l| l.starts_with("api-events") && l.contains("api-fn"))
        .expect("the API mapping's row");
    assert!(
        mapping_line.contains("Enabled") && mapping_line.ends_with("api"),
        "{text}"
    );

    // The configured mapping's UUID is the same after a restart.
    let data_dir = eddy.data_dir.clone();
    let temp = eddy.take_temp();
    eddy.terminate();
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(data_dir),
    });
    let client = lambda(&eddy).await;
    let again = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("same UUID after a restart");
    assert_eq!(again.function_arn(), Some(COPY_ARN));
    drop(temp);
}
