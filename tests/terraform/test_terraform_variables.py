"""Every variable's validation block accepts the values AWS accepts and refuses the rest.

Offline: variables.tf is copied alone into a temporary directory, which needs no provider,
so `terraform plan` there evaluates exactly the validation rules (and nothing else) for
the values in a var file. One plan checks many variables at once: every error names its
variable.
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

# variable -> (values that must be accepted, values that must be refused).
# Ranges from the AWS service models and documentation (shared AWS-BEHAVIOUR.md).
CASES = {
    "region": (["us-east-1", "us-gov-west-1", "ap-southeast-3"], ["US-EAST-1", "useast1", ""]),
    "source_bucket_name": (
        ["abc", "a" * 63, "my.bucket-1", "0bucket9"],
        ["ab", "a" * 64, "Upper", "-start", "end-", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", "under_score"],
    ),
    "destination_bucket_name": (
        ["xyz", "b" * 63, "processed.files-2"],
        ["xy", "b" * 64, "Dest", "dest.", "sthree-dest", "dest--ol-s3", "dest.mrap", "dest--x-s3"],
    ),
    "destination_prefix": (["", "copied/", "p" * 1024], ["p" * 1025]),
    "notification_filter_prefix": (["", "incoming/"], ["x" * 1025, "in*"]),
    "notification_filter_suffix": (["", ".jpg"], ["x" * 1025, "*.jpg"]),
    "bucket_versioning": ([True, False], [None]),
    "bucket_sse_algorithm": (["AES256", "aws:kms"], ["SSE-S3", "aes256"]),
    "source_object_expiration_days": ([None, 1, 3650], [0, 1.5]),
    "destination_object_expiration_days": ([None, 1, 3650], [0, -1]),
    "noncurrent_version_expiration_days": ([1, 30], [0, 2.5]),
    "force_destroy": ([True, False], [None]),
    "queue_name": (["a", "File_events-9", "q" * 80], ["q" * 81, "file-events.fifo", "has space", ""]),
    "dlq_name": (["b", "D" * 80], ["d" * 81, "dlq.fifo", "dlq/1"]),
    "max_receive_count": ([1, 1000], [0, 1001, 2.5]),
    "visibility_timeout_seconds": ([None, 0, 43200], [-1, 43201, 1.5]),
    "message_retention_seconds": ([60, 1209600], [59, 1209601]),
    "dlq_message_retention_seconds": ([60, 1209600], [59, 1209601]),
    "function_name": (["f", "F" * 64, "eddy_copy-2"], ["f" * 65, "with.dot", ""]),
    "function_timeout_seconds": ([1, 900], [0, 901, 1.5]),
    "function_memory_mb": ([128, 10240], [127, 10241]),
    "lambda_architecture": (["x86_64", "arm64"], ["aarch64", "amd64"]),
    "lambda_zip_path": (["/abs/bootstrap.zip", "../target/lambda/eddy-lambda/bootstrap.zip"], ["bootstrap"]),
    "batch_size": ([1, 10000], [0, 10001, 2.5]),
    "maximum_batching_window_seconds": ([0, 300], [-1, 301]),
    "maximum_concurrency": ([2, 1000], [1, 1001]),
    "report_batch_item_failures": ([True, False], [None]),
    "log_retention_days": ([1, 365, 3653], [0, 2, 4000]),
    "alarm_email": (["", "oncall@example.com"], ["not-an-email", "a@b"]),
    "oldest_message_age_alarm_seconds": ([60, 1209600], [59, 1209601]),
    "duration_alarm_percent_of_timeout": ([1, 100], [0, 101]),
    "tags": ([{}, {"team": "data", "environment": "prod"}], [{"aws:team": "x"}, {"k": "v" * 257}]),
}



def refused_variables(stderr):
    """Names of the variables whose validation failed, from `terraform plan`'s errors."""
    names = set()
    for block in stderr.split("Error: ")[1:]:
        if block.startswith("Invalid value for variable"):
            match = re.search(r"var\.([A-Za-z0-9_]+) is ", block)
            assert match, f"cannot tell which variable this error is about:\n{block}"
            names.add(match.group(1))
    return names


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (not on PATH)")
    workdir = tmp_path_factory.mktemp("variables-only")
    shutil.copy(TERRAFORM_DIR / "variables.tf", workdir / "variables.tf")
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    counter = iter(range(1_000_000))

    def run(values):
        if isinstance(values, Path):
            var_file = values
        else:
            var_file = workdir / f"case{next(counter)}.tfvars.json"
            var_file.write_text(json.dumps(values))
        result = subprocess.run(
            [terraform, "plan", "-input=false", "-lock=false", "-refresh=false", "-no-color", f"-var-file={var_file}"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.returncode, refused_variables(result.stderr), result.stdout + result.stderr

    return run


def test_every_variable_is_covered_here():
    declared = set(re.findall(r'(?m)^variable "([^"]+)"', (TERRAFORM_DIR / "variables.tf").read_text()))
    assert declared == set(CASES), (
        f"variables without cases: {sorted(declared - set(CASES))}; cases for no variable: {sorted(set(CASES) - declared)}"
    )


def test_defaults_are_valid(plan):
    code, errors, output = plan({})
    assert code == 0 and not errors, output


def test_tfvars_example_is_valid(plan):
    code, errors, output = plan(TERRAFORM_DIR / "terraform.tfvars.example")
    assert code == 0 and not errors, output


@pytest.mark.parametrize("index", range(max(len(good) for good, _ in CASES.values())))
def test_values_aws_accepts_are_accepted(plan, index):
    values = {name: good[index] for name, (good, _) in CASES.items() if index < len(good)}
    code, errors, output = plan(values)
    assert not errors, f"valid values refused for {sorted(errors)}: {json.dumps({k: values[k] for k in errors})}\n{output}"
    assert code == 0, output


@pytest.mark.parametrize("index", range(max(len(bad) for _, bad in CASES.values())))
def test_values_aws_refuses_are_refused(plan, index):
    values = {name: bad[index] for name, (_, bad) in CASES.items() if index < len(bad)}
    code, errors, output = plan(values)
    assert code != 0, f"plan accepted {values}"
    missed = set(values) - errors
    assert not missed, f"invalid values accepted for {sorted(missed)}: {json.dumps({k: values[k] for k in missed})}\n{output}"
