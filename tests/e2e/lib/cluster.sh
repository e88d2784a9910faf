# Shared by the e2e scripts that run `berth up --nodes 3` on this machine.
# Source it after setting `berth` and `mkimage`; then call
#   e2e_init <tag>            a work dir, this run's names, the cleanup trap
#   e2e_up <port> [args...]   images built, the cluster up with them
# and use B (berth with this run's client config) and fail.
# Every name carries this run's suffix; the BPF pins live on a private
# bpffs; the cleanup runs `berth down --purge` even when the test fails.
# Exit 77 (skipped) without root or a cgroup2 mount.

[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
[[ -n $unified ]] || { echo "SKIP: no cgroup2 mount"; exit 77; }

fail() { echo "FAIL: $*" >&2; exit 1; }
B() { "$berth" --config "$work/config" "$@"; }

# Extra cleanup a script needs before `berth down` (a frozen cgroup, ...).
e2e_before_down() { :; }

e2e_cleanup() {
  set +e
  if [[ ${1:-} != ok ]]; then
    echo "---- logs ----"
    tail -n 30 "$work"/log/*.log 2>/dev/null
  fi
  e2e_before_down
  "$berth" down --purge "${opts[@]}" >/dev/null 2>&1
  umount "$work/bpf" 2>/dev/null
  rm -rf "$work"
}

e2e_init() {
  local tag=$1
  work=$(mktemp -d "/tmp/berth-e2e-$tag-XXXXXX")
  sfx=$$
  cgroot=/berth-e2e-$tag-$sfx
  opts=(--state-dir "$work/state" --run-dir "$work/run" --log-dir "$work/log"
    --bpf-dir "$work/bpf/berth" --cgroup-root "$cgroot" --prefix "b${tag:0:3}$sfx"
    --client-config "$work/config")
  trap e2e_cleanup EXIT
  mkdir -p "$work/bpf"
  mount -t bpf bpf "$work/bpf"
}

e2e_up() {
  local port=$1
  shift
  [[ -d $work/images ]] || bash "$mkimage" all "$work/images" >/dev/null
  "$berth" up --nodes 3 "${opts[@]}" --port "$port" --image "$work/images/busybox" \
    --image "$work/images/httpd" "$@" >/dev/null || fail "berth up"
}

# The phase of a pod ("" while it does not exist).
e2e_phase() { B get pod "$1" -o json 2>/dev/null | sed -n 's/.*"phase": "\([A-Za-z]*\)".*/\1/p'; }
