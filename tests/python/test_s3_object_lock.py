"""S3 Object Lock on objects with boto3: buckets created with Object Lock, a default
retention applied to new versions, retention and legal hold set and read per version,
the deletes and retention changes a lock refuses (GOVERNANCE yields to the bypass
header, COMPLIANCE and legal holds do not), S3's errors, and locks surviving a
restart."""

import datetime

import botocore.exceptions
import pytest


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def error_of(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call(**kwargs)
    response = refused.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], \
        response["Error"].get("Message", "")


@pytest.fixture
def s3(eddy):
    client = eddy.client("s3")
    client.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    return client


def test_a_bucket_without_object_lock_refuses_object_locks(s3):
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="k", Body=b"x")
    assert error_of(s3.get_object_lock_configuration, Bucket="plain")[:2] == \
        ("ObjectLockConfigurationNotFoundError", 404)
    for call, kwargs in [
        (s3.put_object_retention, dict(Retention={"Mode": "GOVERNANCE",
                                                  "RetainUntilDate": now() + datetime.timedelta(days=1)})),
        (s3.get_object_retention, {}),
        (s3.put_object_legal_hold, dict(LegalHold={"Status": "ON"})),
        (s3.get_object_legal_hold, {}),
    ]:
        assert error_of(call, Bucket="plain", Key="k", **kwargs) == \
            ("InvalidRequest", 400, "Bucket is missing Object Lock Configuration")
    assert error_of(s3.put_object, Bucket="plain", Key="k2", Body=b"x", ObjectLockMode="GOVERNANCE",
                    ObjectLockRetainUntilDate=now() + datetime.timedelta(days=1))[:2] == \
        ("InvalidRequest", 400)


def test_default_retention_applies_to_new_versions_and_governance_yields_to_bypass(s3):
    assert s3.get_bucket_versioning(Bucket="locked")["Status"] == "Enabled"
    s3.put_object_lock_configuration(Bucket="locked", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    version = s3.put_object(Bucket="locked", Key="k", Body=b"v1")["VersionId"]
    head = s3.head_object(Bucket="locked", Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert now() + datetime.timedelta(hours=23) < until < now() + datetime.timedelta(hours=25)
    assert "ObjectLockLegalHoldStatus" not in head
    got = s3.get_object(Bucket="locked", Key="k")
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    retention = s3.get_object_retention(Bucket="locked", Key="k", VersionId=version)["Retention"]
    assert (retention["Mode"], retention["RetainUntilDate"]) == ("GOVERNANCE", until)

    code = error_of(s3.delete_object, Bucket="locked", Key="k", VersionId=version)
    assert code == ("AccessDenied", 403, "Access Denied because object protected by object lock.")
    # A delete without a version id lays a delete marker: allowed.
    marker = s3.delete_object(Bucket="locked", Key="k")
    assert marker["DeleteMarker"] is True
    # Shortening a GOVERNANCE retention needs the bypass; extending it does not.
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": now() + datetime.timedelta(hours=1)}
    assert error_of(s3.put_object_retention, Bucket="locked", Key="k", VersionId=version,
                    Retention=shorter)[:2] == ("AccessDenied", 403)
    s3.put_object_retention(Bucket="locked", Key="k", VersionId=version,
                            Retention={"Mode": "GOVERNANCE",
                                       "RetainUntilDate": now() + datetime.timedelta(days=2)})
    s3.put_object_retention(Bucket="locked", Key="k", VersionId=version, Retention=shorter,
                            BypassGovernanceRetention=True)
    # DeleteObjects reports the refusal per key.
    answer = s3.delete_objects(Bucket="locked", Delete={"Objects": [{"Key": "k", "VersionId": version}]})
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("k", "AccessDenied")]
    s3.delete_object(Bucket="locked", Key="k", VersionId=version, BypassGovernanceRetention=True)
    versions = s3.list_object_versions(Bucket="locked").get("Versions", [])
    assert versions == []


def test_compliance_cannot_be_shortened_bypassed_or_removed(s3):
    until = (now() + datetime.timedelta(days=3)).replace(microsecond=0)
    version = s3.put_object(Bucket="locked", Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    head = s3.head_object(Bucket="locked", Key="c")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
    assert error_of(s3.delete_object, Bucket="locked", Key="c", VersionId=version,
                    BypassGovernanceRetention=True)[:2] == ("AccessDenied", 403)
    for retention in [{"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(days=1)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": until + datetime.timedelta(days=1)}]:
        assert error_of(s3.put_object_retention, Bucket="locked", Key="c", VersionId=version,
                        Retention=retention, BypassGovernanceRetention=True)[:2] == ("AccessDenied", 403)
    later = until + datetime.timedelta(days=1)
    s3.put_object_retention(Bucket="locked", Key="c", VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3.get_object_retention(Bucket="locked", Key="c")["Retention"]["RetainUntilDate"] == later


def test_legal_hold_refuses_deletes_until_released(s3):
    version = s3.put_object(Bucket="locked", Key="h", Body=b"x")["VersionId"]
    assert error_of(s3.get_object_legal_hold, Bucket="locked", Key="h")[:2] == \
        ("NoSuchObjectLockConfiguration", 404)
    assert error_of(s3.get_object_retention, Bucket="locked", Key="h")[:2] == \
        ("NoSuchObjectLockConfiguration", 404)
    s3.put_object_legal_hold(Bucket="locked", Key="h", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="locked", Key="h")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket="locked", Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    assert error_of(s3.delete_object, Bucket="locked", Key="h", VersionId=version,
                    BypassGovernanceRetention=True)[:2] == ("AccessDenied", 403)
    s3.put_object_legal_hold(Bucket="locked", Key="h", VersionId=version, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket="locked", Key="h", VersionId=version)
    # A legal hold set at upload.
    s3.put_object(Bucket="locked", Key="h2", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert s3.get_object_legal_hold(Bucket="locked", Key="h2")["LegalHold"]["Status"] == "ON"


def test_bad_lock_requests_get_s3_errors(s3):
    s3.put_object(Bucket="locked", Key="k", Body=b"x")
    past = now() - datetime.timedelta(days=1)
    assert error_of(s3.put_object_retention, Bucket="locked", Key="k",
                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": past})[:2] == \
        ("InvalidArgument", 400)
    assert error_of(s3.put_object, Bucket="locked", Key="k", Body=b"x",
                    ObjectLockMode="GOVERNANCE")[:2] == ("InvalidArgument", 400)
    assert error_of(s3.put_object, Bucket="locked", Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                    ObjectLockRetainUntilDate=past)[:2] == ("InvalidArgument", 400)
    assert error_of(s3.get_object_retention, Bucket="locked", Key="missing")[:2] == ("NoSuchKey", 404)


def test_locks_survive_a_restart_and_multipart_uploads_get_them(eddy, s3):
    until = (now() + datetime.timedelta(days=1)).replace(microsecond=0)
    upload = s3.create_multipart_upload(Bucket="locked", Key="mp", ObjectLockMode="GOVERNANCE",
                                        ObjectLockRetainUntilDate=until,
                                        ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(Bucket="locked", Key="mp", UploadId=upload["UploadId"], PartNumber=1,
                          Body=b"part")
    s3.complete_multipart_upload(Bucket="locked", Key="mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    eddy.restart()
    s3 = eddy.client("s3")
    head = s3.head_object(Bucket="locked", Key="mp")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"],
            head["ObjectLockLegalHoldStatus"]) == ("GOVERNANCE", until, "ON")
    assert error_of(s3.delete_object, Bucket="locked", Key="mp", VersionId=head["VersionId"],
                    BypassGovernanceRetention=True)[:2] == ("AccessDenied", 403)


def test_lifecycle_leaves_locked_versions_alone(eddy_factory):
    """With a lifecycle day of a second, noncurrent-version expiration removes the
    unlocked old version and keeps the one under a legal hold."""
    import time
    eddy = eddy_factory("lifecycle_day_seconds = 1\n")
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    held = s3.put_object(Bucket="locked", Key="held", Body=b"v1",
                         ObjectLockLegalHoldStatus="ON")["VersionId"]
    s3.put_object(Bucket="locked", Key="held", Body=b"v2")
    free = s3.put_object(Bucket="locked", Key="free", Body=b"v1")["VersionId"]
    s3.put_object(Bucket="locked", Key="free", Body=b"v2")
    s3.put_bucket_lifecycle_configuration(Bucket="locked", LifecycleConfiguration={"Rules": [
        {"ID": "noncurrent", "Status": "Enabled", "Filter": {},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})

    def version_ids():
        return {v["VersionId"] for v in s3.list_object_versions(Bucket="locked")["Versions"]}
    deadline = time.monotonic() + 15
    while free in version_ids() and time.monotonic() < deadline:
        time.sleep(0.2)
    ids = version_ids()
    assert free not in ids, "the sweeper removed the unlocked noncurrent version"
    assert held in ids, "the version under a legal hold stays"


def test_a_locked_put_needs_a_checksum_or_content_md5(eddy, s3):
    """S3 refuses a PutObject with Object Lock headers whose bytes carry no digest (here
    a client told to send checksums only when required)."""
    from botocore.config import Config
    bare = eddy.client("s3", config=Config(
        retries={"max_attempts": 1}, s3={"addressing_style": "path"},
        request_checksum_calculation="when_required"))
    until = now() + datetime.timedelta(days=1)
    code = error_of(bare.put_object, Bucket="locked", Key="k", Body=b"x",
                    ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)
    assert code[:2] == ("InvalidRequest", 400)
    # Without lock headers the same client uploads (S3 adds its default CRC64NVME).
    bare.put_object(Bucket="locked", Key="k", Body=b"x")
    # With a checksum, the locked upload goes through.
    s3.put_object(Bucket="locked", Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                  ObjectLockRetainUntilDate=until, ChecksumAlgorithm="SHA256")
