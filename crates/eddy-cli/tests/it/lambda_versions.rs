//! Function versions and aliases through the AWS SDK for Rust: PublishVersion freezes
//! code and configuration (and repeats the last version when nothing changed), an
//! alias routes Invoke to its version and follows UpdateAlias, qualifiers reach
//! GetFunction, and missing versions and aliases are refused as Lambda refuses them.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::primitives::Blob;

use super::lambda_api::lambda;
use crate::util::harness::Eddy;
use crate::util::lambda::{CreatePython, python_zip};

fn returning(version: u32) -> String {
    format!(
        "import os\n\ndef handler(event, context):\n    return {{\"code\": {version}, \"env\": os.environ[\"AWS_LAMBDA_FUNCTION_VERSION\"]}}\n"
    )
}

async fn invoke(client: &Client, qualifier: &str) -> (serde_json::Value, String) {
    let output = client
        .invoke()
        .function_name("versioned")
        .qualifier(qualifier)
        .send()
        .await
        .expect("invoke");
    assert_eq!(output.function_error(), None, "{output:?}");
    (
        serde_json::from_slice(output.payload().expect("payload").as_ref()).expect("json"),
        output.executed_version().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn versions_freeze_the_code_and_aliases_route_to_them() {
    let eddy = Eddy::start();
    let client = lambda(&eddy).await;
    client
        .create_python("versioned", &returning(1))
        .send()
        .await
        .expect("create");
    let first = client
        .publish_version()
        .function_name("versioned")
        .send()
        .await
        .expect("publish 1");
    assert_eq!(first.version(), Some("1"));
    assert_eq!(
        first.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:versioned:1")
    );
    client
        .update_function_code()
        .function_name("versioned")
        .zip_file(Blob::new(python_zip(&returning(2))))
        .send()
        .await
        .expect("update");
    let second = client
        .publish_version()
        .function_name("versioned")
        .send()
        .await
        .expect("publish 2");
    assert_eq!(second.version(), Some("2"));
    let again = client
        .publish_version()
        .function_name("versioned")
        .send()
        .await
        .expect("publish unchanged");
    assert_eq!(
        again.version(),
        Some("2"),
        "nothing changed: the last version"
    );

    let alias = client
        .create_alias()
        .function_name("versioned")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("create alias");
    assert_eq!(
        alias.alias_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:versioned:live")
    );
    let (answer, executed) = invoke(&client, "live").await;
    assert_eq!(answer, serde_json::json!({"code": 1, "env": "1"}));
    assert_eq!(executed, "1");
    let (answer, executed) = invoke(&client, "2").await;
    assert_eq!(answer["code"], 2);
    assert_eq!(executed, "2");
    let (answer, executed) = invoke(&client, "$LATEST").await;
    assert_eq!(answer, serde_json::json!({"code": 2, "env": "$LATEST"}));
    assert_eq!(executed, "$LATEST");

    client
        .update_alias()
        .function_name("versioned")
        .name("live")
        .function_version("2")
        .send()
        .await
        .expect("update alias");
    assert_eq!(invoke(&client, "live").await.0["code"], 2);

    let versions = client
        .list_versions_by_function()
        .function_name("versioned")
        .send()
        .await
        .expect("list versions");
    let listed: Vec<_> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(listed, ["$LATEST", "1", "2"]);
    let old = client
        .get_function()
        .function_name("versioned")
        .qualifier("1")
        .send()
        .await
        .expect("get version 1");
    assert_eq!(
        old.configuration().and_then(|c| c.code_sha256()),
        first.code_sha256()
    );

    let missing = client
        .invoke()
        .function_name("versioned")
        .qualifier("9")
        .send()
        .await
        .expect_err("no version 9")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    assert_eq!(
        missing.message(),
        Some("Function not found: arn:aws:lambda:us-east-1:000000000000:function:versioned:9")
    );
    let duplicate = client
        .create_alias()
        .function_name("versioned")
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect_err("alias exists")
        .into_service_error();
    assert!(duplicate.is_resource_conflict_exception(), "{duplicate:?}");

    client
        .delete_alias()
        .function_name("versioned")
        .name("live")
        .send()
        .await
        .expect("delete alias");
    let gone = client
        .get_alias()
        .function_name("versioned")
        .name("live")
        .send()
        .await
        .expect_err("alias deleted")
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
    assert_eq!(
        gone.message(),
        Some("Alias not found: arn:aws:lambda:us-east-1:000000000000:function:versioned:live")
    );
}
