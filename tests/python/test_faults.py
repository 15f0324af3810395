"""Faults on demand from a pytest suite, as docs/testing.md shows them: one
`eddy up --ephemeral` whose eddy.toml has a [faults] table, `eddy reset` before each
test, faults set for one test with POST /_eddy/api/faults, and boto3 seeing what AWS
allows to happen (an early redelivery, a duplicated event, a SlowDown, latency on one
queue)."""

import json
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("EDDY_BINARY", ROOT / "target" / "debug" / "eddy"))

CONFIG = """
[faults.sqs_early_redelivery]
queue = "work"
count = 1
"""


@pytest.fixture(scope="module")
def eddy_server():
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        (work / "eddy.toml").write_text(CONFIG)
        ready_file = work / "ready.json"
        with open(work / "eddy.log", "w") as log:
            process = subprocess.Popen(
                [str(BINARY), "up", "--ephemeral", "--listen", "127.0.0.1:0",
                 "--config", str(work / "eddy.toml"), "--ready-file", str(ready_file)],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )
            line = process.stdout.readline()
            assert line.startswith("eddy ready on "), line
            yield json.loads(ready_file.read_text()), ready_file
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def eddy(eddy_server):
    ready, ready_file = eddy_server
    subprocess.run([str(BINARY), "reset", "--ready-file", str(ready_file)], check=True,
                   capture_output=True)
    return ready


def client(ready, service):
    return boto3.client(
        service, endpoint_url=ready["endpoint"], region_name=ready["region"],
        aws_access_key_id=ready["access_key_id"],
        aws_secret_access_key=ready["secret_access_key"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def set_faults(ready, faults):
    request = urllib.request.Request(
        ready["endpoint"] + "/_eddy/api/faults", method="POST",
        data=json.dumps({"faults": faults}).encode(), headers={"x-eddy-dashboard": "1"})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def metric(ready, series):
    with urllib.request.urlopen(ready["endpoint"] + "/_eddy/metrics") as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    return None


@pytest.mark.parametrize("round", [1, 2])
def test_the_configured_fault_redelivers_a_message_early_after_every_reset(eddy, round):
    sqs = client(eddy, "sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=f"job {round}")
    first = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
    assert first["Messages"][0]["MessageId"] == again["Messages"][0]["MessageId"]
    assert again["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "2"
    # The configured count (1) is used up until the next reset.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_a_duplicated_event_reaches_a_consumer_twice(eddy):
    s3, sqs = client(eddy, "s3"), client(eddy, "sqs")
    set_faults(eddy, [{"kind": "s3_event_duplicate", "bucket": "watched", "count": 1}])
    s3.create_bucket(Bucket="watched")
    url = sqs.create_queue(QueueName="watch")["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket="watched",
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": f"arn:aws:sqs:{eddy['region']}:{eddy['account_id']}:watch",
            "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="watched", Key="a.txt", Body=b"a")
    events = []
    for _ in range(10):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            if "s3:TestEvent" not in message["Body"]:
                events.append(message)
        if len(events) >= 2:
            break
    assert len(events) == 2
    assert events[0]["MessageId"] != events[1]["MessageId"]
    assert events[0]["Body"] == events[1]["Body"]
    assert metric(eddy, 'eddy_faults_injected_total{kind="s3_event_duplicate"}') >= 1


def test_slow_down_is_a_boto3_client_error_and_nothing_is_lost(eddy):
    s3 = client(eddy, "s3")
    set_faults(eddy, [{"kind": "s3_slow_down", "bucket": "source", "count": 1}])
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="source", Key="in/a.txt", Body=b"hello")
    assert refused.value.response["Error"]["Code"] == "SlowDown"
    s3.put_object(Bucket="source", Key="in/a.txt", Body=b"hello")
    subprocess.run([str(BINARY), "wait", "--idle", "--timeout", "10",
                    "--endpoint-url", eddy["endpoint"]], check=True, capture_output=True)
    assert s3.get_object(Bucket="destination", Key="in/a.txt")["Body"].read() == b"hello"
    trace = subprocess.run([str(BINARY), "trace", "s3://source/in/a.txt",
                            "--endpoint-url", eddy["endpoint"]],
                           check=True, capture_output=True, text=True).stdout
    assert "faults injected: s3_slow_down" in trace.splitlines()[0], trace


def test_sqs_latency_on_one_queue_delays_only_the_calls_that_address_it(eddy):
    sqs = client(eddy, "sqs")
    slow = sqs.create_queue(QueueName="slow")["QueueUrl"]
    fast = sqs.create_queue(QueueName="fast")["QueueUrl"]
    set_faults(eddy, [{"kind": "sqs_latency", "queue": "slow", "latency_ms": 300}])
    series = 'eddy_faults_injected_total{kind="sqs_latency"}'
    before = metric(eddy, series)
    sqs.send_message(QueueUrl=fast, MessageBody="fast")
    sqs.list_queues()
    assert metric(eddy, series) == before
    started = time.monotonic()
    sqs.send_message(QueueUrl=slow, MessageBody="slow")
    assert time.monotonic() - started >= 0.3
    assert metric(eddy, series) == before + 1
    for url, body in ((fast, "fast"), (slow, "slow")):
        messages = sqs.receive_message(QueueUrl=url)["Messages"]
        assert [m["Body"] for m in messages] == [body]
