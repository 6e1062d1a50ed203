#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine.
#   tools/bootstrap.sh main   install packages, build, run the default simulation and its reports
#   tools/bootstrap.sh test   install packages, build, run the whole test suite (what CI runs)
set -euo pipefail
mode="${1:-main}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

packages=(build-essential cmake pkg-config libsystemc-dev libyaml-cpp-dev libfmt-dev
          libboost-program-options-dev catch2 nlohmann-json3-dev gnuplot-nox zlib1g-dev)
# The test suite also renders report.html in headless Chromium, runs MPI sweeps, fuzzes
# with clang's libFuzzer and runs under sanitizers.
if [ "$mode" = test ]; then
  packages+=(chromium libopenmpi-dev openmpi-bin clang libclang-rt-14-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

jobs="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

case "$mode" in
  main)
    # The default simulation: LLaMA-2-70B decode, 3.5-bit weights, 576-chip system.
    ./build/lpusim describe --hw configs/tsp-v1-x576.yaml
    ./build/lpusim run --hw configs/tsp-v1-x576.yaml \
      --workload workloads/examples/llama2-70b-decode-3p5.yaml --out out/default
    echo "reports: out/default/report.html (summary.json, breakdown.csv, roofline.svg, utilization.svg, pipeline.svg, power.svg, trace.json.gz)"
    ;;
  test)
    ctest --test-dir build --output-on-failure -j "$jobs"
    # The slow documented commands: every figure of README's results table must still match
    # what lpusim prints (tests/test_doc_commands.cpp; tools/figures.sh reruns them).
    build/tests/lpusim_tests "[slow]"
    # MPI sweep build: mpirun -np 2 must give the same results as --jobs 2 (tests/test_sweep.cpp)
    cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPUSIM_MPI=ON >/dev/null
    cmake --build build-mpi -j "$jobs"
    ctest --test-dir build-mpi --output-on-failure -j "$jobs" -R "mpirun"
    if [ -x tools/sanitize.sh ]; then tools/sanitize.sh; fi   # ASan + UBSan over the whole suite
    if [ -x tools/fuzz.sh ]; then tools/fuzz.sh 20; fi        # libFuzzer, 20 s per target
    ;;
  *)
    echo "usage: tools/bootstrap.sh main|test" >&2
    exit 2
    ;;
esac
