#!/usr/bin/env bash
# Rollouts under steady load, and a restart of the whole control path
# (and `berth exec` into the client on the way):
# `berth up --nodes 3`, examples/web, and a client pod on node1 sending a
# request through the service every 100 ms for the whole test. The
# deployment rolls to a new image version (`berth set image`), rolls back
# (`berth rollout undo`) and its history shows both; then berth-control and
# every agent are stopped and started again (`berth up` brings back what is
# missing): the pods keep their uids and containers (no restarts), the
# cluster reports them Ready again, and not one of the client's requests
# fails at any point.
#   rolling_update.sh <berth> <mkimage.sh> <examples>
# Exit 77 (skipped) without root or a cgroup2 mount.
set -euo pipefail
berth=$1
mkimage=$2
examples=$3
# shellcheck source=lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"

e2e_init roll
port=$((20000 + sfx % 10000))
bash "$mkimage" all "$work/images" >/dev/null
bash "$mkimage" httpd "$work/images/httpd-v2" --tag v2 >/dev/null
e2e_up "$port" --image "$work/images/httpd-v2"
B apply -f "$examples/web" >/dev/null
B rollout status deployment/web --timeout 120 >/dev/null || fail "rollout"

# The client resolves the service once, as clients that cache DNS do, and
# then talks to its ClusterIP: the rollouts and the restart below must not
# cost it a request. (Cluster DNS is served by each agent: while an agent
# restarts its node resolves no names; a pod started after the restart
# checks the name again.)
cluster_ip=$(B get svc web -o json | jq -r .spec.clusterIP)
[[ $cluster_ip =~ ^[0-9.]+$ ]] || fail "service web has no ClusterIP: $cluster_ip"
cat > "$work/client.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/hostname: node1}
  containers:
  - name: get
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'nc -w 3 web 80 </dev/null || exit 1; while true; do out=\$(printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 $cluster_ip 80 2>&1); case \$out in *"Hello from Berth"*) echo ok ;; *) echo FAIL \$(date +%T) "[\$out]" ;; esac; sleep 0.1; done']
YAML
B apply -f "$work/client.yaml" >/dev/null
for _ in $(seq 120); do
  [[ $(e2e_phase client) == Running ]] && break
  sleep 0.5
done
[[ $(e2e_phase client) == Running ]] || fail "client pod: $(B get pods -o wide)"

# berth exec: output, the command's exit code, and a TTY of the local size.
[[ $(B exec client -- hostname) == client ]] || fail "exec: $(B exec client -- hostname 2>&1)"
set +e
err=$(B exec client -- sh -c 'exit 3' 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -eq 3 && $err == "command terminated with exit code 3" ]] || fail "exec exit code: $rc '$err'"
# script(1) gives berth a terminal; its input stays open while the command runs.
size=$(sleep 2 | script -qec "stty rows 33 cols 99; $berth --config $work/config exec -it client -- stty size" /dev/null | tr -d '\r\0')
[[ $size == "33 99" ]] || fail "exec -it terminal size: '$size'"
out=$(echo hello | B exec -i client -- cat)
[[ $out == hello ]] || fail "exec -i: '$out'"
B exec client -c nosuch -- true 2>/dev/null && fail "exec into a missing container succeeded"
sleep 2

# The images of the deployment's pods that are not terminating.
live_images() {
  B get pods -l app=web -o json |
    jq -r '.items[] | select(.metadata.deletionTimestamp == null) | .spec.containers[0].image' |
    sort -u | tr '\n' ' '
}

# Counts the client's answers so far: "<ok> <failed>".
tally() {
  local log
  log=$(B logs client)
  echo "$(grep -cx ok <<<"$log" || true) $(grep -c '^FAIL' <<<"$log" || true)"
}

B set image deployment/web httpd=docker.io/berth/httpd:v2 >/dev/null || fail "set image"
B rollout status deployment/web --timeout 120 >/dev/null || fail "rollout to v2"
images=$(live_images)
[[ $images == "docker.io/berth/httpd:v2 " ]] || fail "after the update: $images"
read -r ok failed < <(tally)
[[ $failed -eq 0 ]] || fail "$failed of $((ok + failed)) requests failed during the update: $(B logs client | grep FAIL)"

B rollout undo deployment/web >/dev/null || fail "undo"
B rollout status deployment/web --timeout 120 >/dev/null || fail "undo rollout"
images=$(live_images)
[[ $images == "docker.io/berth/httpd:latest " ]] || fail "after the undo: $images"
history=$(B rollout history deployment/web)
[[ $(grep -cE '^[0-9]+ ' <<<"$history") -eq 2 ]] || fail "history: $history"
read -r ok failed < <(tally)
[[ $failed -eq 0 ]] || fail "$failed of $((ok + failed)) requests failed during the undo: $(B logs client | grep FAIL)"

# Stop berth-control and every agent, as a host update would, and start
# them again. Containers outlive their agent; nothing may restart.
pods_state() {
  B get pods -A -o json |
    jq -r '.items[] | [.metadata.name, .metadata.uid, (.status.containerStatuses[] |
      "\(.containerID) \(.restartCount)")] | join(" ")' | sort
}
# Settled first: the rollback's old pods gone, every pod Running.
settled() {
  [[ $(B get pods -A --no-headers | wc -l) -eq 4 &&
    $(B get pods -A --no-headers | awk '$4 != "Running"' | wc -l) -eq 0 ]]
}
for _ in $(seq 60); do
  settled && break
  sleep 0.5
done
settled || fail "not settled: $(B get pods -A -o wide)"
before=$(pods_state)
for pidfile in "$work"/run/nodes/*/agent.pid "$work/run/control.pid"; do
  kill -TERM "$(cat "$pidfile")"
done
for pidfile in "$work"/run/nodes/*/agent.pid "$work/run/control.pid"; do
  pid=$(cat "$pidfile")
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null || fail "pid $pid did not stop"
done
sleep 2  # the service keeps answering from the kernel meanwhile
e2e_up "$port" --image "$work/images/httpd-v2"
B rollout status deployment/web --timeout 120 >/dev/null || fail "after the restart"
for _ in $(seq 60); do
  settled && break
  sleep 0.5
done
after=$(pods_state)
[[ $before == "$after" ]] || fail "pods changed across the restart: $(diff <(echo "$before") <(echo "$after"))"
sleep 2
read -r ok failed < <(tally)
[[ $failed -eq 0 ]] || fail "$failed of $((ok + failed)) requests failed: $(B logs client | grep FAIL)"
[[ $ok -ge 100 ]] || fail "only $ok answers"
# Names resolve again on the restarted nodes.
cat > "$work/by-name.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: by-name}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/hostname: node1}
  containers:
  - name: get
    image: docker.io/library/busybox:latest
    command: [sh, -c, 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 5 web.default.svc.cluster.local 80 | grep -q "Hello from Berth"']
YAML
B apply -f "$work/by-name.yaml" >/dev/null
for _ in $(seq 120); do
  phase=$(e2e_phase by-name)
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 0.5
done
[[ $phase == Succeeded ]] || fail "by name after the restart: $phase $(B logs by-name)"
echo "ok: $ok requests answered through two rollouts and a restart, none failed"
e2e_cleanup ok
trap - EXIT
