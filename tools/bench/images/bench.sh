#!/usr/bin/env bash
# Image unpack and pull, side by side in one run:
#   1. unpack a 4-layer gzip image of ~260 MB (uncompressed) with
#      `berth-agent image unpack` (layers in parallel, one per CPU, each
#      verified against its diff_id and synced), `umoci raw unpack`, and
#      plain `tar -xzf` of the layers one after another;
#   2. pull the same image from a docker-registry on 127.0.0.1 with
#      berth-agent, 4 layers at once vs one at a time.
# Prints the median of N runs per tool and the ratios.
#   tools/bench/images/bench.sh [--runs N] [--agent path/to/berth-agent] [--no-pull]
# The generated image is cached in /var/tmp/berth-bench-images (remove it to
# regenerate). Warm page cache for every tool; nothing is dropped globally,
# but `sync` runs (untimed) before each step, since Berth syncs what it
# unpacks and must not pay for the previous tool's dirty pages.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
runs=3
agent=$root/build/nodeagent/berth-agent
pull=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --no-pull) pull=0; shift ;;
    *) echo "usage: $0 [--runs N] [--agent BIN] [--no-pull]" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench: run as root" >&2; exit 1; }
[[ -x $agent ]] || { echo "bench: $agent missing: build first (tools/test.sh)" >&2; exit 1; }
for bin in umoci tar gzip sha256sum; do
  command -v $bin >/dev/null || { echo "bench: $bin missing (tools/setup-deps.sh)" >&2; exit 1; }
done

calc() { awk "BEGIN {print $1}"; }
cache=/var/tmp/berth-bench-images
layout=$cache/layout
work=$(mktemp -d /tmp/berth-bench-images-XXXXXX)
registry_pid=
cleanup() {
  set +e
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- the image: 4 layers of 400 files, half random base64, half text -------
make_layer() {  # make_layer <index> <out-tar.gz>
  local dir=$work/gen/l$1
  mkdir -p "$dir/data$1"
  for f in $(seq 200); do
    head -c 163840 /dev/urandom | base64 -w 100 > "$dir/data$1/rand-$f.txt"
    seq "$((f * 7000))" "$((f * 7000 + 24000))" > "$dir/data$1/seq-$f.txt"
  done
  mkdir -p "$dir/etc" && echo "layer $1" > "$dir/etc/layer-$1"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$work/gen/l$1.tar" .
  gzip -6 -n -c "$work/gen/l$1.tar" > "$2"
}
blob() {  # blob <file> -> moves it into the layout, prints "digest size"
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$layout.tmp/blobs/sha256/$d"
  echo "$d $s"
}
if [[ ! -f $layout/index.json ]]; then
  echo "generating a 4-layer test image in $layout (once) ..."
  rm -rf "$layout.tmp" && mkdir -p "$layout.tmp/blobs/sha256" "$work/gen"
  diff_ids=() layers=()
  for i in 0 1 2 3; do
    make_layer $i "$work/gen/l$i.tar.gz" &
  done
  wait
  for i in 0 1 2 3; do
    diff_ids+=("\"sha256:$(sha256sum "$work/gen/l$i.tar" | cut -d' ' -f1)\"")
    read -r d s < <(blob "$work/gen/l$i.tar.gz")
    layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$s}")
  done
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$(IFS=,; echo "${diff_ids[*]}")" > "$work/gen/config"
  read -r cd cs < <(blob "$work/gen/config")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cd" "$cs" "$(IFS=,; echo "${layers[*]}")" > "$work/gen/manifest"
  read -r md ms < <(blob "$work/gen/manifest")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
    "$md" "$ms" > "$layout.tmp/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$layout.tmp/oci-layout"
  rm -rf "$layout" && mv "$layout.tmp" "$layout" && rm -rf "$work/gen"
fi
manifest=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' "$layout/index.json")
mapfile -t layer_files < <(grep -o 'layer.v1.tar+gzip","digest":"sha256:[0-9a-f]*' "$layout/blobs/sha256/$manifest" |
  sed 's/.*sha256://; s|^|'"$layout"'/blobs/sha256/|')
gz_bytes=$(cat "${layer_files[@]}" | wc -c)
raw_bytes=$(for f in "${layer_files[@]}"; do gzip -dc "$f"; done | wc -c)
printf 'image: %d layers, %.0f MB gzip, %.0f MB uncompressed, %d CPUs\n' "${#layer_files[@]}" \
  "$(calc "$gz_bytes/1000000")" "$(calc "$raw_bytes/1000000")" "$(nproc)"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A times
record() { times[$1]+="$2 "; }

store=$work/store
"$agent" image --root "$store" import --name bench.local/bench "$layout" >/dev/null
ref=bench.local/bench:bench

for run in $(seq "$runs"); do
  # berth, parallel (one layer per CPU) and one at a time
  for mode in parallel sequential; do
    rm -rf "$store/snapshots" && mkdir -p "$store/snapshots"
    p=0 && [[ $mode == sequential ]] && p=1
    sync
    t0=$(now); "$agent" image --root "$store" unpack --parallel $p "$ref" >/dev/null; t1=$(now)
    record "berth-$mode" "$(calc "$t1 - $t0")"
  done
  rm -rf "$work/umoci" && sync
  t0=$(now); umoci raw unpack --image "$layout:bench" "$work/umoci" 2>/dev/null; t1=$(now)
  record umoci "$(calc "$t1 - $t0")"
  rm -rf "$work/tar" && mkdir "$work/tar" && sync
  t0=$(now)
  for f in "${layer_files[@]}"; do tar --numeric-owner -xzf "$f" -C "$work/tar"; done
  t1=$(now)
  record tar "$(calc "$t1 - $t0")"
  echo "run $run/$runs done"
done
rm -rf "$work/umoci" "$work/tar"

med() { tr ' ' '\n' <<<"${times[$1]}" | grep . | median; }
echo
echo "== unpack (median of $runs, seconds) =="
for k in berth-parallel berth-sequential umoci tar; do printf '  %-18s %6.2f\n' "$k" "$(med $k)"; done
printf '  berth/tar   = %.2f (goal <= 0.6)\n' "$(calc "$(med berth-parallel) / $(med tar)")"
printf '  berth/umoci = %.2f (goal < 1)\n' "$(calc "$(med berth-parallel) / $(med umoci)")"

[[ $pull -eq 1 ]] || exit 0
for bin in docker-registry skopeo ss; do
  command -v $bin >/dev/null || { echo "pull bench skipped: $bin missing"; exit 0; }
done
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 20000))
  ss -Htln "sport = :$port" | grep -q . || break
done
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: "127.0.0.1:$port"}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci:$layout:bench" "docker://127.0.0.1:$port/bench/image:1"
for run in $(seq "$runs"); do
  for p in 4 1; do
    rm -rf "$work/pullstore"
    t0=$(now)
    "$agent" image --root "$work/pullstore" pull -q --parallel $p --insecure-registry "127.0.0.1:$port" \
      "127.0.0.1:$port/bench/image:1" >/dev/null
    t1=$(now)
    record "pull-$p" "$(calc "$t1 - $t0")"
  done
done
echo
echo "== pull from 127.0.0.1 registry (median of $runs, seconds) =="
printf '  %-18s %6.2f\n' "4 layers at once" "$(med pull-4)" "one at a time" "$(med pull-1)"
printf '  parallel/sequential = %.2f\n' "$(calc "$(med pull-4) / $(med pull-1)")"
