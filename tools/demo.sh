#!/usr/bin/env bash
# Sets everything up, builds, and shows a Berth cluster at work on this
# machine: `berth up --nodes 3` (berth-control and three agents, each node a
# network namespace), examples/web applied, its pods spread over the nodes,
# requests served through the service (by DNS name from a pod, and on a
# NodePort from another node), a scale-out and a rolling update. The cluster
# stays up for you to carry on; the last lines say how to tear it down.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}

"$root/tools/setup-deps.sh"
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target berth berth-control berth-agent berth-shim berth-shim-monitor

berth=$build/cli/berth
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

images=$(mktemp -d /tmp/berth-demo-images-XXXXXX)
trap 'rm -rf "$images"' EXIT
bash "$root/tools/mkimage/mkimage.sh" all "$images" >/dev/null

step "a cluster on this machine: berth-control and three nodes"
show "$berth" up --nodes 3 --image "$images/busybox" --image "$images/httpd"
show "$berth" get nodes -o wide

step "a web application: a Deployment of 3 and a Service"
show "$berth" apply -f "$root/examples/web"
show "$berth" rollout status deployment/web --timeout 120
show "$berth" get pods -o wide
show "$berth" get service web

step "requests through the service: by DNS name from a pod (eBPF at the socket layer)"
cat >"$images/client.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: demo-client}
spec:
  restartPolicy: Never
  containers:
  - name: get
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'printf "GET / HTTP/1.0\r\nHost: web\r\n\r\n" | nc -w 5 web.default.svc.cluster.local 80 | grep -E "HTTP/|<h1>"']
YAML
"$berth" delete pod demo-client --ignore-not-found --grace-period 0 >/dev/null
show "$berth" apply -f "$images/client.yaml"
for _ in $(seq 60); do
  "$berth" get pod demo-client --no-headers | grep -qE 'Completed|Error' && break
  sleep 0.5
done
show "$berth" logs demo-client

step "and on the NodePort, from node2 to node1's address (eBPF on the interface)"
printf '$ ip netns exec berth-node2 curl http://10.99.0.1:30080/\n'
ip netns exec berth-node2 curl -s --max-time 5 http://10.99.0.1:30080/ | grep -E '<h1>' || true

step "scale out, then a rolling update that never drops below 3 ready replicas"
show "$berth" scale deployment/web --replicas 5
show "$berth" rollout status deployment/web --timeout 120
show "$berth" rollout restart deployment/web
show "$berth" rollout status deployment/web --timeout 120
show "$berth" rollout history deployment/web
show "$berth" get deployment,replicaset
show "$berth" events --for deployment/web

step "what the pods use: each agent reports its pods' usage every 10 s"
for _ in $(seq 60); do
  [[ $("$berth" top pods -l app=web --no-headers 2>/dev/null | wc -l) -ge 5 ]] && break
  sleep 1
done
show "$berth" top pods -l app=web
show "$berth" top nodes

cat <<TXT

Berth is running: berth-control at 127.0.0.1:6443 (state in /var/lib/berth,
logs in /var/log/berth), three nodes, the client configuration in ~/.berth/config.
Carry on:   $berth get pods -o wide; $berth describe deployment web
            $berth apply -f $root/examples/job   (also daemonset/, config/, canary/)
Tear down:  $berth down            (stops everything, keeps the state)
            $berth down --purge    (removes state, logs and the client configuration)
TXT
