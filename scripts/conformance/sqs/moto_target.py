"""pytest plugin: run moto's own tests (server mode) against eddy or moto_server.

moto's `@mock_aws` in server mode (`TEST_SERVER_MODE=true`) sends every boto3 client
to `TEST_SERVER_MODE_ENDPOINT` and, when a mocked block starts and ends, resets the
server with `POST /moto-api/reset`. eddy has no such call: for eddy this plugin replaces
moto's reset with a restart of eddy on a fresh data directory, so every test starts
from an empty account exactly as it does against moto_server. moto's `account_id`
fixture asks STS (GetCallerIdentity) for the account, a service eddy does not serve;
against eddy the fixture answers with the account eddy is configured with instead.

The target comes from the environment (servers.server_from_environment), set by
sqs-moto.sh.
"""

from __future__ import annotations

import os

import pytest

from servers import EddyServer, MotoServer, server_from_environment

ACCOUNT_ID = "123456789012"  # moto's DEFAULT_ACCOUNT_ID, which its tests assert
HOST = "127.0.0.1"
PORT = 5000  # moto's tests write http://localhost:5000 into expected queue URLs
CREDENTIALS = ("FOOBARKEY", "FOOBARSECRET")  # what @mock_aws puts in the environment

EDDY_CONFIG = f"""\
region = "us-east-1"
account_id = "{ACCOUNT_ID}"
additional_credentials = [{{ access_key_id = "{CREDENTIALS[0]}", secret_access_key = "{CREDENTIALS[1]}" }}]
"""

_server: EddyServer | MotoServer | None = None


def pytest_configure(config) -> None:
    global _server
    if os.environ.get("TEST_SERVER_MODE", "").lower() != "true":
        raise RuntimeError("set TEST_SERVER_MODE=true before moto is imported")
    _server = server_from_environment(HOST, PORT, CREDENTIALS, EDDY_CONFIG, None)
    if isinstance(_server, EddyServer):
        from moto.core.models import ServerModeMockAWS

        eddy = _server

        def restart_eddy(self: ServerModeMockAWS) -> None:
            eddy.reset()

        ServerModeMockAWS.reset = restart_eddy  # type: ignore[method-assign]
    _server.start()


def pytest_unconfigure(config) -> None:
    if _server is not None:
        _server.close()


def _account_of_eddy():
    """What moto's `account_id` fixture yields, without asking STS."""
    from moto import mock_aws

    with mock_aws():
        yield ACCOUNT_ID


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request) -> None:
    if fixturedef.argname == "account_id" and isinstance(_server, EddyServer):
        fixturedef.func = _account_of_eddy
