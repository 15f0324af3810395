//! IAM and STS through the AWS CLI and the AWS SDK for Rust: a role created with `aws
//! iam create-role` and credentials issued by `aws sts assume-role` outlive a SIGKILL
//! of eddy (both are committed before they are answered), and the temporary
//! credentials sign S3 requests (with their session token) before and after it.

use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;

use crate::util::harness::{Eddy, EddyOptions, path_style_s3};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// Runs the AWS CLI; returns what it printed.
fn cli_ok(eddy: &Eddy, args: &[&str]) -> Vec<u8> {
    let mut full = vec!["--output", "json"];
    full.extend_from_slice(args);
    let output = eddy.aws(&full);
    assert!(
        output.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs the AWS CLI; returns its JSON answer.
fn cli_json(eddy: &Eddy, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&cli_ok(eddy, args)).expect("aws cli json")
}

async fn s3_with(eddy: &Eddy, credentials: &serde_json::Value) -> aws_sdk_s3::Client {
    let text = |name: &str| credentials[name].as_str().expect(name).to_owned();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&eddy.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            text("AccessKeyId"),
            text("SecretAccessKey"),
            Some(text("SessionToken")),
            None,
            "assumed",
        ))
        .load()
        .await;
    path_style_s3(&config)
}

#[tokio::test]
async fn roles_and_assumed_credentials_survive_sigkill() {
    let mut eddy = Eddy::process();
    let temp = eddy.take_temp();
    let created = cli_json(
        &eddy,
        &[
            "iam",
            "create-role",
            "--role-name",
            "pipeline",
            "--assume-role-policy-document",
            TRUST,
            "--tags",
            "Key=team,Value=data",
        ],
    );
    let role_arn = created["Role"]["Arn"].as_str().expect("arn").to_owned();
    assert_eq!(role_arn, "arn:aws:iam::000000000000:role/pipeline");
    cli_ok(
        &eddy,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "pipeline",
            "--policy-name",
            "copy",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        ],
    );
    let assumed = cli_json(
        &eddy,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &role_arn,
            "--role-session-name",
            "crash-test",
        ],
    );
    let credentials = assumed["Credentials"].clone();
    assert!(
        credentials["AccessKeyId"]
            .as_str()
            .is_some_and(|k| k.starts_with("ASIA") && k.len() == 20),
        "{credentials}"
    );
    let s3 = s3_with(&eddy, &credentials).await;
    s3.create_bucket()
        .bucket("roles")
        .send()
        .await
        .expect("create bucket");
    s3.put_object()
        .bucket("roles")
        .key("before")
        .body(ByteStream::from_static(b"signed by the role"))
        .send()
        .await
        .expect("put with temporary credentials");

    eddy.child().kill().expect("SIGKILL");
    eddy.child().wait().expect("wait");
    let eddy = Eddy::start_with(EddyOptions {
        config: String::new(),
        data_dir: Some(eddy.data_dir.clone()),
    });

    let role = cli_json(&eddy, &["iam", "get-role", "--role-name", "pipeline"]);
    assert_eq!(role["Role"]["RoleId"], created["Role"]["RoleId"]);
    assert_eq!(role["Role"]["Tags"][0]["Value"], "data");
    let inline = cli_json(
        &eddy,
        &["iam", "list-role-policies", "--role-name", "pipeline"],
    );
    assert_eq!(inline["PolicyNames"], serde_json::json!(["copy"]));
    let s3 = s3_with(&eddy, &credentials).await;
    let body = s3
        .get_object()
        .bucket("roles")
        .key("before")
        .send()
        .await
        .expect("get with temporary credentials after the kill")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&body[..], b"signed by the role");
    let identity = cli_json(&eddy, &["sts", "get-caller-identity"]);
    assert_eq!(identity["Account"], "000000000000");
    drop(eddy);
    drop(temp);
}
