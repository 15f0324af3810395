"""eddy in a pytest suite, as a user would set it up: one `eddy up --ephemeral` for the
module (endpoint and credentials from its --ready-file), `eddy reset` before each test,
`eddy wait --idle` instead of sleeps."""

import json
import os
import pathlib
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("EDDY_BINARY", ROOT / "target" / "debug" / "eddy"))


class EphemeralEddy:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        work = pathlib.Path(self.tmp.name)
        self.ready_file = work / "ready.json"
        self.log_file = open(work / "eddy.log", "w")
        # An empty config file: the defaults, whatever ./eddy.toml says.
        (work / "eddy.toml").write_text("")
        self.process = subprocess.Popen(
            [str(BINARY), "up", "--ephemeral", "--listen", "127.0.0.1:0",
             "--config", str(work / "eddy.toml"), "--ready-file", str(self.ready_file)],
            stdout=subprocess.PIPE, stderr=self.log_file, text=True,
        )
        self.ready_line = self.process.stdout.readline()
        if not self.ready_line.startswith("eddy ready on "):
            self.stop()
            raise RuntimeError(f"eddy did not start: {self.ready_line!r}")
        self.ready = json.loads(self.ready_file.read_text())
        self.clients = {}

    def client(self, service, **credentials):
        """A client with the ready file's credentials (made once), or with `credentials`."""
        if credentials:
            return self._make_client(service, **credentials)
        # Made once: a boto3 client costs more to make than a short test to run.
        if service not in self.clients:
            self.clients[service] = self._make_client(
                service,
                aws_access_key_id=self.ready["access_key_id"],
                aws_secret_access_key=self.ready["secret_access_key"],
            )
        return self.clients[service]

    def _make_client(self, service, **credentials):
        return boto3.client(
            service,
            endpoint_url=self.ready["endpoint"],
            region_name=self.ready["region"],
            **credentials,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def cli(self, *args):
        return subprocess.run(
            [str(BINARY), *args, "--ready-file", str(self.ready_file)],
            capture_output=True, text=True, timeout=60,
        )

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.log_file.close()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def ephemeral():
    instance = EphemeralEddy()
    yield instance
    data_dir = pathlib.Path(instance.ready["data_dir"])
    instance.stop()
    assert not data_dir.exists(), "the ephemeral data directory outlived eddy"


@pytest.fixture
def eddy(ephemeral):
    """The module's eddy, reset to its configured pipeline before each test."""
    result = ephemeral.cli("reset")
    assert result.returncode == 0, result.stderr
    return ephemeral


def test_ready_file_and_line_agree(eddy):
    assert eddy.ready["ephemeral"] is True
    assert eddy.ready["fsync"] is False
    assert eddy.ready_line.split()[3] == eddy.ready["endpoint"]
    assert "fsync skipped" in eddy.ready_line


def test_wait_idle_replaces_sleep(eddy):
    s3 = eddy.client("s3")
    for i in range(5):
        s3.put_object(Bucket="source", Key=f"in/{i}.txt", Body=b"x" * (i + 1))
    result = eddy.cli("wait", "--idle", "--timeout", "10")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["idle"] is True
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="destination").get("Contents", []))
    assert keys == [f"in/{i}.txt" for i in range(5)]


def test_wait_idle_times_out_naming_the_pending_message(eddy):
    sqs = eddy.client("sqs")
    url = sqs.get_queue_url(QueueName="file-events")["QueueUrl"]
    message_id = sqs.send_message(QueueUrl=url, MessageBody="not an S3 event")["MessageId"]
    result = eddy.cli("wait", "--idle", "--timeout", "0.3")
    assert result.returncode != 0
    pending = json.loads(result.stdout)["pending"]["queues"][0]
    assert pending["queue"] == "file-events"
    assert pending["messages"][0]["message_id"] == message_id


def test_reset_removes_what_a_test_made(eddy):
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    s3.create_bucket(Bucket="mine")
    s3.put_object(Bucket="mine", Key="k", Body=b"v")
    sqs.create_queue(QueueName="mine")
    result = eddy.cli("reset")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["reset"]
    assert report["buckets_removed"] == 1 and report["queues_removed"] == 1
    names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    assert names == ["destination", "source"]
    queues = sorted(u.rsplit("/", 1)[1] for u in sqs.list_queues().get("QueueUrls", []))
    assert queues == ["file-events", "file-events-dlq"]


@pytest.mark.parametrize("n", range(20))
def test_twenty_short_tests_share_one_eddy(eddy, n):
    # Each starts from the configured pipeline, whatever the one before left.
    s3 = eddy.client("s3")
    assert s3.list_objects_v2(Bucket="source").get("KeyCount") == 0
    s3.create_bucket(Bucket="scratch")
    s3.put_object(Bucket="source", Key=f"t{n}.txt", Body=b"data")
    assert eddy.cli("wait", "--idle", "--timeout", "10").returncode == 0
    got = s3.get_object(Bucket="destination", Key=f"t{n}.txt")["Body"].read()
    assert got == b"data"


def test_reset_forgets_roles_and_the_credentials_sts_issued(eddy):
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                            "Action": "sts:AssumeRole"}]}
    role = eddy.client("iam").create_role(RoleName="made-by-a-test",
                                          AssumeRolePolicyDocument=json.dumps(trust))
    creds = eddy.client("sts").assume_role(RoleArn=role["Role"]["Arn"],
                                           RoleSessionName="a-test")["Credentials"]
    temporary = dict(aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["SessionToken"])
    assert eddy.client("s3", **temporary).list_buckets()["Buckets"]

    assert eddy.cli("reset").returncode == 0
    with pytest.raises(ClientError) as gone:
        eddy.client("iam").get_role(RoleName="made-by-a-test")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as refused:
        eddy.client("s3", **temporary).list_buckets()
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
