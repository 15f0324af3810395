"""S3 in every region with boto3: buckets live in the region they were created for,
boto3 clients of another region are redirected to it as on AWS (botocore reads the
301's `x-amz-bucket-region` and signs again), and the regional virtual-hosted
endpoints (`<bucket>.s3.<region>.localhost`) work with boto3's virtual addressing.

Uses the `eddy` fixture of conftest.py (a fresh `eddy up` per test).
"""

import socket
import urllib.parse

import boto3
import botocore.utils
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def s3_client(endpoint, region, style="path"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": style}),
    )


def signing_regions(client):
    """The region of each request `client` sends, in order."""
    regions = []

    def record(request, **_):
        authorization = request.headers.get("Authorization", b"")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        regions.append(authorization.split("Credential=")[1].split("/")[2])

    client.meta.events.register("before-send.s3", record)
    return regions


@pytest.fixture
def loopback_localhost(monkeypatch):
    """Resolves every `*.localhost` name to 127.0.0.1 (RFC 6761), as systemd-resolved
    and browsers do; the test machine's resolver does not."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_clients_of_another_region_are_redirected(eddy):
    irish = s3_client(eddy.endpoint, "eu-west-1")
    irish.create_bucket(
        Bucket="py-dublin", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    irish.put_object(Bucket="py-dublin", Key="k", Body=b"craic")

    oregon = s3_client(eddy.endpoint, "us-west-2")
    sent = signing_regions(oregon)
    body = oregon.get_object(Bucket="py-dublin", Key="k")["Body"].read()
    assert body == b"craic"
    # The first request was answered 301 PermanentRedirect; botocore signed it again
    # for the bucket's region.
    assert sent == ["us-west-2", "eu-west-1"]
    head = s3_client(eddy.endpoint, "ap-northeast-1").head_bucket(Bucket="py-dublin")
    assert head["BucketRegion"] == "eu-west-1"
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    location = s3_client(eddy.endpoint, "us-east-1").get_bucket_location(Bucket="py-dublin")
    assert location["LocationConstraint"] == "eu-west-1"
    east = s3_client(eddy.endpoint, "us-east-1")
    east.create_bucket(Bucket="py-virginia")
    assert east.get_bucket_location(Bucket="py-virginia")["LocationConstraint"] is None


def test_wrong_region_error_bodies(eddy, monkeypatch):
    s3_client(eddy.endpoint, "us-east-1").create_bucket(
        Bucket="py-tokyo", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    # A client that does not follow redirects sees S3's answer as it is.
    monkeypatch.setattr(
        botocore.utils.S3RegionRedirectorv2, "redirect_from_error", lambda *_, **__: None
    )
    client = s3_client(eddy.endpoint, "us-west-2")
    with pytest.raises(ClientError) as excinfo:
        client.list_objects_v2(Bucket="py-tokyo")
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 301
    assert error["Error"]["Code"] == "PermanentRedirect"
    assert error["Error"]["Bucket"] == "py-tokyo"
    port = urllib.parse.urlparse(eddy.endpoint).port
    assert error["Error"]["Endpoint"] == f"py-tokyo.s3.ap-northeast-1.localhost:{port}"
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "ap-northeast-1"


def test_create_bucket_location_constraints(eddy):
    oregon = s3_client(eddy.endpoint, "us-west-2")
    with pytest.raises(ClientError) as excinfo:
        oregon.create_bucket(
            Bucket="py-elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    assert excinfo.value.response["Error"]["Code"] == "IllegalLocationConstraintException"
    assert excinfo.value.response["Error"]["Message"] == (
        "The eu-west-1 location constraint is incompatible for the region specific "
        "endpoint this request was sent to."
    )
    with pytest.raises(ClientError) as excinfo:
        oregon.create_bucket(Bucket="py-unspecified")
    assert excinfo.value.response["Error"]["Code"] == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as excinfo:
        oregon.create_bucket(
            Bucket="py-nowhere", CreateBucketConfiguration={"LocationConstraint": "us-nowhere-9"}
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidLocationConstraint"
    oregon.create_bucket(
        Bucket="py-oregon", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    listed = oregon.list_buckets()["Buckets"]
    # `source` and `destination` are the buckets of eddy's default configuration.
    assert [(b["Name"], b["BucketRegion"]) for b in listed] == [
        ("destination", "us-east-1"), ("py-oregon", "us-west-2"), ("source", "us-east-1"),
    ]


def test_regional_virtual_hosted_endpoints(eddy, loopback_localhost):
    port = urllib.parse.urlparse(eddy.endpoint).port
    regional = s3_client(f"http://s3.eu-central-1.localhost:{port}", "eu-central-1", "virtual")
    urls = []
    regional.meta.events.register(
        "before-send.s3", lambda request, **_: urls.append(request.url)
    )
    regional.create_bucket(
        Bucket="py-frankfurt",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
    )
    regional.put_object(Bucket="py-frankfurt", Key="a/b", Body=b"hallo")
    assert regional.get_object(Bucket="py-frankfurt", Key="a/b")["Body"].read() == b"hallo"
    keys = [o["Key"] for o in regional.list_objects_v2(Bucket="py-frankfurt")["Contents"]]
    assert keys == ["a/b"]
    assert urls[1].startswith(f"http://py-frankfurt.s3.eu-central-1.localhost:{port}/a/b")
    # The global form <bucket>.s3.localhost, signed for the bucket's region.
    global_form = s3_client(f"http://s3.localhost:{port}", "eu-central-1", "virtual")
    assert global_form.get_object(Bucket="py-frankfurt", Key="a/b")["Body"].read() == b"hallo"
    # Signed for another region, the global form answers AuthorizationHeaderMalformed,
    # which botocore follows with the <Region> of the answer.
    other = s3_client(f"http://s3.localhost:{port}", "us-east-1", "virtual")
    sent = signing_regions(other)
    assert other.get_object(Bucket="py-frankfurt", Key="a/b")["Body"].read() == b"hallo"
    assert sent == ["us-east-1", "eu-central-1"]
