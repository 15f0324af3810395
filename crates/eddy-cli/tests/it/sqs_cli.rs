//! SQS through the AWS CLI against the real eddy binary.

use crate::util::harness::Eddy;

fn json_of(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json output")
}

#[test]
fn the_aws_cli_drives_queues_and_messages() {
    let eddy = Eddy::start();
    let created = json_of(&eddy.aws(&[
        "sqs",
        "create-queue",
        "--queue-name",
        "cli-q",
        "--attributes",
        "VisibilityTimeout=5",
    ]));
    let url = created["QueueUrl"].as_str().expect("url").to_owned();
    assert_eq!(url, eddy.queue_url("cli-q"));
    let sent = json_of(&eddy.aws(&[
        "sqs",
        "send-message",
        "--queue-url",
        &url,
        "--message-body",
        "from the cli",
        "--message-attributes",
        r#"{"timestamp":{"DataType":"Number","StringValue":"1493147359900"}}"#,
    ]));
    assert_eq!(
        sent["MD5OfMessageAttributes"],
        "235c5c510d26fb653d073faed50ae77c"
    );
    let received = json_of(&eddy.aws(&[
        "sqs",
        "receive-message",
        "--queue-url",
        &url,
        "--attribute-names",
        "All",
        "--message-attribute-names",
        "All",
    ]));
    let message = &received["Messages"][0];
    assert_eq!(message["Body"], "from the cli");
    assert_eq!(message["Attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(
        message["MessageAttributes"]["timestamp"]["StringValue"],
        "1493147359900"
    );
    let handle = message["ReceiptHandle"].as_str().expect("handle");
    let deleted = eddy.aws(&[
        "sqs",
        "delete-message",
        "--queue-url",
        &url,
        "--receipt-handle",
        handle,
    ]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let attributes = json_of(&eddy.aws(&[
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        &url,
        "--attribute-names",
        "All",
    ]));
    assert_eq!(attributes["Attributes"]["VisibilityTimeout"], "5");
    assert_eq!(attributes["Attributes"]["ApproximateNumberOfMessages"], "0");

    let missing = eddy.aws(&["sqs", "get-queue-url", "--queue-name", "missing"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("NonExistentQueue") || stderr.contains("QueueDoesNotExist"),
        "{stderr}"
    );
}
