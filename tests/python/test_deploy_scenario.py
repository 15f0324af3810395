"""The original deployment (S3 source bucket -> SQS queue with a dead-letter queue ->
Lambda copying each file to a destination bucket), deployed the way its users deploy it
to AWS: every deploy step is an AWS CLI command (IAM role, buckets, queues and their
redrive policy, the bucket notification, the function zip, the event source mapping with
ReportBatchItemFailures). The same flow runs with a Python handler (boto3), a Node
handler (no AWS SDK: it signs its CopyObject with SigV4 using node's standard library)
and, when it has been built, the `eddy-lambda` bootstrap as `provided.al2023`.

Checked: uploads are copied; a poison upload is reported as a batch item failure and
reaches the DLQ after maxReceiveCount receives with its S3 event as the body; new code
(UpdateFunctionCode) changes what the next batch does; after a restart the function,
mapping and role are still there and a new upload is still copied. The bootstrap (a
built zip, the copy function itself) has no poison key and no second version: its flow
skips the DLQ step and changes DESTINATION_PREFIX with UpdateFunctionConfiguration.

The fixture starts `target/debug/eddy up` (or $EDDY_BINARY).
"""

import dataclasses
import io
import json
import os
import pathlib
import shutil
import subprocess
import time
import zipfile
from typing import Callable, Optional

import pytest
from botocore.exceptions import ClientError

from conftest import BINARY, ROOT

# `cargo lambda build` writes the bootstrap zip into the target directory: the one of the
# eddy binary under test, or this checkout's (or $EDDY_LAMBDA_ZIP).
BOOTSTRAP_ZIPS = [
    *(pathlib.Path(p) for p in os.environ.get("EDDY_LAMBDA_ZIP", "").split(":") if p),
    *(target / "lambda" / "eddy-lambda" / "bootstrap.zip"
      for target in (BINARY.resolve().parents[1], ROOT / "target")),
]

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
MAX_RECEIVE = 2
# The function's timeout; the queue's visibility timeout must be at least this. 3 s: a
# cold start (the interpreter, boto3's import) on a loaded machine took over 2 s.
TIMEOUT = 3
DEADLINE = 30

PYTHON_HANDLER = """
import json, os, urllib.parse
import boto3

s3 = boto3.client("s3")
PREFIX = "__PREFIX__"

def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
            # S3's s3:TestEvent (sent when the notification is put) has no Records.
            for s3_record in body.get("Records", []):
                bucket = s3_record["s3"]["bucket"]["name"]
                key = urllib.parse.unquote_plus(s3_record["s3"]["object"]["key"])
                if "poison" in key:
                    raise ValueError(f"refusing poison object {key}")
                s3.copy_object(Bucket=os.environ["DESTINATION_BUCKET"], Key=PREFIX + key,
                               CopySource={"Bucket": bucket, "Key": key})
        except Exception as error:
            print(f"failed {record['messageId']}: {error!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""

NODE_HANDLER = """
import crypto from 'node:crypto';
import http from 'node:http';

const PREFIX = '__PREFIX__';
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
// SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ ; '/' kept between segments.
const encodePath = (path) => path.split('/').map((part) => encodeURIComponent(part)
  .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())).join('/');

function copyObject(sourceBucket, sourceKey, bucket, key) {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL);
  const region = process.env.AWS_REGION;
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\\.\\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const path = `/${bucket}/${encodePath(key)}`;
  const headers = {
    host: endpoint.host,
    'x-amz-content-sha256': sha256(''),
    'x-amz-copy-source': `/${sourceBucket}/${encodePath(sourceKey)}`,
    'x-amz-date': amzDate,
  };
  if (process.env.AWS_SESSION_TOKEN) headers['x-amz-security-token'] = process.env.AWS_SESSION_TOKEN;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = ['PUT', path, '', ...names.map((n) => `${n}:${headers[n]}`), '',
    signedHeaders, headers['x-amz-content-sha256']].join('\\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\\n');
  let signingKey = hmac(`AWS4${process.env.AWS_SECRET_ACCESS_KEY}`, day);
  for (const part of [region, 's3', 'aws4_request']) signingKey = hmac(signingKey, part);
  const signature = crypto.createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID}/${scope}, `
    + `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  headers['content-length'] = '0';
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname: endpoint.hostname, port: endpoint.port, path,
      method: 'PUT', headers }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => {
        // CopyObject can fail with a 200 whose body is an <Error>.
        if (response.statusCode === 200 && body.includes('<CopyObjectResult')) resolve(body);
        else reject(new Error(`CopyObject ${response.statusCode}: ${body}`));
      });
    });
    request.on('error', reject);
    request.end();
  });
}

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      const body = JSON.parse(record.body);
      // S3's s3:TestEvent (sent when the notification is put) has no Records.
      for (const s3Record of body.Records ?? []) {
        const key = decodeURIComponent(s3Record.s3.object.key.replace(/\\+/g, ' '));
        if (key.includes('poison')) throw new Error(`refusing poison object ${key}`);
        await copyObject(s3Record.s3.bucket.name, key, process.env.DESTINATION_BUCKET, PREFIX + key);
      }
    } catch (error) {
      console.error(`failed ${record.messageId}: ${error}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
"""


def zipped(name: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


@dataclasses.dataclass
class Flow:
    """One way of writing the copy function: its runtime, handler and zips."""
    runtime: str
    handler: str
    code: Optional[Callable[[str], bytes]]  # prefix -> zip; None: a built zip, no v2 code
    zip_path: Optional[pathlib.Path] = None

    def zip(self, prefix: str) -> bytes:
        return self.zip_path.read_bytes() if self.zip_path else self.code(prefix)


def python_flow() -> Flow:
    return Flow("python3.12", "index.handler",
                lambda prefix: zipped("index.py", PYTHON_HANDLER.replace("__PREFIX__", prefix)))


def node_flow() -> Flow:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    return Flow("nodejs20.x", "index.handler",
                lambda prefix: zipped("index.mjs", NODE_HANDLER.replace("__PREFIX__", prefix)))


def bootstrap_flow() -> Flow:
    for path in BOOTSTRAP_ZIPS:
        if path.exists():
            return Flow("provided.al2023", "bootstrap", None, zip_path=path)
    missing = (f"no eddy-lambda bootstrap.zip ({', '.join(map(str, BOOTSTRAP_ZIPS))}): build "
               "it with `cargo lambda build --release --output-format zip -p eddy-lambda`, or run "
               "the Rust tests first (function_bootstrap writes it)")
    # Under CI the Rust tests ran first and wrote it: its absence is a failure there.
    if os.environ.get("CI") == "true":
        pytest.fail(missing)
    pytest.skip(missing)


class Cli:
    """The AWS CLI against eddy, as users run it."""

    def __init__(self, eddy, tmp_path: pathlib.Path):
        self.eddy = eddy
        self.tmp_path = tmp_path
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                        AWS_DEFAULT_REGION="us-east-1")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            self.env.pop(name, None)

    def __call__(self, *args: str, parse: bool = True):
        command = ["aws", "--endpoint-url", self.eddy.endpoint, "--output", "json", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout) if parse and done.stdout.strip() else None

    def file(self, name: str, content) -> str:
        path = self.tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)


def poll(what: str, attempt, log=None, seconds: float = DEADLINE):
    """Calls `attempt` until it returns something other than None, or fails after `seconds`
    (with the end of eddy's log, which has the function's output)."""
    deadline = time.monotonic() + seconds
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            tail = log()[-4000:] if log else ""
            pytest.fail(f"timed out after {seconds} s waiting for {what}\n{tail}")
        time.sleep(0.1)


def object_body(s3, bucket: str, key: str):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise


def deploy(cli: Cli, flow: Flow) -> dict:
    """The deployment: role, buckets, queues, notification, function, mapping."""
    role = cli("iam", "create-role", "--role-name", "file-copier-role",
               "--assume-role-policy-document", json.dumps(TRUST))["Role"]
    cli("iam", "attach-role-policy", "--role-name", "file-copier-role", "--policy-arn", BASIC)

    cli("s3api", "create-bucket", "--bucket", "in-bucket")
    cli("s3api", "create-bucket", "--bucket", "out-bucket")

    dlq_url = cli("sqs", "create-queue", "--queue-name", "uploads-dlq")["QueueUrl"]
    dlq_arn = cli("sqs", "get-queue-attributes", "--queue-url", dlq_url,
                  "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    attributes = {
        "VisibilityTimeout": str(TIMEOUT),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": MAX_RECEIVE}),
    }
    attributes_file = cli.file("queue-attributes.json", json.dumps(attributes))
    queue_url = cli("sqs", "create-queue", "--queue-name", "uploads",
                    "--attributes", "file://" + attributes_file)["QueueUrl"]
    queue_arn = cli("sqs", "get-queue-attributes", "--queue-url", queue_url,
                    "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    assert queue_arn == "arn:aws:sqs:us-east-1:000000000000:uploads"
    # S3 may send to the queue (as the deployment's aws_sqs_queue_policy says).
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::in-bucket"}}}]}
    cli("sqs", "set-queue-attributes", "--queue-url", queue_url, "--attributes",
        "file://" + cli.file("queue-policy.json", json.dumps({"Policy": json.dumps(policy)})))
    notification = {"QueueConfigurations": [{
        "Id": "file-uploads", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]}
    cli("s3api", "put-bucket-notification-configuration", "--bucket", "in-bucket",
        "--notification-configuration", json.dumps(notification))

    environment = {"Variables": {"DESTINATION_BUCKET": "out-bucket"}}
    created = cli("lambda", "create-function", "--function-name", "file-copier",
                  "--runtime", flow.runtime, "--handler", flow.handler,
                  "--zip-file", "fileb://" + cli.file("function.zip", flow.zip("")),
                  "--role", role["Arn"], "--timeout", str(TIMEOUT),
                  "--environment", json.dumps(environment))
    assert created["Role"] == role["Arn"]
    cli("lambda", "wait", "function-active-v2", "--function-name", "file-copier")

    mapping = cli("lambda", "create-event-source-mapping", "--event-source-arn", queue_arn,
                  "--function-name", "file-copier", "--batch-size", "10",
                  "--function-response-types", "ReportBatchItemFailures")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    lam = cli.eddy.client("lambda")
    poll("the mapping to be enabled", lambda: True if lam.get_event_source_mapping(
        UUID=mapping["UUID"])["State"] == "Enabled" else None)
    return {"role": role, "queue_arn": queue_arn, "queue_url": queue_url, "dlq_url": dlq_url,
            "mapping": mapping["UUID"]}


def upload(cli: Cli, files: dict[str, bytes]):
    """`aws s3 cp --recursive` of a directory holding `files` (key -> content)."""
    directory = cli.tmp_path / f"upload-{len(list(cli.tmp_path.glob('upload-*')))}"
    for key, content in files.items():
        (directory / key).parent.mkdir(parents=True, exist_ok=True)
        (directory / key).write_bytes(content)
    cli("s3", "cp", "--recursive", "--only-show-errors", str(directory), "s3://in-bucket/",
        parse=False)


def dead_letter(sqs, dlq_url: str):
    messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageSystemAttributeNames=["All"]).get("Messages", [])
    return messages or None


def empty(sqs, queue_url: str):
    counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return True if set(counts.values()) == {"0"} else None


def run_flow(eddy, tmp_path, flow: Flow):
    cli = Cli(eddy, tmp_path)

    def wait(what, attempt):
        return poll(what, attempt, log=eddy.log)

    deployed = deploy(cli, flow)
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")

    # Uploads are copied; a poison one (uploaded with them, so likely in the same batch)
    # is reported as a batch item failure and reaches the DLQ after maxReceiveCount
    # (checked below, after the code update, so the retries and the update overlap).
    first = {"reports/first.csv": b"a,b\n1,2\n", "second.txt": b"second file"}
    if flow.zip_path is None:
        first["poison-pill.txt"] = b"never copied"
    upload(cli, first)
    assert wait("the first copy", lambda: object_body(s3, "out-bucket", "reports/first.csv")) \
        == b"a,b\n1,2\n"
    assert wait("the second copy", lambda: object_body(s3, "out-bucket", "second.txt")) \
        == b"second file"

    # New code changes what the next batch does.
    if flow.zip_path is None:
        cli("lambda", "update-function-code", "--function-name", "file-copier",
            "--zip-file", "fileb://" + cli.file("function-v2.zip", flow.zip("v2/")))
    else:
        cli("lambda", "update-function-configuration", "--function-name", "file-copier",
            "--environment", json.dumps({"Variables": {"DESTINATION_BUCKET": "out-bucket",
                                                       "DESTINATION_PREFIX": "v2/"}}))
    cli("lambda", "wait", "function-updated-v2", "--function-name", "file-copier")
    upload(cli, {"third.txt": b"after the update"})
    assert wait("the v2 copy", lambda: object_body(s3, "out-bucket", "v2/third.txt")) \
        == b"after the update"
    assert object_body(s3, "out-bucket", "third.txt") is None

    # The poison message was retried meanwhile (by either code: both refuse it).
    if flow.zip_path is None:
        moved = wait("the poison message in the DLQ",
                     lambda: dead_letter(sqs, deployed["dlq_url"]))
        assert len(moved) == 1, moved
        moved = moved[0]
        event = json.loads(moved["Body"])
        assert len(event["Records"]) == 1
        record = event["Records"][0]
        assert record["eventSource"] == "aws:s3"
        assert record["eventName"] == "ObjectCreated:Put"
        assert record["s3"]["configurationId"] == "file-uploads"
        assert record["s3"]["bucket"]["name"] == "in-bucket"
        assert record["s3"]["object"]["key"] == "poison-pill.txt"
        # Two receives by the mapping, then this one from the DLQ (SQS keeps the count when
        # it moves a message).
        assert moved["Attributes"]["ApproximateReceiveCount"] == str(MAX_RECEIVE + 1)
        assert moved["Attributes"]["DeadLetterQueueSourceArn"] == deployed["queue_arn"]
        assert object_body(s3, "out-bucket", "poison-pill.txt") is None
        assert object_body(s3, "out-bucket", "v2/poison-pill.txt") is None
    # Every other message was deleted by the mapping.
    wait("the queue to be empty", lambda: empty(sqs, deployed["queue_url"]))
    assert sqs.get_queue_attributes(QueueUrl=deployed["dlq_url"], AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"

    # Function, mapping and role survive a restart; the mapping still copies.
    eddy.restart()
    s3, iam, lam = eddy.client("s3"), eddy.client("iam"), eddy.client("lambda")
    assert iam.get_role(RoleName="file-copier-role")["Role"]["Arn"] == deployed["role"]["Arn"]
    attached = iam.list_attached_role_policies(RoleName="file-copier-role")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [BASIC]
    function = lam.get_function_configuration(FunctionName="file-copier")
    assert function["Runtime"] == flow.runtime
    assert function["Role"] == deployed["role"]["Arn"]
    assert function["Environment"]["Variables"]["DESTINATION_BUCKET"] == "out-bucket"
    mapping = lam.get_event_source_mapping(UUID=deployed["mapping"])
    assert mapping["State"] == "Enabled"
    assert mapping["EventSourceArn"] == deployed["queue_arn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    upload(cli, {"after-restart.txt": b"still copied"})
    assert wait("the copy after the restart",
                lambda: object_body(s3, "out-bucket", "v2/after-restart.txt")) == b"still copied"


def test_python_boto3_handler_deployed_with_the_cli(eddy, tmp_path):
    run_flow(eddy, tmp_path, python_flow())


def test_node_sigv4_handler_deployed_with_the_cli(eddy, tmp_path):
    run_flow(eddy, tmp_path, node_flow())


def test_eddy_lambda_bootstrap_deployed_with_the_cli(eddy, tmp_path):
    run_flow(eddy, tmp_path, bootstrap_flow())
