"""terraform/ is in canonical format (`terraform fmt -check -recursive`).

Offline: `terraform fmt` reads only the files, it needs neither `terraform init` nor
providers.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"


def test_terraform_fmt_check_passes():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (not on PATH)")
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "terraform fmt -check -recursive terraform/ failed; run `terraform fmt -recursive terraform`.\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


def test_tfvars_example_is_formatted():
    """terraform.tfvars.example is not a name `terraform fmt` picks up: check it explicitly."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (not on PATH)")
    example = (TERRAFORM_DIR / "terraform.tfvars.example").read_text()
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    result = subprocess.run(
        [terraform, "fmt", "-"],
        input=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == example, "terraform.tfvars.example is not in `terraform fmt` format"
