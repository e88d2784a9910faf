#!/usr/bin/env bash
# Sets everything up, builds, and shows berth-runtime at work on this host:
# an isolated busybox container, its lifecycle, exec, and exit codes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-$root/build}

"$root/tools/setup-deps.sh"
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target berth-runtime berth-agent

rt=$build/runtime/cli/berth-runtime
agent=$build/nodeagent/berth-agent
work=$(mktemp -d /tmp/berth-demo-XXXXXX)
state=$work/state
cg=/berth-demo-$$
cleanup() {
  for id in $("$rt" --root "$state" list -q 2>/dev/null); do "$rt" --root "$state" delete -f "$id" || true; done
  [[ -d $work/web/.berth ]] && "$agent" image --root "$work/images" unbundle "$work/web" >/dev/null
  mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
  rmdir "$mnt$cg" 2>/dev/null || true
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
show img rm berth/httpd
echo
echo "demo done: see tools/bench/runtime/bench.sh (berth-runtime vs crun vs runc)"
echo "and tools/bench/images/bench.sh (unpack vs umoci and tar, parallel pull)"
