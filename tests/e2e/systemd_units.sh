#!/usr/bin/env bash
# packaging/systemd's units pass `systemd-analyze verify` (with ExecStart
# pointed at the built binaries), and keep the settings the agent and the
# control plane rely on.
#   systemd_units.sh <unit dir> <berth-agent> <berth-control>
# Exit 77 (skipped) without systemd-analyze.
set -euo pipefail
units=$1
agent=$2
control=$3
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing"; exit 77; }
work=$(mktemp -d /tmp/berth-units-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for u in berth-agent berth-control; do
  sed -e "s|/usr/local/bin/berth-agent|$agent|" -e "s|/usr/local/bin/berth-control|$control|" \
    "$units/$u.service" > "$work/$u.service"
  out=$(systemd-analyze verify "$work/$u.service" 2>&1) || fail "$u: $out"
  [[ -z $out ]] || fail "$u: $out"
  for want in Type=notify WatchdogSec= Restart=always; do
    grep -q "^$want" "$work/$u.service" || fail "$u.service lacks $want"
  done
done
grep -q '^Delegate=yes' "$work/berth-agent.service" || fail "agent: Delegate=yes"
grep -q '^KillMode=process' "$work/berth-agent.service" || fail "agent: KillMode=process"
echo PASS
