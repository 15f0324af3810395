"""Bucket configurations with boto3 against a real `eddy up`: what a new bucket answers
for each kind, round trips (put, get back exactly, delete), S3's validation errors,
durability across a kill, CORS preflights and headers, and the server-side encryption
objects report."""

import base64
import json
import signal
import subprocess

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import BINARY

ACCOUNT = "000000000000"


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response


def code_of(call, *args, **kwargs):
    return error_of(call, *args, **kwargs)["Error"]["Code"]


def test_a_new_bucket_answers_defaults_or_not_configured(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="fresh")
    b = {"Bucket": "fresh"}
    assert code_of(s3.get_bucket_cors, **b) == "NoSuchCORSConfiguration"
    assert code_of(s3.get_bucket_lifecycle_configuration, **b) == "NoSuchLifecycleConfiguration"
    assert code_of(s3.get_bucket_policy, **b) == "NoSuchBucketPolicy"
    assert code_of(s3.get_bucket_policy_status, **b) == "NoSuchBucketPolicy"
    assert code_of(s3.get_bucket_website, **b) == "NoSuchWebsiteConfiguration"
    assert code_of(s3.get_bucket_replication, **b) == "ReplicationConfigurationNotFoundError"
    assert code_of(s3.get_object_lock_configuration, **b) == "ObjectLockConfigurationNotFoundError"
    assert all(s3.get_public_access_block(**b)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(**b)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    encryption = s3.get_bucket_encryption(**b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert encryption["BucketKeyEnabled"] is False
    assert "Status" not in s3.get_bucket_accelerate_configuration(**b)
    assert s3.get_bucket_request_payment(**b)["Payer"] == "BucketOwner"
    assert "LoggingEnabled" not in s3.get_bucket_logging(**b)
    for get in (s3.get_bucket_analytics_configuration, s3.get_bucket_inventory_configuration,
                s3.get_bucket_metrics_configuration,
                s3.get_bucket_intelligent_tiering_configuration):
        response = error_of(get, Id="none", **b)
        assert response["Error"]["Code"] == "NoSuchConfiguration"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "AnalyticsConfigurationList" not in s3.list_bucket_analytics_configurations(**b)
    assert s3.list_bucket_metrics_configurations(**b)["IsTruncated"] is False
    # A missing bucket is NoSuchBucket for every kind.
    assert code_of(s3.get_bucket_cors, Bucket="missing") == "NoSuchBucket"
    assert code_of(s3.put_bucket_accelerate_configuration, Bucket="missing",
                   AccelerateConfiguration={"Status": "Enabled"}) == "NoSuchBucket"
    # No 501 and no ERROR-level dump of the error answers above.
    assert "ERROR" not in eddy.log(), eddy.log()


def test_public_access_block_defaults_and_removal(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="pab")
    assert s3.get_public_access_block(Bucket="pab")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    }
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::pab/*"}]})
    assert code_of(s3.put_bucket_policy, Bucket="pab", Policy=public) == "AccessDenied"
    s3.put_public_access_block(Bucket="pab", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True})
    assert s3.get_public_access_block(Bucket="pab")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": False,
        "BlockPublicPolicy": False, "RestrictPublicBuckets": False,
    }
    s3.put_bucket_policy(Bucket="pab", Policy=public)
    assert s3.get_bucket_policy_status(Bucket="pab")["PolicyStatus"]["IsPublic"] is True
    s3.delete_public_access_block(Bucket="pab")
    response = error_of(s3.get_public_access_block, Bucket="pab")
    assert response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_round_trips_of_every_kind(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="conf")
    s3.create_bucket(Bucket="conf-logs")
    s3.create_bucket(Bucket="conf-replica")
    b = {"Bucket": "conf"}

    cors = {"CORSRules": [{
        "ID": "web", "AllowedHeaders": ["*"], "AllowedMethods": ["PUT", "GET"],
        "AllowedOrigins": ["https://app.example"], "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000}]}
    s3.put_bucket_cors(CORSConfiguration=cors, **b)
    assert s3.get_bucket_cors(**b)["CORSRules"] == cors["CORSRules"]

    website = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"},
               "RoutingRules": [{"Condition": {"KeyPrefixEquals": "docs/"},
                                 "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}]}
    s3.put_bucket_website(WebsiteConfiguration=website, **b)
    got = s3.get_bucket_website(**b)
    assert {k: got[k] for k in website} == website

    logging = {"LoggingEnabled": {"TargetBucket": "conf-logs", "TargetPrefix": "logs/"}}
    s3.put_bucket_logging(BucketLoggingStatus=logging, **b)
    # Without a key format S3 reports the simple prefix.
    assert s3.get_bucket_logging(**b)["LoggingEnabled"] == dict(
        logging["LoggingEnabled"], TargetObjectKeyFormat={"SimplePrefix": {}})
    s3.put_bucket_logging(BucketLoggingStatus={}, **b)
    assert "LoggingEnabled" not in s3.get_bucket_logging(**b)

    s3.put_bucket_accelerate_configuration(AccelerateConfiguration={"Status": "Enabled"}, **b)
    assert s3.get_bucket_accelerate_configuration(**b)["Status"] == "Enabled"
    s3.put_bucket_request_payment(RequestPaymentConfiguration={"Payer": "Requester"}, **b)
    assert s3.get_bucket_request_payment(**b)["Payer"] == "Requester"

    for name in ("conf", "conf-replica"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    replication = {"Role": f"arn:aws:iam::{ACCOUNT}:role/replication", "Rules": [{
        "ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": "arn:aws:s3:::conf-replica", "StorageClass": "STANDARD"}}]}
    s3.put_bucket_replication(ReplicationConfiguration=replication, **b)
    assert s3.get_bucket_replication(**b)["ReplicationConfiguration"] == replication
    s3.delete_bucket_replication(**b)
    assert code_of(s3.get_bucket_replication, **b) == "ReplicationConfigurationNotFoundError"

    metrics = {"Id": "docs", "Filter": {"Prefix": "docs/"}}
    s3.put_bucket_metrics_configuration(Id="docs", MetricsConfiguration=metrics, **b)
    assert s3.get_bucket_metrics_configuration(Id="docs", **b)["MetricsConfiguration"] == metrics
    inventory = {
        "Id": "weekly", "IsEnabled": True, "IncludedObjectVersions": "Current",
        "Destination": {"S3BucketDestination": {
            "Bucket": "arn:aws:s3:::conf-logs", "Format": "CSV", "Prefix": "inventory"}},
        "Schedule": {"Frequency": "Weekly"}, "OptionalFields": ["Size", "ETag"]}
    s3.put_bucket_inventory_configuration(Id="weekly", InventoryConfiguration=inventory, **b)
    got = s3.get_bucket_inventory_configuration(Id="weekly", **b)["InventoryConfiguration"]
    assert got == inventory
    analytics = {"Id": "a1", "StorageClassAnalysis": {}}
    s3.put_bucket_analytics_configuration(Id="a1", AnalyticsConfiguration=analytics, **b)
    listed = s3.list_bucket_analytics_configurations(**b)["AnalyticsConfigurationList"]
    assert [c["Id"] for c in listed] == ["a1"]
    tiering = {"Id": "archive", "Status": "Enabled",
               "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}
    s3.put_bucket_intelligent_tiering_configuration(
        Id="archive", IntelligentTieringConfiguration=tiering, **b)
    got = s3.list_bucket_intelligent_tiering_configurations(**b)
    assert got["IntelligentTieringConfigurationList"] == [tiering]
    s3.delete_bucket_metrics_configuration(Id="docs", **b)
    assert code_of(s3.get_bucket_metrics_configuration, Id="docs", **b) == "NoSuchConfiguration"
    assert code_of(s3.delete_bucket_metrics_configuration, Id="docs", **b) == "NoSuchConfiguration"

    s3.delete_bucket_cors(**b)
    assert code_of(s3.get_bucket_cors, **b) == "NoSuchCORSConfiguration"
    s3.delete_bucket_website(**b)
    assert code_of(s3.get_bucket_website, **b) == "NoSuchWebsiteConfiguration"


def test_object_lock_configuration(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="locked")["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket="locked")["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"}
    config = {"ObjectLockEnabled": "Enabled",
              "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    s3.put_object_lock_configuration(Bucket="locked", ObjectLockConfiguration=config)
    got = s3.get_object_lock_configuration(Bucket="locked")["ObjectLockConfiguration"]
    assert got == config
    assert code_of(s3.put_bucket_versioning, Bucket="locked",
                   VersioningConfiguration={"Status": "Suspended"}) == "InvalidBucketState"
    s3.create_bucket(Bucket="unlocked")
    assert code_of(s3.put_object_lock_configuration, Bucket="unlocked",
                   ObjectLockConfiguration=config) == "InvalidBucketState"
    s3.put_object(Bucket="unlocked", Key="k", Body=b"x")
    response = error_of(s3.get_object_retention, Bucket="unlocked", Key="k")
    assert response["Error"]["Code"] == "InvalidRequest"
    assert response["Error"]["Message"] == "Bucket is missing Object Lock Configuration"
    assert code_of(s3.get_object_legal_hold, Bucket="unlocked", Key="k") == "InvalidRequest"
    bad = {"ObjectLockEnabled": "Enabled",
           "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}
    assert code_of(s3.put_object_lock_configuration, Bucket="locked",
                   ObjectLockConfiguration=bad) == "InvalidRetentionPeriod"


def test_validation_errors(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="strict")
    b = {"Bucket": "strict"}

    response = error_of(s3.put_bucket_cors, CORSConfiguration={"CORSRules": [{
        "AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]}, **b)
    assert response["Error"]["Code"] == "InvalidRequest"
    assert "Unsupported method is PATCH" in response["Error"]["Message"]
    assert code_of(s3.put_bucket_cors, CORSConfiguration={"CORSRules": [{
        "AllowedMethods": ["GET"], "AllowedOrigins": ["http://*.*.example"]}]}, **b) == "InvalidRequest"

    def lifecycle(*rules):
        return s3.put_bucket_lifecycle_configuration(
            LifecycleConfiguration={"Rules": list(rules)}, **b)
    rule = {"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}
    assert code_of(lifecycle, rule, rule) == "InvalidArgument"
    assert code_of(lifecycle, {"ID": "r", "Status": "Enabled", "Filter": {}}) == "InvalidRequest"
    assert code_of(lifecycle, dict(rule, Expiration={"Days": 0})) == "InvalidArgument"
    assert code_of(lifecycle, {**rule, "Status": "Sometimes"}) == "MalformedXML"
    assert code_of(lifecycle, {"ID": "t", "Status": "Enabled",
                               "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                               "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
                   ) == "InvalidRequest"
    assert code_of(s3.get_bucket_lifecycle_configuration, **b) == "NoSuchLifecycleConfiguration"
    # A rule without an ID gets one.
    lifecycle({"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}})
    (named,) = s3.get_bucket_lifecycle_configuration(**b)["Rules"]
    assert len(named["ID"]) == 48

    # A policy may name this bucket through wildcards.
    s3.put_bucket_policy(Policy=json.dumps({"Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::str?ct/*"]}]}), **b)

    for policy, message in [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        (json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                    "Resource": "arn:aws:s3:::other/*"}]}),
         "Policy has invalid resource"),
    ]:
        response = error_of(s3.put_bucket_policy, Policy=policy, **b)
        assert response["Error"]["Code"] == "MalformedPolicy"
        assert response["Error"]["Message"] == message

    assert code_of(s3.put_bucket_encryption, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256",
                                               "KMSMasterKeyID": "key"}}]}, **b) == "InvalidArgument"
    assert code_of(s3.put_bucket_ownership_controls, OwnershipControls={
        "Rules": [{"ObjectOwnership": "Nobody"}]}, **b) == "InvalidArgument"
    assert code_of(s3.put_bucket_website, WebsiteConfiguration={
        "ErrorDocument": {"Key": "e.html"}}, **b) == "InvalidArgument"
    assert code_of(s3.put_bucket_logging, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "nowhere", "TargetPrefix": ""}}, **b) == "InvalidTargetBucketForLogging"
    assert code_of(s3.put_bucket_replication, ReplicationConfiguration={
        "Role": "arn:aws:iam::000000000000:role/r", "Rules": [{
            "Status": "Enabled", "Prefix": "", "Destination": {"Bucket": "arn:aws:s3:::strict"}}]},
        **b) == "InvalidRequest"
    assert code_of(s3.put_bucket_accelerate_configuration,
                   AccelerateConfiguration={"Status": "On"}, **b) == "MalformedXML"
    assert code_of(s3.put_bucket_metrics_configuration, Id="one",
                   MetricsConfiguration={"Id": "two"}, **b) == "InvalidArgument"
    assert code_of(s3.put_bucket_intelligent_tiering_configuration, Id="t",
                   IntelligentTieringConfiguration={
                       "Id": "t", "Status": "Enabled",
                       "Tierings": [{"Days": 30, "AccessTier": "ARCHIVE_ACCESS"}]},
                   **b) == "InvalidArgument"


def test_configurations_survive_a_kill(tmp_path):
    """Configurations are committed (fsync'd with the group) before the answer: a
    SIGKILL right after the last answer loses none."""
    data = tmp_path / "data"
    (tmp_path / "eddy.toml").write_text("")

    def start():
        process = subprocess.Popen(
            [str(BINARY), "up", "--listen", "127.0.0.1:0", "--data-dir", str(data),
             "--config", str(tmp_path / "eddy.toml")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = process.stdout.readline()
        endpoint = next(w for w in line.split() if w.startswith("http://"))
        return process, endpoint

    def client(endpoint):
        return boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    process, endpoint = start()
    try:
        s3 = client(endpoint)
        s3.create_bucket(Bucket="durable")
        s3.put_bucket_cors(Bucket="durable", CORSConfiguration={"CORSRules": [{
            "AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
        s3.put_bucket_lifecycle_configuration(Bucket="durable", LifecycleConfiguration={
            "Rules": [{"ID": "x", "Status": "Enabled", "Filter": {},
                       "Expiration": {"Days": 3}}]})
        s3.delete_bucket_ownership_controls(Bucket="durable")
        s3.put_bucket_metrics_configuration(Bucket="durable", Id="m",
                                            MetricsConfiguration={"Id": "m"})
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    process, endpoint = start()
    try:
        s3 = client(endpoint)
        assert s3.get_bucket_cors(Bucket="durable")["CORSRules"][0]["AllowedOrigins"] == ["*"]
        rules = s3.get_bucket_lifecycle_configuration(Bucket="durable")["Rules"]
        assert rules[0]["Expiration"] == {"Days": 3}
        assert code_of(s3.get_bucket_ownership_controls,
                       Bucket="durable") == "OwnershipControlsNotFoundError"
        assert s3.get_bucket_metrics_configuration(
            Bucket="durable", Id="m")["MetricsConfiguration"] == {"Id": "m"}
        # Deleting the bucket takes its configurations with it.
        s3.delete_bucket(Bucket="durable")
        s3.create_bucket(Bucket="durable")
        assert code_of(s3.get_bucket_cors, Bucket="durable") == "NoSuchCORSConfiguration"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_cors_preflight_and_response_headers(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="web")
    url = f"{eddy.endpoint}/web/upload.txt"
    origin = "https://app.example"

    # No CORS configuration: preflights are refused.
    answer = requests.options(url, headers={
        "Origin": origin, "Access-Control-Request-Method": "PUT"})
    assert answer.status_code == 403
    assert "<Code>CORSResponse</Code>" in answer.text
    assert "CORS is not enabled for this bucket." in answer.text

    s3.put_bucket_cors(Bucket="web", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["PUT", "GET"], "AllowedOrigins": ["https://*.example"],
         "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"],
         "MaxAgeSeconds": 600},
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
    ]})
    answer = requests.options(url, headers={
        "Origin": origin, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, X-Amz-Date"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers["Access-Control-Allow-Methods"] == "PUT, GET"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-amz-request-id" in answer.headers

    # The wildcard rule: any origin may GET, and gets `*`.
    answer = requests.options(url, headers={
        "Origin": "http://other.test", "Access-Control-Request-Method": "GET"})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"

    # No rule matches: S3's refusal.
    for headers in [
        {"Origin": "http://other.test", "Access-Control-Request-Method": "PUT"},
        {"Origin": origin, "Access-Control-Request-Method": "DELETE"},
        {"Origin": origin, "Access-Control-Request-Method": "PUT",
         "Access-Control-Request-Headers": "x-custom"},
    ]:
        answer = requests.options(url, headers=headers)
        assert answer.status_code == 403
        assert "This CORS request is not allowed." in answer.text
    answer = requests.options(url, headers={"Access-Control-Request-Method": "PUT"})
    assert answer.status_code == 400
    assert "Origin request header needed" in answer.text

    # The upload a page makes: a presigned PUT from the other origin.
    presigned = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "web", "Key": "upload.txt"}, ExpiresIn=300)
    answer = requests.put(presigned, data=b"from the browser", headers={"Origin": origin})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Origin" in answer.headers["Vary"]
    # A request whose origin no rule allows gets no CORS headers (and still works).
    answer = requests.put(presigned, data=b"again", headers={"Origin": "http://evil.test"})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert s3.get_object(Bucket="web", Key="upload.txt")["Body"].read() == b"again"


def test_objects_report_server_side_encryption(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="enc")
    put = s3.put_object(Bucket="enc", Key="a", Body=b"a")
    assert put["ServerSideEncryption"] == "AES256"
    assert "SSEKMSKeyId" not in put
    assert s3.head_object(Bucket="enc", Key="a")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="enc", Key="a")["ServerSideEncryption"] == "AES256"
    copy = s3.copy_object(Bucket="enc", Key="b", CopySource={"Bucket": "enc", "Key": "a"})
    assert copy["ServerSideEncryption"] == "AES256"

    # A request may name KMS; the object keeps reporting it.
    put = s3.put_object(Bucket="enc", Key="k", Body=b"k", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId="arn:aws:kms:us-east-1:000000000000:key/abc")
    assert put["ServerSideEncryption"] == "aws:kms"
    head = s3.head_object(Bucket="enc", Key="k")
    assert head["SSEKMSKeyId"] == "arn:aws:kms:us-east-1:000000000000:key/abc"
    assert code_of(s3.put_object, Bucket="enc", Key="x", Body=b"",
                   ServerSideEncryption="rot13") == "InvalidArgument"
    # A read does not name an encryption: S3 refuses the header.
    s3.meta.events.register(
        "before-call.s3.HeadObject",
        lambda params, **_: params["headers"].update({"x-amz-server-side-encryption": "aws:kms"}))
    response = error_of(s3.head_object, Bucket="enc", Key="k")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s3 = eddy.client("s3")

    # The bucket's default applies to new objects, copies and multipart uploads.
    s3.put_bucket_encryption(Bucket="enc", ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
        "BucketKeyEnabled": True}]})
    put = s3.put_object(Bucket="enc", Key="c", Body=b"c")
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["BucketKeyEnabled"] is True
    copy = s3.copy_object(Bucket="enc", Key="d", CopySource={"Bucket": "enc", "Key": "a"})
    assert copy["ServerSideEncryption"] == "aws:kms"
    upload = s3.create_multipart_upload(Bucket="enc", Key="m")
    assert upload["ServerSideEncryption"] == "aws:kms"
    part = s3.upload_part(Bucket="enc", Key="m", UploadId=upload["UploadId"], PartNumber=1,
                          Body=b"m")
    assert part["ServerSideEncryption"] == "aws:kms"
    done = s3.complete_multipart_upload(
        Bucket="enc", Key="m", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket="enc", Key="m")["ServerSideEncryption"] == "aws:kms"
    # Objects written before keep what they reported.
    assert s3.head_object(Bucket="enc", Key="a")["ServerSideEncryption"] == "AES256"
    s3.delete_bucket_encryption(Bucket="enc")
    assert s3.put_object(Bucket="enc", Key="e", Body=b"e")["ServerSideEncryption"] == "AES256"


def crc64nvme(data):
    """CRC-64/NVME, bit by bit (the catalogue's check: "123456789" gives
    0xAE8B14860A799888)."""
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x9A6C9329AC4BC9B5 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def test_default_crc64nvme_checksum_and_checksum_type(eddy):
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888
    """S3's default data integrity: an upload without a checksum (a presigned PUT from
    a browser, or an SDK told to send none) gets a full-object CRC64NVME."""
    s3 = eddy.client("s3", config=Config(
        retries={"max_attempts": 1}, s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required"))
    s3.create_bucket(Bucket="sums")
    body = b"The quick brown fox jumps over the lazy dog"
    expected = base64.b64encode(crc64nvme(body).to_bytes(8, "big")).decode()
    put = s3.put_object(Bucket="sums", Key="plain", Body=body)
    assert put["ChecksumCRC64NVME"] == expected
    assert put["ChecksumType"] == "FULL_OBJECT"
    presigned = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "sums", "Key": "browser"}, ExpiresIn=60)
    answer = requests.put(presigned, data=body)
    assert answer.headers["x-amz-checksum-crc64nvme"] == expected
    assert answer.headers["x-amz-checksum-type"] == "FULL_OBJECT"

    head = s3.head_object(Bucket="sums", Key="browser", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected
    assert head["ChecksumType"] == "FULL_OBJECT"
    assert "ChecksumType" not in s3.head_object(Bucket="sums", Key="browser")
    attributes = s3.get_object_attributes(Bucket="sums", Key="plain",
                                          ObjectAttributes=["Checksum"])
    assert attributes["Checksum"] == {"ChecksumCRC64NVME": expected,
                                      "ChecksumType": "FULL_OBJECT"}
    copy = s3.copy_object(Bucket="sums", Key="copy", CopySource={"Bucket": "sums", "Key": "plain"})
    assert copy["CopyObjectResult"]["ChecksumCRC64NVME"] == expected
    assert copy["CopyObjectResult"]["ChecksumType"] == "FULL_OBJECT"
    listed = s3.list_objects_v2(Bucket="sums")["Contents"]
    assert {o["Key"]: (o["ChecksumAlgorithm"], o["ChecksumType"]) for o in listed} == {
        key: (["CRC64NVME"], "FULL_OBJECT") for key in ("browser", "copy", "plain")}
    versions = s3.list_object_versions(Bucket="sums")["Versions"]
    assert all(v["ChecksumAlgorithm"] == ["CRC64NVME"] for v in versions)

    # A checksum the client sends is the one kept (no CRC64NVME added).
    put = s3.put_object(Bucket="sums", Key="sha", Body=body, ChecksumAlgorithm="SHA256")
    assert "ChecksumCRC64NVME" not in put
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket="sums", Key="sha", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" in head and "ChecksumCRC64NVME" not in head


def wait_for(condition, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_lifecycle_rules_are_applied(eddy_factory):
    """With `lifecycle_day_seconds = 1` a lifecycle day lasts a second: expiration,
    noncurrent-version expiration, expired delete markers and aborts of old multipart
    uploads happen within seconds, raising LifecycleExpiration events."""
    eddy = eddy_factory("lifecycle_day_seconds = 1\n")
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    queue_url = sqs.create_queue(QueueName="lifecycle-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    s3.create_bucket(Bucket="plain")
    s3.put_bucket_notification_configuration(Bucket="plain", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn,
                                 "Events": ["s3:LifecycleExpiration:*"]}]})
    s3.put_object(Bucket="plain", Key="logs/old.txt", Body=b"old")
    s3.put_object(Bucket="plain", Key="keep/this.txt", Body=b"kept")
    upload = s3.create_multipart_upload(Bucket="plain", Key="logs/big.bin")["UploadId"]
    s3.put_bucket_lifecycle_configuration(Bucket="plain", LifecycleConfiguration={"Rules": [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
         "Expiration": {"Days": 2}},
        {"ID": "uploads", "Status": "Enabled", "Filter": {},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}},
    ]})
    # Two lifecycle days (two seconds) later the log is gone, nothing else.
    assert wait_for(lambda: "Contents" not in s3.list_objects_v2(Bucket="plain", Prefix="logs/"))
    assert s3.get_object(Bucket="plain", Key="keep/this.txt")["Body"].read() == b"kept"
    assert wait_for(lambda: "Uploads" not in s3.list_multipart_uploads(Bucket="plain"))
    assert code_of(s3.list_parts, Bucket="plain", Key="logs/big.bin",
                   UploadId=upload) == "NoSuchUpload"
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
    records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("LifecycleExpiration:Delete", "logs/old.txt")]

    s3.create_bucket(Bucket="history")
    s3.put_bucket_versioning(Bucket="history", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="history", Key="doc", Body=b"v1")["VersionId"]
    second = s3.put_object(Bucket="history", Key="doc", Body=b"v2")["VersionId"]
    s3.put_object(Bucket="history", Key="gone", Body=b"x")
    s3.delete_object(Bucket="history", Key="gone")
    s3.put_bucket_lifecycle_configuration(Bucket="history", LifecycleConfiguration={"Rules": [
        {"ID": "noncurrent", "Status": "Enabled", "Filter": {},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Status": "Enabled", "Filter": {},
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
    ]})

    def versions():
        listed = s3.list_object_versions(Bucket="history")
        return ([(v["Key"], v["VersionId"]) for v in listed.get("Versions", [])],
                [d["Key"] for d in listed.get("DeleteMarkers", [])])
    # The noncurrent versions go (doc's v1 and gone's object), then the delete marker
    # left alone on `gone`; the current version of doc stays.
    assert wait_for(lambda: versions() == ([("doc", second)], [])), versions()
    assert first != second
    assert s3.get_object(Bucket="history", Key="doc")["Body"].read() == b"v2"


def test_objects_a_rule_expires_carry_x_amz_expiration(eddy):
    """PUT, GET and HEAD of an object an enabled expiration rule covers tell when it
    expires (its creation plus the rule's days, rounded up to midnight UTC) and by
    which rule; the earliest rule wins, a date rule counts too."""
    import datetime
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="expiring-objects")
    s3.put_bucket_lifecycle_configuration(Bucket="expiring-objects", LifecycleConfiguration={
        "Rules": [
            {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "Expiration": {"Days": 3}},
            {"ID": "soon", "Status": "Enabled", "Filter": {"Prefix": "logs/soon"},
             "Expiration": {"Days": 1}},
            {"ID": "dated", "Status": "Enabled", "Filter": {"Prefix": "dated/"},
             "Expiration": {"Date": datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc)}},
            {"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}},
        ]})
    put = s3.put_object(Bucket="expiring-objects", Key="logs/a.txt", Body=b"a")
    header = put["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"]
    created = s3.head_object(Bucket="expiring-objects", Key="logs/a.txt")["LastModified"]
    midnight = (created + datetime.timedelta(days=4)).replace(hour=0, minute=0, second=0)
    expected = midnight.strftime('expiry-date="%a, %d %b %Y %H:%M:%S GMT", rule-id="logs"')
    assert header == expected
    assert put["Expiration"] == header
    assert s3.head_object(Bucket="expiring-objects", Key="logs/a.txt")["Expiration"] == header
    assert s3.get_object(Bucket="expiring-objects", Key="logs/a.txt")["Expiration"] == header
    soon = s3.put_object(Bucket="expiring-objects", Key="logs/soon.txt", Body=b"s")
    assert soon["Expiration"].endswith('rule-id="soon"')
    dated = s3.put_object(Bucket="expiring-objects", Key="dated/d", Body=b"d")
    assert dated["Expiration"] == 'expiry-date="Thu, 01 Jan 2099 00:00:00 GMT", rule-id="dated"'
    other = s3.put_object(Bucket="expiring-objects", Key="kept", Body=b"k")
    assert "Expiration" not in other
    assert "Expiration" not in s3.head_object(Bucket="expiring-objects", Key="kept")
