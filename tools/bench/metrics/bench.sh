#!/usr/bin/env bash
# Scrape cost of berth-metrics with N containers (cgroups each holding a
# sleeping process) vs node_exporter scraping the same node, in one run:
# wall time per scrape (median, p99), CPU time per scrape (median, p99, from
# the serving process's per-thread schedstat, nanoseconds), bytes, and the
# serving process's RSS.
#   tools/bench/metrics/bench.sh [--containers 500] [--scrapes 50] [--metrics BIN]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
containers=500
scrapes=50
metrics=$root/build/nodeagent/metrics/berth-metrics
while [[ $# -gt 0 ]]; do
  case $1 in
    --containers) containers=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --metrics) metrics=$2; shift 2 ;;
    *) echo "usage: $0 [--containers N] [--scrapes N] [--metrics BIN]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
[[ -x $metrics ]] || { echo "bench: $metrics missing: build first" >&2; exit 1; }
for bin in curl prometheus-node-exporter; do
  command -v $bin >/dev/null || { echo "bench: $bin missing (tools/setup-deps.sh)" >&2; exit 1; }
done
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
base=/berth-bench-metrics-$$
work=$(mktemp -d /tmp/berth-bench-metrics-XXXXXX)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for d in $(find "$unified$base" -mindepth 1 -maxdepth 1 -type d 2>/dev/null); do rmdir "$d"; done
  rmdir "$unified$base" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$unified$base"
echo -n "[" > "$work/targets.json"
for i in $(seq "$containers"); do
  mkdir "$unified$base/c$i"
  (echo $BASHPID > "$unified$base/c$i/cgroup.procs"; exec sleep 3600) &
  pids+=($!)
  ((i > 1)) && echo -n "," >> "$work/targets.json"
  echo -n "{\"cgroup\":\"$base/c$i\",\"labels\":{\"container\":\"c$i\",\"pod\":\"p$i\",\"namespace\":\"bench\"}}" >> "$work/targets.json"
done
echo "]" >> "$work/targets.json"

port() { for _ in $(seq 50); do p=$((20000 + RANDOM % 20000)); ss -Htln "sport = :$p" | grep -q . || { echo $p; return; }; done; }
cpu_ns() { local s=0; for f in /proc/$1/task/*/schedstat; do read -r ns _ < "$f"; s=$((s + ns)); done; echo $s; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }

# measure <name> <pid> <url>: prints one result line
measure() {
  local name=$1 pid=$2 url=$3 walls=() cpus=() bytes=0
  for _ in 1 2 3; do curl -sf -o /dev/null "$url"; done  # warm up
  for _ in $(seq "$scrapes"); do
    local c0 c1 w
    c0=$(cpu_ns "$pid")
    w=$(curl -sf -o "$work/body" -w '%{time_total}' "$url")
    c1=$(cpu_ns "$pid")
    walls+=("$w")
    cpus+=("$(( (c1 - c0) ))")
    bytes=$(stat -c %s "$work/body")
  done
  printf '%s\n' "${walls[@]}" | sort -g > "$work/w"
  printf '%s\n' "${cpus[@]}" | sort -g > "$work/c"
  local n=$scrapes p50=$(( (scrapes + 1) / 2 )) p99=$(( (scrapes * 99 + 99) / 100 ))
  printf '%-16s wall ms p50 %6.1f p99 %6.1f | cpu ms p50 %6.1f p99 %6.1f | %7d bytes | RSS %6.1f MB\n' "$name" \
    "$(sed -n "${p50}p" "$work/w" | awk '{print $1*1000}')" "$(sed -n "${p99}p" "$work/w" | awk '{print $1*1000}')" \
    "$(sed -n "${p50}p" "$work/c" | awk '{print $1/1e6}')" "$(sed -n "${p99}p" "$work/c" | awk '{print $1/1e6}')" \
    "$bytes" "$(awk -v k="$(rss_kb "$pid")" 'BEGIN {print k/1024}')"
}

bport=$(port)
"$metrics" --listen "127.0.0.1:$bport" --targets-file "$work/targets.json" 2>/dev/null &
bpid=$!
pids+=($bpid)
nport=$(port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" >/dev/null 2>&1 &
npid=$!
pids+=($npid)
for u in "127.0.0.1:$bport/healthz" "127.0.0.1:$nport/metrics"; do
  for _ in $(seq 50); do curl -sf -o /dev/null "$u" && break; sleep 0.1; done
done
echo "$containers containers, $scrapes scrapes each:"
measure berth-metrics "$bpid" "127.0.0.1:$bport/metrics"
measure node_exporter "$npid" "127.0.0.1:$nport/metrics"
echo "goal: berth-metrics under 50 ms of CPU per scrape and 30 MB RSS"
