#!/usr/bin/env bash
# podman drives berth-runtime in place of crun (`podman --runtime`):
#   podman_with_berth.sh <berth-runtime> <mkbundle.sh>
# Exit 77 (skipped) when podman or root is missing. Everything lives in a temp
# dir and a per-run cgroup, removed on exit. podman runs the way design.md
# describes for this host: a delegated cgroup2 subtree in its own cgroup and
# mount namespace, storage in the temp dir, no network.
set -euo pipefail
berth=$1
mkbundle=$2
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman missing (apt-get install podman)"; exit 77; }

if [[ ${1:-} != --inner ]] && [[ -z ${BERTH_PODMAN_INNER:-} ]]; then
  work=$(mktemp -d /tmp/berth-podman-XXXXXX)
  unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
  cg=$unified/berth-podman-$$
  cleanup() {
    for d in $(find "$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do
      [[ -f $d/cgroup.kill ]] && echo 1 > "$d/cgroup.kill" 2>/dev/null || true
    done
    sleep 0.2
    for d in $(find "$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  mkdir "$cg"
  set +e
  (echo $BASHPID > "$cg/cgroup.procs"
   BERTH_PODMAN_INNER=$work exec unshare -C -m -- bash "$0" "$berth" "$mkbundle")
  rc=$?
  exit $rc
fi

work=$BERTH_PODMAN_INNER
mount --make-rprivate /
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/shell
echo $$ > /sys/fs/cgroup/shell/cgroup.procs
# Keep podman's own state away from the host's.
mount -t tmpfs tmpfs /run/containers 2>/dev/null || { mkdir -p /run/containers && mount -t tmpfs tmpfs /run/containers; }
mkdir -p "$work/storage" "$work/run" "$work/tmp"
cat > "$work/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$work/run"
graphroot = "$work/storage"
CONF
cat > "$work/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
tmp_dir = "$work/tmp"
CONF
export CONTAINERS_STORAGE_CONF=$work/storage.conf CONTAINERS_CONF=$work/containers.conf
export TMPDIR=$work/tmp XDG_RUNTIME_DIR=$work/run

"$mkbundle" "$work/bundle" --runtime "$berth" >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
podman import --quiet "$work/rootfs.tar" localhost/berth-busybox:test >/dev/null

pod() {
  podman --runtime "$berth" run --rm --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/berth-busybox:test "$@"
}
pass=0 fail=0
check() {  # check <description> <command...>: counts and prints the outcome
  local what=$1; shift
  if "$@"; then echo "ok: $what"; pass=$((pass + 1)); else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
set +e
out=$(pod echo hello-from-berth 2>"$work/err") || cat "$work/err"
check "podman run prints hello-from-berth (got: $out)" test "$out" = hello-from-berth
pod sh -c 'exit 7' >/dev/null 2>&1
rc=$?
check "exit code 7 propagates (got: $rc)" test "$rc" -eq 7
out=$(pod sh -c 'echo $$' 2>"$work/err") || cat "$work/err"
check "the command is pid 1 (got: $out)" test "$out" = 1
podman rmi -f localhost/berth-busybox:test >/dev/null 2>&1
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
