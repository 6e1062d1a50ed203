#!/usr/bin/env bash
# Reruns the figures documented in README.md ("What the default configurations give") and
# prints each run's headline line, to refresh the table after a model change:
#   tools/figures.sh            rerun every table command into out/figures/N, print headlines
#   tools/figures.sh --check    run the test that fails when a documented figure or output no
#                               longer matches what lpusim prints (tests/test_doc_commands.cpp)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${LPUSIM_BUILD:-build}"
if [ "${1:-}" = "--check" ]; then
  exec "$build/tests/lpusim_tests" "[docs]"
fi
# The table's rows: a full `run --hw ...` command, or `... W.yaml` for the row above's with
# workload W.
n=0
previous=""
grep -E '^\|.*`(run --hw [^`]+|\.\.\. [^`]+\.yaml)`' README.md | while IFS= read -r row; do
  cmd="$(printf '%s\n' "$row" | grep -oE '`(run --hw [^`]+|\.\.\. [^`]+\.yaml)`' | tr -d '`')"
  case "$cmd" in
    "... "*) cmd="$(printf '%s\n' "$previous" | sed -E "s#[^ /]+\.yaml\$#${cmd#... }#")" ;;
  esac
  previous="$cmd"
  n=$((n + 1))
  echo "== $cmd"
  # shellcheck disable=SC2086  # the documented command, split as the shell would
  "$build/lpusim" $cmd --quiet --trace off --out "out/figures/$n" 2>&1 | grep -E ' (decode|prefill): |does not fit|error' || true
done
