#!/usr/bin/env bash
# Runs Ceph's s3-tests (https://github.com/ceph/s3-tests) against an eddy binary and
# writes the results: JUnit XML, the pytest log, eddy's log and a summary that groups the
# failures by feature area and cause (s3_tests_summary.py).
#
#   scripts/conformance/s3-tests.sh S3_TESTS_DIR EDDY_BINARY [OUT_DIR] [-- PYTEST_ARGS...]
#
# S3_TESTS_DIR is a checkout of ceph/s3-tests (none of its code is part of eddy);
# OUT_DIR defaults to target/s3-tests. Extra pytest arguments (after --) narrow the run,
# for example `-- -k cors`.
#
# What runs: s3tests/functional/test_s3.py and test_headers.py without the tests marked
# `fails_on_aws` (those encode Ceph RGW behaviour that AWS does not have). Not run:
# test_iam.py, test_sts.py (IAM and STS APIs, which eddy does not serve), test_sns.py
# (SNS topics; eddy notifies SQS queues only) and test_s3select.py (S3 Select, closed
# to new AWS customers since 2024). The summary states how many tests each exclusion
# removed.
#
# Each run starts its own eddy on a free port with a fresh data directory and an
# eddy.toml that accepts every key pair of the s3-tests configuration. Python comes from
# $S3TESTS_PYTHON when set; otherwise a virtualenv at $S3TESTS_VENV (default
# ~/.cache/eddy/s3-tests-venv) is created from s3-tests' requirements.txt plus
# pytest-timeout. Each test may take $S3TESTS_TIMEOUT seconds (default 120).
#
# Exits 0 when the suite ran (whatever its failures; they are the result), non-zero when
# it could not run.
set -euo pipefail

usage() {
    sed -n '6,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 2 ] || usage
s3tests_dir=$(cd "$1" && pwd)
eddy_binary=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir=$here/../../target/s3-tests
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    out_dir=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

[ -f "$s3tests_dir/s3tests/functional/test_s3.py" ] || {
    echo "$s3tests_dir is not an s3-tests checkout (no s3tests/functional/test_s3.py)" >&2
    exit 2
}
[ -x "$eddy_binary" ] || { echo "$eddy_binary is not an executable" >&2; exit 2; }

# --- Python with boto3, pytest and the suite's other requirements --------------------
python=${S3TESTS_PYTHON:-}
if [ -z "$python" ]; then
    venv=${S3TESTS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/eddy/s3-tests-venv}
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            -r "$s3tests_dir/requirements.txt" pytest-timeout
    fi
    python=$venv/bin/python
fi
"$python" -c 'import boto3, pytest, pytest_timeout, munch' || {
    echo "$python lacks boto3, pytest, pytest-timeout or munch" >&2
    exit 2
}

# --- eddy on a free port, fresh data, every s3-tests key pair accepted ---------------
work=$(mktemp -d)
eddy_pid=
stop_eddy() {
    if [ -n "$eddy_pid" ]; then
        kill "$eddy_pid" 2>/dev/null || true
        wait "$eddy_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_eddy EXIT

"$python" "$here/s3_tests_conf.py" eddy-toml >"$work/eddy.toml"
cp "$work/eddy.toml" "$out_dir/eddy.toml"
NO_COLOR=1 "$eddy_binary" up --listen 127.0.0.1:0 --data-dir "$work/data" \
    --config "$work/eddy.toml" >"$out_dir/eddy.log" 2>&1 &
eddy_pid=$!
endpoint=
for _ in $(seq 1 300); do
    endpoint=$(sed -n 's/.*eddy ready on \(http:\/\/[0-9.:]*\).*/\1/p' "$out_dir/eddy.log")
    [ -n "$endpoint" ] && break
    kill -0 "$eddy_pid" 2>/dev/null || { cat "$out_dir/eddy.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$endpoint" ] || { echo "eddy did not become ready in 30 s" >&2; exit 1; }
echo "$("$eddy_binary" --version) ready on $endpoint" >&2

# The suite's clients take the region and nothing else from the environment.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
    AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
"$python" "$here/s3_tests_conf.py" s3tests-conf "$endpoint" >"$out_dir/s3tests.conf"
export S3TEST_CONF=$out_dir/s3tests.conf

# --- the suite ------------------------------------------------------------------------
in_scope=(s3tests/functional/test_s3.py s3tests/functional/test_headers.py)
selection="not fails_on_aws"
cd "$s3tests_dir"
collected() { # how many tests pytest collects for these arguments
    "$python" -m pytest -p no:cacheprovider --collect-only -q "$@" 2>/dev/null |
        sed -n 's/^\([0-9]*\)\(\/[0-9]*\)\{0,1\} tests\{0,1\} collected.*/\1/p'
}
excluded=(
    "--excluded" "fails_on_aws (Ceph RGW behaviour, not AWS's)=$(collected "${in_scope[@]}" -m 'fails_on_aws')"
    "--excluded" "test_iam.py (IAM API, not served by eddy)=$(collected s3tests/functional/test_iam.py)"
    "--excluded" "test_sts.py (STS API, not served by eddy)=$(collected s3tests/functional/test_sts.py)"
    "--excluded" "test_sns.py (SNS topics; eddy notifies SQS only)=$(collected s3tests/functional/test_sns.py)"
    "--excluded" "test_s3select.py (S3 Select, closed to new AWS customers)=$(collected s3tests/functional/test_s3select.py)"
)

started=$(date +%s)
pytest_status=0
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} "$python" -m pytest -p no:cacheprovider \
    -p s3_tests_markers -m "$selection" --timeout="${S3TESTS_TIMEOUT:-120}" \
    --junitxml="$out_dir/junit.xml" -o junit_family=xunit1 -q -rN \
    "${in_scope[@]}" "$@" >"$out_dir/pytest.log" 2>&1 || pytest_status=$?
tail -n 1 "$out_dir/pytest.log" >&2
# 0: all passed, 1: some failed; anything else means the suite itself did not run.
[ "$pytest_status" -le 1 ] || { tail -n 40 "$out_dir/pytest.log" >&2; exit 1; }

commit=$(git -C "$s3tests_dir" rev-parse HEAD 2>/dev/null || echo unknown)
"$python" "$here/s3_tests_summary.py" "$out_dir/junit.xml" \
    --s3-tests-commit "$commit" \
    --eddy-version "$("$eddy_binary" --version), $(basename "$eddy_binary"), sha256 $(sha256sum "$eddy_binary" | cut -c1-16)" \
    --selection "$selection" --seconds $(($(date +%s) - started)) \
    "${excluded[@]}" >"$out_dir/summary.md"
echo "summary: $out_dir/summary.md" >&2
