"""Unsigned (anonymous) S3 requests with boto3, decided as S3 decides them: by the
bucket policy (explicit Deny wins), by ACL grants to everyone while the bucket's
ownership enables ACLs, under the bucket's Block Public Access settings. DeleteObjects
is decided key by key; a browser form upload without a policy is decided as a PUT. A new bucket
blocks everything public, as on S3 since 2023.

Uses one `eddy up` for the module (conftest.Eddy); each test makes its own buckets.
"""

import json
import urllib.error
import urllib.request

import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Eddy

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
OPEN = {
    "BlockPublicAcls": False,
    "IgnorePublicAcls": False,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


@pytest.fixture(scope="module")
def server():
    instance = Eddy()
    yield instance
    instance.stop()


@pytest.fixture
def s3(server):
    return server.client("s3")


@pytest.fixture
def anon(server):
    return server.client(
        "s3",
        config=Config(
            signature_version=UNSIGNED,
            retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def policy(bucket, *statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra):
    return {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource, **extra}


def public_bucket(s3, name, ownership=None):
    kwargs = {"ObjectOwnership": ownership} if ownership else {}
    s3.create_bucket(Bucket=name, **kwargs)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=OPEN)
    s3.put_object(Bucket=name, Key="public/a.txt", Body=b"hello")


def test_a_new_bucket_refuses_every_anonymous_request(s3, anon):
    s3.create_bucket(Bucket="closed")
    s3.put_object(Bucket="closed", Key="k", Body=b"x")
    assert error_of(anon.get_object, Bucket="closed", Key="k") == ("AccessDenied", 403)
    assert error_of(anon.list_objects_v2, Bucket="closed") == ("AccessDenied", 403)
    assert error_of(anon.put_object, Bucket="closed", Key="n", Body=b"x") == ("AccessDenied", 403)
    assert error_of(anon.get_object, Bucket="no-such-bucket", Key="k") == ("NoSuchBucket", 404)
    assert error_of(anon.list_buckets) == ("AccessDenied", 403)


def test_a_public_read_policy_allows_reads_and_nothing_else(s3, anon):
    public_bucket(s3, "policy-read")
    s3.put_bucket_policy(
        Bucket="policy-read",
        Policy=policy("policy-read", allow("s3:GetObject", "arn:aws:s3:::policy-read/public/*")),
    )
    assert anon.get_object(Bucket="policy-read", Key="public/a.txt")["Body"].read() == b"hello"
    assert anon.head_object(Bucket="policy-read", Key="public/a.txt")["ContentLength"] == 5
    s3.put_object(Bucket="policy-read", Key="private/b.txt", Body=b"secret")
    assert error_of(anon.get_object, Bucket="policy-read", Key="private/b.txt") == (
        "AccessDenied",
        403,
    )
    assert error_of(
        anon.put_object, Bucket="policy-read", Key="public/new", Body=b"x"
    ) == ("AccessDenied", 403)
    assert error_of(anon.delete_object, Bucket="policy-read", Key="public/a.txt") == (
        "AccessDenied",
        403,
    )
    assert error_of(anon.list_objects_v2, Bucket="policy-read") == ("AccessDenied", 403)
    # Without s3:ListBucket a missing key is 403, as on S3 ...
    assert error_of(anon.get_object, Bucket="policy-read", Key="public/missing") == (
        "AccessDenied",
        403,
    )
    s3.put_bucket_policy(
        Bucket="policy-read",
        Policy=policy(
            "policy-read",
            allow("s3:GetObject", "arn:aws:s3:::policy-read/public/*"),
            allow("s3:ListBucket", "arn:aws:s3:::policy-read"),
        ),
    )
    # ... and with it 404.
    assert error_of(anon.get_object, Bucket="policy-read", Key="public/missing") == (
        "NoSuchKey",
        404,
    )
    keys = [o["Key"] for o in anon.list_objects_v2(Bucket="policy-read")["Contents"]]
    assert keys == ["private/b.txt", "public/a.txt"]


def test_an_explicit_deny_wins_over_an_allow(s3, anon):
    public_bucket(s3, "policy-deny")
    s3.put_object(Bucket="policy-deny", Key="secret/s", Body=b"s")
    s3.put_bucket_policy(
        Bucket="policy-deny",
        Policy=policy(
            "policy-deny",
            allow("s3:*", "arn:aws:s3:::policy-deny/*"),
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["s3:GetObject*", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::policy-deny/secret/*",
            },
        ),
    )
    assert anon.get_object(Bucket="policy-deny", Key="public/a.txt")["Body"].read() == b"hello"
    assert error_of(anon.get_object, Bucket="policy-deny", Key="secret/s") == ("AccessDenied", 403)
    anon.put_object(Bucket="policy-deny", Key="public/up", Body=b"anonymous")
    assert s3.get_object(Bucket="policy-deny", Key="public/up")["Body"].read() == b"anonymous"
    anon.delete_object(Bucket="policy-deny", Key="public/up")
    assert error_of(s3.head_object, Bucket="policy-deny", Key="public/up")[1] == 404
    # DeleteObjects decides each key: the denied one is an error of the result (200),
    # the allowed one is deleted.
    deleted = anon.delete_objects(
        Bucket="policy-deny",
        Delete={"Objects": [{"Key": "secret/s"}, {"Key": "public/a.txt"}]},
    )
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [d["Key"] for d in deleted["Deleted"]] == ["public/a.txt"]
    assert [(e["Key"], e["Code"], e["Message"]) for e in deleted["Errors"]] == [
        ("secret/s", "AccessDenied", "Access Denied")
    ]
    assert s3.get_object(Bucket="policy-deny", Key="secret/s")["Body"].read() == b"s"
    assert error_of(s3.head_object, Bucket="policy-deny", Key="public/a.txt")[1] == 404


def test_statements_with_conditions_eddy_does_not_evaluate_do_not_apply(s3, anon):
    public_bucket(s3, "policy-cond")
    s3.put_bucket_policy(
        Bucket="policy-cond",
        Policy=policy(
            "policy-cond",
            allow(
                "s3:GetObject",
                "arn:aws:s3:::policy-cond/*",
                Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            ),
        ),
    )
    assert error_of(anon.get_object, Bucket="policy-cond", Key="public/a.txt") == (
        "AccessDenied",
        403,
    )
    # aws:SecureTransport is understood: eddy serves plain HTTP.
    s3.put_bucket_policy(
        Bucket="policy-cond",
        Policy=policy(
            "policy-cond",
            allow("s3:GetObject", "arn:aws:s3:::policy-cond/*"),
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::policy-cond/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ),
    )
    assert error_of(anon.get_object, Bucket="policy-cond", Key="public/a.txt") == (
        "AccessDenied",
        403,
    )


def test_block_public_access_governs_public_policies(s3, anon):
    s3.create_bucket(Bucket="blocked")
    s3.put_object(Bucket="blocked", Key="k", Body=b"x")
    public = policy("blocked", allow("s3:GetObject", "arn:aws:s3:::blocked/*"))
    assert error_of(s3.put_bucket_policy, Bucket="blocked", Policy=public) == (
        "AccessDenied",
        403,
    )
    s3.put_public_access_block(
        Bucket="blocked",
        PublicAccessBlockConfiguration={**OPEN, "RestrictPublicBuckets": True},
    )
    s3.put_bucket_policy(Bucket="blocked", Policy=public)
    assert error_of(anon.get_object, Bucket="blocked", Key="k") == ("AccessDenied", 403)
    s3.put_public_access_block(Bucket="blocked", PublicAccessBlockConfiguration=OPEN)
    assert anon.get_object(Bucket="blocked", Key="k")["Body"].read() == b"x"
    s3.delete_bucket_policy(Bucket="blocked")
    assert error_of(anon.get_object, Bucket="blocked", Key="k") == ("AccessDenied", 403)


def test_public_read_acls_open_buckets_and_objects(s3, anon):
    public_bucket(s3, "acl-read", ownership="ObjectWriter")
    s3.put_object(Bucket="acl-read", Key="open", Body=b"open", ACL="public-read")
    assert anon.get_object(Bucket="acl-read", Key="open")["Body"].read() == b"open"
    grants = s3.get_object_acl(Bucket="acl-read", Key="open")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    # An object without a public grant stays closed; the bucket is not listable.
    assert error_of(anon.get_object, Bucket="acl-read", Key="public/a.txt") == (
        "AccessDenied",
        403,
    )
    assert error_of(anon.list_objects, Bucket="acl-read") == ("AccessDenied", 403)
    s3.put_bucket_acl(Bucket="acl-read", ACL="public-read")
    keys = [o["Key"] for o in anon.list_objects(Bucket="acl-read")["Contents"]]
    assert keys == ["open", "public/a.txt"]
    assert error_of(anon.get_object, Bucket="acl-read", Key="missing") == ("NoSuchKey", 404)
    s3.put_object_acl(Bucket="acl-read", Key="public/a.txt", ACL="public-read")
    assert anon.get_object(Bucket="acl-read", Key="public/a.txt")["Body"].read() == b"hello"
    # IgnorePublicAcls: the grants stay, and count for nothing.
    s3.put_public_access_block(
        Bucket="acl-read", PublicAccessBlockConfiguration={**OPEN, "IgnorePublicAcls": True}
    )
    assert error_of(anon.get_object, Bucket="acl-read", Key="open") == ("AccessDenied", 403)
    assert error_of(anon.list_objects, Bucket="acl-read") == ("AccessDenied", 403)


def test_an_unsigned_delete_objects_reports_each_denied_key(s3, anon):
    s3.create_bucket(Bucket="closed-delete")
    s3.put_object(Bucket="closed-delete", Key="a", Body=b"a")
    s3.put_object(Bucket="closed-delete", Key="b", Body=b"b")
    result = anon.delete_objects(
        Bucket="closed-delete", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True}
    )
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Deleted" not in result
    assert sorted((e["Key"], e["Code"]) for e in result["Errors"]) == [
        ("a", "AccessDenied"), ("b", "AccessDenied")
    ]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="closed-delete")["Contents"]] == ["a", "b"]


def form_upload(server, bucket, key, body, **fields):
    """A browser form upload without a policy or signature (an anonymous POST Object)."""
    return requests.post(
        f"{server.endpoint}/{bucket}",
        data={"key": key, **fields},
        files={"file": ("upload.txt", body)},
    )


def test_unsigned_form_uploads_need_public_write(server, s3):
    s3.create_bucket(Bucket="form-closed")
    refused = form_upload(server, "form-closed", "k", b"x")
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text
    assert error_of(s3.head_object, Bucket="form-closed", Key="k")[1] == 404

    public_bucket(s3, "form-policy")
    s3.put_bucket_policy(
        Bucket="form-policy",
        Policy=policy("form-policy", allow("s3:PutObject", "arn:aws:s3:::form-policy/drop/*")),
    )
    stored = form_upload(server, "form-policy", "drop/a.txt", b"from a form",
                         success_action_status="201")
    assert stored.status_code == 201, stored.text
    assert "<Key>drop/a.txt</Key>" in stored.text
    assert s3.get_object(Bucket="form-policy", Key="drop/a.txt")["Body"].read() == b"from a form"
    outside = form_upload(server, "form-policy", "elsewhere/a.txt", b"x")
    assert outside.status_code == 403, outside.text
    assert error_of(s3.head_object, Bucket="form-policy", Key="elsewhere/a.txt")[1] == 404

    public_bucket(s3, "form-acl", ownership="BucketOwnerPreferred")
    s3.put_bucket_acl(Bucket="form-acl", ACL="public-read-write")
    assert form_upload(server, "form-acl", "any", b"written").status_code == 204
    assert s3.get_object(Bucket="form-acl", Key="any")["Body"].read() == b"written"


def test_public_read_write_acl_lets_anyone_write_and_delete(s3, anon):
    public_bucket(s3, "acl-write", ownership="BucketOwnerPreferred")
    s3.put_bucket_acl(Bucket="acl-write", ACL="public-read-write")
    anon.put_object(Bucket="acl-write", Key="dropped", Body=b"from anyone")
    assert s3.get_object(Bucket="acl-write", Key="dropped")["Body"].read() == b"from anyone"
    anon.delete_object(Bucket="acl-write", Key="dropped")
    assert error_of(s3.head_object, Bucket="acl-write", Key="dropped")[1] == 404
    grants = s3.get_bucket_acl(Bucket="acl-write")["Grants"]
    permissions = sorted(g["Permission"] for g in grants if g["Grantee"].get("URI") == ALL_USERS)
    assert permissions == ["READ", "WRITE"]


def test_acls_are_refused_as_s3_refuses_them(s3):
    s3.create_bucket(Bucket="acl-refused")
    assert error_of(
        s3.put_object, Bucket="acl-refused", Key="k", Body=b"x", ACL="public-read"
    ) == ("AccessControlListNotSupported", 400)
    s3.put_object(Bucket="acl-refused", Key="k", Body=b"x", ACL="bucket-owner-full-control")
    assert error_of(
        s3.create_bucket, Bucket="acl-refused-2", ACL="public-read"
    ) == ("InvalidBucketAclWithObjectOwnership", 400)
    s3.create_bucket(Bucket="acl-writer", ObjectOwnership="ObjectWriter")
    # A new bucket blocks public ACLs.
    assert error_of(s3.put_bucket_acl, Bucket="acl-writer", ACL="public-read") == (
        "AccessDenied",
        403,
    )
    s3.put_bucket_acl(
        Bucket="acl-writer",
        GrantRead='id="111122223333"',
    )
    grants = s3.get_bucket_acl(Bucket="acl-writer")["Grants"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [("111122223333", "READ")]
    assert error_of(
        s3.put_bucket_acl, Bucket="acl-writer", ACL="private", GrantRead='id="1"'
    ) == ("InvalidRequest", 400)
    # ACLs cannot be disabled while the bucket's ACL grants others access.
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert error_of(
        s3.put_bucket_ownership_controls, Bucket="acl-writer", OwnershipControls=enforced
    ) == ("InvalidBucketAclWithObjectOwnership", 400)
    s3.put_bucket_acl(Bucket="acl-writer", ACL="private")
    s3.put_bucket_ownership_controls(Bucket="acl-writer", OwnershipControls=enforced)


def test_unsigned_browser_reads_of_a_public_object(server, s3):
    public_bucket(s3, "browser-read")
    s3.put_bucket_policy(
        Bucket="browser-read",
        Policy=policy("browser-read", allow("s3:GetObject", "arn:aws:s3:::browser-read/*")),
    )
    with urllib.request.urlopen(f"{server.endpoint}/browser-read/public/a.txt") as response:
        assert response.status == 200
        assert response.read() == b"hello"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{server.endpoint}/browser-read/")
    assert caught.value.code == 403
    assert b"<Code>AccessDenied</Code>" in caught.value.read()


def test_policies_and_acls_survive_a_restart(eddy):
    s3 = eddy.client("s3")
    public_bucket(s3, "durable", ownership="ObjectWriter")
    s3.put_object_acl(Bucket="durable", Key="public/a.txt", ACL="public-read")
    s3.put_object(Bucket="durable", Key="p", Body=b"policy")
    s3.put_bucket_policy(
        Bucket="durable", Policy=policy("durable", allow("s3:GetObject", "arn:aws:s3:::durable/p"))
    )
    eddy.restart()
    anon = eddy.client("s3", config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}))
    assert anon.get_object(Bucket="durable", Key="public/a.txt")["Body"].read() == b"hello"
    assert anon.get_object(Bucket="durable", Key="p")["Body"].read() == b"policy"


def test_a_bucket_created_as_eu_answers_eu(server):
    s3 = server.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="old-eu", CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert s3.get_bucket_location(Bucket="old-eu")["LocationConstraint"] == "EU"
    assert s3.head_bucket(Bucket="old-eu")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-bucket-region"
    ] == "eu-west-1"
    s3.create_bucket(
        Bucket="new-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert s3.get_bucket_location(Bucket="new-eu")["LocationConstraint"] == "eu-west-1"
