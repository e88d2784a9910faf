#!/usr/bin/env bash
# berth-runtime vs crun vs runc: `run` of /bin/true on one busybox bundle,
# interleaved, unique ids; prints median/p90 per runtime, ratios, and
# berth-runtime's peak RSS.
#   tools/bench/runtime/bench.sh [--runs N] [--runtime path/to/berth-runtime]
#
# crun refuses this host's hybrid cgroup layout and runc would fall back to
# cgroup v1, so all three run the way a delegated unified host looks
# (design.md): a fresh subtree of the unified tree, a new cgroup and mount
# namespace with cgroup2 mounted at /sys/fs/cgroup, the shell in a leaf.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
runs=100
berth=$root/build/runtime/cli/berth-runtime
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --runtime) berth=$2; shift 2 ;;
    --inner) inner=$2; shift 2 ;;  # internal: the work dir, inside the namespaces
    *) echo "usage: $0 [--runs N] [--runtime BIN]" >&2; exit 2 ;;
  esac
done

if [[ -z ${inner:-} ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
  for bin in crun runc; do command -v $bin >/dev/null || { echo "bench: $bin missing" >&2; exit 1; }; done
  [[ -x $berth ]] || { echo "bench: $berth missing: build first (tools/test.sh)" >&2; exit 1; }
  work=$(mktemp -d /tmp/berth-bench-XXXXXX)
  unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
  cg=$unified/berth-bench-$$
  cleanup() {
    for d in $(find "$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  "$root/tools/mkbundle.sh" "$work/bundle" --runtime "$berth" -- /bin/true
  # crun raises memlock for a device BPF program (refused here): no devices.
  sed -i 's/"resources": {"devices": \[{"allow": false, "access": "rwm"}\]},//' "$work/bundle/config.json"
  mkdir "$cg"
  # Run the measurement in its own cgroup+mount namespace (see header).
  (echo $BASHPID > "$cg/cgroup.procs"
   exec unshare -C -m -- bash "$0" --inner "$work" --runs "$runs" --runtime "$berth")
  exit $?
fi

work=$inner
mount --make-rprivate /
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/shell
echo $$ > /sys/fs/cgroup/shell/cgroup.procs
cd "$work/bundle"

declare -A times
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
for ((i = 0; i < runs; i++)); do
  for rt in berth crun runc; do
    case $rt in
      berth) cmd=("$berth" --root "$work/state-berth") ;;
      crun) cmd=(crun --root "$work/state-crun") ;;
      runc) cmd=(runc --root "$work/state-runc") ;;
    esac
    start=${EPOCHREALTIME/./}
    "${cmd[@]}" run --bundle "$work/bundle" "b-$rt-$i" >/dev/null 2>"$work/err" || {
      echo "bench: $rt run failed: $(cat "$work/err")" >&2; exit 1; }
    end=${EPOCHREALTIME/./}
    times[$rt]+="$((end - start)) "
  done
done

stats() {  # prints "median p90" in ms from microsecond samples
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {
    m = a[int((NR+1)/2)]; p = a[int(NR*0.9+0.5)];
    printf "%.2f %.2f", m/1000, p/1000 }'
}
read -r bm bp <<<"$(stats "${times[berth]}")"
read -r cm cp <<<"$(stats "${times[crun]}")"
read -r rm_ rp <<<"$(stats "${times[runc]}")"
rss=$(/usr/bin/time -f %M "$berth" --root "$work/state-berth" run --bundle "$work/bundle" rss 2>&1 >/dev/null | tail -1)
printf '%-14s %10s %10s\n' runtime "median ms" "p90 ms"
printf '%-14s %10s %10s\n' berth-runtime "$bm" "$bp" crun "$cm" "$cp" runc "$rm_" "$rp"
awk -v b="$bm" -v c="$cm" -v r="$rm_" 'BEGIN {
  printf "ratio berth/crun (median): %.2f\nratio berth/runc (median): %.2f\n", b/c, b/r }'
echo "berth-runtime peak RSS: ${rss} KiB   (runs per runtime: $runs, interleaved)"
