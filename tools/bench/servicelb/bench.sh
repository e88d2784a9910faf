#!/usr/bin/env bash
# Service load balancing: Berth's eBPF socket LB vs kube-proxy's iptables
# mode (iptables-legacy-restore), 1 / 1,000 / 10,000 services of 5 backends.
#   tools/bench/servicelb/bench.sh [--services 1,1000,10000] [--seconds 2]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
command -v iptables-legacy-restore >/dev/null || { echo "bench: apt-get install iptables" >&2; exit 1; }
cmake --build "$build" --target servicelb_bench >/dev/null
exec "$build/tools/bench/servicelb/servicelb_bench" "$@"
