#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine.
#   tools/bootstrap.sh main   install packages, build, run the default simulation and its reports
#   tools/bootstrap.sh test   install packages, build, run the whole test suite (what CI runs)
set -euo pipefail
mode="${1:-main}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

packages=(build-essential cmake pkg-config libsystemc-dev libyaml-cpp-dev libfmt-dev
          libboost-program-options-dev catch2 nlohmann-json3-dev gnuplot-nox chromium)
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
    ./build/lpusim describe --hw configs/tsp-v1.yaml
    ;;
  test)
    ctest --test-dir build --output-on-failure -j "$jobs"
    ;;
  *)
    echo "usage: tools/bootstrap.sh main|test" >&2
    exit 2
    ;;
esac
