#!/usr/bin/env bash
# A real registry: Debian's docker-registry on 127.0.0.1 with a temporary
# config, the demo images pushed into it with skopeo, pulled by berth-agent,
# bundled and run with berth-runtime; then the failures, each a clear error
# that stores nothing: unknown tag, plain HTTP without --insecure-registry,
# 401 from a registry with htpasswd auth (and success with credentials from a
# docker config.json), a layer corrupted and then truncated in the
# registry's storage; and rm/prune.
#   registry_pull.sh <berth-agent> <berth-runtime> <mkimage.sh>
# Exit 77 (skipped) without root, docker-registry or skopeo.
set -euo pipefail
agent=$1
rt=$2
mkimage=$3
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for bin in docker-registry skopeo ss htpasswd; do
  command -v $bin >/dev/null || { echo "SKIP: $bin missing (tools/setup-deps.sh)"; exit 77; }
done

work=$(mktemp -d /tmp/berth-e2e-registry-XXXXXX)
unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
cg=/berth-e2e-registry-$$
state=$work/state
registry_pids=()
cleanup() {
  set +e
  for id in $("$rt" --root "$state" list -q 2>/dev/null); do "$rt" --root "$state" delete -f "$id"; done
  for b in "$work"/bundle-*; do [[ -d $b/.berth ]] && "$agent" image --root "$work/store" unbundle "$b" >/dev/null; done
  for pid in "${registry_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for d in $(find "$unified$cg" -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d"; done
  rmdir "$unified$cg" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
A() { "$agent" image --root "$work/store" "$@"; }

# start_registry <name> [auth-yaml]: a registry on a free loopback port;
# sets $port.
start_registry() {
  local name=$1 auth=${2:-}
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$port" | grep -q . || break
  done
  cat > "$work/$name.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/$name}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$port"}
$auth
YML
  docker-registry serve "$work/$name.yml" > "$work/$name.log" 2>&1 &
  registry_pids+=($!)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$work/$name.log"
  fail "registry $name did not start"
}
start_registry registry
reg=127.0.0.1:$port

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
# A registry that wants credentials: 401 without them, a pull with them.
htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null
start_registry private "auth: {htpasswd: {realm: berth-test, path: $work/htpasswd}}"
priv=127.0.0.1:$port
skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret \
  oci:"$work/images/busybox:latest" "docker://$priv/team/busybox:1"
if A pull --insecure-registry "$priv" --authfile "$work/none.json" "$priv/team/busybox:1" 2>"$work/err"; then
  fail "pulled from an authenticated registry without credentials"
fi
cat "$work/err"
grep -q "requires credentials" "$work/err" || fail "401 error unclear"
[[ $(A -o json ls) == "[]" ]] || fail "a 401 left a reference behind"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$priv" "$(printf alice:s3cret | base64)" > "$work/auth.json"
A pull -q --insecure-registry "$priv" --authfile "$work/auth.json" "$priv/team/busybox:1"
A rm "$priv/team/busybox:1" >/dev/null

# Corrupt, then truncate, the base layer in the registry's own storage: the
# registry serves it as is, Berth must refuse it and store nothing.
base=$(find "$work/registry/docker/registry/v2/blobs/sha256" -name data -size +100k | head -1)
[[ -n $base ]] || fail "base layer not found in the registry storage"
base_digest=sha256:$(basename "$(dirname "$base")")
printf 'X' | dd of="$base" bs=1 seek=5000 conv=notrunc status=none
if A pull --insecure-registry "$reg" "$reg/berth/busybox:1" 2>"$work/err"; then fail "corrupt layer accepted"; fi
cat "$work/err"
grep -q "$base_digest" "$work/err" || fail "corrupt layer error does not name the expected digest"
truncate -s 4096 "$base"
if A pull --insecure-registry "$reg" "$reg/berth/busybox:1" 2>"$work/err"; then fail "truncated layer accepted"; fi
cat "$work/err"
[[ $(A -o json ls) == "[]" ]] || fail "a failed pull left a reference behind"
[[ -z $(ls -A "$work/store/ingest") ]] || fail "partial downloads left in ingest/"
[[ ! -e $work/store/blobs/sha256/${base_digest#sha256:} ]] || fail "bad layer stored"
echo "PASS"
