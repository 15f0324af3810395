"""checkov scans terraform/ with no failed check.

A check that does not fit this pipeline is skipped with a `#checkov:skip=ID:reason` comment
beside the resource; the skips are listed in EXPECTED_SKIPS below, so that a new one shows
up in review. checkov runs once per session, offline (`--skip-download`).

checkov lives in its own virtualenv (tests/terraform/install-tools.sh): its dependency
bc-python-hcl2 owns the same `hcl2` module as python-hcl2, which the wiring test uses.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"

# (check id, resource) -> where the justification lives. The reason itself is the comment.
EXPECTED_SKIPS = {
    ("CKV_AWS_18", "aws_s3_bucket.this"): "access logging: needs a log bucket; CloudTrail data events instead",
    ("CKV_AWS_144", "aws_s3_bucket.this"): "cross-region replication: account-level DR choice",
    ("CKV_AWS_145", "aws_s3_bucket.this"): "SSE-KMS: SSE-S3 by default is deliberate, variable switches",
    ("CKV2_AWS_62", "aws_s3_bucket.this"): "event notifications: source has one, destination is the sink",
    ("CKV_AWS_50", "aws_lambda_function.copy"): "X-Ray: needs Resource '*' permissions",
    ("CKV_AWS_115", "aws_lambda_function.copy"): "reserved concurrency: the mapping's maximum_concurrency caps it",
    ("CKV_AWS_116", "aws_lambda_function.copy"): "function DLQ: async only; the queue has the DLQ",
    ("CKV_AWS_117", "aws_lambda_function.copy"): "VPC: only public AWS endpoints are called",
    ("CKV_AWS_173", "aws_lambda_function.copy"): "env encryption with a CMK: no secrets in the environment",
    ("CKV_AWS_272", "aws_lambda_function.copy"): "code signing: organisation-level choice",
}

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")


def find_checkov():
    """The checkov executable: $EDDY_CHECKOV, install-tools.sh's virtualenv, or PATH."""
    explicit = os.environ.get("EDDY_CHECKOV")
    if explicit:
        return explicit
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    venv = os.environ.get("EDDY_CHECKOV_VENV") or os.path.join(cache, "eddy", "checkov-venv")
    candidate = os.path.join(venv, "bin", "checkov")
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("checkov")


@pytest.fixture(scope="module")
def checkov_report():
    checkov = find_checkov()
    if checkov is None:
        pytest.skip("checkov is not installed: run `bash tests/terraform/install-tools.sh`")
    env = dict(os.environ, LOG_LEVEL="WARNING")
    result = subprocess.run(
        [
            checkov,
            "--directory", "terraform",
            "--framework", "terraform",
            "--skip-download",
            "--output", "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # 0: no failed check, 1: failed checks; anything else means checkov itself broke.
    assert result.returncode in (0, 1), (
        f"checkov ({checkov}) did not run (exit {result.returncode}). If it fails on import, it "
        "probably shares an environment with python-hcl2: install it on its own with "
        "`bash tests/terraform/install-tools.sh`.\n"
        f"stderr:\n{result.stderr[-4000:]}"
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report.\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}")
    reports = report if isinstance(report, list) else [report]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert len(terraform) == 1, f"expected one terraform report, got {[r.get('check_type') for r in reports]}"
    return terraform[0]


def test_checkov_scanned_every_resource(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, summary
    # 27 resources and data sources today; a much smaller count means files went unparsed.
    assert summary["resource_count"] >= 25, summary
    assert summary["passed"] >= 50, summary


def test_checkov_reports_no_failed_check(checkov_report):
    failed = checkov_report["results"].get("failed_checks", [])
    lines = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}:{f['file_line_range'][0]}): {f['check_name']}"
        for f in failed
    ]
    assert not failed, "checkov failed checks (fix them, or skip with a justified comment):\n" + "\n".join(lines)


def test_checkov_skips_are_the_documented_ones(checkov_report):
    skipped = checkov_report["results"].get("skipped_checks", [])
    got = {(s["check_id"], s["resource"]) for s in skipped}
    assert got == set(EXPECTED_SKIPS), (
        f"unexpected skips: {sorted(got - set(EXPECTED_SKIPS))}; "
        f"expected skips not applied: {sorted(set(EXPECTED_SKIPS) - got)}"
    )
    for s in skipped:
        reason = (s.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) >= 40, f"{s['check_id']} on {s['resource']} is skipped without a real reason: {reason!r}"


def test_every_skip_comment_names_a_check_and_gives_a_reason():
    """Runs without checkov: each `#checkov:skip` comment must carry a justification."""
    found = []
    for path in sorted(TERRAFORM_DIR.rglob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "checkov:skip" not in line:
                continue
            match = SKIP_COMMENT.search(line.strip())
            assert match, f"{path.name}:{number}: malformed skip comment: {line.strip()}"
            check_id, reason = match.group(1), (match.group(2) or "").strip()
            assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), f"{path.name}:{number}: unknown check id {check_id}"
            assert len(reason) >= 40, f"{path.name}:{number}: {check_id} is skipped without a real reason"
            found.append(check_id)
    assert sorted(found) == sorted(check for check, _ in EXPECTED_SKIPS), found
