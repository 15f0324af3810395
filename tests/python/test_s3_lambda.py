"""S3 to Lambda with boto3, deployed as on AWS: a Python handler that copies each
record's object with boto3 (through AWS_ENDPOINT_URL, which eddy points at itself),
AddPermission for s3.amazonaws.com, and a bucket notification with
LambdaFunctionConfigurations. S3's refusal of a function that does not allow S3 is
checked with the elements boto3 parses from the error (ArgumentName1/ArgumentValue1);
the configuration and the copies survive a restart, and an upload after it is copied.
"""

import io
import json
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:copier"

COPIER = """
import json, os, urllib.parse
import boto3

s3 = boto3.client("s3")

def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        s3.copy_object(Bucket=os.environ["DESTINATION"], Key=key,
                       CopySource={"Bucket": bucket, "Key": key})
        s3.put_object(Bucket=os.environ["DESTINATION"], Key=key + ".event.json",
                      Body=json.dumps(record).encode())
"""

PROBE = """
def handler(event, context):
    try:
        import boto3
        return True
    except ImportError:
        return False
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def deploy(client, name: str, source: str, **extra):
    client.create_function(FunctionName=name, Runtime="python3.12", Handler="index.handler",
                           Role=ROLE, Code={"ZipFile": zipped(source)}, **extra)
    client.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})


def wait_for_object(s3, bucket: str, key: str) -> bytes:
    deadline = time.monotonic() + 20
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def notification(prefix: str) -> dict:
    return {"LambdaFunctionConfigurations": [{
        "Id": "copy-uploads",
        "LambdaFunctionArn": ARN,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
    }]}


def test_uploads_invoke_a_boto3_handler_that_copies_them(eddy):
    client = eddy.client("lambda")
    deploy(client, "probe", PROBE)
    if json.loads(client.invoke(FunctionName="probe")["Payload"].read()) is not True:
        pytest.skip("the handler's python cannot import boto3")
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.create_bucket(Bucket="copies")
    deploy(client, "copier", COPIER, Environment={"Variables": {"DESTINATION": "copies"}})

    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(
            Bucket="uploads", NotificationConfiguration=notification("in/"))
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert error["ArgumentName1"] == f"{ARN}, null"
    assert error["ArgumentValue1"] == f"Not authorized to invoke function [{ARN}]"

    client.add_permission(FunctionName="copier", StatementId="s3", Action="lambda:InvokeFunction",
                          Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::uploads",
                          SourceAccount="000000000000")
    s3.put_bucket_notification_configuration(
        Bucket="uploads", NotificationConfiguration=notification("in/"))
    stored = s3.get_bucket_notification_configuration(Bucket="uploads")
    # S3 answers the filter rule name as `Prefix`, whatever case was sent.
    expected = notification("in/")["LambdaFunctionConfigurations"]
    expected[0]["Filter"]["Key"]["FilterRules"][0]["Name"] = "Prefix"
    assert stored["LambdaFunctionConfigurations"] == expected

    put = s3.put_object(Bucket="uploads", Key="in/a photo.jpg", Body=b"jpeg bytes",
                        ContentType="image/jpeg")
    assert wait_for_object(s3, "copies", "in/a photo.jpg") == b"jpeg bytes"
    record = json.loads(wait_for_object(s3, "copies", "in/a photo.jpg.event.json"))
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["configurationId"] == "copy-uploads"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"
    assert record["s3"]["object"]["key"] == "in/a+photo.jpg"
    assert record["s3"]["object"]["size"] == len(b"jpeg bytes")
    assert record["s3"]["object"]["eTag"] == put["ETag"].strip('"')

    eddy.restart()
    s3 = eddy.client("s3")
    stored = s3.get_bucket_notification_configuration(Bucket="uploads")
    assert stored["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"] == ARN
    s3.put_object(Bucket="uploads", Key="in/after restart.txt", Body=b"again")
    assert wait_for_object(s3, "copies", "in/after restart.txt") == b"again"
