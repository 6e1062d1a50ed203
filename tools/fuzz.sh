#!/usr/bin/env bash
# Fuzz lpusim with libFuzzer (targets in tests/fuzz/): the input parsers (fuzz_config,
# fuzz_workload, fuzz_assembler, fuzz_binary) and, past parsing, compile-and-simulate under a
# small dynamic-instruction bound (fuzz_simulate_program, fuzz_simulate_workload).
#   tools/fuzz.sh [seconds]         run each target for `seconds` (default 20; what CI runs)
#   tools/fuzz.sh --long [seconds]  long mode: each target `seconds` (default 600), one after
#                                   the other on one core, the grown corpus kept in
#                                   $LPUSIM_FUZZ_KEEP (default build-fuzz/corpus/<target>) and
#                                   reused by the next long run; per-target executions and
#                                   coverage printed at the end
#   LPUSIM_FUZZ_TARGETS="fuzz_simulate_program ..." limits the run to those targets.
#
# Configures a separate build directory with clang and LPUSIM_FUZZ=ON, builds only the fuzz
# targets, and runs each one on a COPY of its seed corpus (tests/fuzz/corpus/<target>/) in a
# temporary directory: the corpus in the repository is never modified. Exit 1 if any target
# found a crash, a sanitizer report, a timeout or an out-of-memory; the input that triggered it
# is printed (and kept in the temporary directory) so it can be replayed with
#   <build-dir>/tests/fuzz/<target> <input>
#
# Environment: LPUSIM_FUZZ_BUILD (build directory, default build-fuzz), CXX (default clang++),
# LPUSIM_JOBS (build parallelism, default nproc).
set -euo pipefail
long=0
if [ "${1:-}" = "--long" ]; then
  long=1
  shift
fi
seconds="${1:-$((long ? 600 : 20))}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: tools/fuzz.sh [--long] [seconds]   (a whole number of seconds per target; default 20, --long 600)" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LPUSIM_FUZZ_BUILD:-$root/build-fuzz}"
jobs="${LPUSIM_JOBS:-$(nproc)}"
read -r -a targets <<<"${LPUSIM_FUZZ_TARGETS:-fuzz_config fuzz_workload fuzz_assembler fuzz_binary fuzz_simulate_program fuzz_simulate_workload}"

cxx="${CXX:-}"
if [ -z "$cxx" ]; then
  for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null; then cxx="$c"; break; fi
  done
fi
if [ -z "$cxx" ] || ! "$cxx" --version 2>/dev/null | grep -qi clang; then
  echo "tools/fuzz.sh: libFuzzer needs clang (apt-get install clang); set CXX=clang++" >&2
  exit 2
fi
if ! grep -q 'add_subdirectory(tests/fuzz)' "$root/CMakeLists.txt"; then
  echo "tools/fuzz.sh: CMakeLists.txt does not add tests/fuzz when LPUSIM_FUZZ=ON" >&2
  exit 2
fi

# -Werror off: the warning set kept at zero is GCC's (the compiler CI uses); clang warns about
# other things, and this build exists to find crashes, not warnings.
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLPUSIM_FUZZ=ON -DLPUSIM_WERROR=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

work="$(mktemp -d "${TMPDIR:-/tmp}/lpusim-fuzz.XXXXXX")"
found=0
summary=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "$root/tests/fuzz/corpus/$t/." "$dir/corpus/"
  if ((long)); then
    # Long mode grows a kept corpus (outside the repository) across runs.
    keep="${LPUSIM_FUZZ_KEEP:-$build/corpus}/$t"
    mkdir -p "$keep"
    cp -R "$keep/." "$dir/corpus/"
  fi
  echo "== $t: ${seconds}s on $(find "$dir/corpus" -type f | wc -l) seed inputs"
  # -timeout: one input may take at most 10 s (a hang is a finding);
  # -rss_limit_mb: a runaway allocation is a finding, not a swapping machine.
  # The simulating targets run SystemC, whose kernels are never freed (each input leaks
  # ~20 KB): they run in fork mode, fresh child processes that libFuzzer restarts, with
  # leak detection off; they link the shared ASan runtime (tests/fuzz/CMakeLists.txt).
  extra=()
  asan="${ASAN_OPTIONS:-}"
  case "$t" in
    fuzz_simulate_*)
      extra=(-fork=1)
      asan="${asan:+$asan:}detect_leaks=0:verify_asan_link_order=0:quarantine_size_mb=16"
      ;;
  esac
  set +e
  ASAN_OPTIONS="$asan" "$build/tests/fuzz/$t" "${extra[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log.txt" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' || true)"
  # fork mode prints "#N: cov: ..." lines instead of the final stats
  [ -n "$execs" ] || execs="$(grep -o '^#[0-9]*: cov' "$dir/log.txt" | tail -1 | grep -o '[0-9]*' || true)"
  cov="$(grep -o 'cov: [0-9]*' "$dir/log.txt" | tail -1 | grep -o '[0-9]*$' || true)"
  if ((long)); then cp -R "$dir/corpus/." "$keep/"; fi
  artifacts=("$dir"/artifacts/*)
  if ((rc != 0)) || [ -e "${artifacts[0]}" ]; then
    found=1
    summary+=("$t: FINDING (exit $rc), log $dir/log.txt")
    for a in "${artifacts[@]}"; do
      [ -e "$a" ] && summary+=("  input: $a   replay: $build/tests/fuzz/$t '$a'")
    done
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|terminate called|  what\(\)|fuzz_[a-z]+:)' "$dir/log.txt" | head -5 |
      sed "s/^/  $t: /" >>"$work/excerpts.txt" || true
  else
    summary+=("$t: ok (${execs:-?} inputs run, coverage ${cov:-?} edges, corpus $(find "$dir/corpus" -type f | wc -l) inputs)")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((found)); then
  [ -s "$work/excerpts.txt" ] && { echo "first lines of the reports:"; cat "$work/excerpts.txt"; }
  echo "fuzzing found problems; inputs and logs kept in $work" >&2
  exit 1
fi
rm -rf "$work"
echo "no findings in ${seconds}s per target"
