#!/usr/bin/env bash
# Runs moto's own SQS tests (tests/test_sqs of a getmoto/moto checkout) in moto's server
# mode against an eddy binary, or against moto_server itself for the baseline, then
# groups the failures by cause (sqs/summarise.py).
#
#   scripts/conformance/sqs-moto.sh MOTO_CHECKOUT EDDY_BINARY [--target eddy|moto]
#                                   [--out DIR] [-- PYTEST_ARGS...]
#
# The suite runs in a Python virtual environment outside both repositories
# ($SQS_CONFORMANCE_VENV, default ~/.cache/eddy-conformance/moto-venv), created on the
# first run with the checkout's moto installed in it. The server listens on
# 127.0.0.1:5000 because moto's tests expect queue URLs on localhost:5000; when the
# machine allows it the run happens in a private network namespace (unshare), so that
# port is never shared with anything else. Results: DIR/junit-TARGET.xml,
# DIR/pytest-TARGET.log, DIR/TARGET-server.log, DIR/summary-TARGET.md.

set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="$here/$(basename "${BASH_SOURCE[0]}")"
source "$here/sqs/common.sh"

parse_args "$script" "$PWD/conformance-out/sqs-moto" "$@"
[[ -d "$checkout/tests/test_sqs" ]] || { echo "$checkout has no tests/test_sqs" >&2; exit 2; }
# The environment is built before the run leaves the network behind.
venv="${SQS_CONFORMANCE_VENV:-$HOME/.cache/eddy-conformance/moto-venv}"
if [[ ! -e "$venv/.ready" ]]; then  # .ready: the install finished
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -e "$checkout[server]" \
    'pytest!=9.0.0' pytest-order freezegun pytest-timeout
  touch "$venv/.ready"
fi
enter_private_network "$script" 5000

commit="$(suite_commit "$checkout")"
echo "moto suite $commit, target $target, results in $out" >&2

# test_server.py drives moto's Flask app in-process and never reaches the endpoint.
cd "$checkout"
set +e
TEST_SERVER_MODE=true \
TEST_SERVER_MODE_ENDPOINT=http://localhost:5000 \
SQS_CONFORMANCE_TARGET="$target" SQS_CONFORMANCE_EDDY="$eddy" SQS_CONFORMANCE_OUT="$out" \
PYTHONPATH="$here/sqs${PYTHONPATH:+:$PYTHONPATH}" \
  "$venv/bin/python" -m pytest tests/test_sqs \
    --ignore tests/test_sqs/test_server.py \
    -p moto_target -p no:cacheprovider -o addopts= \
    --timeout 60 -rA --tb=short -q \
    --junitxml "$out/junit-$target.xml" "${pytest_args[@]}" > "$out/pytest-$target.log" 2>&1
status=$?
set -e
finish moto "$venv/bin/python" "$status"
