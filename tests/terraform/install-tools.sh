#!/usr/bin/env bash
# Installs what tests/terraform needs, so that the tools do not break each other:
#   - python-hcl2 into the interpreter that runs pytest ($PYTHON, default python3);
#   - checkov into its own virtualenv ($EDDY_CHECKOV_VENV, default
#     ${XDG_CACHE_HOME:-~/.cache}/eddy/checkov-venv), where test_terraform_checkov.py
#     looks for it. checkov's dependencies clash with python-hcl2 (both own the `hcl2`
#     module) and with the AWS CLI (older boto3/botocore), so it must not share an
#     environment with them.
# terraform itself is not on PyPI: it must already be on PATH. Safe to run repeatedly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="${EDDY_CHECKOV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/eddy/checkov-venv}"

"$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

want="$(sed -n 's/^checkov==//p' "$here/checkov-requirements.txt")"
have="$("$venv/bin/checkov" --version 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/checkov-requirements.txt"
fi

echo "python-hcl2 $("$python" -c 'import hcl2; print(hcl2.__version__)') for $python"
echo "checkov $("$venv/bin/checkov" --version) in $venv"
if command -v terraform >/dev/null; then
    CHECKPOINT_DISABLE=1 terraform version 2>/dev/null | sed -n 1p
else
    echo "terraform: not on PATH (the fmt test needs it)"
fi
