#!/usr/bin/env bash
# Runs LocalStack's AWS-validated SQS tests (tests/aws/services/sqs of a
# localstack/localstack checkout, only those marked `aws_validated`, whose snapshots were
# recorded against AWS) against an eddy binary, or against moto_server for comparison,
# then groups the failures by cause (sqs/summarise.py).
#
#   scripts/conformance/sqs-localstack.sh LOCALSTACK_CHECKOUT EDDY_BINARY
#       [--target eddy|moto] [--out DIR] [-- PYTEST_ARGS...]
#
# The suite runs in a Python virtual environment outside both repositories
# ($SQS_CONFORMANCE_VENV, default ~/.cache/eddy-conformance/localstack-venv, Python
# 3.13 from $SQS_CONFORMANCE_PYTHON, else python3.13 or python3), created on the first run with the
# checkout's localstack-core and its pinned test requirements. The tests do not start
# LocalStack (TEST_SKIP_LOCALSTACK_START=1); they talk to the target on
# 127.0.0.1:4566, run in a private network namespace when the machine allows it.
# Target moto runs $SQS_CONFORMANCE_MOTO_SERVER (default: moto_server on PATH).
# Results: DIR/junit-TARGET.xml, DIR/pytest-TARGET.log, DIR/TARGET-server.log,
# DIR/summary-TARGET.md.

set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
source "$here/sqs/common.sh"

parse_args "$script" "$PWD/conformance-out/sqs-localstack" "$@"
suite=tests/aws/services/sqs
[[ -d "$checkout/$suite" ]] || { echo "$checkout has no $suite" >&2; exit 2; }
moto_server="${SQS_CONFORMANCE_MOTO_SERVER:-$(command -v moto_server || true)}"
[[ "$target" == eddy || -n "$moto_server" ]] || { echo "no moto_server found" >&2; exit 2; }
# The environment is built before the run leaves the network behind.
venv="${SQS_CONFORMANCE_VENV:-$HOME/.cache/eddy-conformance/localstack-venv}"
if [[ ! -e "$venv/.ready" ]]; then  # .ready: the install finished
  python="${SQS_CONFORMANCE_PYTHON:-$(command -v python3.13 || command -v python3)}"
  "$python" -m venv "$venv"
  # The checkout's own pins, without its editable self (installed next).
  grep -v -e '^-e' -e '^#' -e 'localstack-core' "$checkout/requirements-test.txt" \
    | sed 's/ *#.*//' > "$venv/constraints.txt"
  SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0 "$venv/bin/pip" install --quiet \
    --disable-pip-version-check -c "$venv/constraints.txt" -e "$checkout[base-runtime]" \
    pytest localstack-snapshot pytest-httpserver pytest-rerunfailures 'httpx[http2]' json5 \
    jsonpath-ng jinja2 moto-ext pytest-timeout
  touch "$venv/.ready"
fi
enter_private_network "$script" 4566

commit="$(suite_commit "$checkout")"
echo "LocalStack suite $commit, target $target, results in $out" >&2

cd "$checkout"
set +e
TEST_SKIP_LOCALSTACK_START=1 SERVICES=sqs \
SQS_CONFORMANCE_TARGET="$target" SQS_CONFORMANCE_EDDY="$eddy" SQS_CONFORMANCE_OUT="$out" \
SQS_CONFORMANCE_MOTO_SERVER="$moto_server" \
PYTHONPATH="$here/sqs${PYTHONPATH:+:$PYTHONPATH}" \
  "$venv/bin/python" -m pytest "$suite/test_sqs.py" "$suite/test_sqs_move_task.py" \
    -m aws_validated -p localstack_target -p no:cacheprovider \
    --timeout 120 -rA --tb=short -q \
    --junitxml "$out/junit-$target.xml" "${pytest_args[@]}" > "$out/pytest-$target.log" 2>&1
status=$?
set -e
finish localstack "$venv/bin/python" "$status"
