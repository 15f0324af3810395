"""Authentication: every request to eddy must carry a valid SigV4 signature from the
configured credentials. Unsigned requests, wrong secrets, unknown keys, tampered bodies
and headers, expired presigned URLs and clocks more than 15 minutes off are refused
with the error codes AWS uses."""

import datetime
import hashlib
import time
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

CREDENTIALS = botocore.credentials.Credentials("test", "test")


def send(request: botocore.awsrequest.AWSRequest, body_override: bytes | None = None):
    """Sends a prepared request; returns (status, headers, body)."""
    prepared = request.prepare()
    data = prepared.body if body_override is None else body_override
    if isinstance(data, str):
        data = data.encode()
    raw = urllib.request.Request(prepared.url, data=data, method=prepared.method)
    for name, value in prepared.headers.items():
        raw.add_header(name, value)
    try:
        with urllib.request.urlopen(raw, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def s3_request(eddy, method, path, body=b"", headers=None, credentials=CREDENTIALS, sign=True):
    headers = dict(headers or {})
    headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    request = botocore.awsrequest.AWSRequest(method=method, url=eddy.endpoint + path, data=body, headers=headers)
    if sign:
        botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return request


def sqs_request(eddy, operation, payload, credentials=CREDENTIALS, sign=True):
    body = payload.encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=eddy.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"},
    )
    if sign:
        botocore.auth.SigV4Auth(credentials, "sqs", "us-east-1").add_auth(request)
    return request


def skewed(monkeypatch, minutes):
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - datetime.timedelta(minutes=minutes))


# --- S3 -----------------------------------------------------------------------

def test_s3_unsigned_request_is_refused(eddy):
    status, _, body = send(s3_request(eddy, "GET", "/source", sign=False))
    assert status == 403 and "<Code>AccessDenied</Code>" in body


def test_s3_wrong_secret_is_refused(eddy):
    s3 = eddy.client("s3", aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket="source")
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_s3_unknown_access_key_is_refused(eddy):
    s3 = eddy.client("s3", aws_access_key_id="AKIANOBODY")
    with pytest.raises(ClientError) as error:
        s3.list_buckets()
    assert error.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_s3_tampered_header_is_refused(eddy):
    request = s3_request(eddy, "PUT", "/source/tampered.txt", b"data", {"x-amz-meta-owner": "alice"})
    request.headers.replace_header("x-amz-meta-owner", "mallory")
    status, _, body = send(request)
    assert status == 403 and "SignatureDoesNotMatch" in body
    s3 = eddy.client("s3")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="source", Key="tampered.txt")


def test_s3_tampered_body_is_refused(eddy):
    request = s3_request(eddy, "PUT", "/source/body.txt", b"the signed body")
    status, _, body = send(request, body_override=b"another body!!!")
    assert 400 <= status < 500, body
    assert "XAmzContentSHA256Mismatch" in body or "BadDigest" in body or "SignatureDoesNotMatch" in body, body
    s3 = eddy.client("s3")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="source", Key="body.txt")


def test_s3_expired_presigned_url_is_refused(eddy):
    s3 = eddy.client("s3")
    s3.put_object(Bucket="source", Key="shared.txt", Body=b"shared")
    fresh = s3.generate_presigned_url("get_object", Params={"Bucket": "source", "Key": "shared.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(fresh, timeout=10) as response:
        assert response.read() == b"shared"
    expiring = s3.generate_presigned_url("get_object", Params={"Bucket": "source", "Key": "shared.txt"}, ExpiresIn=1)
    time.sleep(2.2)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(expiring, timeout=10)
    assert error.value.code == 403
    assert "AccessDenied" in error.value.read().decode()


def test_s3_clock_skew_beyond_15_minutes_is_refused(eddy, monkeypatch):
    skewed(monkeypatch, 20)
    status, _, body = send(s3_request(eddy, "GET", "/source"))
    assert status == 403 and "RequestTimeTooSkewed" in body


def test_s3_small_clock_skew_is_accepted(eddy, monkeypatch):
    skewed(monkeypatch, 10)
    status, _, body = send(s3_request(eddy, "GET", "/source"))
    assert status == 200, body


# --- SQS ----------------------------------------------------------------------

def test_sqs_unsigned_request_is_refused(eddy):
    status, headers, body = send(sqs_request(eddy, "ListQueues", "{}", sign=False))
    assert status == 403
    assert "MissingAuthenticationToken" in body
    assert headers.get("x-amzn-query-error", "").startswith("MissingAuthenticationToken;Sender")


def test_sqs_wrong_secret_is_refused(eddy):
    sqs = eddy.client("sqs", aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as error:
        sqs.list_queues()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_sqs_unknown_access_key_is_refused(eddy):
    sqs = eddy.client("sqs", aws_access_key_id="AKIANOBODY")
    with pytest.raises(ClientError) as error:
        sqs.list_queues()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"


def assert_signature_mismatch(status, headers, body):
    """SQS's JSON answer to a bad signature: the request framework's shape in `__type`,
    the query code SDKs match on in `x-amzn-query-error`."""
    assert status == 403
    assert "com.amazon.coral.service#InvalidSignatureException" in body
    query_error = {k.lower(): v for k, v in headers.items()}["x-amzn-query-error"]
    assert query_error == "SignatureDoesNotMatch;Sender"


def test_sqs_tampered_body_is_refused(eddy):
    url = eddy.client("sqs").create_queue(QueueName="quiet")["QueueUrl"]
    request = sqs_request(eddy, "SendMessage", f'{{"QueueUrl":"{url}","MessageBody":"signed"}}')
    status, headers, body = send(request, body_override=f'{{"QueueUrl":"{url}","MessageBody":"forged"}}'.encode())
    assert_signature_mismatch(status, headers, body)
    sqs = eddy.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_sqs_tampered_header_is_refused(eddy):
    request = sqs_request(eddy, "ListQueues", "{}")
    request.headers.replace_header("X-Amz-Target", "AmazonSQS.PurgeQueue")
    assert_signature_mismatch(*send(request))


def test_sqs_clock_skew_beyond_15_minutes_is_refused(eddy, monkeypatch):
    skewed(monkeypatch, 20)
    status, _, body = send(sqs_request(eddy, "ListQueues", "{}"))
    assert status == 403 and "Signature expired" in body


def test_sqs_valid_signature_is_accepted(eddy):
    status, _, body = send(sqs_request(eddy, "ListQueues", "{}"))
    assert status == 200 and "file-events" in body
