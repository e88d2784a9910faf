#!/usr/bin/env bash
# berth-agent pod start latency vs `podman run --rm -d --network none` of the
# same busybox image, in one run; prints p50/p99, ratios, the agent's RSS
# idle with 100 pods and the shims' RSS.
#   tools/bench/agent/bench.sh [--runs N] [--agent BIN] [--bench BIN]
# Berth: the real berth-agent on a throw-away node (agent_bench.cc); latency
# is manifest renamed into the watched dir -> container process running.
# podman: the way a delegated unified host looks (design.md): a fresh subtree
# of the unified tree, `unshare -C -m`, cgroup2 at /sys/fs/cgroup, storage in
# a temp dir; latency is `podman run -d` returning (container started).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
runs=30 burst=50
agent=$root/build/nodeagent/berth-agent
bench=$root/build/tools/bench/agent/agent_bench
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --inner) inner=$2; shift 2 ;;  # internal: podman part, inside the namespaces
    *) echo "usage: $0 [--runs N] [--agent BIN] [--bench BIN]" >&2; exit 2 ;;
  esac
done

podman_part() {  # runs inside unshare -C -m; prints "key value" lines
  local work=$1
  mount --make-rprivate /
  mount -t cgroup2 none /sys/fs/cgroup
  mkdir -p /sys/fs/cgroup/shell
  echo $$ >/sys/fs/cgroup/shell/cgroup.procs
  export CONTAINERS_STORAGE_CONF=$work/storage.conf
  local p=(podman --cgroup-manager=cgroupfs --events-backend=none)
  local run=(run --pull=never --rm -d --network none --cgroups=disabled
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  skopeo copy -q "oci:$work/layout:latest" containers-storage:docker.io/library/busybox:latest
  "${p[@]}" "${run[@]}" --name warmup docker.io/library/busybox:latest sleep 100000 >/dev/null
  "${p[@]}" rm -f -t0 warmup >/dev/null
  local single="" i s e
  for ((i = 0; i < runs; i++)); do
    s=${EPOCHREALTIME/./}
    "${p[@]}" "${run[@]}" --name "s$i" docker.io/library/busybox:latest sleep 100000 >/dev/null
    e=${EPOCHREALTIME/./}
    single+="$((e - s)) "
    "${p[@]}" rm -f -t0 "s$i" >/dev/null
    sleep 0.3  # as the berth side settles between runs
  done
  echo "podman_single $single"
  for ((i = 0; i < burst; i++)); do
    (s=${EPOCHREALTIME/./}
     "${p[@]}" "${run[@]}" --name "b$i" docker.io/library/busybox:latest sleep 100000 >/dev/null
     e=${EPOCHREALTIME/./}
     echo "$((e - s))" >"$work/burst.$i") &
  done
  wait
  echo "podman_burst $(cat "$work"/burst.* | tr '\n' ' ')"
  "${p[@]}" rm -a -f -t0 >/dev/null
}

if [[ -n ${inner:-} ]]; then
  podman_part "$inner"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
for t in podman skopeo; do
  command -v $t >/dev/null || { echo "bench: $t missing (tools/setup-deps.sh)" >&2; exit 1; }
done
for b in "$agent" "$bench"; do [[ -x $b ]] || { echo "bench: $b missing: build first" >&2; exit 1; }; done
work=$(mktemp -d /tmp/berth-agent-bench-XXXXXX)
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
cg=$unified/berth-podman-bench-$$
cleanup() {
  if [[ -d $cg ]]; then
    [[ -e $cg/cgroup.kill ]] && echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
    sleep 0.5
    for d in $(find "$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null || true
  fi
  for m in $(awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
bash "$root/tools/mkimage/mkimage.sh" busybox "$work/layout" >/dev/null
"$agent" image --root "$work/store" import "$work/layout" >/dev/null
cat >"$work/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$work/podman/run"
graphroot = "$work/podman/root"
CONF

"$bench" --agent "$agent" --image-store "$work/store" --runs "$runs" --burst "$burst" --idle 100 \
  >"$work/berth.txt"
mkdir "$cg"
(echo $BASHPID >"$cg/cgroup.procs"
 exec unshare -C -m -- bash "$0" --inner "$work" --runs "$runs") >"$work/podman.txt"

pct() {  # "p50 p99" in ms from microsecond samples
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {
    printf "%.2f %.2f", a[int((NR+1)/2)]/1000, a[int(NR*0.99+0.5)]/1000 }'
}
val() { awk -v k="$1" '$1 == k {print $2}' "$work/berth.txt"; }
read -r ps50 ps99 <<<"$(pct "$(awk '$1 == "podman_single" {$1=""; print}' "$work/podman.txt")")"
read -r pb50 pb99 <<<"$(pct "$(awk '$1 == "podman_burst" {$1=""; print}' "$work/podman.txt")")"
printf '%-26s %10s %10s\n' "pod start (ms)" p50 p99
printf '%-26s %10s %10s\n' "berth-agent, 1 pod" "$(val single_p50_ms)" "$(val single_p99_ms)"
printf '%-26s %10s %10s\n' "podman run, 1 container" "$ps50" "$ps99"
printf '%-26s %10s %10s\n' "berth-agent, $burst pods" "$(val burst_p50_ms)" "$(val burst_p99_ms)"
printf '%-26s %10s %10s\n' "podman run, $burst at once" "$pb50" "$pb99"
awk -v b="$(val single_p50_ms)" -v p="$ps50" -v bb="$(val burst_p50_ms)" -v pb="$pb50" 'BEGIN {
  printf "speedup vs podman (p50): 1 pod %.1fx, %d at once %.1fx\n", p/b, '"$burst"', pb/bb }'
echo "berth-agent RSS idle with $(val idle_pods) pods: $(val agent_rss_kb) KiB"
echo "berth-shim-monitor RSS: avg $(val shim_rss_avg_kb) KiB, max $(val shim_rss_max_kb) KiB"
echo "(runs: $runs single, interleaving not possible with one long-lived agent; rerun to gauge noise)"
