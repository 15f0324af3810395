"""`aws logs tail /aws/lambda/<name> --follow` with the real AWS CLI v2 (v1 has no
`logs tail`): it prints what a function deployed through the Lambda API logged, then
keeps polling FilterLogEvents and prints each later invocation's lines once.

PyPI has no AWS CLI v2, but `aws-cdk-asset-awscli-v2` ships AWS's own v2 bundle (the
Lambda layer CDK deploys); scripts/test-env unpacks it into the test environment as
`<venv>/awscli-v2/aws` ($EDDY_AWS_CLI_V2 names another). Without it the test skips,
except under CI=true, where it fails.
"""

import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from test_lambda_api import create, invoke

PRINTER = """
def handler(event, context):
    print("handling order", event["order"])
    return {"ok": event["order"]}
"""


def aws_cli_v2():
    """The AWS CLI v2 executable, or None."""
    for candidate in (os.environ.get("EDDY_AWS_CLI_V2"), os.path.join(sys.prefix, "awscli-v2", "aws")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI") == "true":
        pytest.fail("the AWS CLI v2 is missing: scripts/test-env installs it")
    return None


def wait_for_line(lines: "queue.Queue[str]", text: str, seen: list, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{text!r} not printed within {timeout} s; printed: {seen}")
        try:
            seen.append(lines.get(timeout=remaining))
        except queue.Empty:
            continue


def test_aws_logs_tail_follow_prints_each_invocation_once(eddy):
    cli = aws_cli_v2()
    if cli is None:
        pytest.skip("the AWS CLI v2 is not installed (scripts/test-env installs it)")
    lam = eddy.client("lambda")
    create(lam, "tailed", PRINTER)
    assert invoke(lam, "tailed", {"order": 1}) == {"ok": 1}

    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }
    tail = subprocess.Popen(
        [cli, "--endpoint-url", eddy.endpoint, "--region", "us-east-1", "logs", "tail",
         "/aws/lambda/tailed", "--follow", "--since", "10m", "--format", "short"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in tail.stdout], daemon=True).start()
    seen: list = []
    try:
        wait_for_line(lines, "handling order 1", seen)
        wait_for_line(lines, "REPORT RequestId:", seen)
        # Invoked while the CLI follows: its next poll prints the new lines.
        assert invoke(lam, "tailed", {"order": 2}) == {"ok": 2}
        wait_for_line(lines, "handling order 2", seen)
        # One more poll: nothing it printed before comes again.
        time.sleep(6)
        while not lines.empty():
            seen.append(lines.get())
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    errors = tail.stderr.read()
    assert "error" not in errors.lower(), errors
    assert sum("handling order 1" in line for line in seen) == 1, seen
    assert sum("handling order 2" in line for line in seen) == 1, seen
    assert sum("START RequestId:" in line for line in seen) == 2, seen
    # `--format short`: each line starts with the event's time.
    assert all(line[:4].isdigit() for line in seen if line.strip()), seen
