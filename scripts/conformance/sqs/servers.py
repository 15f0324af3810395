"""Start, reset and stop the SQS endpoint a conformance suite talks to.

Two kinds of target: an eddy binary (`EddyServer`) and moto's own server
(`MotoServer`, for the baseline). Both listen on one fixed address because the suites
write it into their expectations (moto's tests compare queue URLs with
`http://localhost:5000/...`, LocalStack's build requests to `localhost:4566`).
Resetting eddy means starting it again on a fresh data directory, which takes
milliseconds; moto_server has its `/moto-api/reset` call.

`server_from_environment` picks the target from the variables the runner scripts set:
  SQS_CONFORMANCE_TARGET       `eddy` or `moto`
  SQS_CONFORMANCE_EDDY         the eddy binary (target eddy)
  SQS_CONFORMANCE_MOTO_SERVER  the moto_server command (target moto; default
                               `python -m moto.server` of this interpreter)
  SQS_CONFORMANCE_OUT          directory for the server log

This module knows how to run the servers, nothing about any test suite.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

READY_TIMEOUT_SECONDS = 30


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")
            time.sleep(0.05)


class ServerProcess:
    """One server process on host:port, its output appended to a log file."""

    def __init__(self, host: str, port: int, log_path: Path):
        self.host = host
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def spawn(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts}: {' '.join(args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env)
        try:
            wait_for_port(self.host, self.port, READY_TIMEOUT_SECONDS)
        except RuntimeError:
            self.terminate()
            raise

    def terminate(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class EddyServer(ServerProcess):
    """An `eddy up` process on a fresh data directory, restarted by `reset`.

    `eddy up` always creates its pipeline queues; `start` deletes them so that every
    test begins with an account without queues, as a new AWS account does.
    """

    def __init__(self, binary: str, host: str, port: int, log_path: Path,
                 config_text: str, access_key: str, secret_key: str):
        super().__init__(host, port, log_path)
        self.binary = binary
        self.access_key = access_key
        self.secret_key = secret_key
        self.work = Path(tempfile.mkdtemp(prefix="eddy-conformance-"))
        self.config_path = self.work / "eddy.toml"
        self.config_path.write_text(config_text)
        self.data_dir: Path | None = None

    def start(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=self.work))
        self.spawn([self.binary, "up", "--listen", f"{self.host}:{self.port}",
                    "--data-dir", str(self.data_dir), "--config", str(self.config_path)])
        self._delete_pipeline_queues()

    def _delete_pipeline_queues(self) -> None:
        import boto3  # the suites' own environment provides boto3

        client = boto3.session.Session().client(
            "sqs", region_name="us-east-1", endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )
        for url in client.list_queues().get("QueueUrls", []):
            client.delete_queue(QueueUrl=url)

    def stop(self) -> None:
        self.terminate()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def reset(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)


class MotoServer(ServerProcess):
    """moto's own server: `command` with `-H host -p port`, `env` added to the
    environment."""

    def __init__(self, host: str, port: int, log_path: Path, command: list[str],
                 env: dict[str, str]):
        super().__init__(host, port, log_path)
        self.command = command
        self.env = {**os.environ, "TEST_SERVER_MODE": "false", **env}

    def start(self) -> None:
        self.spawn([*self.command, "-H", self.host, "-p", str(self.port)], self.env)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).read()

    def close(self) -> None:
        self.terminate()


def server_from_environment(host: str, port: int, credentials: tuple[str, str],
                            eddy_config: str,
                            moto_account_id: str | None) -> EddyServer | MotoServer:
    """The target the runner asked for, not started yet. eddy signs its own set-up
    requests with `credentials`. moto_server puts every request in `moto_account_id`
    when given (MOTO_ACCOUNT_ID), else keeps its own accounts (123456789012, and one per
    assumed role)."""
    target = os.environ["SQS_CONFORMANCE_TARGET"]
    log = Path(os.environ.get("SQS_CONFORMANCE_OUT", ".")) / f"{target}-server.log"
    if target == "eddy":
        return EddyServer(os.environ["SQS_CONFORMANCE_EDDY"], host, port, log,
                          eddy_config, *credentials)
    if target == "moto":
        command = os.environ.get("SQS_CONFORMANCE_MOTO_SERVER", "").split()
        env = {"MOTO_ACCOUNT_ID": moto_account_id} if moto_account_id else {}
        return MotoServer(host, port, log, command or [sys.executable, "-m", "moto.server"],
                          env)
    raise RuntimeError(f"unknown SQS_CONFORMANCE_TARGET {target!r}")
