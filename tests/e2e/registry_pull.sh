#!/usr/bin/env bash
# A real registry: Debian's docker-registry on 127.0.0.1 with a temporary
# config, the demo images pushed into it with skopeo, pulled by berth-agent,
# bundled and run with berth-runtime; then the failures (unknown tag, plain
# HTTP refused, wrong credentials path) and rm/prune.
#   registry_pull.sh <berth-agent> <berth-runtime> <mkimage.sh>
# Exit 77 (skipped) without root, docker-registry or skopeo.
set -euo pipefail
agent=$1
rt=$2
mkimage=$3
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for bin in docker-registry skopeo ss; do
  command -v $bin >/dev/null || { echo "SKIP: $bin missing (tools/setup-deps.sh)"; exit 77; }
done

work=$(mktemp -d /tmp/berth-e2e-registry-XXXXXX)
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
cg=/berth-e2e-registry-$$
state=$work/state
registry_pid=
cleanup() {
  set +e
  for id in $("$rt" --root "$state" list -q 2>/dev/null); do "$rt" --root "$state" delete -f "$id"; done
  for b in "$work"/bundle-*; do [[ -d $b/.berth ]] && "$agent" image --root "$work/store" unbundle "$b" >/dev/null; done
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  for d in $(find "$unified$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d"; done
  rmdir "$unified$cg" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
A() { "$agent" image --root "$work/store" "$@"; }

# A free loopback port for the registry.
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 20000))
  ss -Htln "sport = :$port" | grep -q . || break
done
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/registry}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$port"}
YML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
reg=127.0.0.1:$port
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$work/registry.log"; fail "registry did not start"; }

"$mkimage" all "$work/images" >/dev/null
skopeo copy -q --dest-tls-verify=false oci:"$work/images/busybox:latest" "docker://$reg/berth/busybox:1"
skopeo copy -q --dest-tls-verify=false oci:"$work/images/httpd:latest" "docker://$reg/berth/httpd:1"
echo "registry $reg holds berth/busybox:1 and berth/httpd:1"

# Pull: busybox, then httpd shares its base layer.
A pull --insecure-registry "$reg" "$reg/berth/busybox:1"
out=$(A -o json pull --insecure-registry "$reg" "$reg/berth/httpd:1")
echo "$out"
grep -q '"layersCached": 1' <<<"$out" || fail "httpd pull fetched the shared base layer again"
A ls
A ls | grep -q "$reg/berth/httpd" || fail "ls does not list the pulled image"
A inspect "$reg/berth/httpd:1" | grep -q '8080/tcp' || fail "inspect lacks the exposed port"

# Run it: an overlay bundle from the store, executed by berth-runtime.
A bundle --cgroups-path "$cg/c1" "$reg/berth/busybox:1" "$work/bundle-1" -- \
  sh -c 'echo hello-from-the-registry; ls /bin/busybox'
out=$("$rt" --root "$state" run -b "$work/bundle-1" e2e-reg-1-$$)
echo "$out"
grep -q hello-from-the-registry <<<"$out" || fail "the pulled image did not run"
A bundle --cgroups-path "$cg/c2" "$reg/berth/httpd:1" "$work/bundle-2" -- \
  sh -c 'httpd -p 127.0.0.1:8080 -h /www && sleep 0.3 && wget -qO- http://127.0.0.1:8080/'
out=$("$rt" --root "$state" run -b "$work/bundle-2" e2e-reg-2-$$)
grep -qi berth <<<"$out" || fail "httpd image did not serve its page: $out"
echo "httpd image served: $(head -c 80 <<<"$out")"

# Failures: each a clear error, nothing half-stored.
before=$(A -o json ls)
if A pull --insecure-registry "$reg" "$reg/berth/busybox:nope" 2>"$work/err"; then fail "unknown tag pulled"; fi
cat "$work/err"
grep -q "MANIFEST_UNKNOWN\|NAME_UNKNOWN\|404" "$work/err" || fail "unknown tag error unclear"
if A pull "$reg/berth/busybox:1" 2>"$work/err"; then fail "plain HTTP registry used without --insecure-registry"; fi
cat "$work/err"
grep -q "https://$reg" "$work/err" || fail "TLS error does not name the endpoint"
[[ $(A -o json ls) == "$before" ]] || fail "a failed pull changed the store's references"

# rm keeps what a bundle leases; unbundle then prune frees it.
A unbundle "$work/bundle-1"
A unbundle "$work/bundle-2"
A rm "$reg/berth/httpd:1" | tee "$work/rm.out"
grep -q "Deleted [1-9]" "$work/rm.out" || fail "rm freed nothing"
A inspect "$reg/berth/busybox:1" >/dev/null || fail "rm of httpd broke busybox (shared layer)"
A rm "$reg/berth/busybox:1"
[[ $(find "$work/store/blobs/sha256" -type f | wc -l) -eq 0 ]] || fail "blobs left after removing every image"
[[ $(find "$work/store/snapshots" -mindepth 1 -maxdepth 1 | wc -l) -eq 0 ]] || fail "snapshots left"
echo "PASS"
