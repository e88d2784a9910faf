#!/usr/bin/env bash
# The node pieces on their own (tools/demo.sh shows the cluster): sets up,
# builds, and shows an isolated busybox container with berth-runtime, its
# lifecycle, exec and exit codes, images, then pods run by berth-agent from
# a manifest directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}

"$root/tools/setup-deps.sh"
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target berth-runtime berth-agent berth-shim berth-shim-monitor

rt=$build/runtime/cli/berth-runtime
agent=$build/nodeagent/berth-agent
work=$(mktemp -d /tmp/berth-demo-XXXXXX)
state=$work/state
cg=/berth-demo-$$
agent_pid=""
cleanup() {
  if [[ -n $agent_pid ]]; then
    # Stop the demo's pods (remove their manifests), then the agent.
    rm -f "$work"/node/manifests/*.yaml
    for _ in $(seq 50); do [[ -z $(ls -A "$work/node/state/pods" 2>/dev/null) ]] && break; sleep 0.2; done
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    ip netns del "berth-demo-$$" 2>/dev/null || true
  fi
  for id in $("$rt" --root "$state" list -q 2>/dev/null); do "$rt" --root "$state" delete -f "$id" || true; done
  [[ -d $work/web/.berth ]] && "$agent" image --root "$work/images" unbundle "$work/web" >/dev/null
  mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
  # Anything an interrupted demo left: processes in its cgroup, its mounts.
  [[ -e $mnt$cg/cgroup.kill ]] && echo 1 >"$mnt$cg/cgroup.kill" 2>/dev/null && sleep 0.5
  awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  for d in $(find "$mnt$cg" -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

"$root/tools/mkbundle.sh" "$work/bundle" --runtime "$rt" -- sh -c '
  echo "hello from $(hostname), I am pid $$ as $(id)"
  echo "my cgroup: $(cat /proc/self/cgroup)"
  grep -E "^(CapEff|NoNewPrivs)" /proc/self/status
  echo "processes I can see:"; ps -o pid,comm'
# A per-run cgroup so the demo never touches anything it did not make.
sed -i "s|\"linux\": {|\"linux\": {\n    \"cgroupsPath\": \"$cg/demo\",|" "$work/bundle/config.json"
cd "$work/bundle"

step "run: an isolated container (pid, mount, uts, ipc, net, cgroup namespaces)"
show "$rt" --root "$state" run demo

step "lifecycle: create, start, state, ps, pause, resume, exec, kill, delete"
sed -i 's|"args": \[.*\]|"args": ["sleep", "300"]|' config.json
show "$rt" --root "$state" create life
show "$rt" --root "$state" state life
show "$rt" --root "$state" start life
show "$rt" --root "$state" list
show "$rt" --root "$state" ps life
show "$rt" --root "$state" pause life
"$rt" --root "$state" state life | grep status
show "$rt" --root "$state" resume life
show "$rt" --root "$state" exec life sh -c 'echo "exec sees hostname $(hostname) and pid 1 = $(cat /proc/1/comm)"'
show "$rt" --root "$state" kill life KILL
sleep 0.2
"$rt" --root "$state" state life | grep status
show "$rt" --root "$state" delete life

step "exit codes propagate"
sed -i 's|"args": \[.*\]|"args": ["sh", "-c", "exit 42"]|' config.json
set +e
"$rt" --root "$state" run code; echo "exit code: $?"
step "errors are clear and leave nothing behind"
sed -i 's|"args": \[.*\]|"args": ["/bin/does-not-exist"]|' config.json
"$rt" --root "$state" run missing; echo "exit code: $?"
set -e
show "$rt" --root "$state" list

step "images: build OCI layouts with no Docker, import, inspect, run from an overlay rootfs"
cd "$work"
show "$root/tools/mkimage/mkimage.sh" all "$work/layouts"
img() { "$agent" image --root "$work/images" "$@"; }
show img import "$work/layouts/busybox"
show img import "$work/layouts/httpd"
show img ls
show img inspect berth/httpd
show img bundle --cgroups-path "$cg/web" berth/httpd "$work/web" -- \
  sh -c 'httpd -p 127.0.0.1:8080 -h /www && sleep 0.3 && wget -qO- http://127.0.0.1:8080/ | head -3'
show "$rt" --root "$state" run -b "$work/web" web
show img unbundle "$work/web"

step "pods: berth-agent runs the manifests of a directory (a network namespace acts as the node)"
node=$work/node
mkdir -p "$node"/{manifests,state,run,logs,config/configmaps/web,netns}
echo "served by Berth" >"$node/config/configmaps/web/motd"
ip netns add "berth-demo-$$"
cat >"$node/agent.yaml" <<YAML
nodeName: demo
manifestDir: $node/manifests
stateDir: $node/state
runDir: $node/run
logDir: $node/logs
configDir: $node/config
imageStore: $work/images
cgroupRoot: $cg/agent
socket: $node/run/agent.sock
httpListen: 127.0.0.1:0
network:
  podCIDR: 10.199.0.0/24
  bridge: bdemo$$
  nodeNetns: /run/netns/berth-demo-$$
  stateDir: $node/state/netns
  netnsDir: $node/netns
YAML
"$agent" --log-level ${BERTH_DEMO_LOG:-warn} run --config "$node/agent.yaml" 2>"${BERTH_DEMO_AGENT_LOG:-$work/agent.log}" &
agent_pid=$!
ctl() { "$agent" ctl --socket "$node/run/agent.sock" "$@"; }
cat >"$node/manifests/web.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: httpd
      image: berth/httpd
      readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
    - name: client
      image: busybox
      command: [sh, -c, "until wget -qO- http://127.0.0.1:8080/ | head -1; do sleep 0.2; done; cat /etc/motd/motd; exec sleep 100000"]
      volumeMounts: [{name: motd, mountPath: /etc/motd}]
  volumes: [{name: motd, configMap: {name: web}}]
YAML
echo "$ cp web.yaml $node/manifests/"
for _ in $(seq 50); do ctl pods 2>/dev/null | grep -q "2/2" && break; sleep 0.2; done
show ctl pods -o wide
show ctl logs web -c client
show ctl exec web -c client -- sh -c 'echo "hostname $(hostname), pid 1 is $(cat /proc/1/cmdline | tr "\0" " ")"'
echo "$ rm $node/manifests/web.yaml"
rm "$node/manifests/web.yaml"
for _ in $(seq 50); do [[ -z $(ls -A "$node/state/pods") ]] && break; sleep 0.2; done
show ctl pods
show img rm berth/httpd
echo
echo "demo done: see tools/bench/runtime/bench.sh (berth-runtime vs crun vs runc),"
echo "tools/bench/images/bench.sh (unpack vs umoci and tar, parallel pull)"
echo "and tools/bench/agent/bench.sh (pod start vs podman)"
