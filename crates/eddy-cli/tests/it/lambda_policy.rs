//! A function's resource policy, tags and reserved concurrency through the AWS SDK for
//! Rust: AddPermission statements in IAM's shape, GetPolicy, RemovePermission, the
//! conflicts and misses Lambda answers, TagResource/ListTags/UntagResource by function
//! ARN, and a reserved concurrency of 0 throttling Invoke.

use aws_sdk_lambda::error::ProvideErrorMetadata as _;

use super::lambda_api::lambda;
use crate::util::harness::Eddy;
use crate::util::lambda::CreatePython;

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:guarded";

#[tokio::test]
async fn permissions_and_tags_are_stored_and_reported() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    client
        .create_python("guarded", "def handler(e, c):\n    return 1\n")
        .tags("team", "data")
        .send()
        .await
        .expect("create");

    let none = client
        .get_policy()
        .function_name("guarded")
        .send()
        .await
        .expect_err("no policy yet")
        .into_service_error();
    assert!(none.is_resource_not_found_exception(), "{none:?}");

    let added = client
        .add_permission()
        .function_name("guarded")
        .statement_id("s3-invoke")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads")
        .send()
        .await
        .expect("add permission");
    let statement: serde_json::Value =
        serde_json::from_str(added.statement().expect("statement")).expect("json");
    assert_eq!(
        statement,
        serde_json::json!({
            "Sid": "s3-invoke",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": ARN,
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}}
        })
    );
    let duplicate = client
        .add_permission()
        .function_name("guarded")
        .statement_id("s3-invoke")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .expect_err("same statement id")
        .into_service_error();
    assert!(duplicate.is_resource_conflict_exception(), "{duplicate:?}");

    let policy = client
        .get_policy()
        .function_name("guarded")
        .send()
        .await
        .expect("get policy");
    let document: serde_json::Value =
        serde_json::from_str(policy.policy().expect("policy")).expect("json");
    assert_eq!(document["Version"], "2012-10-17");
    assert_eq!(document["Statement"][0], statement);

    client
        .remove_permission()
        .function_name("guarded")
        .statement_id("s3-invoke")
        .send()
        .await
        .expect("remove permission");
    let missing = client
        .remove_permission()
        .function_name("guarded")
        .statement_id("s3-invoke")
        .send()
        .await
        .expect_err("already removed")
        .into_service_error();
    assert_eq!(
        missing.message(),
        Some("Statement s3-invoke is not found in resource policy.")
    );

    client
        .tag_resource()
        .resource(ARN)
        .tags("stage", "dev")
        .send()
        .await
        .expect("tag");
    client
        .untag_resource()
        .resource(ARN)
        .tag_keys("team")
        .send()
        .await
        .expect("untag");
    let tags = client
        .list_tags()
        .resource(ARN)
        .send()
        .await
        .expect("list tags");
    let tags = tags.tags().expect("tags");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags.get("stage").map(String::as_str), Some("dev"));
}

#[tokio::test]
async fn a_reserved_concurrency_of_zero_throttles_invocations() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    client
        .create_python("limited", "def handler(e, c):\n    return 7\n")
        .send()
        .await
        .expect("create");
    let put = client
        .put_function_concurrency()
        .function_name("limited")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("reserve 0");
    assert_eq!(put.reserved_concurrent_executions(), Some(0));
    let throttled = client
        .invoke()
        .function_name("limited")
        .send()
        .await
        .expect_err("throttled")
        .into_service_error();
    assert!(throttled.is_too_many_requests_exception(), "{throttled:?}");
    let got = client
        .get_function_concurrency()
        .function_name("limited")
        .send()
        .await
        .expect("get concurrency");
    assert_eq!(got.reserved_concurrent_executions(), Some(0));

    client
        .delete_function_concurrency()
        .function_name("limited")
        .send()
        .await
        .expect("delete concurrency");
    let output = client
        .invoke()
        .function_name("limited")
        .send()
        .await
        .expect("invoke after the reservation is gone");
    assert_eq!(
        output.payload().map(|p| p.as_ref().to_vec()),
        Some(b"7".to_vec())
    );
}
