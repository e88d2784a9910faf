#!/usr/bin/env bash
# Builds Berth's demo OCI images from Debian's busybox-static, without Docker,
# as OCI image layout directories (image-spec image-layout.md: oci-layout,
# index.json, blobs/sha256/<hex>).
#
#   busybox  one layer: /bin/busybox, its applet links, a minimal /etc.
#   httpd    the same base layer (same bytes, same digest, so an image store
#            keeps one copy) plus a layer with /www/index.html; runs
#            `httpd -f -v -p 8080 -h /www`.
#
# Output is reproducible: the same busybox binary gives byte-identical blobs.
# Needs only bash, coreutils, GNU tar and gzip.
set -euo pipefail
export LC_ALL=C
umask 022
# Both are read by the tools themselves and would change the archive bytes.
unset TAR_OPTIONS GZIP

readonly kProg=mkimage
readonly kPath=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly kEpoch=1970-01-01T00:00:00Z
readonly kLayerType=application/vnd.oci.image.layer.v1.tar+gzip
readonly kConfigType=application/vnd.oci.image.config.v1+json
readonly kManifestType=application/vnd.oci.image.manifest.v1+json
readonly kIndexType=application/vnd.oci.image.index.v1+json
busybox=${MKIMAGE_BUSYBOX:-/bin/busybox}

usage() {
  cat <<EOF
usage: $0 busybox|httpd|all OUTDIR [--name NAME] [--tag TAG]

Writes an OCI image layout directory for each image:
  busybox  -> OUTDIR               (default name docker.io/library/busybox)
  httpd    -> OUTDIR               (default name docker.io/berth/httpd)
  all      -> OUTDIR/busybox and OUTDIR/httpd

  --name NAME  repository without tag, e.g. registry.local/demo/busybox;
               short names are normalized as Docker does (busybox ->
               docker.io/library/busybox). Not allowed with 'all'.
  --tag TAG    tag for org.opencontainers.image.ref.name and the full name
               in io.containerd.image.name (default: latest).
  -h, --help   print this help.

An existing OUTDIR (or OUTDIR/<image>) is replaced only once the new layout
is complete, and only if it is empty or already an OCI layout.
Needs busybox-static (apt-get install busybox-static); MKIMAGE_BUSYBOX
overrides the binary's path (default /bin/busybox).
Prints "<layout dir> <name>:<tag> <manifest digest>" per image.
EOF
}

die() { echo "$kProg: $*" >&2; exit 1; }
usage_error() { echo "$kProg: $*" >&2; echo "try '$0 --help'" >&2; exit 2; }

# --- cleanup -----------------------------------------------------------------
# Everything listed here is ours and is removed on every exit path.
cleanup_paths=()
cleanup() { rm -rf -- "${cleanup_paths[@]}"; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- arguments ---------------------------------------------------------------
what="" outdir="" name="" tag=latest name_set=0 positional=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --name|--tag)
      [[ $# -ge 2 ]] || usage_error "option $1 needs a value"
      if [[ $1 == --name ]]; then name=$2; name_set=1; else tag=$2; fi
      shift 2 ;;
    --name=*) name=${1#--name=}; name_set=1; shift ;;
    --tag=*) tag=${1#--tag=}; shift ;;
    --) shift; positional+=("$@"); break ;;
    -*) usage_error "unknown option '$1'" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[[ ${#positional[@]} -eq 2 ]] ||
  usage_error "expected an image and OUTDIR, got ${#positional[@]} argument(s)"
what=${positional[0]} outdir=${positional[1]}
case $what in
  busybox|httpd|all) ;;
  *) usage_error "unknown image '$what' (choose busybox, httpd or all)" ;;
esac
[[ -n $outdir ]] || usage_error "OUTDIR is empty"
# A trailing slash would put OUTDIR.tmp.$$ inside OUTDIR.
while [[ $outdir == */ && $outdir != / ]]; do outdir=${outdir%/}; done
if [[ $what == all && $name_set -eq 1 ]]; then
  usage_error "--name names one image; build busybox and httpd separately to name them"
fi

# Tag grammar from the distribution reference spec.
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
  usage_error "invalid tag '$tag' (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"

# Prints the normalized repository for NAME, as Docker normalizes it:
# no domain -> docker.io, a single docker.io component -> library/<name>.
normalize_name() {
  local in=$1 domain path first
  local comp='[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*'
  local label='[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?'
  [[ $in != *@* ]] || usage_error "invalid name '$in': a digest is not allowed"
  first=${in%%/*}
  if [[ $in == */* && ( $first == *.* || $first == *:* || $first == localhost ) ]]; then
    domain=$first path=${in#*/}
  else
    domain=docker.io path=$in
  fi
  [[ $path != *:* ]] || usage_error "invalid name '$in': give the tag with --tag"
  [[ $domain =~ ^$label(\.$label)*(:[0-9]+)?$ ]] ||
    usage_error "invalid name '$in': bad registry '$domain'"
  [[ $path =~ ^$comp(/$comp)*$ ]] ||
    usage_error "invalid name '$in': path components are lowercase letters, digits and '.', '_', '-' separators"
  if [[ $domain == docker.io && $path != */* ]]; then path=library/$path; fi
  echo "$domain/$path"
}
if [[ $name_set -eq 1 ]]; then
  [[ -n $name ]] || usage_error "--name is empty"
  name=$(normalize_name "$name")
fi

# --- tools -------------------------------------------------------------------
for tool in tar gzip sha256sum od stat mktemp; do
  command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done
[[ $(tar --version) == "tar (GNU tar)"* ]] || die "tar is not GNU tar (--sort and --pax-option are needed)"

# --- busybox: present, static, and which architecture ------------------------
# Reads an unsigned integer of SIZE bytes at OFFSET from the ELF file.
elf_uint() {
  local v
  v=$(od -An -v --endian="$elf_endian" -t "u$2" -j "$1" -N "$2" -- "$busybox")
  echo $((v))
}
[[ -e $busybox ]] || die "$busybox missing; install it with: apt-get install busybox-static"
[[ -f $busybox && -x $busybox ]] ||
  die "$busybox is not an executable file; install: apt-get install busybox-static"
read -r -a ident <<<"$(od -An -v -t u1 -N 6 -- "$busybox")"
[[ ${#ident[@]} -eq 6 && ${ident[*]:0:4} == "127 69 76 70" ]] ||
  die "$busybox is not an ELF binary; install: apt-get install busybox-static"
case ${ident[5]} in
  1) elf_endian=little ;;
  2) elf_endian=big ;;
  *) die "$busybox: unknown ELF data encoding ${ident[5]}" ;;
esac
# ELF header offsets of e_phoff, e_phentsize, e_phnum (man 5 elf).
case ${ident[4]} in
  1) phoff=$(elf_uint 28 4) phentsize=$(elf_uint 42 2) phnum=$(elf_uint 44 2) ;;
  2) phoff=$(elf_uint 32 8) phentsize=$(elf_uint 54 2) phnum=$(elf_uint 56 2) ;;
  *) die "$busybox: unknown ELF class ${ident[4]}" ;;
esac
# A PT_INTERP program header means it needs a dynamic loader, which the
# image does not have (Debian's 'busybox' package rather than busybox-static).
for ((i = 0; i < phnum; i++)); do
  if [[ $(elf_uint $((phoff + i * phentsize)) 4) -eq 3 ]]; then
    die "$busybox is dynamically linked; install the static one: apt-get install busybox-static"
  fi
done
# GOARCH names, from e_machine (elf.h EM_*).
machine=$(elf_uint 18 2)
case $machine:${ident[4]}:$elf_endian in
  62:2:little) arch=amd64 ;;
  183:2:little) arch=arm64 ;;
  3:1:little) arch=386 ;;
  21:2:little) arch=ppc64le ;;
  22:2:big) arch=s390x ;;
  243:2:little) arch=riscv64 ;;
  *) die "$busybox: unsupported ELF machine $machine (class ${ident[4]}, $elf_endian endian)" ;;
esac
applet_list=$("$busybox" --list) || die "'$busybox --list' failed"
mapfile -t applets <<<"$applet_list"

# --- output directories --------------------------------------------------------
# image name -> destination layout directory
declare -A dest
case $what in
  all) dest[busybox]=$outdir/busybox dest[httpd]=$outdir/httpd ;;
  *) dest[$what]=$outdir ;;
esac
images=()
for image in busybox httpd; do
  if [[ -n ${dest[$image]:-} ]]; then images+=("$image"); fi
done

# Refuse to replace anything that is not an earlier layout: OUTDIR may be a typo
# for a directory that matters.
for image in "${images[@]}"; do
  d=${dest[$image]}
  [[ -e $d || -L $d ]] || continue
  [[ -d $d && ! -L $d ]] || die "$d exists and is not a directory"
  [[ -f $d/oci-layout ]] && continue
  shopt -s nullglob dotglob
  entries=("$d"/*)
  shopt -u nullglob dotglob
  [[ ${#entries[@]} -eq 0 ]] || die "$d exists and is not an OCI layout; refusing to replace it"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
cleanup_paths+=("$work")
mkdir "$work/blobs"

# --- blobs ---------------------------------------------------------------------
# Moves FILE into the work blob store; sets blob_digest and blob_size.
store_blob() {
  local hex
  hex=$(sha256sum <"$1")
  hex=${hex%% *}
  blob_size=$(stat -c %s -- "$1")
  blob_digest=sha256:$hex
  mv -f -- "$1" "$work/blobs/$hex"
}

# Tars the contents of DIR into a gzip layer; sets layer_diff_id,
# layer_digest and layer_size. diff_id is the digest of the uncompressed tar
# (image-spec config.md), digest and size are of the gzip blob.
make_layer() {
  local root=$1 tarfile=$work/layer.tar entries hex
  shopt -s dotglob
  entries=("$root"/*)
  shopt -u dotglob
  entries=("${entries[@]#"$root"/}")
  tar --create --file="$tarfile" --directory="$root" \
    --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --no-acls --no-xattrs --no-selinux --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -- "${entries[@]}"
  hex=$(sha256sum <"$tarfile")
  layer_diff_id=sha256:${hex%% *}
  gzip -n -6 -c -- "$tarfile" >"$tarfile.gz"
  rm -f -- "$tarfile"
  store_blob "$tarfile.gz"
  layer_digest=$blob_digest layer_size=$blob_size
}

# Writes the JSON text to a new blob; sets blob_digest and blob_size. Strings
# in it are fixed or validated above, so none needs escaping.
json_blob() {
  printf '%s' "$1" >"$work/json"
  store_blob "$work/json"
}

# --- base layer: busybox, applet links, /etc ------------------------------------
base=$work/rootfs-base
mkdir -p "$base"/{bin,dev,etc,proc,root,sys,tmp,var,www}
cp -- "$busybox" "$base/bin/busybox"
chmod 0755 "$base/bin/busybox"
for applet in "${applets[@]}"; do
  [[ -n $applet && $applet != busybox ]] || continue
  [[ $applet != */* && $applet != . && $applet != .. ]] ||
    die "'$busybox --list' printed an unusable applet name '$applet'"
  ln -s busybox "$base/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$base/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$base/etc/group"
chmod 0644 "$base/etc/passwd" "$base/etc/group"
chmod 0755 "$base"/{bin,dev,etc,proc,sys,var,www}
chmod 0700 "$base/root"
chmod 1777 "$base/tmp"
make_layer "$base"
base_diff_id=$layer_diff_id base_digest=$layer_digest base_size=$layer_size
base_history="{\"created\":\"$kEpoch\",\"created_by\":\"berth mkimage: busybox, applet links, /etc\"}"

# --- images ----------------------------------------------------------------------
# build_<image> sets the image's config object, diff_ids, history, layer
# descriptors and layer_blobs; the loop below writes config, manifest and layout.
build_busybox() {
  image_config="{\"Env\":[\"$kPath\"],\"Cmd\":[\"sh\"]}"
  diff_ids="\"$base_diff_id\""
  history=$base_history
  layers="{\"mediaType\":\"$kLayerType\",\"digest\":\"$base_digest\",\"size\":$base_size}"
  layer_blobs=("$base_digest")
}

build_httpd() {
  local www=$work/rootfs-httpd
  mkdir -p "$www/www"
  cat >"$www/www/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Berth demo httpd</title></head>
<body>
<h1>Hello from Berth</h1>
<p>This page is served by busybox httpd in Berth's demo httpd image.</p>
</body>
</html>
EOF
  chmod 0755 "$www/www"
  chmod 0644 "$www/www/index.html"
  make_layer "$www"
  image_config="{\"User\":\"\",\"ExposedPorts\":{\"8080/tcp\":{}},\"Env\":[\"$kPath\"]"
  image_config+=",\"Cmd\":[\"httpd\",\"-f\",\"-v\",\"-p\",\"8080\",\"-h\",\"/www\"],\"WorkingDir\":\"/www\"}"
  diff_ids="\"$base_diff_id\",\"$layer_diff_id\""
  history="$base_history,{\"created\":\"$kEpoch\",\"created_by\":\"berth mkimage: /www/index.html\"}"
  layers="{\"mediaType\":\"$kLayerType\",\"digest\":\"$base_digest\",\"size\":$base_size}"
  layers+=",{\"mediaType\":\"$kLayerType\",\"digest\":\"$layer_digest\",\"size\":$layer_size}"
  layer_blobs=("$base_digest" "$layer_digest")
}

declare -A default_name=([busybox]=docker.io/library/busybox [httpd]=docker.io/berth/httpd)
declare -A staging result
for image in "${images[@]}"; do
  "build_$image"
  json_blob "{\"created\":\"$kEpoch\",\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":$image_config,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]},\"history\":[$history]}"
  config_digest=$blob_digest config_size=$blob_size
  json_blob "{\"schemaVersion\":2,\"mediaType\":\"$kManifestType\",\"config\":{\"mediaType\":\"$kConfigType\",\"digest\":\"$config_digest\",\"size\":$config_size},\"layers\":[$layers]}"
  manifest_digest=$blob_digest manifest_size=$blob_size

  ref=${name:-${default_name[$image]}}:$tag
  d=${dest[$image]}
  s=$d.tmp.$$
  mkdir -p -- "$(dirname -- "$d")"
  mkdir -- "$s" || die "cannot create staging directory $s"
  cleanup_paths+=("$s")
  staging[$image]=$s
  mkdir -p "$s/blobs/sha256"
  for digest in "${layer_blobs[@]}" "$config_digest" "$manifest_digest"; do
    cp -- "$work/blobs/${digest#sha256:}" "$s/blobs/sha256/${digest#sha256:}"
  done
  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$s/oci-layout"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"$kIndexType\",\"manifests\":[{\"mediaType\":\"$kManifestType\",\"digest\":\"$manifest_digest\",\"size\":$manifest_size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$ref\",\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" >"$s/index.json"
  result[$image]="$d $ref $manifest_digest"
done

# --- replace the outputs -----------------------------------------------------------
# Every layout is complete before any existing one is touched. Signals wait
# until the swap is over so a destination is never left missing.
trap '' HUP INT TERM
for image in "${images[@]}"; do
  d=${dest[$image]} s=${staging[$image]} old=${dest[$image]}.old.$$
  if [[ -e $d ]]; then mv -T -- "$d" "$old" || die "cannot move $d aside"; fi
  if ! mv -T -- "$s" "$d"; then
    if [[ -e $old ]] && ! mv -T -- "$old" "$d"; then
      die "cannot move $s to $d; the previous layout is kept in $old"
    fi
    die "cannot move $s to $d"
  fi
  rm -rf -- "$old"
done
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

for image in "${images[@]}"; do echo "${result[$image]}"; done
