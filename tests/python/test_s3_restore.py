"""RestoreObject with boto3: objects stored as GLACIER or DEEP_ARCHIVE cannot be read
until restored; a restore is under way for a short delay (eddy's choice: one second,
whatever the tier), shows in `x-amz-restore`, refuses a second restore meanwhile, raises
`s3:ObjectRestore:Post` and `:Completed`, and survives a restart; its copy expires after
its `Days` (of `lifecycle_day_seconds`) with `s3:ObjectRestore:Delete`, once even across
a kill.

Uses the `eddy` fixture of conftest.py (a fresh `eddy up` per test).
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def wait_restored(s3, bucket, key, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        restore = s3.head_object(Bucket=bucket, Key=key).get("Restore", "")
        if restore.startswith('ongoing-request="false"'):
            return restore
        time.sleep(0.1)
    pytest.fail(f"{key} was not restored in {timeout} s")


def restore_events(sqs, s3, bucket, name, event="s3:ObjectRestore:*", config_id="restores"):
    """A queue notified of `bucket`'s restore events (those `event` matches)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{
                "Id": config_id,
                "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "Events": [event],
            }]
        },
    )
    return url


def receive_records(sqs, url, count):
    records = []
    for _ in range(20):
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            body = json.loads(message["Body"])
            records.extend(body.get("Records", []))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(records) >= count:
            return records
    pytest.fail(f"only {len(records)} of {count} records arrived")


def test_an_archived_object_is_read_after_its_restore(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="archive")
    s3.put_object(Bucket="archive", Key="cold", Body=b"frozen", StorageClass="GLACIER")
    assert error_of(s3.get_object, Bucket="archive", Key="cold") == ("InvalidObjectState", 403)
    head = s3.head_object(Bucket="archive", Key="cold")
    assert head["StorageClass"] == "GLACIER" and "Restore" not in head

    started = s3.restore_object(Bucket="archive", Key="cold", RestoreRequest={"Days": 2})
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket="archive", Key="cold")["Restore"] == 'ongoing-request="true"'
    assert error_of(
        s3.restore_object, Bucket="archive", Key="cold", RestoreRequest={"Days": 2}
    ) == ("RestoreAlreadyInProgress", 409)
    assert error_of(s3.get_object, Bucket="archive", Key="cold") == ("InvalidObjectState", 403)

    restore = wait_restored(s3, "archive", "cold")
    assert 'expiry-date="' in restore and restore.endswith(' 00:00:00 GMT"')
    got = s3.get_object(Bucket="archive", Key="cold")
    assert got["Body"].read() == b"frozen"
    assert got["Restore"] == restore
    assert got["StorageClass"] == "GLACIER"
    # Restoring a restored object moves its expiry: 200, not 202.
    again = s3.restore_object(Bucket="archive", Key="cold", RestoreRequest={"Days": 5})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.head_object(Bucket="archive", Key="cold")["Restore"] != restore


def test_restores_are_refused_as_s3_refuses_them(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="warm")
    s3.put_object(Bucket="warm", Key="standard", Body=b"x")
    s3.put_object(Bucket="warm", Key="deep", Body=b"x", StorageClass="DEEP_ARCHIVE")
    assert error_of(
        s3.restore_object, Bucket="warm", Key="standard", RestoreRequest={"Days": 1}
    ) == ("InvalidObjectState", 403)
    assert error_of(
        s3.restore_object, Bucket="warm", Key="missing", RestoreRequest={"Days": 1}
    ) == ("NoSuchKey", 404)
    assert error_of(
        s3.restore_object, Bucket="warm", Key="deep", RestoreRequest={"Days": 0}
    ) == ("InvalidArgument", 400)
    started = s3.restore_object(
        Bucket="warm",
        Key="deep",
        RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Bulk"}},
    )
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_restores_raise_post_and_completed_events(eddy):
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    s3.create_bucket(Bucket="restore-events")
    url = restore_events(sqs, s3, "restore-events", "restores")
    receive_records(sqs, url, 0)
    s3.put_object(Bucket="restore-events", Key="a b", Body=b"x", StorageClass="GLACIER")
    s3.restore_object(Bucket="restore-events", Key="a b", RestoreRequest={"Days": 1})
    records = [r for r in receive_records(sqs, url, 2) if "eventName" in r]
    assert [r["eventName"] for r in records] == ["ObjectRestore:Post", "ObjectRestore:Completed"]
    post, completed = records
    assert post["s3"]["object"]["key"] == "a+b"
    assert "glacierEventData" not in post
    assert completed["userIdentity"]["principalId"] == "s3.amazonaws.com"
    data = completed["glacierEventData"]["restoreEventData"]
    assert data["lifecycleRestoreStorageClass"] == "GLACIER"
    assert data["lifecycleRestorationExpiryTime"].endswith("T00:00:00.000Z")


def test_a_restore_under_way_completes_after_a_restart(eddy):
    s3 = eddy.client("s3")
    s3.create_bucket(Bucket="restart-restore")
    s3.put_object(Bucket="restart-restore", Key="k", Body=b"kept", StorageClass="GLACIER")
    s3.restore_object(Bucket="restart-restore", Key="k", RestoreRequest={"Days": 1})
    eddy.restart()
    s3 = eddy.client("s3")
    wait_restored(s3, "restart-restore", "k")
    assert s3.get_object(Bucket="restart-restore", Key="k")["Body"].read() == b"kept"
    again = s3.restore_object(Bucket="restart-restore", Key="k", RestoreRequest={"Days": 1})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200


def event_names(sqs, url, count):
    return [r["eventName"] for r in receive_records(sqs, url, count) if "eventName" in r]


def test_an_expired_copy_is_removed_with_a_delete_event(eddy_factory):
    # A day of one second: `Days: 1` expires one or two seconds after the restore.
    eddy = eddy_factory("lifecycle_day_seconds = 1\n")
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    s3.create_bucket(Bucket="expiring")
    deletes = restore_events(
        sqs, s3, "expiring", "restore-deletes", "s3:ObjectRestore:Delete", "restore-deletes"
    )
    s3.put_object(Bucket="expiring", Key="k", Body=b"thawed", StorageClass="DEEP_ARCHIVE")
    s3.restore_object(Bucket="expiring", Key="k", RestoreRequest={"Days": 1})
    # Only the expiry matches the configuration: Post and Completed are not sent.
    records = [r for r in receive_records(sqs, deletes, 1) if "eventName" in r]
    assert [r["eventName"] for r in records] == ["ObjectRestore:Delete"]
    delete = records[0]
    assert delete["eventVersion"] == "2.3"
    assert delete["s3"]["configurationId"] == "restore-deletes"
    assert delete["userIdentity"]["principalId"] == "s3.amazonaws.com"
    assert delete["s3"]["object"]["key"] == "k"
    assert "glacierEventData" not in delete
    # The copy is gone: the object is archived again, and can be restored anew.
    head = s3.head_object(Bucket="expiring", Key="k")
    assert "Restore" not in head and head["StorageClass"] == "DEEP_ARCHIVE"
    assert error_of(s3.get_object, Bucket="expiring", Key="k") == ("InvalidObjectState", 403)
    again = s3.restore_object(Bucket="expiring", Key="k", RestoreRequest={"Days": 1})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_an_expiry_due_while_eddy_is_down_is_raised_once_after_a_kill(eddy_factory):
    eddy = eddy_factory("lifecycle_day_seconds = 2\n")
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    s3.create_bucket(Bucket="expiry-kill")
    deletes = restore_events(sqs, s3, "expiry-kill", "expiry-kill-events")
    s3.put_object(Bucket="expiry-kill", Key="k", Body=b"x", StorageClass="GLACIER")
    s3.restore_object(Bucket="expiry-kill", Key="k", RestoreRequest={"Days": 1})
    # Readable after a second; the copy expires two to four seconds later.
    wait_restored(s3, "expiry-kill", "k")
    eddy.process.kill()
    eddy.process.wait()
    time.sleep(4)
    eddy._start()
    s3 = eddy.client("s3")
    sqs = eddy.client("sqs")
    names = event_names(sqs, deletes, 3)
    # Nothing more arrives: the expiry was raised once.
    names += event_names(sqs, deletes, 0)
    time.sleep(1)
    names += event_names(sqs, deletes, 0)
    assert names == ["ObjectRestore:Post", "ObjectRestore:Completed", "ObjectRestore:Delete"]
    assert "Restore" not in s3.head_object(Bucket="expiry-kill", Key="k")
