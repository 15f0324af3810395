//! Several credential pairs: a pair from `additional_credentials` works for S3 and SQS
//! like the main pair, and a wrong secret or an unknown key id is refused with AWS's
//! error codes.

use crate::util::harness::Eddy;
use aws_credential_types::Credentials;
use aws_sdk_s3::error::ProvideErrorMetadata;

const CONFIG: &str = r#"
additional_credentials = [
    { access_key_id = "second", secret_access_key = "second-secret" },
    { access_key_id = "third", secret_access_key = "third-secret" },
]
"#;

async fn clients(
    eddy: &Eddy,
    key: &str,
    secret: &str,
) -> (aws_sdk_s3::Client, aws_sdk_sqs::Client) {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(eddy_function::sdk_http::https_client())
        .endpoint_url(&eddy.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            key,
            secret,
            None,
            None,
            "credential-tests",
        ))
        .load()
        .await;
    let s3 = crate::util::harness::path_style_s3(&shared);
    (s3, aws_sdk_sqs::Client::new(&shared))
}

#[tokio::test]
async fn every_configured_pair_works_and_wrong_ones_are_refused() {
    let eddy = Eddy::start_with_config(CONFIG);
    let queue_url = eddy.queue_url("file-events");
    for (key, secret) in [
        ("test", "test"),
        ("second", "second-secret"),
        ("third", "third-secret"),
    ] {
        let (s3, sqs) = clients(&eddy, key, secret).await;
        s3.put_object()
            .bucket("source")
            .key(format!("by-{key}"))
            .body(key.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject as {key}: {e:?}"));
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(format!("from {key}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("SendMessage as {key}: {e:?}"));
    }

    for (key, secret, s3_code, sqs_code) in [
        (
            "second",
            "third-secret",
            "SignatureDoesNotMatch",
            "SignatureDoesNotMatch",
        ),
        (
            "fourth",
            "second-secret",
            "InvalidAccessKeyId",
            "InvalidClientTokenId",
        ),
    ] {
        let (s3, sqs) = clients(&eddy, key, secret).await;
        let error = s3
            .put_object()
            .bucket("source")
            .key("refused")
            .body(b"x".to_vec().into())
            .send()
            .await
            .expect_err("a wrong pair is refused by S3");
        assert_eq!(error.code(), Some(s3_code), "S3 as {key}: {error:?}");
        let error = sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body("refused")
            .send()
            .await
            .expect_err("a wrong pair is refused by SQS");
        assert_eq!(error.code(), Some(sqs_code), "SQS as {key}: {error:?}");
    }
    let (s3, _) = clients(&eddy, "test", "test").await;
    let missing = s3
        .head_object()
        .bucket("source")
        .key("refused")
        .send()
        .await;
    assert!(missing.is_err(), "the refused upload must not exist");
}
