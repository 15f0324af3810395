# Shared by sqs-moto.sh and sqs-localstack.sh (sourced, not run): argument parsing, the
# private network namespace, and the summary at the end.

# parse_args SCRIPT DEFAULT_OUT ARGS... sets checkout, eddy, target, out, pytest_args.
parse_args() {
  local script="$1" default_out="$2"
  shift 2
  [[ $# -ge 2 ]] || usage "$script"
  checkout="$(cd "$1" && pwd)"
  eddy="$(realpath "$2")"
  shift 2
  target=eddy
  out="$default_out"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --target) target="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      --) shift; break ;;
      *) usage "$script" ;;
    esac
  done
  pytest_args=("$@")
  [[ "$target" == eddy || "$target" == moto ]] || usage "$script"
  [[ "$target" == moto || -x "$eddy" ]] || { echo "$eddy is not executable" >&2; exit 2; }
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
}

# The script's header comment, from its second line to the first blank line.
usage() {
  sed -n '2,/^$/p' "$1" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Re-runs the script in a private network namespace when the machine allows it, so the
# fixed port the suite needs is never shared; otherwise checks that the port is free.
enter_private_network() {
  local script="$1" port="$2"
  if [[ -n "${SQS_CONFORMANCE_IN_NETNS:-}" ]]; then
    ip link set lo up
    return
  fi
  if unshare -rn true 2>/dev/null; then
    exec unshare -rn env SQS_CONFORMANCE_IN_NETNS=1 "$script" \
      "$checkout" "$eddy" --target "$target" --out "$out" -- "${pytest_args[@]}"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use and no private network namespace is available" >&2
    exit 2
  fi
}

# The suite's commit: from git when the checkout has one, else from a .commit file.
suite_commit() {
  git -C "$1" rev-parse HEAD 2>/dev/null || cat "$1/.commit" 2>/dev/null || echo unknown
}

# finish SUITE PYTHON STATUS: prints the totals line, writes the grouped summary, and
# fails when pytest itself broke (status above 1).
finish() {
  local suite="$1" python="$2" status="$3"
  tail -n 1 "$out/pytest-$target.log" >&2
  "$python" "$here/sqs/summarise.py" --suite "$suite" --target "$target" \
    --commit "$commit" "$out/junit-$target.xml" > "$out/summary-$target.md"
  echo "summary: $out/summary-$target.md" >&2
  [[ $status -le 1 ]]
}
