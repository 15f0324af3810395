"""pytest plugin: run LocalStack's AWS-validated SQS tests against eddy or moto_server.

LocalStack's test framework, when it does not start LocalStack itself
(`TEST_SKIP_LOCALSTACK_START=1`), sends every client to `http://localhost:4566` with
the credentials `test`/`test`, account 000000000000, region us-east-1, and compares
responses with snapshots recorded against AWS. This plugin starts the target on that
address for the session; the tests name their queues uniquely and delete them
themselves, as they must on a shared AWS account, so nothing is reset between tests.

The target comes from the environment (servers.server_from_environment), set by
sqs-localstack.sh, and one more variable:
  SQS_CONFORMANCE_UNSKIP  `1`: also run the AWS-validated tests LocalStack skips
                          because LocalStack lacks the behaviour (UNSKIP_REASON)
  SQS_CONFORMANCE_QUEUE_URL_HOST  eddy's `sqs_queue_url_host` (`request` by default;
                          `sqs-region` answers with AWS's `sqs.<region>.` URL form)
"""

from __future__ import annotations

import os
import re

from servers import EddyServer, MotoServer, server_from_environment

ACCOUNT_ID = "000000000000"  # LocalStack's test account, eddy's default
HOST = "127.0.0.1"
PORT = 4566  # LocalStack's tests build raw query-API requests to localhost:4566
CREDENTIALS = ("test", "test")

EDDY_CONFIG = f"""\
region = "us-east-1"
account_id = "{ACCOUNT_ID}"
access_key_id = "{CREDENTIALS[0]}"
secret_access_key = "{CREDENTIALS[1]}"
sqs_queue_url_host = "{os.environ.get('SQS_CONFORMANCE_QUEUE_URL_HOST', 'request')}"
"""

# Skip reasons that name a LocalStack shortcoming rather than a test unfit to run.
UNSKIP_REASON = re.compile(
    r"localstack|not implemented|not supported yet|issues/5938", re.IGNORECASE
)

_server: EddyServer | MotoServer | None = None


def pytest_configure(config) -> None:
    global _server
    _server = server_from_environment(HOST, PORT, CREDENTIALS, EDDY_CONFIG, ACCOUNT_ID)
    _server.start()


def pytest_unconfigure(config) -> None:
    if _server is not None:
        _server.close()


def pytest_collection_modifyitems(session, config, items) -> None:
    if os.environ.get("SQS_CONFORMANCE_UNSKIP") != "1":
        return
    for item in items:
        item.own_markers = [
            mark for mark in item.own_markers
            if not (mark.name == "skip" and UNSKIP_REASON.search(_skip_reason(mark)))
        ]


def _skip_reason(mark) -> str:
    return str(mark.kwargs.get("reason", mark.args[0] if mark.args else ""))
