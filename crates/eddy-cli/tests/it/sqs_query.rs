//! The SQS query protocol: SigV4-signed form requests (`Action=...`) against the real
//! eddy binary, answered in XML, with the same behaviour as the JSON protocol.

use crate::util::harness::Eddy;
use crate::util::query::QueryClient;

const NAMESPACE: &str = r#"xmlns="http://queue.amazonaws.com/doc/2012-11-05/""#;

fn create(client: &QueryClient, name: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![("QueueName", name)];
    all.extend_from_slice(params);
    let response = client.post("/", "CreateQueue", &all);
    assert_eq!(response.status, 200, "{}", response.body);
    response.first("QueueUrl").expect("QueueUrl")
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').expect("path")..].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_lifecycle_over_the_query_protocol() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let url = create(
        &client,
        "query-q",
        &[
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "7"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "data"),
        ],
    );
    assert_eq!(url, eddy.queue_url("query-q"));

    let response = client.post("/", "GetQueueUrl", &[("QueueName", "query-q")]);
    assert!(response.body.contains(NAMESPACE), "{}", response.body);
    assert!(response.body.contains("<GetQueueUrlResult><QueueUrl>"));
    assert_eq!(response.first("QueueUrl").as_deref(), Some(url.as_str()));
    assert!(response.first("RequestId").is_some());

    let response = client.post(
        &path_of(&url),
        "GetQueueAttributes",
        &[("AttributeName.1", "All")],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .body
            .contains("<Attribute><Name>VisibilityTimeout</Name><Value>7</Value></Attribute>"),
        "{}",
        response.body
    );
    assert!(response.body.contains(
        "<Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:000000000000:query-q</Value>"
    ));

    let response = client.post("/", "ListQueueTags", &[("QueueUrl", &url)]);
    assert!(
        response
            .body
            .contains("<Tag><Key>team</Key><Value>data</Value></Tag>"),
        "{}",
        response.body
    );

    let response = client.post(
        "/",
        "SetQueueAttributes",
        &[
            ("QueueUrl", &url),
            ("Attribute.1.Name", "DelaySeconds"),
            ("Attribute.1.Value", "1"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response.body.contains("<SetQueueAttributesResponse"),
        "{}",
        response.body
    );
    assert!(!response.body.contains("SetQueueAttributesResult"));

    let response = client.post("/", "ListQueues", &[("QueueNamePrefix", "query")]);
    assert_eq!(response.all("QueueUrl"), vec![url.clone()]);

    let response = client.post("/", "DeleteQueue", &[("QueueUrl", &url)]);
    assert_eq!(response.status, 200, "{}", response.body);
    let response = client.post("/", "GetQueueUrl", &[("QueueName", "query-q")]);
    assert_eq!(response.status, 400);
    assert!(
        response.body.contains("<ErrorResponse"),
        "{}",
        response.body
    );
    assert_eq!(
        response.first("Code").as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert_eq!(response.first("Type").as_deref(), Some("Sender"));
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_over_the_query_protocol() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let url = create(&client, "query-messages", &[]);
    let path = path_of(&url);

    let body = "hello <world> & \"friends\"\r\nline two";
    let response = client.post(
        &path,
        "SendMessage",
        &[
            ("MessageBody", body),
            ("MessageAttribute.1.Name", "color"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "red"),
            ("MessageAttribute.2.Name", "blob"),
            ("MessageAttribute.2.Value.DataType", "Binary"),
            ("MessageAttribute.2.Value.BinaryValue", "AAEC"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let md5_body = response.first("MD5OfMessageBody").expect("md5 of body");
    assert_eq!(
        md5_body,
        hex::encode(<md5::Md5 as md5::Digest>::digest(body.as_bytes()))
    );
    let md5_attributes = response
        .first("MD5OfMessageAttributes")
        .expect("md5 of attributes");
    let message_id = response.first("MessageId").expect("message id");

    let response = client.post(
        &path,
        "ReceiveMessage",
        &[
            ("AttributeName.1", "All"),
            ("MessageAttributeName.1", "All"),
            ("MaxNumberOfMessages", "10"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.first("MessageId").as_deref(),
        Some(message_id.as_str())
    );
    assert_eq!(response.first("Body").as_deref(), Some(body));
    assert_eq!(
        response.first("MD5OfMessageAttributes").as_deref(),
        Some(md5_attributes.as_str())
    );
    assert!(
        response
            .body
            .contains("<Name>ApproximateReceiveCount</Name><Value>1</Value>"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("<MessageAttribute><Name>blob</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>"),
        "{}",
        response.body
    );
    let handle = response.first("ReceiptHandle").expect("receipt handle");

    let response = client.post(
        &path,
        "ChangeMessageVisibilityBatch",
        &[
            ("ChangeMessageVisibilityBatchRequestEntry.1.Id", "ok"),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle",
                &handle,
            ),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout",
                "60",
            ),
            ("ChangeMessageVisibilityBatchRequestEntry.2.Id", "bad"),
            (
                "ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle",
                "nonsense",
            ),
            (
                "ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout",
                "60",
            ),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.body.contains("<ChangeMessageVisibilityBatchResultEntry><Id>ok</Id></ChangeMessageVisibilityBatchResultEntry>"), "{}", response.body);
    assert!(
        response.body.contains("<BatchResultErrorEntry>"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("<SenderFault>true</SenderFault>"),
        "{}",
        response.body
    );

    let response = client.post(&path, "DeleteMessage", &[("ReceiptHandle", &handle)]);
    assert_eq!(response.status, 200, "{}", response.body);

    let response = client.post(
        &path,
        "SendMessageBatch",
        &[
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.all("SendMessageBatchResultEntry").len(),
        2,
        "{}",
        response.body
    );

    let response = client.post(&path, "ReceiveMessage", &[("MaxNumberOfMessages", "10")]);
    let handles = response.all("ReceiptHandle");
    assert_eq!(handles.len(), 2, "{}", response.body);
    let response = client.post(
        &path,
        "DeleteMessageBatch",
        &[
            ("DeleteMessageBatchRequestEntry.1.Id", "x"),
            (
                "DeleteMessageBatchRequestEntry.1.ReceiptHandle",
                &handles[0],
            ),
            ("DeleteMessageBatchRequestEntry.2.Id", "y"),
            (
                "DeleteMessageBatchRequestEntry.2.ReceiptHandle",
                &handles[1],
            ),
        ],
    );
    assert_eq!(
        response.all("DeleteMessageBatchResultEntry").len(),
        2,
        "{}",
        response.body
    );

    // An empty receive still has its result element.
    let response = client.post(&path, "ReceiveMessage", &[]);
    assert!(
        response
            .body
            .contains("<ReceiveMessageResult></ReceiveMessageResult>"),
        "{}",
        response.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_errors_are_xml_with_aws_codes() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let url = create(&client, "query-errors", &[]);
    let path = path_of(&url);

    let response = client.post(&path, "SendMessageBatch", &[]);
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("AWS.SimpleQueueService.EmptyBatchRequest")
    );

    let response = client.post(&path, "DeleteMessage", &[("ReceiptHandle", "garbage")]);
    assert_eq!(response.status, 404, "{}", response.body);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("ReceiptHandleIsInvalid")
    );

    let response = client.post(&path, "NoSuchAction", &[]);
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(response.first("Code").as_deref(), Some("InvalidAction"));

    let response = client.post("/", "CreateQueue", &[("QueueName", "bad name!")]);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("InvalidParameterValue")
    );

    let mut wrong = QueryClient::new(&eddy.endpoint);
    wrong.secret_key = "wrong".into();
    let response = wrong.post("/", "ListQueues", &[]);
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("SignatureDoesNotMatch")
    );

    // A form body changed after signing fails the payload hash.
    let mut tampered = client.post_body("/", b"Action=ListQueues&Version=2012-11-05");
    assert_eq!(tampered.status, 200, "{}", tampered.body);
    let form = b"Action=ListQueues&Version=2012-11-05";
    let url = format!("{}/", client.endpoint);
    let headers = vec![
        (
            "host".to_owned(),
            client.endpoint.trim_start_matches("http://").to_owned(),
        ),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let (signed, _) = client.sign_headers(
        "POST",
        &url,
        &headers,
        form,
        eddy_testing::sign::Location::Headers,
    );
    tampered = eddy_testing::raw::send(
        &client.endpoint,
        "POST",
        "/",
        &signed,
        b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=x",
    );
    assert_eq!(tampered.status, 403, "{}", tampered.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_requests_signed_in_headers_or_presigned() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let url = create(&client, "query-get", &[]);
    let response = client.get("/", "GetQueueUrl", &[("QueueName", "query-get")], false);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.first("QueueUrl").as_deref(), Some(url.as_str()));

    let response = client.get(
        &path_of(&url),
        "SendMessage",
        &[("MessageBody", "via a presigned url")],
        true,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.first("MessageId").is_some());

    // The Rust SDK sees the message sent through the query protocol.
    let sqs = eddy.sqs().await;
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive");
    assert_eq!(received.messages()[0].body(), Some("via a presigned url"));
}

#[tokio::test(flavor = "multi_thread")]
async fn management_operations_over_the_query_protocol() {
    let eddy = Eddy::start();
    let client = QueryClient::new(&eddy.endpoint);
    let dlq = create(&client, "query-dlq", &[]);
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:query-dlq";
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    let source = create(
        &client,
        "query-source",
        &[
            ("Attribute.1.Name", "RedrivePolicy"),
            ("Attribute.1.Value", &redrive),
        ],
    );

    let response = client.post("/", "ListDeadLetterSourceQueues", &[("QueueUrl", &dlq)]);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.all("QueueUrl"), vec![source.clone()]);

    let response = client.post(
        &path_of(&source),
        "TagQueue",
        &[
            ("Tag.1.Key", "a"),
            ("Tag.1.Value", "1"),
            ("Tag.2.Key", "b"),
            ("Tag.2.Value", "2"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = client.post(&path_of(&source), "UntagQueue", &[("TagKey.1", "a")]);
    assert_eq!(response.status, 200, "{}", response.body);
    let response = client.post(&path_of(&source), "ListQueueTags", &[]);
    assert_eq!(response.all("Key"), vec!["b".to_owned()]);

    let response = client.post(
        &path_of(&source),
        "AddPermission",
        &[
            ("Label", "both"),
            ("AWSAccountId.1", "111111111111"),
            ("AWSAccountId.2", "222222222222"),
            ("ActionName.1", "SendMessage"),
            ("ActionName.2", "ReceiveMessage"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = client.post(
        &path_of(&source),
        "GetQueueAttributes",
        &[("AttributeName.1", "Policy")],
    );
    let policy: serde_json::Value =
        serde_json::from_str(&response.first("Value").expect("policy")).expect("json");
    assert_eq!(
        policy["Statement"][0]["Action"],
        serde_json::json!(["SQS:SendMessage", "SQS:ReceiveMessage"])
    );
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"][1],
        "arn:aws:iam::222222222222:root"
    );

    client.post(&path_of(&dlq), "SendMessage", &[("MessageBody", "to move")]);
    let response = client.post(
        "/",
        "StartMessageMoveTask",
        &[
            ("SourceArn", dlq_arn),
            (
                "DestinationArn",
                "arn:aws:sqs:us-east-1:000000000000:query-source",
            ),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.first("TaskHandle").is_some_and(|h| !h.is_empty()));
    let mut status = String::new();
    for _ in 0..100 {
        let response = client.post(
            "/",
            "ListMessageMoveTasks",
            &[("SourceArn", dlq_arn), ("MaxResults", "10")],
        );
        assert!(
            response
                .body
                .contains("<ListMessageMoveTasksResult><Result>"),
            "{}",
            response.body
        );
        status = response.first("Status").expect("status");
        if status == "COMPLETED" {
            assert_eq!(
                response
                    .first("ApproximateNumberOfMessagesMoved")
                    .as_deref(),
                Some("1")
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "COMPLETED");
    let response = client.post(&path_of(&source), "ReceiveMessage", &[]);
    assert_eq!(response.first("Body").as_deref(), Some("to move"));

    let response = client.post("/", "CancelMessageMoveTask", &[("TaskHandle", "bm9wZQ==")]);
    assert_eq!(response.status, 404, "{}", response.body);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("ResourceNotFoundException")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_of_form_requests() {
    let eddy = Eddy::start();
    // Unsigned form requests are SQS query requests, refused for want of a signature.
    let response = eddy_testing::raw::send(
        &eddy.endpoint,
        "POST",
        "/",
        &[(
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )],
        b"Action=ListQueues&Version=2012-11-05",
    );
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(
        response.first("Code").as_deref(),
        Some("MissingAuthenticationToken")
    );
    // An S3 upload whose object has a form content type stays S3.
    let s3 = eddy.s3().await;
    s3.create_bucket()
        .bucket("forms")
        .send()
        .await
        .expect("create bucket");
    let upload = s3
        .create_multipart_upload()
        .bucket("forms")
        .key("form.txt")
        .content_type("application/x-www-form-urlencoded")
        .send()
        .await
        .expect("S3 multipart upload with a form content type");
    assert!(upload.upload_id().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_urls_follow_the_host_the_client_used() {
    let eddy = Eddy::start();
    let port = eddy
        .endpoint
        .rsplit(':')
        .next()
        .expect("port")
        .trim_end_matches('/');
    let regional = QueryClient::new(&format!("http://sqs.us-east-1.localhost:{port}"));
    let url = create(&regional, "regional", &[]);
    assert_eq!(
        url,
        format!("http://sqs.us-east-1.localhost:{port}/000000000000/regional")
    );
    let response = regional.post(
        &path_of(&url),
        "SendMessage",
        &[("MessageBody", "via the regional host")],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    // The same queue, seen through the plain endpoint.
    let sqs = eddy.sqs().await;
    let received = sqs
        .receive_message()
        .queue_url(eddy.queue_url("regional"))
        .send()
        .await
        .expect("receive");
    assert_eq!(received.messages()[0].body(), Some("via the regional host"));
}
