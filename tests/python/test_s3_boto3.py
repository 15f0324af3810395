"""eddy's S3 with boto3: buckets, objects, multipart transfers, versioning, tagging,
presigned URLs and form POSTs, checksums, limits, and the bucket events boto3's SQS
client receives.

Each test module run starts the real binary (target/debug/eddy, built by
`cargo build -p eddy-cli`) on a free port with a fresh data directory.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HAS_CRT
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "debug" / "eddy"
REGION = "us-east-1"
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """Starts `eddy up` and yields its endpoint; stops it with SIGTERM afterwards."""
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p eddy-cli` first")
    work = tmp_path_factory.mktemp("eddy")
    (work / "eddy.toml").write_text("")
    log = open(work / "eddy.log", "w")
    process = subprocess.Popen(
        [
            str(BINARY), "up", "--listen", "127.0.0.1:0",
            "--data-dir", str(work / "data"), "--config", str(work / "eddy.toml"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"eddy ready on (http://\S+)", line)
    if not match:
        process.kill()
        pytest.fail(f"eddy did not print its ready line: {line!r}")
    yield match.group(1)
    process.terminate()
    assert process.wait(timeout=20) == 0, "eddy did not stop cleanly on SIGTERM"
    log.close()


def client(service, endpoint, **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config) if config else None,
    )


@pytest.fixture(scope="module")
def s3(endpoint):
    return client("s3", endpoint, s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def sqs(endpoint):
    return client("sqs", endpoint)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def events_queue(sqs, s3, bucket, name):
    """A queue that receives every created/removed event of `bucket` (test event drained)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{
                "Id": "all",
                "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            }]
        },
    )
    test = receive(sqs, url, 1)[0]
    assert test["Event"] == "s3:TestEvent" and test["Bucket"] == bucket
    return url


def receive(sqs, url, count):
    bodies = []
    for _ in range(20):
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= count:
            return bodies
    pytest.fail(f"only {len(bodies)} of {count} messages arrived")


def test_buckets(s3):
    s3.create_bucket(Bucket="py-buckets")
    # us-east-1 answers a repeated CreateBucket by its owner with 200 OK (other regions: 409).
    s3.create_bucket(Bucket="py-buckets")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "py-buckets" in names and "source" in names
    assert s3.head_bucket(Bucket="py-buckets")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="py-buckets").get("LocationConstraint") is None
    # us-east-1 (S3's global endpoint) creates buckets of other regions too.
    s3.create_bucket(
        Bucket="py-elsewhere",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    assert s3.get_bucket_location(Bucket="py-elsewhere")["LocationConstraint"] == "eu-west-1"
    s3.delete_bucket(Bucket="py-elsewhere")
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(
            Bucket="py-named-default",
            CreateBucketConfiguration={"LocationConstraint": "us-east-1"},
        )
    assert error_code(excinfo) == "InvalidLocationConstraint"
    for bad in ["UPPER", "no_underscores", "ab"]:
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket=bad)
        assert error_code(excinfo) == "InvalidBucketName", bad
    s3.put_object(Bucket="py-buckets", Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="py-buckets")
    assert error_code(excinfo) == "BucketNotEmpty"
    s3.delete_object(Bucket="py-buckets", Key="k")
    s3.delete_bucket(Bucket="py-buckets")
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="py-buckets")
    assert status(excinfo) == 404


def test_objects_metadata_copy_and_delete_objects(s3):
    s3.create_bucket(Bucket="py-objects")
    put = s3.put_object(
        Bucket="py-objects", Key="dir/a b+c.txt", Body=b"hello",
        ContentType="text/plain", CacheControl="max-age=60",
        ContentDisposition="attachment", Metadata={"Owner": "eddy"},
    )
    assert put["ETag"] == '"%s"' % hashlib.md5(b"hello").hexdigest()
    got = s3.get_object(Bucket="py-objects", Key="dir/a b+c.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    assert got["Metadata"] == {"owner": "eddy"}
    overridden = s3.get_object(
        Bucket="py-objects", Key="dir/a b+c.txt",
        ResponseContentType="application/json", ResponseCacheControl="no-cache",
    )
    assert overridden["ContentType"] == "application/json"
    assert overridden["CacheControl"] == "no-cache"
    # Copy with REPLACE changes the metadata; a copy onto itself needs REPLACE.
    s3.copy_object(
        Bucket="py-objects", Key="dir/a b+c.txt",
        CopySource={"Bucket": "py-objects", "Key": "dir/a b+c.txt"},
        MetadataDirective="REPLACE", ContentType="text/markdown", Metadata={"v": "2"},
    )
    head = s3.head_object(Bucket="py-objects", Key="dir/a b+c.txt")
    assert head["ContentType"] == "text/markdown" and head["Metadata"] == {"v": "2"}
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(
            Bucket="py-objects", Key="dir/a b+c.txt",
            CopySource={"Bucket": "py-objects", "Key": "dir/a b+c.txt"},
        )
    assert error_code(excinfo) == "InvalidRequest"
    for i in range(3):
        s3.put_object(Bucket="py-objects", Key=f"many/{i}", Body=b"x")
    deleted = s3.delete_objects(
        Bucket="py-objects",
        Delete={"Objects": [{"Key": f"many/{i}"} for i in range(3)] + [{"Key": "never"}]},
    )
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["many/0", "many/1", "many/2", "never"]
    quiet = s3.delete_objects(
        Bucket="py-objects", Delete={"Objects": [{"Key": "dir/a b+c.txt"}], "Quiet": True}
    )
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket="py-objects")["KeyCount"] == 0
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="py-objects", Key="dir/a b+c.txt")
    assert error_code(excinfo) == "NoSuchKey"
    request_id = excinfo.value.response["ResponseMetadata"]["RequestId"]
    assert request_id and excinfo.value.response["Error"].get("RequestId", request_id) == request_id


def test_listing(s3):
    s3.create_bucket(Bucket="py-list")
    keys = ["a/1", "a/2", "b/1", "c", "d e"]
    for key in keys:
        s3.put_object(Bucket="py-list", Key=key, Body=b"x")
    folded = s3.list_objects_v2(Bucket="py-list", Delimiter="/")
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in folded["Contents"]] == ["c", "d e"]
    paginator = s3.get_paginator("list_objects_v2")
    seen = [o["Key"] for page in paginator.paginate(Bucket="py-list", PaginationConfig={"PageSize": 2}) for o in page["Contents"]]
    assert seen == keys
    v1 = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket="py-list", PaginationConfig={"PageSize": 2}) for o in page["Contents"]]
    assert v1 == keys
    # boto3 asks for encoding-type=url by default and decodes the keys.
    assert s3.list_objects(Bucket="py-list", Prefix="d")["Contents"][0]["Key"] == "d e"
    owned = s3.list_objects_v2(Bucket="py-list", FetchOwner=True)["Contents"][0]
    assert owned["Owner"]["ID"] == ACCOUNT


def test_multipart_transfer_and_listings(s3, tmp_path):
    s3.create_bucket(Bucket="py-multipart")
    data = os.urandom(12 * 1024 * 1024 + 17)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(source), "py-multipart", "big.bin", Config=config)
    head = s3.head_object(Bucket="py-multipart", Key="big.bin")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == len(data)
    down = tmp_path / "down.bin"
    s3.download_file("py-multipart", "big.bin", str(down), Config=config)
    assert down.read_bytes() == data
    part = s3.get_object(Bucket="py-multipart", Key="big.bin", PartNumber=3)
    assert part["PartsCount"] == 3 and part["Body"].read() == data[10 * 1024 * 1024:]
    # Uploads in progress, their parts, and abort.
    upload = s3.create_multipart_upload(Bucket="py-multipart", Key="pending")["UploadId"]
    s3.upload_part(Bucket="py-multipart", Key="pending", UploadId=upload, PartNumber=1, Body=b"p1")
    listed = s3.list_multipart_uploads(Bucket="py-multipart")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("pending", upload)]
    parts = s3.list_parts(Bucket="py-multipart", Key="pending", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 2)]
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket="py-multipart", Key="pending", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]},
        )
    assert error_code(excinfo) == "InvalidPart"
    s3.abort_multipart_upload(Bucket="py-multipart", Key="pending", UploadId=upload)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="py-multipart")
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket="py-multipart", Key="pending", UploadId=upload)
    assert error_code(excinfo) == "NoSuchUpload"


def test_small_parts_are_entity_too_small(s3):
    s3.create_bucket(Bucket="py-small-parts")
    upload = s3.create_multipart_upload(Bucket="py-small-parts", Key="k")["UploadId"]
    etags = [
        s3.upload_part(Bucket="py-small-parts", Key="k", UploadId=upload, PartNumber=n, Body=b"tiny")["ETag"]
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket="py-small-parts", Key="k", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]},
        )
    assert error_code(excinfo) == "EntityTooSmall"


def test_versioning(s3):
    s3.create_bucket(Bucket="py-versions")
    assert "Status" not in s3.get_bucket_versioning(Bucket="py-versions")
    s3.put_bucket_versioning(Bucket="py-versions", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="py-versions")["Status"] == "Enabled"
    v1 = s3.put_object(Bucket="py-versions", Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="py-versions", Key="k", Body=b"two")["VersionId"]
    assert s3.get_object(Bucket="py-versions", Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket="py-versions", Key="k")["VersionId"] == v2
    marker = s3.delete_object(Bucket="py-versions", Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="py-versions", Key="k")
    assert error_code(excinfo) == "NoSuchKey"
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    listed = s3.list_object_versions(Bucket="py-versions")
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker["VersionId"], True)]
    s3.delete_object(Bucket="py-versions", Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket="py-versions", Key="k")["Body"].read() == b"two"
    # DeleteObjects with version ids.
    result = s3.delete_objects(
        Bucket="py-versions",
        Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": v2}]},
    )
    assert sorted(d["VersionId"] for d in result["Deleted"]) == sorted([v1, v2])
    assert "Versions" not in s3.list_object_versions(Bucket="py-versions")
    s3.put_bucket_versioning(Bucket="py-versions", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="py-versions")["Status"] == "Suspended"
    s3.put_object(Bucket="py-versions", Key="n", Body=b"null")
    assert s3.get_object(Bucket="py-versions", Key="n", VersionId="null")["Body"].read() == b"null"


def test_tagging(s3):
    s3.create_bucket(Bucket="py-tags")
    s3.put_object(Bucket="py-tags", Key="k", Body=b"x", Tagging="a=1&b=two%20words")
    tags = s3.get_object_tagging(Bucket="py-tags", Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two words")]
    s3.put_object_tagging(Bucket="py-tags", Key="k", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.get_object_tagging(Bucket="py-tags", Key="k")["TagSet"] == [{"Key": "c", "Value": "3"}]
    assert s3.get_object(Bucket="py-tags", Key="k")["TagCount"] == 1
    s3.delete_object_tagging(Bucket="py-tags", Key="k")
    assert s3.get_object_tagging(Bucket="py-tags", Key="k")["TagSet"] == []
    s3.put_bucket_tagging(Bucket="py-tags", Tagging={"TagSet": [{"Key": "team", "Value": "eddy"}]})
    assert s3.get_bucket_tagging(Bucket="py-tags")["TagSet"] == [{"Key": "team", "Value": "eddy"}]
    s3.delete_bucket_tagging(Bucket="py-tags")
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_tagging(Bucket="py-tags")
    assert error_code(excinfo) == "NoSuchTagSet"


def test_checksums(s3):
    s3.create_bucket(Bucket="py-checksums")
    body = b"checksummed body"
    # CRC32C and CRC64NVME need botocore's optional CRT extension; the Rust tests cover them.
    crt = ["CRC32C", "CRC64NVME"] if HAS_CRT else []
    for algorithm in ["CRC32", "SHA1", "SHA256", *crt]:
        key = f"k-{algorithm}"
        put = s3.put_object(Bucket="py-checksums", Key=key, Body=body, ChecksumAlgorithm=algorithm)
        assert f"Checksum{algorithm}" in put, algorithm
        got = s3.get_object(Bucket="py-checksums", Key=key, ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"], algorithm
        assert got["Body"].read() == body
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="py-checksums", Key="bad", Body=body, ChecksumSHA256=wrong)
    assert error_code(excinfo) == "BadDigest"
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(
            Bucket="py-checksums", Key="bad-md5", Body=body,
            ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode(),
        )
    assert error_code(excinfo) == "BadDigest"


def test_presigned_urls_and_form_post(s3, sqs):
    s3.create_bucket(Bucket="py-presign")
    url = events_queue(sqs, s3, "py-presign", "py-presign-events")
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "py-presign", "Key": "via url.txt"}, ExpiresIn=300
    )
    assert requests.put(put_url, data=b"from a url").status_code == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "py-presign", "Key": "via url.txt"}, ExpiresIn=300
    )
    response = requests.get(get_url)
    assert response.status_code == 200 and response.content == b"from a url"
    assert receive(sqs, url, 1)[0]["Records"][0]["eventName"] == "ObjectCreated:Put"

    post = s3.generate_presigned_post(
        "py-presign", "forms/my file@1.txt",
        Fields={"Content-Type": "text/plain"},
        Conditions=[["starts-with", "$key", "forms/"], {"Content-Type": "text/plain"},
                    ["content-length-range", 1, 1024]],
        ExpiresIn=300,
    )
    response = requests.post(post["url"], data=post["fields"], files={"file": ("my file@1.txt", b"form bytes")})
    assert response.status_code == 204, response.text
    got = s3.get_object(Bucket="py-presign", Key="forms/my file@1.txt")
    assert got["Body"].read() == b"form bytes" and got["ContentType"] == "text/plain"
    record = receive(sqs, url, 1)[0]["Records"][0]
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "forms/my+file%401.txt"
    assert record["s3"]["object"]["size"] == 10
    assert record["responseElements"]["x-amz-request-id"] == response.headers["x-amz-request-id"]
    # A policy the form breaks is refused, and nothing is stored or announced.
    too_big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 2000)})
    assert too_big.status_code in (400, 403), too_big.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket="py-presign", Key="forms/big.txt")


def test_a_form_breaking_its_policy_is_refused_as_s3_refuses_it(s3):
    s3.create_bucket(Bucket="py-form-policy")
    post = s3.generate_presigned_post(
        "py-form-policy", "uploads/a.txt",
        Conditions=[["starts-with", "$key", "uploads/"]],
        ExpiresIn=300,
    )
    fields = dict(post["fields"], key="elsewhere/a.txt")
    refused = requests.post(post["url"], data=fields, files={"file": ("a.txt", b"x")})
    assert refused.status_code == 403, refused.text
    assert "<Code>AccessDenied</Code>" in refused.text
    assert ("Invalid according to Policy: Policy Condition failed: "
            '["starts-with", "$key", "uploads/"]') in refused.text.replace("&quot;", '"')
    with pytest.raises(ClientError):
        s3.head_object(Bucket="py-form-policy", Key="elsewhere/a.txt")
    # Without its signature the same form is a bad request, whatever its policy says.
    unsigned = {k: v for k, v in fields.items() if k not in ("signature", "x-amz-signature")}
    assert requests.post(post["url"], data=unsigned,
                         files={"file": ("a.txt", b"x")}).status_code == 400


def test_event_records_for_awkward_keys(s3, sqs):
    s3.create_bucket(Bucket="py-events")
    url = events_queue(sqs, s3, "py-events", "py-events-queue")
    cases = {
        "plain.txt": "plain.txt",
        "a b.txt": "a+b.txt",
        "a+b.txt": "a%2Bb.txt",
        "x@y=z": "x%40y%3Dz",
        "dossier/été.txt": "dossier/%C3%A9t%C3%A9.txt",
    }
    for key, encoded in cases.items():
        put = s3.put_object(Bucket="py-events", Key=key, Body=b"12345")
        record = receive(sqs, url, 1)[0]["Records"][0]
        assert record["eventName"] == "ObjectCreated:Put"
        assert record["s3"]["object"] == {
            "key": encoded,
            "size": 5,
            "eTag": put["ETag"].strip('"'),
            "sequencer": record["s3"]["object"]["sequencer"],
        }
        headers = put["ResponseMetadata"]["HTTPHeaders"]
        assert record["responseElements"] == {
            "x-amz-request-id": headers["x-amz-request-id"],
            "x-amz-id-2": headers["x-amz-id-2"],
        }
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
        assert urllib.parse.unquote_plus(record["s3"]["object"]["key"]) == key
        s3.delete_object(Bucket="py-events", Key=key)
        removed = receive(sqs, url, 1)[0]["Records"][0]
        assert removed["eventName"] == "ObjectRemoved:Delete"
        assert set(removed["s3"]["object"]) == {"key", "sequencer"}


def test_entity_too_large_is_refused_from_the_content_length(endpoint):
    """A single PUT above 5 GiB is refused from its Content-Length, before any byte."""
    host = urllib.parse.urlparse(endpoint).netloc
    url = f"{endpoint}/source/huge.bin"
    length = 5 * 1024 ** 3 + 1
    request = AWSRequest(
        method="PUT", url=url,
        headers={"Content-Length": str(length), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(Credentials("test", "test"), "s3", REGION).add_auth(request)
    connection = http.client.HTTPConnection(host, timeout=10)
    connection.putrequest("PUT", "/source/huge.bin", skip_accept_encoding=True)
    for name, value in request.headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 400, body
    assert "<Code>EntityTooLarge</Code>" in body, body
    connection.close()


def test_key_too_long(s3):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="source", Key="k" * 1025, Body=b"x")
    assert error_code(excinfo) == "KeyTooLongError"


def test_virtual_hosted_addressing(endpoint):
    """boto3 addressing `bucket.localhost`: the bucket rides in the Host header."""
    port = urllib.parse.urlparse(endpoint).port
    vhost = client("s3", f"http://localhost:{port}", s3={"addressing_style": "virtual"})
    url = vhost.generate_presigned_url(
        "get_object", Params={"Bucket": "source", "Key": "missing"}, ExpiresIn=60
    )
    assert url.startswith(f"http://source.localhost:{port}/missing?")
    path = url.split(f":{port}", 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": f"source.localhost:{port}"})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 404 and "<Code>NoSuchKey</Code>" in body, body


def test_listing_markers_that_are_common_prefixes(s3):
    """A NextMarker that is a common prefix resumes after everything under it."""
    s3.create_bucket(Bucket="py-markers")
    for key in ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"]:
        s3.put_object(Bucket="py-markers", Key=key, Body=key.encode())
    pages = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket="py-markers", Delimiter="/", Marker=marker, MaxKeys=1)
        pages.append(([o["Key"] for o in page.get("Contents", [])],
                      [p["Prefix"] for p in page.get("CommonPrefixes", [])]))
        if not page["IsTruncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert pages == [(["asdf"], []), ([], ["boo/"]), ([], ["cquux/"])]
    token, seen = None, []
    while True:
        args = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket="py-markers", Delimiter="/", MaxKeys=1, **args)
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["asdf", "boo/", "cquux/"]
    # An empty delimiter is no delimiter and is not echoed.
    flat = s3.list_objects(Bucket="py-markers", Delimiter="")
    assert "Delimiter" not in flat and len(flat["Contents"]) == 5
    # ListObjects (v1) echoes an unprintable prefix as it came.
    assert s3.list_objects(Bucket="py-markers", Prefix="\n")["Prefix"] == "\n"


def test_conditional_writes_and_not_modified(s3):
    s3.create_bucket(Bucket="py-conditional")
    etag = s3.put_object(Bucket="py-conditional", Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    for condition in ["*", etag]:
        with pytest.raises(ClientError) as excinfo:
            s3.put_object(Bucket="py-conditional", Key="k", Body=b"x", IfNoneMatch=condition)
        assert (status(excinfo), error_code(excinfo)) == (412, "PreconditionFailed")
    s3.put_object(Bucket="py-conditional", Key="k", Body=b"two", IfNoneMatch='"other"')
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="py-conditional", Key="k", Body=b"x", IfMatch=etag)
    assert error_code(excinfo) == "PreconditionFailed"
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="py-conditional", Key="missing", Body=b"x", IfMatch=etag)
    assert error_code(excinfo) == "NoSuchKey"
    current = s3.head_object(Bucket="py-conditional", Key="k")["ETag"]
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket="py-conditional", Key="k", IfNoneMatch=current)
    assert status(excinfo) == 304
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["etag"] == current
    # CompleteMultipartUpload honours If-None-Match too.
    upload = s3.create_multipart_upload(Bucket="py-conditional", Key="k")["UploadId"]
    part = s3.upload_part(Bucket="py-conditional", Key="k", UploadId=upload, PartNumber=1, Body=b"p")
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket="py-conditional", Key="k", UploadId=upload, IfNoneMatch="*",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
    assert error_code(excinfo) == "PreconditionFailed"


def test_completing_an_upload_twice_answers_the_same(s3, sqs):
    s3.create_bucket(Bucket="py-retry")
    url = events_queue(sqs, s3, "py-retry", "py-retry-events")
    upload = s3.create_multipart_upload(Bucket="py-retry", Key="k")["UploadId"]
    part = s3.upload_part(Bucket="py-retry", Key="k", UploadId=upload, PartNumber=1, Body=b"data")
    manifest = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    first = s3.complete_multipart_upload(Bucket="py-retry", Key="k", UploadId=upload, MultipartUpload=manifest)
    again = s3.complete_multipart_upload(Bucket="py-retry", Key="k", UploadId=upload, MultipartUpload=manifest)
    assert again["ETag"] == first["ETag"]
    assert len(receive(sqs, url, 1)) == 1
    response = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert "Messages" not in response, "a retried completion raises no second event"


def test_metadata_encoding_and_head_tag_count(s3):
    s3.create_bucket(Bucket="py-meta")

    def unicode_header(params, **kwargs):
        params["headers"]["x-amz-meta-meta1"] = "Hello World\xe9"

    s3.meta.events.register("before-call.s3.PutObject", unicode_header)
    try:
        s3.put_object(Bucket="py-meta", Key="k", Body=b"x", Tagging="a=1&b=2")
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", unicode_header)
    assert s3.get_object(Bucket="py-meta", Key="k")["Metadata"]["meta1"] == "Hello World\xe9"
    head = s3.head_object(Bucket="py-meta", Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    s3.put_object(Bucket="py-meta", Key="enc", Body=b"x", ContentEncoding="gzip, aws-chunked")
    assert s3.head_object(Bucket="py-meta", Key="enc")["ContentEncoding"] == "gzip"


def test_refused_uploads_leave_the_connection_usable(endpoint):
    """A PUT refused before its body is read must not leave the body's bytes to be
    parsed as the next request on the same keep-alive connection."""
    s3 = client("s3", endpoint, s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    s3.create_bucket(Bucket="py-keepalive")
    s3.put_object(Bucket="py-keepalive", Key="k", Body=b"one")
    for _ in range(20):
        with pytest.raises(ClientError) as excinfo:
            s3.put_object(Bucket="py-keepalive", Key="k", Body=b"refused body", IfNoneMatch="*")
        assert error_code(excinfo) == "PreconditionFailed"
        assert s3.head_object(Bucket="py-keepalive", Key="k")["ContentLength"] == 3


def test_presigned_url_expiry_limits(endpoint):
    s3 = client("s3", endpoint, s3={"addressing_style": "path"}, signature_version="s3v4")
    s3.put_object(Bucket="source", Key="presigned-expiry", Body=b"x")
    params = {"Bucket": "source", "Key": "presigned-expiry"}
    week = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604800)
    assert requests.get(week).status_code == 200
    for expires, message in [(604801, "less than a week"), (-10, "non-negative")]:
        url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
        response = requests.get(url)
        assert response.status_code == 403, expires
        assert "<Code>AuthorizationQueryParametersError</Code>" in response.text
        assert message in response.text
    expired = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=0)
    response = requests.get(expired)
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text
