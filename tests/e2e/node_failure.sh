#!/usr/bin/env bash
# A node dies: `berth up --nodes 3` with short node timeouts, examples/web on
# the three nodes, then node3's agent is stopped and its pods frozen (a hung
# machine). The node turns NotReady, its pod is evicted and replaced on the
# others, the Endpoints drop it, and requests through the service from a
# pod keep being answered.
#   node_failure.sh <berth> <mkimage.sh> <examples>
# Exit 77 (skipped) without root or a cgroup2 mount.
set -euo pipefail
berth=$1
mkimage=$2
examples=$3
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[[ -n $unified ]] || { echo "SKIP: no cgroup2 mount"; exit 77; }

work=$(mktemp -d /tmp/berth-e2e-nodefail-XXXXXX)
sfx=$$
cgroot=/berth-e2e-nf-$sfx
opts=(--state-dir "$work/state" --run-dir "$work/run" --log-dir "$work/log"
  --bpf-dir "$work/bpf/berth" --cgroup-root "$cgroot" --prefix "bnf$sfx"
  --client-config "$work/config")
cleanup() {
  set +e
  [[ ${1:-} == ok ]] || tail -n 20 "$work"/log/*.log 2>/dev/null
  [[ -e $unified$cgroot/node3/cgroup.freeze ]] && echo 0 > "$unified$cgroot/node3/cgroup.freeze"
  "$berth" down --purge "${opts[@]}" >/dev/null 2>&1
  umount "$work/bpf" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
B() { "$berth" --config "$work/config" "$@"; }

mkdir -p "$work/bpf" && mount -t bpf bpf "$work/bpf"
bash "$mkimage" all "$work/images" >/dev/null
"$berth" up --nodes 3 "${opts[@]}" --port $((18000 + sfx % 10000)) --node-grace-seconds 4 \
  --eviction-timeout-seconds 4 --image "$work/images/busybox" --image "$work/images/httpd" >/dev/null ||
  fail "berth up"
B apply -f "$examples/web" >/dev/null
B rollout status deployment/web --timeout 120 >/dev/null || fail "rollout"
victim=$(B get pods -l app=web -o wide --no-headers | awk '$7 == "node3" {print $1}')
[[ -n $victim ]] || fail "no pod on node3: $(B get pods -o wide)"
victim_ip=$(B get pods -l app=web -o wide --no-headers | awk '$7 == "node3" {print $6}')

# node3 hangs: its agent stops renewing, its containers stop answering.
kill "$(cat "$work/run/nodes/node3/agent.pid")"
echo 1 > "$unified$cgroot/node3/cgroup.freeze"

for _ in $(seq 120); do
  B get nodes --no-headers | grep -q '^node3 .*NotReady' && break
  sleep 0.5
done
B get nodes --no-headers | grep -q '^node3 .*NotReady' || fail "node3 not NotReady: $(B get nodes)"
for _ in $(seq 240); do
  ready=$(B get deploy web --no-headers | awk '{print $2}')
  on3=$(B get pods -l app=web -o wide --no-headers | awk '$7 == "node3" && $3 == "Running"' | wc -l)
  [[ $ready == 3/3 && $on3 -eq 0 ]] && break
  sleep 0.5
done
[[ $ready == 3/3 ]] || fail "deployment not back to 3/3: $(B get pods -o wide)"
on3=$(B get pods -l app=web -o wide --no-headers | awk '$3 == "Running" && $7 == "node3"' | wc -l)
[[ $on3 -eq 0 ]] || fail "a running pod still counted on node3: $(B get pods -o wide)"
endpoints=$(B get endpoints web -o json)
[[ $endpoints != *"\"$victim_ip\""* ]] || fail "endpoints still hold $victim_ip: $endpoints"

# Requests through the service from a pod on a live node all succeed.
cat > "$work/client.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/hostname: node1}
  containers:
  - name: get
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'for i in $(seq 20); do printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 web 80 | grep -c "Hello from Berth"; done']
YAML
B apply -f "$work/client.yaml" >/dev/null
for _ in $(seq 120); do
  B get pod client --no-headers | grep -qE 'Completed|Error' && break
  sleep 0.5
done
answers=$(B logs client | grep -cx 1 || true)
[[ $answers -eq 20 ]] || fail "$answers of 20 requests answered after the failure: $(B logs client)"
events=$(B events -A)
[[ $events == *NodeNotReady* ]] || fail "no NodeNotReady event: $events"
trap - EXIT
cleanup ok
echo PASS
