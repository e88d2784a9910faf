#!/usr/bin/env bash
# Pod network set-up + teardown: Berth's netns/ library vs the CNI bridge +
# host-local plugins, in a private namespace. Builds the bench binary first.
#   tools/bench/netns/bench.sh [--pods 200] [--concurrent 100]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
[[ -x /usr/lib/cni/bridge ]] || { echo "bench: apt-get install containernetworking-plugins" >&2; exit 1; }
cmake --build "$build" --target netns_bench >/dev/null
exec "$build/tools/bench/netns/netns_bench" "$@"
