"""The Lambda API with boto3 and the AWS CLI: a zipped Python handler deployed the way
it is deployed to AWS (create-function, the function_active_v2 waiter, invoke),
failing in Lambda's shapes, updated with update-function-code (the next invocation
runs the new code), and kept across a restart of eddy.

The fixture starts `target/debug/eddy up` (build it first with `cargo build -p
eddy-cli`); the handlers run under the local python3 through eddy's own runtime client.
"""

import base64
import io
import json
import os
import shutil
import subprocess
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

HANDLER_V1 = """
import os

def handler(event, context):
    print("records", len(event.get("Records", [])))
    return {"version": 1, "request": context.aws_request_id, "region": os.environ["AWS_REGION"],
            "echo": event}
"""

HANDLER_V2 = """
def handler(event, context):
    return {"version": 2, "echo": event}
"""

FAILING = """
def handler(event, context):
    raise KeyError("missing")
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def create(client, name: str, source: str, **extra):
    created = client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="index.handler",
        Role=ROLE,
        Code={"ZipFile": zipped(source)},
        **extra,
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    return created


def invoke(client, name: str, event) -> dict:
    answer = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer, answer
    return json.loads(answer["Payload"].read())


def test_create_invoke_update_and_restart(eddy):
    client = eddy.client("lambda")
    created = create(client, "copier", HANDLER_V1, Description="copies")
    assert created["State"] == "Pending"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:copier"

    result = invoke(client, "copier", {"Records": [1, 2]})
    assert result["version"] == 1
    assert result["region"] == "us-east-1"
    assert result["echo"] == {"Records": [1, 2]}

    tailed = client.invoke(FunctionName="copier", LogType="Tail", Payload=b'{"Records": [1]}')
    log = base64.b64decode(tailed["LogResult"]).decode()
    assert "records 1" in log
    assert log.startswith("START RequestId: ")

    client.update_function_code(FunctionName="copier", ZipFile=zipped(HANDLER_V2))
    client.get_waiter("function_updated_v2").wait(
        FunctionName="copier", WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    assert invoke(client, "copier", {"x": 1}) == {"version": 2, "echo": {"x": 1}}

    eddy.restart()
    client = eddy.client("lambda")
    configuration = client.get_function_configuration(FunctionName="copier")
    assert configuration["State"] == "Active"
    assert configuration["Description"] == "copies"
    assert invoke(client, "copier", {"after": "restart"})["version"] == 2


def test_handler_error_and_missing_function(eddy):
    client = eddy.client("lambda")
    create(client, "failing", FAILING)
    answer = client.invoke(FunctionName="failing", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    document = json.loads(answer["Payload"].read())
    assert document["errorType"] == "KeyError"
    assert document["errorMessage"] == "'missing'"

    with pytest.raises(ClientError) as error:
        client.get_function(FunctionName="nobody")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(ClientError) as error:
        create(client, "failing", FAILING)
    assert error.value.response["Error"]["Code"] == "ResourceConflictException"
    assert error.value.response["Error"]["Message"] == "Function already exist: failing"

    with pytest.raises(ClientError) as error:
        client.create_function(
            FunctionName="env", Runtime="python3.12", Handler="index.handler", Role=ROLE,
            Code={"ZipFile": zipped(FAILING)},
            Environment={"Variables": {"AWS_REGION": "eu-west-1"}},
        )
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "Reserved keys used in this request: AWS_REGION" in error.value.response["Error"]["Message"]


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_deploys_and_invokes(eddy, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(zipped(HANDLER_V1))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)

    def aws(*args):
        done = subprocess.run(["aws", "--endpoint-url", eddy.endpoint, "lambda", *args],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("create-function", "--function-name", "cli", "--runtime", "python3.12",
        "--handler", "index.handler", "--role", ROLE, "--zip-file", f"fileb://{package}")
    aws("wait", "function-active-v2", "--function-name", "cli")
    out = tmp_path / "out.json"
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    # AWS CLI v2 reads --payload as base64 unless told otherwise; v1 takes it raw.
    raw = ["--cli-binary-format", "raw-in-base64-out"] if "aws-cli/2" in (
        version.stdout + version.stderr) else []
    aws("invoke", "--function-name", "cli", *raw, "--payload", '{"hello": "cli"}', str(out))
    assert json.loads(out.read_text())["echo"] == {"hello": "cli"}
