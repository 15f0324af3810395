"""IAM and STS with boto3 and the AWS CLI: roles with trust policies and tags, managed
and inline policies, IAM's errors, GetCallerIdentity, and AssumeRole whose temporary
credentials eddy then accepts (S3 and SQS with boto3). Roles and issued credentials
survive a restart. Nothing is enforced: IAM in eddy is a control plane.

The fixture starts `target/debug/eddy up` (build it first with `cargo build -p eddy-cli`).
"""

import json
import os
import re
import subprocess

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
ASSUMABLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                   "Resource": "arn:aws:s3:::bucket/*"}],
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response


def test_cli_role_round_trip(eddy):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)

    def aws(*args, ok=True):
        done = subprocess.run(["aws", "--endpoint-url", eddy.endpoint, "--output", "json",
                               "iam", *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        return json.loads(done.stdout) if ok and done.stdout.strip() else done.stderr

    created = aws("create-role", "--role-name", "lambda-role", "--path", "/service-role/",
                  "--assume-role-policy-document", json.dumps(TRUST),
                  "--description", "for the copy handler")["Role"]
    assert created["Arn"] == "arn:aws:iam::000000000000:role/service-role/lambda-role"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", created["RoleId"])
    assert created["AssumeRolePolicyDocument"] == TRUST
    got = aws("get-role", "--role-name", "lambda-role")["Role"]
    assert got["RoleId"] == created["RoleId"]
    assert got["Description"] == "for the copy handler"
    assert got["MaxSessionDuration"] == 3600
    aws("attach-role-policy", "--role-name", "lambda-role", "--policy-arn", BASIC)
    attached = aws("list-attached-role-policies", "--role-name", "lambda-role")
    assert attached["AttachedPolicies"] == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    refused = aws("delete-role", "--role-name", "lambda-role", ok=False)
    assert "DeleteConflict" in refused
    aws("detach-role-policy", "--role-name", "lambda-role", "--policy-arn", BASIC)
    aws("delete-role", "--role-name", "lambda-role")
    gone = aws("get-role", "--role-name", "lambda-role", ok=False)
    assert "NoSuchEntity" in gone and "The role with name lambda-role cannot be found." in gone


def test_role_errors_tags_and_inline_policies(eddy):
    iam = eddy.client("iam")
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument=json.dumps(TRUST),
                    Tags=[{"Key": "team", "Value": "data"}], MaxSessionDuration=7200)
    again = error_of(iam.create_role, RoleName="R1", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert again["Error"]["Code"] == "EntityAlreadyExists"
    assert again["Error"]["Message"] == "Role with name R1 already exists."
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 409
    missing = error_of(iam.get_role, RoleName="nope")
    assert missing["Error"]["Code"] == "NoSuchEntity"
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 404
    malformed = error_of(iam.create_role, RoleName="r2", AssumeRolePolicyDocument="{not json")
    assert malformed["Error"]["Code"] == "MalformedPolicyDocument"
    no_principal = error_of(iam.create_role, RoleName="r2",
                            AssumeRolePolicyDocument=json.dumps(PERMISSIONS))
    assert no_principal["Error"]["Code"] == "MalformedPolicyDocument"
    bad_name = error_of(iam.create_role, RoleName="bad/name",
                        AssumeRolePolicyDocument=json.dumps(TRUST))
    assert bad_name["Error"]["Code"] == "ValidationError"
    too_long = error_of(iam.create_role, RoleName="r3", MaxSessionDuration=50000,
                        AssumeRolePolicyDocument=json.dumps(TRUST))
    assert too_long["Error"]["Code"] == "ValidationError"

    iam.tag_role(RoleName="r1", Tags=[{"Key": "env", "Value": "dev"},
                                      {"Key": "team", "Value": "ops"}])
    iam.untag_role(RoleName="r1", TagKeys=["env"])
    assert iam.list_role_tags(RoleName="r1")["Tags"] == [{"Key": "team", "Value": "ops"}]
    iam.update_assume_role_policy(RoleName="r1", PolicyDocument=json.dumps(ASSUMABLE))
    role = iam.get_role(RoleName="r1")["Role"]
    assert role["AssumeRolePolicyDocument"] == ASSUMABLE
    assert role["MaxSessionDuration"] == 7200

    iam.put_role_policy(RoleName="r1", PolicyName="inline", PolicyDocument=json.dumps(PERMISSIONS))
    assert iam.list_role_policies(RoleName="r1")["PolicyNames"] == ["inline"]
    got = iam.get_role_policy(RoleName="r1", PolicyName="inline")
    assert got["PolicyDocument"] == PERMISSIONS
    with_principal = error_of(iam.put_role_policy, RoleName="r1", PolicyName="p",
                              PolicyDocument=json.dumps(TRUST))
    assert with_principal["Error"]["Code"] == "MalformedPolicyDocument"
    conflict = error_of(iam.delete_role, RoleName="r1")
    assert conflict["Error"]["Code"] == "DeleteConflict"
    iam.delete_role_policy(RoleName="r1", PolicyName="inline")
    missing_inline = error_of(iam.get_role_policy, RoleName="r1", PolicyName="inline")
    assert missing_inline["Error"]["Code"] == "NoSuchEntity"
    names = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert names == ["r1"]
    iam.delete_role(RoleName="r1")
    assert iam.list_roles()["Roles"] == []


def test_managed_policies_and_versions(eddy):
    iam = eddy.client("iam")
    policy = iam.create_policy(PolicyName="copy", Path="/app/",
                               PolicyDocument=json.dumps(PERMISSIONS))["Policy"]
    arn = policy["Arn"]
    assert arn == "arn:aws:iam::000000000000:policy/app/copy"
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", policy["PolicyId"])
    assert policy["DefaultVersionId"] == "v1"
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="worker", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    attached_conflict = error_of(iam.delete_policy, PolicyArn=arn)
    assert attached_conflict["Error"]["Code"] == "DeleteConflict"
    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == PERMISSIONS and v1["IsDefaultVersion"] is True
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(PERMISSIONS),
                                   SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is True
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2"]
    default_conflict = error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v2")
    assert default_conflict["Error"]["Code"] == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    unknown = error_of(iam.attach_role_policy, RoleName="worker",
                       PolicyArn="arn:aws:iam::000000000000:policy/none")
    assert unknown["Error"]["Code"] == "NoSuchEntity"
    listed = iam.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in listed] == ["copy"]
    iam.detach_role_policy(RoleName="worker", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    assert error_of(iam.get_policy, PolicyArn=arn)["Error"]["Code"] == "NoSuchEntity"


def test_caller_identity_and_assumed_role_credentials(eddy):
    sts = eddy.client("sts")
    me = sts.get_caller_identity()
    assert me["Account"] == "000000000000"
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", me["UserId"])
    assert me["UserId"] == sts.get_caller_identity()["UserId"]
    assert me["Arn"] == "arn:aws:iam::000000000000:user/test"

    iam = eddy.client("iam")
    role_arn = iam.create_role(RoleName="deployer",
                               AssumeRolePolicyDocument=json.dumps(ASSUMABLE))["Role"]["Arn"]
    denied = error_of(sts.assume_role, RoleArn="arn:aws:iam::000000000000:role/none",
                      RoleSessionName="s1")
    assert denied["Error"]["Code"] == "AccessDenied"
    too_long = error_of(sts.assume_role, RoleArn=role_arn, RoleSessionName="s1",
                        DurationSeconds=7200)
    assert too_long["Error"]["Code"] == "ValidationError"
    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="deploy-1")
    creds = assumed["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"])
    assert assumed["AssumedRoleUser"]["Arn"] == \
        "arn:aws:sts::000000000000:assumed-role/deployer/deploy-1"
    temporary = dict(aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["SessionToken"])
    as_role = eddy.client("sts", **temporary).get_caller_identity()
    assert as_role["Arn"] == assumed["AssumedRoleUser"]["Arn"]
    assert as_role["UserId"] == assumed["AssumedRoleUser"]["AssumedRoleId"]

    s3 = eddy.client("s3", **temporary)
    s3.create_bucket(Bucket="assumed")
    s3.put_object(Bucket="assumed", Key="k", Body=b"from the role")
    assert s3.get_object(Bucket="assumed", Key="k")["Body"].read() == b"from the role"
    sqs = eddy.client("sqs", **temporary)
    assert sqs.create_queue(QueueName="assumed")["QueueUrl"].endswith("/assumed")

    wrong_token = dict(temporary, aws_session_token="not-the-token")
    refused = error_of(eddy.client("s3", **wrong_token).list_buckets)
    assert refused["Error"]["Code"] == "InvalidToken"
    refused = error_of(eddy.client("sts", **wrong_token).get_caller_identity)
    assert refused["Error"]["Code"] == "InvalidClientTokenId"

    eddy.restart()
    s3 = eddy.client("s3", **temporary)
    assert s3.get_object(Bucket="assumed", Key="k")["Body"].read() == b"from the role"
    assert eddy.client("iam").get_role(RoleName="deployer")["Role"]["Arn"] == role_arn
