"""The S3 calls `terraform/storage.tf` (and the bucket notification of `queues.tf`)
make through the Terraform AWS provider, with boto3 against a real `eddy up`: create
each resource, read everything back as the provider reads it on refresh, then destroy
in the provider's order. Every call must succeed, or answer the specific "not
configured" error the provider takes as "none" (never 501).

The calls follow the provider's resource code (hashicorp/terraform-provider-aws v5):
`aws_s3_bucket` reads a dozen sub-resources on every refresh.
"""

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"

# The error codes the provider's aws_s3_bucket read takes as "not configured".
NOT_CONFIGURED = {
    "get_bucket_policy": "NoSuchBucketPolicy",
    "get_bucket_cors": "NoSuchCORSConfiguration",
    "get_bucket_website": "NoSuchWebsiteConfiguration",
    "get_bucket_lifecycle_configuration": "NoSuchLifecycleConfiguration",
    "get_bucket_replication": "ReplicationConfigurationNotFoundError",
    "get_object_lock_configuration": "ObjectLockConfigurationNotFoundError",
    "get_bucket_tagging": "NoSuchTagSet",
}


def tls_only_policy(bucket):
    """What data.aws_iam_policy_document.bucket_tls_only renders."""
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"{arn}/*", arn],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def lifecycle_rules(versioning, expiration_days):
    """The rules aws_s3_bucket_lifecycle_configuration.this sends (`filter {}` is sent
    as an empty Filter, which the provider writes with an empty Prefix)."""
    rules = [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        {
            "ID": "expire-noncurrent-versions",
            "Status": "Enabled" if versioning else "Disabled",
            "Filter": {},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        },
    ]
    if expiration_days is not None:
        rules.append({
            "ID": "expire-objects",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": expiration_days},
        })
    return rules


def read_bucket_as_provider(s3, bucket):
    """aws_s3_bucket's read (resourceBucketRead): every sub-resource, each either
    answered or refused with its "not configured" code. Returns the answers."""
    answers = {"head": s3.head_bucket(Bucket=bucket)}
    assert answers["head"]["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    calls = [
        "get_bucket_policy", "get_bucket_acl", "get_bucket_cors", "get_bucket_website",
        "get_bucket_versioning", "get_bucket_accelerate_configuration",
        "get_bucket_request_payment", "get_bucket_logging",
        "get_bucket_lifecycle_configuration", "get_bucket_replication",
        "get_bucket_encryption", "get_object_lock_configuration", "get_bucket_tagging",
        "get_bucket_location",
    ]
    for call in calls:
        try:
            answers[call] = getattr(s3, call)(Bucket=bucket)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            assert code == NOT_CONFIGURED.get(call), f"{call}: {code} {error}"
            answers[call] = None
    return answers


@pytest.mark.parametrize("sse_algorithm", ["AES256", "aws:kms"])
def test_storage_tf_apply_refresh_destroy(eddy, sse_algorithm):
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    buckets = {"source": ("tf-source", None), "destination": ("tf-destination", 90)}

    # aws_s3_bucket.this: create, then the provider's read.
    for name, _ in buckets.values():
        s3.create_bucket(Bucket=name)
        s3.head_bucket(Bucket=name)
        first = read_bucket_as_provider(s3, name)
        assert first["get_bucket_policy"] is None
        assert first["get_bucket_lifecycle_configuration"] is None
        rules = first["get_bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert first["get_bucket_accelerate_configuration"].get("Status") is None
        assert first["get_bucket_request_payment"]["Payer"] == "BucketOwner"
        assert "LoggingEnabled" not in first["get_bucket_logging"]

    for name, expiration_days in buckets.values():
        # aws_s3_bucket_public_access_block.this
        block = {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        }
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
        assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == block

        # aws_s3_bucket_ownership_controls.this
        s3.put_bucket_ownership_controls(
            Bucket=name,
            OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        )
        got = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
        assert got == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}

        # aws_s3_bucket_server_side_encryption_configuration.this
        rule = {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": sse_algorithm},
            "BucketKeyEnabled": sse_algorithm == "aws:kms",
        }
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]}
        )
        got = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
        assert got["Rules"] == [rule]

        # aws_s3_bucket_versioning.this
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

        # aws_s3_bucket_lifecycle_configuration.this (after versioning)
        wanted = lifecycle_rules(True, expiration_days)
        put = s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": wanted},
            TransitionDefaultMinimumObjectSize="all_storage_classes_128K",
        )
        assert put["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
        got = s3.get_bucket_lifecycle_configuration(Bucket=name)
        assert got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
        assert [r["ID"] for r in got["Rules"]] == [r["ID"] for r in wanted]
        by_id = {r["ID"]: r for r in got["Rules"]}
        assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
            "DaysAfterInitiation": 7}
        assert by_id["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": 30}
        if expiration_days:
            assert by_id["expire-objects"]["Expiration"] == {"Days": expiration_days}

        # aws_s3_bucket_policy.this (after the public access block)
        policy = tls_only_policy(name)
        s3.put_bucket_policy(Bucket=name, Policy=policy)
        assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == json.loads(policy)

    # aws_s3_bucket_notification.source (queues.tf), after the queue and its policy.
    queue_url = sqs.create_queue(QueueName="tf-main")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    notification = {"QueueConfigurations": [{
        "Id": "tf-main-object-created", "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
    }]}
    s3.put_bucket_notification_configuration(
        Bucket="tf-source", NotificationConfiguration=notification)
    got = s3.get_bucket_notification_configuration(Bucket="tf-source")
    assert got["QueueConfigurations"][0]["Id"] == "tf-main-object-created"

    # terraform plan/refresh: every resource read again, now configured.
    for name, _ in buckets.values():
        answers = read_bucket_as_provider(s3, name)
        assert answers["get_bucket_policy"] is not None
        assert answers["get_bucket_lifecycle_configuration"] is not None
        assert answers["get_bucket_versioning"]["Status"] == "Enabled"
        got = answers["get_bucket_encryption"]["ServerSideEncryptionConfiguration"]
        assert got["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == sse_algorithm
        s3.get_public_access_block(Bucket=name)
        s3.get_bucket_ownership_controls(Bucket=name)

    # The buckets in use: an upload reports the bucket's encryption.
    put = s3.put_object(Bucket="tf-source", Key="in/a.txt", Body=b"hello")
    assert put["ServerSideEncryption"] == sse_algorithm
    if sse_algorithm == "aws:kms":
        assert put["BucketKeyEnabled"] is True
        assert put["SSEKMSKeyId"].startswith("arn:aws:kms:")
    assert s3.head_object(Bucket="tf-source", Key="in/a.txt")["ServerSideEncryption"] == sse_algorithm

    # terraform destroy, in reverse dependency order.
    s3.put_bucket_notification_configuration(
        Bucket="tf-source", NotificationConfiguration={})
    for name, _ in buckets.values():
        s3.delete_bucket_policy(Bucket=name)
        s3.delete_bucket_lifecycle(Bucket=name)
        expect_error(s3.get_bucket_lifecycle_configuration, name, "NoSuchLifecycleConfiguration")
        # Deleting aws_s3_bucket_versioning with versioning on suspends it.
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        s3.delete_bucket_encryption(Bucket=name)
        s3.delete_bucket_ownership_controls(Bucket=name)
        expect_error(s3.get_bucket_ownership_controls, name, "OwnershipControlsNotFoundError")
        s3.delete_public_access_block(Bucket=name)
        expect_error(s3.get_public_access_block, name, "NoSuchPublicAccessBlockConfiguration")
        # force_destroy: every version and delete marker, then the bucket.
        versions = s3.list_object_versions(Bucket=name)
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
        ]
        if objects:
            deleted = s3.delete_objects(
                Bucket=name, Delete={"Objects": objects, "Quiet": True},
                BypassGovernanceRetention=True)
            assert not deleted.get("Errors")
        s3.delete_bucket(Bucket=name)
        expect_error(s3.head_bucket, name, "404")


def expect_error(call, bucket, code):
    with pytest.raises(ClientError) as caught:
        call(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == code, caught.value.response
