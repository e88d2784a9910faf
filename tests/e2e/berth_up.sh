#!/usr/bin/env bash
# The CLI's path end to end: `berth up --nodes 3` (berth-control and three
# agents, each node a network namespace), `berth apply -f examples/web`, the
# rollout watched with `berth rollout status`, the pods spread over the
# three nodes, the service answering by its DNS name from a pod, every
# replica serving some of 300 requests, the NodePort from a namespace
# outside the nodes, a killed container restarted in place and a deleted
# pod replaced, the pods' usage in `berth top`, scaling to 6 and to 1, a
# rolling restart with its history and undo, a drained node, then
# `berth down --purge` leaving nothing behind. Every name carries this run's suffix; the BPF pins live on
# a private bpffs.
#   berth_up.sh <berth> <bin-dir...> <mkimage.sh> <examples>
# Exit 77 (skipped) without root or a cgroup2 mount.
set -euo pipefail
berth=$1
bindir=$2
mkimage=$3
examples=$4
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[[ -n $unified ]] || { echo "SKIP: no cgroup2 mount"; exit 77; }

work=$(mktemp -d /tmp/berth-e2e-up-XXXXXX)
sfx=$$
prefix=bte$sfx
opts=(--state-dir "$work/state" --run-dir "$work/run" --log-dir "$work/log"
  --bpf-dir "$work/bpf/berth" --cgroup-root "/berth-e2e-up-$sfx" --prefix "$prefix"
  --client-config "$work/config")
cleanup() {
  set +e
  if [[ ${1:-} != ok ]]; then
    echo "---- logs ----"
    tail -n 30 "$work"/log/*.log 2>/dev/null
  fi
  "$berth" down --purge "${opts[@]}" >/dev/null 2>&1
  umount "$work/bpf" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
B() { "$berth" --config "$work/config" "$@"; }
# The phase of a run-to-completion pod once it ended (or after 2 minutes).
pod_done() {
  local phase=""
  for _ in $(seq 240); do
    phase=$(B get pod "$1" -o json | jq -r .status.phase)
    [[ $phase == Succeeded || $phase == Failed ]] && break
    sleep 0.5
  done
  echo "$phase"
}

mkdir -p "$work/bpf"
mount -t bpf bpf "$work/bpf"
bash "$mkimage" all "$work/images" >/dev/null

"$berth" up --nodes 3 "${opts[@]}" --port $((16000 + sfx % 10000)) --bin-dir "$bindir" \
  --image "$work/images/busybox" --image "$work/images/httpd" || fail "berth up"
[[ $(B get nodes --no-headers | grep -c ' Ready ') -eq 3 ]] || fail "3 Ready nodes: $(B get nodes)"

B apply -f "$examples/web" | tee "$work/apply.out"
grep -q '^deployment.apps/web created$' "$work/apply.out" || fail "apply output"
B rollout status deployment/web --timeout 120 | tail -1 | grep -q 'successfully rolled out' ||
  fail "rollout: $(B get pods -o wide)"
nodes=$(B get pods -l app=web -o wide --no-headers | awk '{print $7}' | sort -u | wc -l)
[[ $nodes -eq 3 ]] || fail "replicas on $nodes nodes, want 3: $(B get pods -o wide)"
# Applying again changes nothing.
B apply -f "$examples/web" | grep -q 'deployment.apps/web unchanged' || fail "re-apply"

# From a pod: the service by name, through the cluster DNS and the eBPF balancer.
cat > "$work/client.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers:
  - name: get
    image: docker.io/library/busybox:latest
    # busybox's nc: its wget crashes in Debian's busybox-static 1.35.
    command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do printf "GET / HTTP/1.0\r\nHost: web\r\n\r\n" | nc -w 5 web.default.svc.cluster.local 80 | grep -c "Hello from Berth"; done']
YAML
B apply -f "$work/client.yaml" >/dev/null
phase=$(pod_done client)
answers=$(B logs client | grep -cx 1 || true)
[[ $phase == Succeeded && $answers -eq 10 ]] || fail "client pod: $phase, $answers of 10 answers: $(B logs client)"
[[ $(B logs client --tail 2 | wc -l) -eq 2 ]] || fail "logs --tail 2"
[[ $(B logs client --since 1h | grep -cx 1) -eq 10 ]] || fail "logs --since 1h"
[[ $(B logs pod/client --prefix --tail 1) == '[pod/client/get] 1' ]] || fail "logs --prefix"

# Every replica serves some of 300 requests (busybox httpd -v logs each).
sed -i 's/for i in 1 2 3 4 5 6 7 8 9 10; do/for i in $(seq 300); do/; s/name: client}/name: client300}/' "$work/client.yaml"
B apply -f "$work/client.yaml" >/dev/null
phase=$(pod_done client300)
answers=$(B logs client300 | grep -cx 1 || true)
[[ $answers -eq 300 ]] || fail "$answers of 300 requests answered ($phase)"
for pod in $(B get pods -l app=web -o name | cut -d/ -f2); do
  served=$(B logs "$pod" | grep -c 'response:200' || true)
  echo "$pod served $served of 300"
  [[ $served -gt 0 ]] || fail "replica $pod served none of 300 requests"
done

# NodePort, from a client namespace outside the nodes on their fabric.
client_ns=$prefix-client
ip netns add "$client_ns"
ip -n "$prefix-fabric" link add fclient type veth peer name eth0 netns "$client_ns"
ip -n "$prefix-fabric" link set fclient master fab0 up
ip -n "$client_ns" addr add 10.99.0.250/24 dev eth0
ip -n "$client_ns" link set eth0 up
for node in 1 2 3; do
  ip netns exec "$client_ns" curl -s --max-time 5 "http://10.99.0.$node:30080/" | grep -q 'Hello from Berth' ||
    fail "NodePort 30080 on node$node from outside the nodes"
done

# Self-healing: a container's processes killed from the host are restarted
# in the same pod; a deleted pod is replaced.
victim=$(B get pods -l app=web -o name | head -1 | cut -d/ -f2)
uid=$(B get pod "$victim" -o json | jq -r .metadata.uid)
pids=$(find "$unified/berth-e2e-up-$sfx" -path "*$uid*" -name cgroup.procs -exec cat {} + | sort -u)
[[ -n $pids ]] || fail "no processes in the cgroups of pod $victim ($uid)"
kill -KILL $pids 2>/dev/null || true  # some may have exited already
for _ in $(seq 120); do
  row=$(B get pod "$victim" --no-headers)
  [[ $(awk '{print $2, $3, $4}' <<<"$row") == "1/1 Running 1"* ]] && break
  sleep 0.5
done
[[ $(awk '{print $2, $3, $4}' <<<"$row") == "1/1 Running 1"* ]] || fail "not restarted in place: $row"
B delete pod "$victim" | grep -q "pod \"$victim\" deleted" || fail "delete $victim"
B rollout status deployment/web --timeout 120 >/dev/null || fail "replacement rollout"
names=$(B get pods -l app=web --no-headers | awk '$3 == "Running" {print $1}')
[[ $(wc -l <<<"$names") -eq 3 && $names != *"$victim"* ]] || fail "not replaced: $(B get pods)"

# berth top: every agent reports its pods' usage (10 s windows).
for _ in $(seq 60); do
  [[ $(B top pods -l app=web --no-headers 2>/dev/null | wc -l) -eq 3 ]] && break
  sleep 1
done
top=$(B top pods -l app=web) || fail "top pods: $top"
echo "$top"
[[ $(head -1 <<<"$top") == "NAME"*"CPU(cores)"*"MEMORY(bytes)" ]] || fail "top pods header: $top"
# httpd holds a few MiB: the working set (or, without the memory
# controller, the resident set) is not zero.
[[ $(awk 'NR > 1 && $2 ~ /^[0-9]+m$/ && $3 ~ /^[1-9][0-9]*Mi$/' <<<"$top" | wc -l) -eq 3 ]] ||
  fail "top pods rows: $top"
top=$(B top nodes --no-headers) || fail "top nodes: $top"
echo "$top"
[[ $(awk '$2 ~ /^[0-9]+m$/ && $3 ~ /^[0-9]+%$/ && $4 ~ /Mi$/ && $5 ~ /%$/' <<<"$top" | wc -l) -eq 3 ]] ||
  fail "top nodes: $top"
err=$(B top pods --sort-by name 2>&1) && fail "top --sort-by name accepted"
[[ $err == *'--sort-by accepts only cpu or memory'* ]] || fail "top --sort-by: $err"

# Scale up and down.
B scale deployment/web --replicas 6 | grep -q 'deployment.apps/web scaled' || fail "scale 6"
B rollout status deployment/web --timeout 120 >/dev/null || fail "rollout to 6"
[[ $(B get pods -l app=web --no-headers | grep -c Running) -eq 6 ]] || fail "6 running"
B scale deployment/web --replicas 1 >/dev/null
for _ in $(seq 120); do
  [[ $(B get pods -l app=web --no-headers 2>/dev/null | wc -l) -eq 1 ]] && break
  sleep 0.5
done
[[ $(B get pods -l app=web --no-headers | wc -l) -eq 1 ]] || fail "scale to 1: $(B get pods)"
B scale deployment/web --replicas 3 >/dev/null

# A rolling restart makes revision 2; undo brings the first template back.
B rollout restart deployment/web | grep -q 'deployment.apps/web restarted' || fail "restart"
B rollout status deployment/web --timeout 120 >/dev/null || fail "restart rollout"
[[ $(B rollout history deployment/web | grep -cE '^[0-9]+ ') -eq 2 ]] || fail "history: $(B rollout history deployment/web)"
B rollout undo deployment/web | grep -q 'rolled back' || fail "undo"
B rollout status deployment/web --timeout 120 >/dev/null || fail "undo rollout"

# Drain a node: its pods move to the others.
B drain node2 --timeout 120 >/dev/null || fail "drain"
on2=$(B get pods -l app=web -o wide --no-headers | awk '$7 == "node2"' | wc -l)
[[ $on2 -eq 0 ]] || fail "pods left on node2: $(B get pods -o wide)"
B uncordon node2 | grep -q 'node/node2 uncordoned' || fail "uncordon"
B rollout status deployment/web --timeout 120 >/dev/null || fail "rollout after drain"
[[ $(B get deploy web --no-headers | awk '{print $2}') == 3/3 ]] || fail "3/3 after drain: $(B get deploy)"

# The other examples: a pod per node, a Job to completion, config in env and files.
B apply -f "$examples/daemonset" -f "$examples/job" -f "$examples/config" >/dev/null
for _ in $(seq 240); do
  ds=$(B get daemonset node-logger --no-headers | awk '{print $4}')
  job=$(B get job count --no-headers | awk '{print $2}')
  [[ $ds == 3 && $job == 5/5 ]] && break
  sleep 0.5
done
[[ $ds == 3 ]] || fail "daemonset ready on $ds of 3 nodes: $(B get pods -o wide)"
[[ $(B get pods -l app=node-logger -o wide --no-headers | awk '{print $7}' | sort -u | wc -l) -eq 3 ]] ||
  fail "daemonset pods not one per node"
[[ $job == 5/5 ]] || fail "job completions $job: $(B get pods)"
B rollout status deployment/configured --timeout 120 >/dev/null || fail "configured rollout"
cpod=$(B get pods -l app=configured -o name | head -1 | cut -d/ -f2)
B logs "$cpod" | grep -q '^hello, the password has 9 characters$' || fail "config env: $(B logs "$cpod")"
B logs "$cpod" | grep -q '^log_level = info$' || fail "config file: $(B logs "$cpod")"
B logs -l app=configured --prefix | grep -qx "\[pod/$cpod/app\] hello, the password has 9 characters" ||
  fail "logs -l: $(B logs -l app=configured --prefix)"

# A namespace with a quota refuses the pod that would exceed it.
B create namespace limited >/dev/null
cat > "$work/quota.yaml" <<'YAML'
apiVersion: v1
kind: ResourceQuota
metadata: {name: two-pods}
spec:
  hard: {pods: "2"}
YAML
B -n limited apply -f "$work/quota.yaml" >/dev/null
for i in 1 2 3; do
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: q%s}\nspec:\n  containers: [{name: c, image: docker.io/library/busybox:latest, command: [sleep, "60"]}]\n' "$i" > "$work/q$i.yaml"
done
B -n limited apply -f "$work/q1.yaml" -f "$work/q2.yaml" >/dev/null || fail "two pods within the quota"
err=$(B -n limited apply -f "$work/q3.yaml" 2>&1) && fail "the third pod was admitted"
[[ $err == *'exceeded quota: two-pods'* ]] || fail "quota refusal: $err"
B delete namespace limited >/dev/null

# Errors as kubectl words them.
err=$(B get pod nope 2>&1) && fail "get of a missing pod succeeded"
[[ $err == 'Error from server (NotFound): pods "nope" not found' ]] || fail "NotFound: $err"
err=$(B get gizmos 2>&1) && fail "get of an unknown type succeeded"
[[ $err == *"doesn't have a resource type \"gizmos\""* ]] || fail "unknown type: $err"

"$berth" down --purge "${opts[@]}" | grep -q 'Berth is down' || fail "down"
[[ -z $(ls /run/netns 2>/dev/null | grep "^$prefix-") ]] || fail "namespaces left"
[[ ! -d $unified/berth-e2e-up-$sfx ]] || fail "cgroups left"
grep -q "$work/state\|$work/run" /proc/self/mounts && fail "mounts left"
trap - EXIT
cleanup ok
echo PASS
