#!/usr/bin/env bash
# Builds an OCI bundle from Debian's busybox-static:
#   tools/mkbundle.sh <dir> [--runtime path/to/berth-runtime] [-- cmd args...]
# rootfs/ holds busybox and its applet links; config.json comes from
# `berth-runtime spec` with terminal off and the given command (default: sh).
set -euo pipefail
usage() { echo "usage: $0 <dir> [--runtime BIN] [-- cmd args...]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
dir=$1; shift
runtime=$(dirname "$0")/../build/runtime/cli/berth-runtime
cmd=(sh)
while [[ $# -gt 0 ]]; do
  case $1 in
    --runtime) runtime=$2; shift 2 ;;
    --) shift; cmd=("$@"); break ;;
    *) usage ;;
  esac
done
[[ -x /bin/busybox ]] || { echo "mkbundle: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$dir/rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ $applet == busybox ]] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/rootfs/etc/passwd"
echo "root:x:0:" > "$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"

rm -f "$dir/config.json"
"$runtime" spec --bundle "$dir"
json_escape() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
args=""
for a in "${cmd[@]}"; do args+="${args:+, }$(json_escape "$a")"; done
# The template is runtime-owned and fixed: replace its two lines textually.
tmp=$(mktemp)
while IFS= read -r line || [[ -n $line ]]; do
  case $line in
    *'"terminal": true,'*) printf '%s\n' "${line/true/false}" ;;
    *'"args": ["sh"],'*) printf '    "args": [%s],\n' "$args" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$dir/config.json" > "$tmp"
mv "$tmp" "$dir/config.json"
