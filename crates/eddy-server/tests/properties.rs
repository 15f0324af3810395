//! Property tests of the request parsers: SigV4 Authorization headers and presigned
//! queries, and SQS input (query-protocol forms and JSON bodies) read and run through
//! every operation against a real store. None may panic; bad input is a client error
//! (4xx), never an internal one.

use std::collections::BTreeMap;

use eddy_server::sigv4::{parse_authorization, presigned_scope_service};
use eddy_server::sqs::query::parse_request;
use eddy_server::sqs::{Protocol, Reply, RequestContext, SqsOperation};
use eddy_server::{AppState, Credential};
use eddy_store::{Store, StoreSettings};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Operations and member names of the SQS model, so generated input reaches deep.
const OPERATIONS: &[&str] = &[
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "GetQueueUrl",
    "ListQueues",
    "CreateQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "ListDeadLetterSourceQueues",
    "StartMessageMoveTask",
    "ListMessageMoveTasks",
    "CancelMessageMoveTask",
    "AddPermission",
    "Bogus",
];
const MEMBERS: &[&str] = &[
    "QueueUrl",
    "QueueName",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageSystemAttributes",
    "MessageGroupId",
    "MessageDeduplicationId",
    "Entries",
    "Id",
    "ReceiptHandle",
    "VisibilityTimeout",
    "MaxNumberOfMessages",
    "WaitTimeSeconds",
    "AttributeNames",
    "MessageAttributeNames",
    "MessageSystemAttributeNames",
    "Attributes",
    "tags",
    "Tags",
    "TagKeys",
    "MaxResults",
    "NextToken",
    "QueueNamePrefix",
    "SourceArn",
    "DestinationArn",
    "TaskHandle",
    "DataType",
    "StringValue",
    "BinaryValue",
    "StringListValues",
];

fn member() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(MEMBERS).prop_map(str::to_owned),
        1 => "[A-Za-z.]{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from("http://localhost/000000000000/file-events")),
        Just(Value::from("String")),
        Just(Value::from("Number")),
        Just(Value::from("Binary")),
        Just(Value::from("All")),
        "[ -~]{0,20}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((member(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_input() -> impl Strategy<Value = Value> {
    proptest::collection::vec((member(), json_value()), 0..8)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// Form parameter names shaped like the query protocol's (`A.1.B.2.C`).
fn form_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => member(),
            2 => (0u64..12).prop_map(|n| n.to_string()),
            1 => proptest::sample::select(&["Name", "Value", "member", "entry", "key", "value", "99999999999999999999", "-1", ""][..]).prop_map(str::to_owned),
        ],
        1..6,
    )
    .prop_map(|parts| parts.join("."))
}

fn store() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(
        &dir.path().join("data"),
        StoreSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        },
        Default::default(),
    )
    .expect("store opens");
    let state = AppState::new(
        store,
        vec![Credential {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
        }],
    );
    (dir, state)
}

/// Runs one operation read in `protocol` and checks the outcome is a success (answered
/// in that protocol) or a client error.
fn run_checked(
    runtime: &tokio::runtime::Runtime,
    state: &AppState,
    protocol: Protocol,
    operation: Result<SqsOperation, eddy_store::sqs::SqsError>,
) -> Result<(), TestCaseError> {
    let described = format!("{operation:?}");
    let context = RequestContext::new(state, "us-east-1", "localhost:4566");
    let outcome = match operation {
        Err(error) => Err(error),
        // A valid long poll may wait; it is cut short (that is not a failure).
        Ok(operation) => match runtime.block_on(async {
            let reply = Reply {
                protocol,
                request_id: "r",
            };
            tokio::time::timeout(
                std::time::Duration::from_millis(500),
                operation.run(&context, reply),
            )
            .await
        }) {
            Ok(outcome) => outcome.map(drop),
            Err(_) => Ok(()),
        },
    };
    if let Err(error) = outcome {
        prop_assert!(
            error.kind.status() < 500,
            "{described} -> internal error {error:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn authorization_parsing_never_panics(value in any::<String>()) {
        let _ = parse_authorization(&value);
        let _ = parse_authorization(&format!("AWS4-HMAC-SHA256 {value}"));
    }

    #[test]
    fn well_formed_authorization_parses(
        key in "[A-Z0-9]{1,20}",
        date in "[0-9]{8}",
        region in "[a-z0-9-]{1,15}",
        service in "(s3|sqs)",
        headers in proptest::collection::vec("[a-z-]{1,12}", 1..6),
        signature in "[0-9a-f]{64}",
    ) {
        let value = format!(
            "AWS4-HMAC-SHA256 Credential={key}/{date}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
            headers.join(";")
        );
        let parsed = parse_authorization(&value).expect("parses");
        prop_assert_eq!(parsed.access_key_id, key);
        prop_assert_eq!(parsed.date, date);
        prop_assert_eq!(parsed.region, region);
        prop_assert_eq!(parsed.service, service);
        prop_assert_eq!(parsed.signed_headers, headers);
        prop_assert_eq!(parsed.signature, signature);
    }

    #[test]
    fn presigned_scope_parsing_never_panics(query in any::<String>(), credential in "[%/a-zA-Z0-9]{0,40}") {
        let _ = presigned_scope_service(&query);
        let _ = presigned_scope_service(&format!("X-Amz-Credential={credential}&{query}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn query_translation_never_panics_and_operations_refuse_cleanly(
        action in proptest::option::of(proptest::sample::select(OPERATIONS)),
        params in proptest::collection::vec((form_name(), prop_oneof![any::<String>(), "[ -~]{0,12}".prop_map(String::from)]), 0..12),
        path in prop_oneof![Just("/".to_owned()), Just("/000000000000/file-events".to_owned()), "[/a-z0-9.%]{0,30}".prop_map(String::from)],
    ) {
        let mut params: Vec<(String, String)> = params;
        if let Some(action) = action {
            params.push(("Action".into(), action.to_owned()));
        }
        let Ok(operation) = parse_request(params, &path).transpose().ok_or(()) else {
            return Ok(());
        };
        STATE.with(|(runtime, _dir, state)| run_checked(runtime, state, Protocol::Query, operation))?;
    }

    #[test]
    fn json_input_never_panics_and_operations_refuse_cleanly(
        operation in proptest::sample::select(OPERATIONS),
        input in json_input(),
    ) {
        let body = serde_json::to_vec(&input).expect("JSON");
        let operation = SqsOperation::from_json(operation, &body);
        STATE.with(|(runtime, _dir, state)| run_checked(runtime, state, Protocol::Json, operation))?;
    }
}

thread_local! {
    /// One store (with the queue `file-events`) per test thread.
    static STATE: (tokio::runtime::Runtime, tempfile::TempDir, AppState) = {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (dir, state) = runtime.block_on(async {
            let (dir, state) = store();
            state
                .store
                .queues().create("file-events".into(), BTreeMap::new(), BTreeMap::new())
                .await
                .expect("queue");
            (dir, state)
        });
        (runtime, dir, state)
    };
}
