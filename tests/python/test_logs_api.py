"""CloudWatch Logs with boto3 and the AWS CLI: a Python function deployed through the
Lambda API writes START, its output, END and REPORT to /aws/lambda/<name> in a stream
named as Lambda names it; the Logs operations (groups, streams, PutLogEvents,
GetLogEvents with tokens, FilterLogEvents with terms and phrases, retention, tags)
answer as CloudWatch Logs does; logs survive a restart and a kill.

The fixture starts `target/debug/eddy up` (build it first with `cargo build -p eddy-cli`).
"""

import json
import re
import shutil
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from test_lambda_api import create

PRINTER = """
import sys

def handler(event, context):
    print("handling order", event["order"])
    print("disk is full", file=sys.stderr)
    return {"ok": event["order"]}
"""

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def deploy_and_invoke(eddy, name: str, orders) -> list:
    lam = eddy.client("lambda")
    create(lam, name, PRINTER)
    request_ids = []
    for order in orders:
        answer = lam.invoke(FunctionName=name, Payload=json.dumps({"order": order}).encode())
        assert "FunctionError" not in answer
        request_ids.append(answer["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid"))
    return request_ids


def messages_of(logs, group: str, stream: str) -> list:
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [e["message"] for e in events["events"]]


def test_function_invocations_write_lambda_logs(eddy):
    deploy_and_invoke(eddy, "printer", [1, 2])
    logs = eddy.client("logs")

    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/printer"]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/printer:*"

    streams = logs.describe_log_streams(
        logGroupName="/aws/lambda/printer", orderBy="LastEventTime", descending=True
    )["logStreams"]
    assert len(streams) == 1, streams  # one warm process served both invocations
    stream = streams[0]["logStreamName"]
    assert STREAM_NAME.match(stream), stream
    assert streams[0]["lastEventTimestamp"] >= streams[0]["firstEventTimestamp"]

    messages = messages_of(logs, "/aws/lambda/printer", stream)
    starts = [m for m in messages if m.startswith("START RequestId: ")]
    assert len(starts) == 2
    request_id = starts[0].split()[2]
    assert starts[0] == f"START RequestId: {request_id} Version: $LATEST\n"
    # Everything the handler printed (stdout and stderr) comes before END, as on Lambda.
    first = messages[: messages.index(f"END RequestId: {request_id}\n") + 2]
    assert "handling order 1\n" in first
    assert "disk is full\n" in first
    assert not any("eddy-invocation-end" in m for m in messages)
    report = first[-1]
    assert re.match(
        rf"^REPORT RequestId: {request_id}\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t",
        report,
    ), report

    # FilterLogEvents: a term, a quoted phrase, a stream list, a time range.
    found = logs.filter_log_events(logGroupName="/aws/lambda/printer", filterPattern="order")
    assert [e["message"] for e in found["events"]] == ["handling order 1\n", "handling order 2\n"]
    assert all(e["logStreamName"] == stream for e in found["events"])
    phrase = logs.filter_log_events(
        logGroupName="/aws/lambda/printer", filterPattern='"disk is full"', logStreamNames=[stream]
    )
    assert len(phrase["events"]) == 2
    none = logs.filter_log_events(
        logGroupName="/aws/lambda/printer", filterPattern='"full disk"'
    )
    assert none["events"] == []
    future = logs.filter_log_events(
        logGroupName="/aws/lambda/printer", startTime=int(time.time() * 1000) + 3_600_000
    )
    assert future["events"] == []


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_reads_function_logs(eddy):
    deploy_and_invoke(eddy, "cli-printer", [7])
    env_args = ["aws", "--endpoint-url", eddy.endpoint, "--region", "us-east-1", "logs"]
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PATH": __import__("os").environ["PATH"]}
    done = subprocess.run(
        [*env_args, "filter-log-events", "--log-group-name", "/aws/lambda/cli-printer",
         "--filter-pattern", "handling"],
        capture_output=True, text=True, env=env, check=True,
    )
    events = json.loads(done.stdout)["events"]
    assert [e["message"] for e in events] == ["handling order 7\n"]
    # `aws logs tail` exists only in AWS CLI v2; it reads with FilterLogEvents.
    tail = subprocess.run([*env_args, "tail", "/aws/lambda/cli-printer"],
                          capture_output=True, text=True, env=env)
    if tail.returncode == 0:
        assert "handling order 7" in tail.stdout
        assert "REPORT RequestId:" in tail.stdout


def test_paginated_reads_like_aws_logs_tail(eddy):
    """What `aws logs tail` does (FilterLogEvents pages from a start time, by
    logGroupIdentifier) and GetLogEvents' forward and backward tokens."""
    logs = eddy.client("logs")
    logs.create_log_group(logGroupName="app")
    logs.create_log_stream(logGroupName="app", logStreamName="s1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="app", logStreamName="s1",
        logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(25)],
    )
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupIdentifier="app", startTime=now - 1000, PaginationConfig={"PageSize": 10}
    )
    seen = [e["message"] for page in pages for e in page["events"]]
    assert seen == [f"line {i}" for i in range(25)]

    last = logs.get_log_events(logGroupName="app", logStreamName="s1", limit=10)
    assert [e["message"] for e in last["events"]] == [f"line {i}" for i in range(15, 25)]
    earlier = logs.get_log_events(
        logGroupName="app", logStreamName="s1", limit=10, nextToken=last["nextBackwardToken"]
    )
    assert [e["message"] for e in earlier["events"]] == [f"line {i}" for i in range(5, 15)]
    head = logs.get_log_events(logGroupName="app", logStreamName="s1", limit=10, startFromHead=True)
    assert [e["message"] for e in head["events"]] == [f"line {i}" for i in range(10)]
    nxt = logs.get_log_events(
        logGroupName="app", logStreamName="s1", limit=10, nextToken=head["nextForwardToken"]
    )
    assert [e["message"] for e in nxt["events"]] == [f"line {i}" for i in range(10, 20)]
    end = logs.get_log_events(
        logGroupName="app", logStreamName="s1", nextToken=nxt["nextForwardToken"]
    )
    assert len(end["events"]) == 5
    again = logs.get_log_events(
        logGroupName="app", logStreamName="s1", nextToken=end["nextForwardToken"]
    )
    assert again["events"] == [] and again["nextForwardToken"] == end["nextForwardToken"]


def test_groups_streams_retention_tags_and_errors(eddy):
    logs = eddy.client("logs")
    logs.create_log_group(logGroupName="svc/a", tags={"team": "x"})
    for name in ["svc/b", "svc/c", "other"]:
        logs.create_log_group(logGroupName=name)
    with pytest.raises(ClientError) as exists:
        logs.create_log_group(logGroupName="svc/a")
    assert error_code(exists) == "ResourceAlreadyExistsException"

    first = logs.describe_log_groups(logGroupNamePrefix="svc/", limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == ["svc/a", "svc/b"]
    rest = logs.describe_log_groups(logGroupNamePrefix="svc/", limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["svc/c"]
    assert "nextToken" not in rest

    with pytest.raises(ClientError) as missing:
        logs.describe_log_streams(logGroupName="nope")
    assert error_code(missing) == "ResourceNotFoundException"
    assert missing.value.response["Error"]["Message"] == "The specified log group does not exist."
    with pytest.raises(ClientError) as no_stream:
        logs.put_log_events(logGroupName="svc/a", logStreamName="x",
                            logEvents=[{"timestamp": 1, "message": "m"}])
    assert error_code(no_stream) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as bad_name:
        logs.create_log_group(logGroupName="bad:name")
    assert error_code(bad_name) == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_days:
        logs.put_retention_policy(logGroupName="svc/a", retentionInDays=2)
    assert error_code(bad_days) == "InvalidParameterException"
    with pytest.raises(ClientError) as prefix_order:
        logs.describe_log_streams(logGroupName="svc/a", orderBy="LastEventTime",
                                  logStreamNamePrefix="x")
    assert error_code(prefix_order) == "InvalidParameterException"

    # Streams ordered by their last event, newest first.
    now = int(time.time() * 1000)
    for index, stream in enumerate(["old", "new", "mid"]):
        logs.create_log_stream(logGroupName="svc/a", logStreamName=stream)
        offset = {"old": 0, "mid": 1000, "new": 2000}[stream]
        logs.put_log_events(logGroupName="svc/a", logStreamName=stream,
                            logEvents=[{"timestamp": now - 5000 + offset, "message": f"m{index}"}])
    ordered = logs.describe_log_streams(logGroupName="svc/a", orderBy="LastEventTime",
                                        descending=True)["logStreams"]
    assert [s["logStreamName"] for s in ordered] == ["new", "mid", "old"]
    with pytest.raises(ClientError) as stream_exists:
        logs.create_log_stream(logGroupName="svc/a", logStreamName="old")
    assert error_code(stream_exists) == "ResourceAlreadyExistsException"

    # Retention: events older than the period are deleted by the sweep.
    day = 86_400_000
    logs.put_log_events(logGroupName="svc/a", logStreamName="old", logEvents=[
        {"timestamp": now - 3 * day, "message": "three days old"},
        {"timestamp": now - 2 * day, "message": "two days old"},
    ])
    logs.put_retention_policy(logGroupName="svc/a", retentionInDays=1)
    group = logs.describe_log_groups(logGroupNamePrefix="svc/a")["logGroups"][0]
    assert group["retentionInDays"] == 1
    kept = [e["message"] for e in logs.filter_log_events(logGroupName="svc/a")["events"]]
    assert "three days old" not in kept and "two days old" not in kept
    assert kept == ["m0", "m2", "m1"]
    rejected = logs.put_log_events(logGroupName="svc/a", logStreamName="old", logEvents=[
        {"timestamp": now - 2 * day, "message": "expired"},
        {"timestamp": now, "message": "fresh"},
    ])
    assert rejected["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    logs.delete_retention_policy(logGroupName="svc/a")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="svc/a")["logGroups"][0]

    # Tags, both APIs.
    logs.tag_log_group(logGroupName="svc/a", tags={"env": "dev"})
    assert logs.list_tags_log_group(logGroupName="svc/a")["tags"] == {"team": "x", "env": "dev"}
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:svc/a"
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}

    logs.delete_log_group(logGroupName="svc/a")
    with pytest.raises(ClientError) as gone:
        logs.get_log_events(logGroupName="svc/a", logStreamName="old")
    assert error_code(gone) == "ResourceNotFoundException"


def test_logs_survive_restart_and_kill(eddy):
    deploy_and_invoke(eddy, "durable", [3])
    logs = eddy.client("logs")
    logs.create_log_group(logGroupName="kept")
    logs.create_log_stream(logGroupName="kept", logStreamName="s")
    logs.put_log_events(logGroupName="kept", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "acknowledged"}])
    logs.put_retention_policy(logGroupName="kept", retentionInDays=7)

    eddy.restart()
    logs = eddy.client("logs")
    found = logs.filter_log_events(logGroupName="/aws/lambda/durable", filterPattern="handling")
    assert [e["message"] for e in found["events"]] == ["handling order 3\n"]

    # A kill: what PutLogEvents acknowledged is on disk.
    eddy.process.kill()
    eddy.process.wait()
    eddy._start()
    logs = eddy.client("logs")
    stream = messages_of(logs, "kept", "s")
    assert stream == ["acknowledged"]
    assert logs.describe_log_groups(logGroupNamePrefix="kept")["logGroups"][0]["retentionInDays"] == 7
    assert len(logs.filter_log_events(logGroupName="/aws/lambda/durable")["events"]) >= 4


CHATTY_PYTHON = """
import sys

def handler(event, context):
    for i in range(300):
        print("out", event["n"], i)
        print("err", event["n"], i, file=sys.stderr)
    sys.stdout.write("no newline at the end " + str(event["n"]))
    return event["n"]
"""

CHATTY_NODE = """
exports.handler = async (event) => {
  for (let i = 0; i < 300; i++) {
    process.stdout.write(`out ${event.n} ${i}\\n`);
    process.stderr.write(`err ${event.n} ${i}\\n`);
  }
  process.stdout.write(`no newline at the end ${event.n}`);
  return event.n;
};
"""


def zipped_as(name: str, source: str) -> bytes:
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


@pytest.mark.parametrize("runtime,file,source", [
    ("python3.12", "index.py", CHATTY_PYTHON),
    ("nodejs20.x", "index.js", CHATTY_NODE),
])
def test_everything_printed_lands_between_start_and_end(eddy, runtime, file, source):
    if runtime.startswith("nodejs") and shutil.which("node") is None:
        pytest.skip("node is not installed")
    lam = eddy.client("lambda")
    name = "chatty-" + runtime.replace(".", "")
    lam.create_function(FunctionName=name, Runtime=runtime, Handler="index.handler",
                        Role="arn:aws:iam::000000000000:role/r",
                        Code={"ZipFile": zipped_as(file, source)})
    lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    for n in range(4):
        answer = lam.invoke(FunctionName=name, Payload=json.dumps({"n": n}).encode())
        assert "FunctionError" not in answer, answer["Payload"].read()
    logs = eddy.client("logs")
    group = f"/aws/lambda/{name}"
    (stream,) = [s["logStreamName"] for s in
                 logs.describe_log_streams(logGroupName=group)["logStreams"]]
    messages = []
    token = None
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                   startFromHead=True, **({"nextToken": token} if token else {}))
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert not any("eddy-invocation-end" in m for m in messages)
    ends = [i for i, m in enumerate(messages) if m.startswith("END RequestId:")]
    assert len(ends) == 4, (len(messages), [m for m in messages if not m.startswith(("out", "err"))])
    begin = 0
    for n, end in enumerate(ends):
        mine = set(messages[begin:end])
        expected = {f"out {n} {i}\n" for i in range(300)} | {f"err {n} {i}\n" for i in range(300)}
        assert expected <= mine, f"invocation {n}: {len(expected - mine)} lines after its END"
        assert f"no newline at the end {n}\n" in mine
        begin = end
