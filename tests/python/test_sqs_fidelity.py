"""Issue 15's SQS fidelity categories with boto3 (AWS JSON protocol) and botocore-signed
query requests: boolean attribute values, error shapes and messages, the query protocol
without or with a foreign Action, FIFO group order, batches, delay and purge,
ChangeMessageVisibility after expiry, MessageAttributeNames prefixes, AWSTraceHeader.

The expected answers are AWS's, as LocalStack's AWS-validated SQS tests recorded them.
"""

import time
import urllib.error
import urllib.parse
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}


@pytest.fixture
def sqs(eddy):
    return eddy.client("sqs")


def error_of(excinfo):
    response = excinfo.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def query(endpoint, path, params, method="POST", headers=None):
    """A query-protocol request signed by botocore; returns the status and body text."""
    credentials = botocore.credentials.Credentials("test", "test")
    body = urllib.parse.urlencode({"Version": "2012-11-05", **params})
    if method == "POST":
        request = botocore.awsrequest.AWSRequest(
            method="POST",
            url=endpoint + path,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})},
        )
    else:
        request = botocore.awsrequest.AWSRequest(method="GET", url=f"{endpoint}{path}?{body}", headers=headers or {})
    botocore.auth.SigV4Auth(credentials, "sqs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    data = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    http_request = urllib.request.Request(prepared.url, data=data, method=method)
    for key, value in prepared.headers.items():
        http_request.add_header(key, value)
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def bodies(response):
    return [m["Body"] for m in response.get("Messages", [])]


def test_boolean_attribute_values_in_any_case(sqs):
    for i, value in enumerate(["true", "True", "TRUE"]):
        url = sqs.create_queue(
            QueueName=f"bools-{i}.fifo", Attributes={"FifoQueue": value, "ContentBasedDeduplication": value}
        )["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == "true"
        assert attributes["ContentBasedDeduplication"] == "true"
        sqs.send_message(QueueUrl=url, MessageBody="no deduplication id needed", MessageGroupId="g")


def test_error_codes_and_messages_as_sqs_words_them(sqs, eddy):
    url = sqs.create_queue(QueueName="errors")["QueueUrl"]
    cases = [
        (
            lambda: sqs.create_queue(QueueName="bad name!"),
            ("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"),
        ),
        (
            lambda: sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"X": {"DataType": "String", "StringValue": ""}}),
            ("InvalidParameterValue", "Message (user) attribute 'X' must contain a non-empty value of type 'String'."),
        ),
        (
            lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"}),
            ("InvalidAttributeName", "You can specify the DeduplicationScope only when FifoQueue is set to true."),
        ),
        (
            lambda: sqs.create_queue(QueueName="standard", Attributes={"FifoQueue": "false"}),
            ("InvalidAttributeName", "Unknown Attribute FifoQueue."),
        ),
        (
            lambda: sqs.remove_permission(QueueUrl=url, Label="L"),
            ("InvalidParameterValue", "Value L for parameter Label is invalid. Reason: can't find label."),
        ),
        (
            lambda: sqs.get_queue_url(QueueName="missing"),
            ("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."),
        ),
    ]
    for call, (code, message) in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == (code, message, 400)
    # botocore turns the query code back into the modelled exception.
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")
    # Non-ASCII letters are letters in attribute names.
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"attr.1øßä": {"DataType": "String", "StringValue": "v"}})

    status, text = query(eddy.endpoint, "/", {"Action": "GetQueueUrl", "QueueName": "missing"})
    assert status == 400
    assert "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in text
    assert "<Message>The specified queue does not exist for this wsdl version.</Message>" in text


def test_query_requests_without_or_with_a_foreign_action(sqs, eddy):
    url = sqs.create_queue(QueueName="actions")["QueueUrl"]
    path = urllib.parse.urlparse(url).path
    for method in ["GET", "POST"]:
        for headers in [None, {"Accept": "application/json"}]:
            status, text = query(eddy.endpoint, path, {}, method=method, headers=headers)
            assert (status, text) == (404, "<UnknownOperationException/>"), (method, headers)
    for action in ["CreateQueue", "ListQueues", "NoSuchAction"]:
        status, text = query(eddy.endpoint, path, {"Action": action, "QueueName": "other"})
        assert status == 400
        assert "<Code>InvalidAction</Code>" in text
        assert f"The action {action} is not valid for this endpoint." in text


def test_fifo_groups_come_back_together_and_in_order(sqs):
    url = sqs.create_queue(QueueName="order.fifo", Attributes=FIFO)["QueueUrl"]
    for body, group in [("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"), ("g1-m3", "1"), ("g3-m1", "3")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in first] == ["g1-m1", "g1-m2"]
    # g1-m3 waits behind its group's messages in flight.
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)) == ["g2-m1"]
    # Extending one message's visibility keeps the group blocked.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=60)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == ["g3-m1"]
    # Ending the first message's visibility frees the group, in order, behind g3 whose
    # visibility ended earlier.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)) == [
        "g3-m1",
        "g1-m1",
        "g1-m2",
        "g1-m3",
    ]


def test_fifo_batch_delay_and_purge(sqs):
    url = sqs.create_queue(QueueName="batch.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
                {"Id": "b", "MessageBody": "x", "MessageDeduplicationId": "2"},
            ],
        )
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
                {"Id": "b", "MessageBody": "x", "MessageGroupId": "g"},
            ],
        )
    assert error_of(excinfo) == (
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        400,
    )
    first = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")["MessageId"] == first["MessageId"]
    sqs.purge_queue(QueueUrl=url)
    again = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert again["MessageId"] != first["MessageId"], "PurgeQueue clears the deduplication ids"

    delayed = sqs.create_queue(QueueName="delayed.fifo", Attributes={**FIFO, "DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=delayed, MessageBody="later", MessageGroupId="g", DelaySeconds=0)
    assert bodies(sqs.receive_message(QueueUrl=delayed)) == []
    time.sleep(1.1)
    assert bodies(sqs.receive_message(QueueUrl=delayed)) == ["later"]


def test_change_visibility_after_expiry(sqs):
    url = sqs.create_queue(QueueName="expiry")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
    time.sleep(1.1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=30)
    assert bodies(sqs.receive_message(QueueUrl=url)) == [], "invisible again"


def test_message_attribute_names_select_by_prefix(sqs):
    url = sqs.create_queue(QueueName="prefixes")["QueueUrl"]
    value = {"DataType": "String", "StringValue": "v"}
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes={"Hello": value, "Help.Me": value, "Other": value})
    for names, expected in [
        (["Help.*"], ["Help.Me"]),
        (["Hel.*"], ["Hello", "Help.Me"]),
        (["All"], ["Hello", "Help.Me", "Other"]),
        ([".*"], ["Hello", "Help.Me", "Other"]),
        (["Other"], ["Other"]),
    ]:
        message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, MessageAttributeNames=names)["Messages"][0]
        assert sorted(message.get("MessageAttributes", {})) == expected, names


def test_aws_trace_header_from_the_http_header(sqs):
    url = sqs.create_queue(QueueName="traces")["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

    def add_trace(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    sqs.meta.events.register("before-sign.sqs.SendMessage", add_trace)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="traced")
    finally:
        sqs.meta.events.unregister("before-sign.sqs.SendMessage", add_trace)
    sqs.send_message(
        QueueUrl=url,
        MessageBody="by attribute",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-2-3"}},
    )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert [(m["Body"], m["Attributes"]["AWSTraceHeader"]) for m in messages] == [("traced", trace), ("by attribute", "Root=1-2-3")]
