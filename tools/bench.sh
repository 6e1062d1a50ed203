#!/usr/bin/env bash
# Time three reference runs of lpusim and print a markdown table (docs/performance.md):
#   (a) one 2048x8192x8192 int8 GEMM on one tsp-v1 chip;
#   (b) one LLaMA-2-70B int4 decode token on the largest config (tsp-v1-x576);
#   (c) a 50-point tile sweep of the tiny model's decode step, 2 points at a time.
# For each: wall time, peak resident memory, simulated instructions and instructions per
# second of wall time.
#
#   tools/bench.sh            uses build/ if it exists (whatever its build type), else
#                             configures and builds build-release/ as Release
#   LPUSIM_BUILD=DIR tools/bench.sh    uses (and builds) DIR instead
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="${LPUSIM_JOBS:-$(nproc)}"
build="${LPUSIM_BUILD:-}"
if [ -z "$build" ]; then
  if [ -d build ]; then build="$root/build"; else build="$root/build-release"; fi
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  # -DLPUSIM_WERROR=OFF: at -O3 GCC 12 reports a false -Wrestrict inside libstdc++'s
  # std::string operator+ (GCC bug 105329), which -Werror would turn into a failed build.
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLPUSIM_WERROR=OFF >/dev/null
fi
cmake --build "$build" -j "$jobs" --target lpusim >/dev/null
bin="$build/lpusim"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")"
compiler="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")"

[ -x /usr/bin/time ] || { echo "tools/bench.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/lpusim-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

rows=()
failed=0
# measure NAME ARGS...: run lpusim with ARGS under GNU time; sets wall_s, rss_kB, log.
measure() {
  local name="$1"
  shift
  log="$work/$name.log"
  local start end rc=0
  start="$(date +%s.%N)"
  /usr/bin/time -v -o "$work/$name.time" "$bin" "$@" >"$log" 2>&1 || rc=$?
  end="$(date +%s.%N)"
  wall_s="$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
  rss_kB="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$name.time")"
  if ((rc != 0)); then
    failed=1
    echo "tools/bench.sh: '$name' exited with $rc; last lines of its output:" >&2
    tail -5 "$log" >&2
  fi
}

# row NAME COMMAND INSTRUCTIONS: one table row from the last measure.
row() {
  local name="$1" cmd="$2" instructions="$3" rate="n/a"
  if [[ "$instructions" =~ ^[0-9]+$ ]]; then
    rate="$(awk -v n="$instructions" -v s="$wall_s" 'BEGIN {printf "%.3g", (s > 0 ? n / s : 0)}')"
  fi
  rows+=("| $name | \`$cmd\` | $(printf '%.2f' "$wall_s") | $(awk -v k="${rss_kB:-0}" 'BEGIN {printf "%.0f", k / 1024}') | $instructions | $rate |")
}

instructions_of() { sed -n 's/.* \([0-9][0-9]*\) instructions$/\1/p' "$1" | head -1; }

gemm=(run --hw configs/tsp-v1.yaml --workload workloads/examples/gemm-2048x8192x8192.yaml --trace off)
measure gemm "${gemm[@]}"
row "(a) GEMM 2048x8192x8192 int8, 1 chip" "lpusim ${gemm[*]}" "$(instructions_of "$log")"

decode=(run --hw configs/tsp-v1-x576.yaml --workload workloads/examples/llama2-70b-decode-int4.yaml --trace off)
measure decode70b "${decode[@]}"
row "(b) LLaMA-2-70B int4 decode, 1 token, x576" "lpusim ${decode[*]}" "$(instructions_of "$log")"

sweep=(sweep --hw configs/tsp-v1.yaml --workload workloads/examples/tiny-llama-decode.yaml
       --sweep tile_m=32,64,128,256,320 --sweep tile_n=64,128,192,256,320 --sweep tile_k=160,320 --jobs 2)
measure sweep "${sweep[@]}" --out "$work/sweep"
# Instructions of the whole sweep: the sum over its points' runs (each point's log.txt).
total=0
ok_points=0
for f in "$work"/sweep/points/*/log.txt; do
  [ -e "$f" ] || continue
  n="$(instructions_of "$f")"
  if [ -n "$n" ]; then total=$((total + n)); ok_points=$((ok_points + 1)); fi
done
row "(c) tile sweep, 50 points of tiny-llama decode, 2 jobs ($ok_points points ran)" "lpusim ${sweep[*]} --out DIR" "$total"

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "Machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM;" \
  "lpusim built $build_type with $("$compiler" --version | head -1)."
echo
echo "| run | command | wall s | peak RSS MiB | instructions | instructions/s |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Peak RSS is GNU time's maximum resident set size; for the sweep it is the largest single"
echo "process (the sweep driver or one point), not the sum of the points running at once."
exit "$failed"
