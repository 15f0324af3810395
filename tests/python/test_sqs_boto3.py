"""SQS compatibility with boto3: the real eddy binary driven by boto3 (AWS JSON 1.0
protocol), plus query-protocol requests signed with botocore's own SigV4 signer.

The fixture starts `target/debug/eddy up` on a free port with a fresh data directory
(build it first with `cargo build -p eddy-cli`; scripts/test runs cargo test first).
"""

import hashlib
import json
import os
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
EDDY = ROOT / "target" / "debug" / "eddy"
NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    if not EDDY.exists():
        pytest.fail(f"{EDDY} is missing: run `cargo build -p eddy-cli` first")
    work = tmp_path_factory.mktemp("eddy")
    config = work / "eddy.toml"
    config.write_text("")
    log = open(work / "eddy.log", "wb")
    process = subprocess.Popen(
        [str(EDDY), "up", "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    line = process.stdout.readline().decode()
    if "eddy ready on " not in line:
        process.kill()
        pytest.fail(f"eddy did not start: {line!r}\n{(work / 'eddy.log').read_text()}")
    url = next(word for word in line.split() if word.startswith("http://"))
    # Keep draining stdout so eddy never blocks on a full pipe.
    threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    finally:
        log.close()


@pytest.fixture(scope="module")
def sqs(endpoint):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def unique(name):
    return f"{name}-{time.time_ns() % 10**12}"


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def md5_of_attributes(attributes):
    """MD5OfMessageAttributes as AWS documents it, written independently of eddy."""
    buffer = b""
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        buffer += struct.pack(">I", len(name.encode())) + name.encode()
        buffer += struct.pack(">I", len(data_type.encode())) + data_type.encode()
        if data_type.startswith("Binary"):
            payload = value["BinaryValue"]
            buffer += b"\x02" + struct.pack(">I", len(payload)) + payload
        else:
            payload = value["StringValue"].encode()
            buffer += b"\x01" + struct.pack(">I", len(payload)) + payload
    return hashlib.md5(buffer).hexdigest()


def test_queue_lifecycle_and_attributes(sqs, endpoint):
    name = unique("lifecycle")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "9"}, tags={"team": "data"})["QueueUrl"]
    assert url == f"{endpoint}/000000000000/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "9"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{name}"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "120"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"] == {
        "MessageRetentionPeriod": "120"
    }
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "data"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "ci"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "ci"}
    assert url in sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]

    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "901"})
    assert error_code(excinfo) == "InvalidAttributeValue"
    with pytest.raises(ClientError) as excinfo:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert error_code(excinfo) == "InvalidAttributeName"

    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=name)


def test_list_queues_pages(sqs):
    prefix = unique("pages")
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    paginator = sqs.get_paginator("list_queues")
    pages = list(paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["QueueUrls"]) for p in pages] == [2, 2, 1]
    assert sorted(u for p in pages for u in p["QueueUrls"]) == sorted(urls)


def test_messages_round_trip_with_attributes_and_md5(sqs):
    url = sqs.create_queue(QueueName=unique("messages"))["QueueUrl"]
    attributes = {
        "color": {"DataType": "String", "StringValue": "red"},
        "count": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary.gzip", "BinaryValue": b"\x00\x01\x02"},
        "timestamp": {"DataType": "Number", "StringValue": "1493147359900"},
    }
    body = "héllo <world> & 😀"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)

    only_timestamp = {"timestamp": attributes["timestamp"]}
    sent_one = sqs.send_message(QueueUrl=url, MessageBody="derp", MessageAttributes=only_timestamp)
    # The value moto's test suite pins as AWS's.
    assert sent_one["MD5OfMessageAttributes"] == "235c5c510d26fb653d073faed50ae77c"
    assert sent_one["MD5OfMessageBody"] == "58fd9edd83341c29f1aebba81c31e257"

    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert [m["Body"] for m in received] == [body, "derp"]
    first = received[0]
    assert first["MessageId"] == sent["MessageId"]
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\x02"
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(first["Attributes"]["SentTimestamp"]) > 1_600_000_000_000

    # Filters: a prefix selects some attributes; the digest covers those only.
    sqs.send_message(QueueUrl=url, MessageBody="filtered", MessageAttributes=attributes)
    # As on SQS, `co.*` selects the names that start with "co" (no dot needed).
    filtered = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["co.*", "blob"])["Messages"][0]
    assert set(filtered["MessageAttributes"]) == {"color", "count", "blob"}
    assert filtered["MD5OfMessageAttributes"] == md5_of_attributes(
        {name: attributes[name] for name in ["color", "count", "blob"]}
    )

    for message in received + [filtered]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"
    ]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_errors_are_the_aws_ones(sqs, endpoint):
    url = sqs.create_queue(QueueName=unique("errors"))["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="nonsense")
    assert error_code(excinfo) == "ReceiptHandleIsInvalid"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x01")
    assert error_code(excinfo) == "InvalidMessageContents"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}])
    assert "BatchEntryIdsNotDistinct" in error_code(excinfo)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    assert "TooManyEntriesInBatchRequest" in error_code(excinfo)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=f"{endpoint}/000000000000/missing", MessageBody="x")
    message = sqs.send_message(QueueUrl=url, MessageBody="x")
    assert message["MessageId"]
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert error_code(excinfo) == "InvalidParameterValue", "the message is deleted"
    sqs.send_message(QueueUrl=url, MessageBody="y")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    # Not in flight any more (received with VisibilityTimeout=0): SQS still changes it.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


def test_batches_with_partial_failures(sqs):
    url = sqs.create_queue(QueueName=unique("batch"))["QueueUrl"]
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok1", "MessageBody": "one", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "b"}}},
            {"Id": "ok2", "MessageBody": "two", "DelaySeconds": 0},
            {"Id": "bad", "MessageBody": "three", "DelaySeconds": 901},
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["ok1", "ok2"]
    assert result["Failed"][0]["Id"] == "bad"
    assert result["Failed"][0]["SenderFault"] is True
    ok1 = next(e for e in result["Successful"] if e["Id"] == "ok1")
    assert ok1["MD5OfMessageAttributes"] == md5_of_attributes({"a": {"DataType": "String", "StringValue": "b"}})
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)],
    )
    assert len(changed["Successful"]) == len(messages)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in messages} == {"2"}
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    )
    assert len(deleted["Successful"]) == 2


def test_fifo_queue(sqs):
    name = unique("orders") + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="A")
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="A")
    assert duplicate["MessageId"] == first["MessageId"]
    second = sqs.send_message(QueueUrl=url, MessageBody="a2", MessageGroupId="A")
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])
    sqs.send_message(QueueUrl=url, MessageBody="b1", MessageGroupId="B", MessageDeduplicationId="b1")
    head = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert head["Body"] == "a1"
    assert head["Attributes"]["MessageGroupId"] == "A"
    assert head["Attributes"]["SequenceNumber"] == first["SequenceNumber"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == ["b1"], "group A is blocked while a1 is in flight"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a2"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert error_code(excinfo) == "MissingParameter"
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A", DelaySeconds=3)
    assert error_code(excinfo) == "InvalidParameterValue"


def test_dead_letter_queue_and_move_task(sqs):
    dlq = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName=unique("source"),
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
            "VisibilityTimeout": "0",
        },
    )["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    sqs.send_message(QueueUrl=source, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=source).get("Messages", [])) == 1
    assert sqs.receive_message(QueueUrl=source).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])["Messages"][0]
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == source_arn

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    deadline = time.time() + 10
    while True:
        task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        if task["Status"] == "COMPLETED" or time.time() > deadline:
            break
        time.sleep(0.05)
    assert task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 1
    back = sqs.receive_message(QueueUrl=source)["Messages"][0]
    assert back["Body"] == "poison"


def test_long_poll_returns_when_a_message_arrives(sqs):
    url = sqs.create_queue(QueueName=unique("poll"))["QueueUrl"]
    sender = boto3.client(
        "sqs", endpoint_url=sqs.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    result = {}

    def receive():
        result["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        result["at"] = time.monotonic()

    thread = threading.Thread(target=receive)
    thread.start()
    time.sleep(0.5)
    sent_at = time.monotonic()
    sender.send_message(QueueUrl=url, MessageBody="wake up")
    thread.join(timeout=15)
    assert [m["Body"] for m in result["messages"]] == ["wake up"]
    assert result["at"] - sent_at < 5, "the receive returned on the send, not at the end of its wait"


def signed_query(endpoint, path, params, method="POST"):
    """A query-protocol request signed by botocore's SigV4 signer."""
    credentials = botocore.credentials.Credentials("test", "test")
    body = urllib.parse.urlencode({"Version": "2012-11-05", **params})
    if method == "POST":
        request = botocore.awsrequest.AWSRequest(
            method="POST", url=endpoint + path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        )
    else:
        request = botocore.awsrequest.AWSRequest(method="GET", url=f"{endpoint}{path}?{body}")
    botocore.auth.SigV4Auth(credentials, "sqs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    http_request = urllib.request.Request(prepared.url, data=prepared.body and prepared.body.encode() if isinstance(prepared.body, str) else prepared.body, method=method)
    for key, value in prepared.headers.items():
        http_request.add_header(key, value)
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ET.fromstring(error.read())


def test_query_protocol_with_botocore_signing(endpoint):
    name = unique("query")
    status, xml = signed_query(endpoint, "/", {"Action": "CreateQueue", "QueueName": name, "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "0"})
    assert status == 200
    assert xml.tag == f"{NS}CreateQueueResponse"
    url = xml.find(f"{NS}CreateQueueResult/{NS}QueueUrl").text
    path = urllib.parse.urlparse(url).path
    status, xml = signed_query(
        endpoint,
        path,
        {
            "Action": "SendMessage",
            "MessageBody": "over the query protocol",
            "MessageAttribute.1.Name": "timestamp",
            "MessageAttribute.1.Value.DataType": "Number",
            "MessageAttribute.1.Value.StringValue": "1493147359900",
        },
    )
    assert status == 200
    assert xml.find(f"{NS}SendMessageResult/{NS}MD5OfMessageAttributes").text == "235c5c510d26fb653d073faed50ae77c"
    status, xml = signed_query(endpoint, path, {"Action": "ReceiveMessage", "AttributeName.1": "All", "MessageAttributeName.1": "All"}, method="GET")
    assert status == 200
    message = xml.find(f"{NS}ReceiveMessageResult/{NS}Message")
    assert message.find(f"{NS}Body").text == "over the query protocol"
    names = [a.find(f"{NS}Name").text for a in message.findall(f"{NS}Attribute")]
    assert "SentTimestamp" in names
    assert message.find(f"{NS}MessageAttribute/{NS}Value/{NS}StringValue").text == "1493147359900"
    status, xml = signed_query(endpoint, "/", {"Action": "GetQueueUrl", "QueueName": "does-not-exist"})
    assert status == 400
    assert xml.tag == f"{NS}ErrorResponse"
    assert xml.find(f"{NS}Error/{NS}Code").text == "AWS.SimpleQueueService.NonExistentQueue"
    assert xml.find(f"{NS}Error/{NS}Type").text == "Sender"


def test_permissions_trace_header_and_receive_attempts(sqs):
    url = sqs.create_queue(QueueName=unique("perm"))["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="cross", AWSAccountIds=["111122223333"], Actions=["SendMessage", "ReceiveMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Sid"] == "cross"
    assert policy["Statement"][0]["Action"] == ["SQS:SendMessage", "SQS:ReceiveMessage"]
    sqs.remove_permission(QueueUrl=url, Label="cross")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])

    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="traced", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    )
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes({"AWSTraceHeader": {"DataType": "String", "StringValue": trace}})
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"][0]
    assert got["Attributes"] == {"AWSTraceHeader": trace}

    fifo = sqs.create_queue(QueueName=unique("attempt") + ".fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g")
    sqs.send_message(QueueUrl=fifo, MessageBody="second", MessageGroupId="h")
    one = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="try-1")["Messages"]
    retry = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="try-1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in retry] == [(m["MessageId"], m["ReceiptHandle"]) for m in one]
    other = sqs.receive_message(QueueUrl=fifo, ReceiveRequestAttemptId="try-2")["Messages"]
    assert other[0]["Body"] != one[0]["Body"]
