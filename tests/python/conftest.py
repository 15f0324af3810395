"""Fixtures for the Python test suites: a real `eddy up` on a free port."""

import os
import pathlib
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("EDDY_BINARY", ROOT / "target" / "debug" / "eddy"))


class Eddy:
    """A running eddy: its endpoint, and clients for it."""

    def __init__(self, config: str = ""):
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} is missing: build it with `cargo build -p eddy-cli`")
        self.tmp = tempfile.TemporaryDirectory()
        work = pathlib.Path(self.tmp.name)
        (work / "eddy.toml").write_text(config)
        self.log_path = work / "eddy.log"
        self.log_file = open(self.log_path, "w")
        self._start()

    def _start(self):
        work = pathlib.Path(self.tmp.name)
        self.process = subprocess.Popen(
            [str(BINARY), "up", "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"),
             "--config", str(work / "eddy.toml")],
            stdout=subprocess.PIPE, stderr=self.log_file, text=True,
        )
        line = self.process.stdout.readline()
        words = [w for w in line.split() if w.startswith("http://")]
        if not words:
            self.stop()
            raise RuntimeError(f"eddy did not start: {line!r}\n{self.log_path.read_text()}")
        self.endpoint = words[0]

    def client(self, service: str, **kwargs):
        options = dict(
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )
        options.update(kwargs)
        return boto3.client(service, **options)

    def restart(self):
        """Stops eddy with SIGTERM and starts it again on the same data directory (on a
        new port: clients must be made again)."""
        self.process.terminate()
        self.process.wait(timeout=20)
        self._start()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log_file.close()
        self.tmp.cleanup()


@pytest.fixture
def eddy():
    instance = Eddy()
    yield instance
    instance.stop()


@pytest.fixture
def eddy_factory():
    started = []

    def start(config: str = ""):
        instance = Eddy(config)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
