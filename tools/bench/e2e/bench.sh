#!/usr/bin/env bash
# The whole path, measured: `berth up --nodes 3` on this machine, then
#   - a Deployment of 30 replicas (demo httpd, image stored): time from
#     `berth apply` to all 30 ready, and each pod's start latency (created ->
#     containers started, what Kubernetes' pod startup SLO measures: p99 5 s);
#   - a rolling update of the 30 (rollout restart) end to end;
#   - `berth get pods` with 1,000 pods in the namespace (median of 10).
# Goals (issue 10): p99 pod start under 1 s, get under 100 ms.
#   bench.sh --berth build/cli/berth [--replicas 30] [--pods 1000]
set -euo pipefail
berth="" replicas=30 listed=1000
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
while (($#)); do
  case $1 in
    --berth) berth=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --pods) listed=$2; shift 2 ;;
    *) echo "usage: $0 --berth PATH [--replicas N] [--pods N]" >&2; exit 2 ;;
  esac
done
[[ -n $berth && $(id -u) -eq 0 ]] || { echo "needs --berth and root" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq missing (tools/setup-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/berth-bench-e2e-XXXXXX)
sfx=$$
opts=(--state-dir "$work/state" --run-dir "$work/run" --log-dir "$work/log"
  --bpf-dir "$work/bpf/berth" --cgroup-root "/berth-bench-$sfx" --prefix "bb$sfx"
  --client-config "$work/config")
cleanup() {
  "$berth" down --purge "${opts[@]}" >/dev/null 2>&1 || true
  umount "$work/bpf" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
B() { "$berth" --config "$work/config" "$@"; }
now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.0f'; }

mkdir -p "$work/bpf" && mount -t bpf bpf "$work/bpf"
bash "$root/tools/mkimage/mkimage.sh" all "$work/images" >/dev/null
t0=$(now)
"$berth" up --nodes 3 "${opts[@]}" --port $((17000 + sfx % 10000)) \
  --image "$work/images/busybox" --image "$work/images/httpd" >/dev/null
echo "berth up --nodes 3: $(ms "$t0" "$(now)") ms to 3 Ready nodes"

sed "s/replicas: 3/replicas: $replicas/" "$root/examples/web/deployment.yaml" > "$work/web.yaml"
t0=$(now)
B apply -f "$work/web.yaml" >/dev/null
B rollout status deployment/web --timeout 300 >/dev/null
ready_ms=$(ms "$t0" "$(now)")
# Pod start latency: creation -> the last container started (status).
B get pods -l app=web -o json | jq -r '.items[] | [.metadata.creationTimestamp,
    ([.status.containerStatuses[].state.running.startedAt] | max)] | @tsv' |
  while IFS=$'\t' read -r created started; do
    echo "($(date -d "$started" +%s.%N) - $(date -d "$created" +%s.%N)) * 1000" | bc -l
  done | sort -n > "$work/latency"
pct() { awk -v p="$1" '{v[NR]=$1} END {i=int(p*NR); if (i<1) i=1; if (i>NR) i=NR; printf "%.0f", v[i]}' "$work/latency"; }
p50=$(pct 0.5) p99=$(pct 0.99)
echo "deployment of $replicas: apply -> all ready in $ready_ms ms"
echo "pod start latency (created -> containers started): p50 $p50 ms, p99 $p99 ms" \
  "(Kubernetes SLO p99 5000 ms: $(echo "5000 / $p99" | bc -l | xargs printf '%.1f')x better; goal < 1000 ms)"

t0=$(now)
B rollout restart deployment/web >/dev/null
B rollout status deployment/web --timeout 600 >/dev/null
echo "rolling update of $replicas (maxSurge 1, maxUnavailable 0): $(ms "$t0" "$(now)") ms end to end"

# 1,000 pods that stay Pending (no node has the label) to list.
B create namespace listing >/dev/null
for i in $(seq "$listed"); do
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%s}\nspec:\n  nodeSelector: {bench: none}\n  containers: [{name: c, image: docker.io/library/busybox:latest}]\n' "$i"
done > "$work/pods.yaml"
t0=$(now)
B -n listing apply -f "$work/pods.yaml" >/dev/null
echo "$listed pods applied in $(ms "$t0" "$(now)") ms"
for i in $(seq 10); do
  t0=$(now)
  B -n listing get pods >/dev/null
  ms "$t0" "$(now)"; echo
done | sort -n > "$work/get"
get_ms=$(sed -n 5p "$work/get")
echo "berth get pods with $listed pods: median $get_ms ms (goal < 100 ms: $(echo "100 / $get_ms" | bc -l | xargs printf '%.1f')x)"
