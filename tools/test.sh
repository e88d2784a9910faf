#!/usr/bin/env bash
# Sets everything up and runs every test but the benchmarks:
# unit, kernel (root), cgroup2 (inside tools/vmtest) and e2e.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}

"$root/tools/setup-deps.sh"
# ccache: share hits between checkouts (CI builds from a fresh clone each time).
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest -LE bench --output-on-failure --timeout 900
