"""S3 server-side encryption with customer-provided keys (SSE-C) with boto3: the key
an object is stored with is needed to read it (GET, HEAD, GetObjectAttributes, as a
copy's source and for the parts of a multipart upload), malformed keys are refused
with S3's errors, and responses echo the algorithm and the key's MD5."""

import base64
import hashlib
import io

import botocore.exceptions
import pytest
import requests
from boto3.s3.transfer import TransferConfig

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))
ALGORITHM_HEADER = "x-amz-server-side-encryption-customer-algorithm"
KEY_HEADER = "x-amz-server-side-encryption-customer-key"
MD5_HEADER = "x-amz-server-side-encryption-customer-key-MD5"
NEEDS_KEY = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)


def md5_of(key: bytes) -> str:
    return base64.b64encode(hashlib.md5(key).digest()).decode()


def sse(key: bytes = KEY) -> dict:
    """boto3's SSE-C arguments: it sends the key in base64 with its MD5."""
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def copy_source_sse(key: bytes = KEY) -> dict:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


@pytest.fixture
def s3(eddy):
    client = eddy.client("s3")
    client.create_bucket(Bucket="keys")
    return client


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message"),
    )


def with_headers(client, operation: str, headers: dict):
    """Sets (or, for None, removes) raw headers of every `operation` call."""

    def update(params, **_):
        for name, value in headers.items():
            if value is None:
                params["headers"].pop(name, None)
            else:
                params["headers"][name] = value

    client.meta.events.register(f"before-call.s3.{operation}", update)


def test_put_then_get_with_the_key_echoes_it(s3):
    put = s3.put_object(Bucket="keys", Key="a", Body=b"secret bytes", **sse())
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == md5_of(KEY)
    assert "ServerSideEncryption" not in put
    got = s3.get_object(Bucket="keys", Key="a", **sse())
    assert got["Body"].read() == b"secret bytes"
    assert got["SSECustomerAlgorithm"] == "AES256"
    assert got["SSECustomerKeyMD5"] == md5_of(KEY)
    assert "ServerSideEncryption" not in got
    ranged = s3.get_object(Bucket="keys", Key="a", Range="bytes=7-11", **sse())
    assert ranged["Body"].read() == b"bytes"
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_get_without_the_key_is_refused(s3):
    s3.put_object(Bucket="keys", Key="a", Body=b"x", **sse())
    assert error_of(s3.get_object, Bucket="keys", Key="a") == (400, "InvalidRequest", NEEDS_KEY)


def test_get_with_another_key_is_denied(s3):
    s3.put_object(Bucket="keys", Key="a", Body=b"x", **sse())
    status, code, _ = error_of(s3.get_object, Bucket="keys", Key="a", **sse(OTHER_KEY))
    assert (status, code) == (403, "AccessDenied")


def test_head_needs_the_same_key(s3):
    s3.put_object(Bucket="keys", Key="a", Body=b"12345", **sse())
    assert error_of(s3.head_object, Bucket="keys", Key="a")[0] == 400
    assert error_of(s3.head_object, Bucket="keys", Key="a", **sse(OTHER_KEY))[0] == 403
    head = s3.head_object(Bucket="keys", Key="a", **sse())
    assert head["ContentLength"] == 5
    assert head["SSECustomerKeyMD5"] == md5_of(KEY)
    assert "ServerSideEncryption" not in head


def test_get_object_attributes_needs_the_key(s3):
    s3.put_object(Bucket="keys", Key="a", Body=b"12345", **sse())
    status, code, _ = error_of(
        s3.get_object_attributes, Bucket="keys", Key="a", ObjectAttributes=["ObjectSize"]
    )
    assert (status, code) == (400, "InvalidRequest")
    # botocore encodes the key for GetObjectAttributes only when given as text.
    attrs = s3.get_object_attributes(
        Bucket="keys", Key="a", ObjectAttributes=["ObjectSize"], SSECustomerAlgorithm="AES256",
        SSECustomerKey=base64.b64encode(KEY).decode(), SSECustomerKeyMD5=md5_of(KEY),
    )
    assert attrs["ObjectSize"] == 5


def test_a_plain_object_refuses_a_customer_key(s3):
    s3.put_object(Bucket="keys", Key="plain", Body=b"x")
    status, code, message = error_of(s3.get_object, Bucket="keys", Key="plain", **sse())
    assert (status, code) == (400, "InvalidRequest")
    assert message == "The encryption parameters are not applicable to this object."
    assert s3.get_object(Bucket="keys", Key="plain")["Body"].read() == b"x"


def test_a_key_of_the_wrong_length_is_invalid(s3):
    status, code, message = error_of(
        s3.put_object, Bucket="keys", Key="a", Body=b"x", **sse(b"sixteen byte key")
    )
    assert (status, code) == (400, "InvalidArgument")
    assert message == "The secret key was invalid for the specified algorithm."
    assert error_of(s3.head_object, Bucket="keys", Key="a")[0] == 404


def test_a_wrong_md5_is_refused(s3):
    with_headers(s3, "PutObject", {MD5_HEADER: md5_of(OTHER_KEY)})
    status, code, message = error_of(s3.put_object, Bucket="keys", Key="a", Body=b"x", **sse())
    assert (status, code) == (400, "InvalidArgument")
    assert message == "The calculated MD5 hash of the key did not match the hash that was provided."


def test_a_missing_key_or_md5_is_refused(s3):
    with_headers(s3, "PutObject", {ALGORITHM_HEADER: "AES256"})
    status, code, message = error_of(s3.put_object, Bucket="keys", Key="a", Body=b"x")
    assert (status, code) == (400, "InvalidArgument")
    assert message == (
        "Requests specifying Server Side Encryption with Customer provided keys "
        "must provide an appropriate secret key."
    )
    with_headers(s3, "PutObject", {MD5_HEADER: None})
    status, code, _ = error_of(s3.put_object, Bucket="keys", Key="b", Body=b"x", **sse())
    assert (status, code) == (400, "InvalidArgument")


def test_a_key_without_algorithm_or_with_another_algorithm_is_refused(s3):
    with_headers(s3, "PutObject", {ALGORITHM_HEADER: None})
    status, code, _ = error_of(s3.put_object, Bucket="keys", Key="a", Body=b"x", **sse())
    assert (status, code) == (400, "InvalidArgument")
    with_headers(s3, "PutObject", {ALGORITHM_HEADER: "AES128"})
    status, code, _ = error_of(s3.put_object, Bucket="keys", Key="a", Body=b"x", **sse())
    assert (status, code) == (400, "InvalidEncryptionAlgorithmError")


def test_sse_c_with_another_encryption_is_refused(s3):
    status, code, _ = error_of(
        s3.put_object, Bucket="keys", Key="a", Body=b"x", ServerSideEncryption="AES256", **sse()
    )
    assert (status, code) == (400, "InvalidArgument")


def test_a_form_upload_with_a_customer_key(s3):
    fields = {
        ALGORITHM_HEADER: "AES256",
        KEY_HEADER: base64.b64encode(KEY).decode(),
        MD5_HEADER: md5_of(KEY),
    }
    post = s3.generate_presigned_post(
        "keys", "form.txt", Fields=fields,
        Conditions=[{name: value} for name, value in fields.items()], ExpiresIn=300,
    )
    response = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"posted")})
    assert response.status_code == 204, response.text
    assert error_of(s3.get_object, Bucket="keys", Key="form.txt")[0] == 400
    assert s3.get_object(Bucket="keys", Key="form.txt", **sse())["Body"].read() == b"posted"


def test_multipart_upload_with_a_customer_key(s3):
    created = s3.create_multipart_upload(Bucket="keys", Key="mp", **sse())
    assert created["SSECustomerKeyMD5"] == md5_of(KEY)
    upload = created["UploadId"]
    first = b"a" * (5 * 1024 * 1024)
    status, code, _ = error_of(
        s3.upload_part, Bucket="keys", Key="mp", UploadId=upload, PartNumber=1, Body=first
    )
    assert (status, code) == (400, "InvalidRequest")
    status, code, _ = error_of(
        s3.upload_part, Bucket="keys", Key="mp", UploadId=upload, PartNumber=1, Body=first,
        **sse(OTHER_KEY),
    )
    assert (status, code) == (400, "InvalidRequest")
    parts = []
    for number, body in ((1, first), (2, b"tail")):
        part = s3.upload_part(
            Bucket="keys", Key="mp", UploadId=upload, PartNumber=number, Body=body, **sse()
        )
        assert part["SSECustomerKeyMD5"] == md5_of(KEY)
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    complete = {"Bucket": "keys", "Key": "mp", "UploadId": upload, "MultipartUpload": {"Parts": parts}}
    status, code, _ = error_of(s3.complete_multipart_upload, **complete)
    assert (status, code) == (400, "InvalidRequest")
    status, code, _ = error_of(s3.complete_multipart_upload, **complete, **sse(OTHER_KEY))
    assert (status, code) == (400, "InvalidRequest")
    completed = s3.complete_multipart_upload(**complete, **sse())
    headers = completed["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-server-side-encryption-customer-key-md5"] == md5_of(KEY)
    assert "x-amz-server-side-encryption" not in headers
    assert error_of(s3.get_object, Bucket="keys", Key="mp")[1] == "InvalidRequest"
    got = s3.get_object(Bucket="keys", Key="mp", PartNumber=2, **sse())
    assert got["Body"].read() == b"tail"
    # A part the object does not have is refused before the key is asked for.
    assert error_of(s3.get_object, Bucket="keys", Key="mp", PartNumber=3)[1] == "InvalidPart"


def test_copy_needs_the_source_key_and_takes_its_own(s3):
    s3.put_object(Bucket="keys", Key="src", Body=b"copied", **sse())
    status, code, _ = error_of(
        s3.copy_object, Bucket="keys", Key="dst", CopySource={"Bucket": "keys", "Key": "src"}
    )
    assert (status, code) == (400, "InvalidRequest")
    status, code, _ = error_of(
        s3.copy_object, Bucket="keys", Key="dst", CopySource={"Bucket": "keys", "Key": "src"},
        **copy_source_sse(OTHER_KEY),
    )
    assert (status, code) == (403, "AccessDenied")
    copied = s3.copy_object(
        Bucket="keys", Key="dst", CopySource={"Bucket": "keys", "Key": "src"},
        **copy_source_sse(), **sse(OTHER_KEY),
    )
    assert copied["SSECustomerKeyMD5"] == md5_of(OTHER_KEY)
    assert error_of(s3.get_object, Bucket="keys", Key="dst", **sse())[0] == 403
    assert s3.get_object(Bucket="keys", Key="dst", **sse(OTHER_KEY))["Body"].read() == b"copied"
    # A copy without a key of its own is stored as any object.
    plain = s3.copy_object(
        Bucket="keys", Key="plain", CopySource={"Bucket": "keys", "Key": "src"},
        **copy_source_sse(),
    )
    assert plain["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="keys", Key="plain")["Body"].read() == b"copied"


def test_the_key_is_still_needed_after_a_restart(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="keys")
    s3.put_object(Bucket="keys", Key="a", Body=b"kept", **sse())
    eddy.restart()
    s3 = eddy.client("s3")
    assert error_of(s3.get_object, Bucket="keys", Key="a")[0] == 400
    assert s3.get_object(Bucket="keys", Key="a", **sse())["Body"].read() == b"kept"


def test_boto3_transfers_with_a_customer_key(s3):
    """boto3's managed transfer sends the key on each part and on the completion."""
    data = bytes(i % 253 for i in range(5 * 1024 * 1024 + 17))
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), "keys", "big", ExtraArgs=sse(), Config=config)
    head = s3.head_object(Bucket="keys", Key="big", **sse())
    assert (head["PartsCount"], head["SSECustomerKeyMD5"]) == (2, md5_of(KEY))
    assert error_of(s3.head_object, Bucket="keys", Key="big")[0] == 400
    out = io.BytesIO()
    s3.download_fileobj("keys", "big", out, ExtraArgs=sse(), Config=config)
    assert out.getvalue() == data
