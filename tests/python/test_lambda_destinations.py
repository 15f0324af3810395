"""Asynchronous invocation destinations and the functions of eddy.toml, with boto3:
put_function_event_invoke_config with an SQS on-success destination, an Event
invocation whose invocation record arrives in the queue, Lambda's validation errors,
and list_functions / list_event_source_mappings showing eddy.toml's pipeline
read-only beside an API function.
"""

import io
import json
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

HANDLER = """
def handler(event, context):
    return {"doubled": event["n"] * 2}
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def test_an_event_invocation_reports_to_its_on_success_queue(eddy):
    client = eddy.client("lambda")
    sqs = eddy.client("sqs")
    queue_url = sqs.create_queue(QueueName="outcomes")["QueueUrl"]
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:outcomes"
    client.create_function(FunctionName="doubler", Runtime="python3.12", Handler="index.handler",
                           Role=ROLE, Code={"ZipFile": zipped(HANDLER)})
    client.get_waiter("function_active_v2").wait(
        FunctionName="doubler", WaiterConfig={"Delay": 1, "MaxAttempts": 10})

    with pytest.raises(ClientError) as refused:
        client.put_function_event_invoke_config(FunctionName="doubler", MaximumRetryAttempts=5)
    assert refused.value.response["Error"]["Code"] == "ValidationException"

    config = client.put_function_event_invoke_config(
        FunctionName="doubler", MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": queue_arn}})
    assert config["FunctionArn"].endswith(":function:doubler:$LATEST")
    assert config["DestinationConfig"]["OnSuccess"]["Destination"] == queue_arn
    listed = client.list_function_event_invoke_configs(FunctionName="doubler")
    assert [c["MaximumRetryAttempts"] for c in listed["FunctionEventInvokeConfigs"]] == [0]

    answer = client.invoke(FunctionName="doubler", InvocationType="Event",
                           Payload=json.dumps({"n": 21}).encode())
    assert answer["StatusCode"] == 202
    deadline = time.monotonic() + 20
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert messages, "no invocation record arrived"
    record = json.loads(messages[0]["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"n": 21}
    assert record["responsePayload"] == {"doubled": 42}

    client.delete_function_event_invoke_config(FunctionName="doubler")
    with pytest.raises(ClientError) as missing:
        client.get_function_event_invoke_config(FunctionName="doubler")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_pipeline_of_eddy_toml_is_listed_read_only(eddy):
    client = eddy.client("lambda")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert "eddy-copy" in names
    copy = client.get_function_configuration(FunctionName="eddy-copy")
    assert copy["Runtime"] == "provided.al2023"
    assert copy["State"] == "Active"
    mappings = client.list_event_source_mappings(FunctionName="eddy-copy")["EventSourceMappings"]
    assert [m["EventSourceArn"] for m in mappings] == ["arn:aws:sqs:us-east-1:000000000000:file-events"]
    with pytest.raises(ClientError) as refused:
        client.update_event_source_mapping(UUID=mappings[0]["UUID"], BatchSize=1)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "configured in eddy.toml" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        client.delete_function(FunctionName="eddy-copy")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
