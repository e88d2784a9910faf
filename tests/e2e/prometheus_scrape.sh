#!/usr/bin/env bash
# A real Prometheus scrapes berth-metrics: a CPU-burning process in a cgroup
# the test makes, berth-metrics serving it on 127.0.0.1, Debian's prometheus
# started with a temporary config and data dir on 127.0.0.1; its query API
# must return rate(container_cpu_usage_seconds_total[...]) > 0 for the
# container, and promtool must accept the exposition.
#   prometheus_scrape.sh <berth-metrics>
# Exit 77 (skipped) without root, cgroup2, prometheus, promtool or curl.
set -euo pipefail
metrics=$1
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for bin in prometheus promtool curl ss; do
  command -v $bin >/dev/null || { echo "SKIP: $bin missing (tools/setup-deps.sh)"; exit 77; }
done
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[[ -n $unified ]] || { echo "SKIP: no cgroup2 mount"; exit 77; }

work=$(mktemp -d /tmp/berth-e2e-prom-XXXXXX)
cg=/berth-e2e-prom-$$
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rmdir "$unified$cg" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" | grep -q . || { echo $p; return; }
  done
}

mkdir "$unified$cg"
(echo $BASHPID > "$unified$cg/cgroup.procs"; exec sh -c 'while :; do :; done') &
pids+=($!)
mport=$(free_port)
"$metrics" --listen "127.0.0.1:$mport" --target "$cg,container=burn,pod=p1,namespace=e2e" 2>"$work/metrics.log" &
pids+=($!)
for _ in $(seq 50); do curl -sf "127.0.0.1:$mport/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$mport/metrics" > "$work/scrape.txt" || fail "berth-metrics did not answer"
promtool check metrics < "$work/scrape.txt" || fail "promtool rejects the exposition"
gz=$(curl -sf -H 'Accept-Encoding: gzip' -D - -o /dev/null "127.0.0.1:$mport/metrics" | tr -d '\r' | grep -i '^content-encoding:' || true)
[[ $gz == *gzip* ]] || fail "no gzip for a scraper that accepts it"

pport=$(free_port)
cat > "$work/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: berth
    static_configs: [{targets: ["127.0.0.1:$mport"]}]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$work/prom.log" 2>&1 &
pids+=($!)
query='rate(container_cpu_usage_seconds_total{container="burn",namespace="e2e"}[10s])'
value=
for _ in $(seq 60); do
  sleep 0.5
  out=$(curl -sf -G "127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$query" || true)
  value=$(grep -o '"value":\[[^]]*\]' <<<"$out" | sed 's/.*,"\(.*\)"\]/\1/' || true)
  [[ -n $value ]] && break
done
[[ -n $value ]] || { tail -5 "$work/prom.log"; fail "Prometheus returned no rate for the container"; }
echo "Prometheus: $query = $value"
awk -v v="$value" 'BEGIN {exit !(v > 0.05)}' || fail "rate $value: a busy loop must show CPU use"
echo PASS
