#!/usr/bin/env bash
# vmtest.sh: runs test programs inside a throwaway qemu VM whose only cgroup
# hierarchy is cgroup v2 with every controller (cpuset cpu io memory hugetlb
# pids rdma misc). The build/test hosts mount cgroup2 next to a v1 hierarchy
# that owns cpu/memory/pids, so controller enforcement can only be tested here.
#
# Usage:
#   vmtest.sh [options] -- <program> [args...] [-- <program2> [args...]]...
#
# Each <program> is a host path (copied into the guest at the same absolute
# path without debug info, together with the shared libraries ldd lists), the
# DST of a --file, or, without a '/', a busybox applet
# (`-- sh -c 'cat /proc/cgroups'`). A lone "--" always separates programs.
# Programs run one after the other, as root, cwd /tmp, stdin /dev/null, with
# BERTH_VMTEST=1 and GTEST_COLOR=no exported; their output (and kernel
# warnings such as OOM kills) goes to stdout. Every program runs even if an
# earlier one failed.
#
# The guest: root is a tmpfs (so pivot_root works) holding /bin/busybox and
# its applets, /etc/{passwd,group,hosts}, the programs and their libraries;
# proc, sysfs, devtmpfs, devpts, mqueue, bpffs and cgroup2 at /sys/fs/cgroup
# (the only hierarchy: cgroup_no_v1=all); lo is up; 1 CPU, no network.
#
# Options:
#   --modules m1,m2   kernel modules to load (with their dependencies), e.g.
#                     overlay,veth,bridge. Repeatable.
#   --file SRC[:DST]  extra file for the guest (default DST: the same absolute
#                     path); ELF files bring their shared libraries. Repeatable.
#   --env NAME=VALUE  exported in the guest before the programs run (GTEST_*
#                     variables of the host are passed on too). Repeatable.
#   --timeout S       wall-clock limit for the whole VM run (default 300).
#   --mem MB          guest memory (default 1024).
#   --append ARGS     extra kernel command line.
#   --verbose         boot without `quiet` (kernel log on the console).
#   --keep            keep the work dir (initramfs, serial log) and print it.
#   -h, --help        this text.
#
# Exit status:
#   the first non-zero exit status of the programs (0 when all pass);
#   77   SKIP: qemu or the kernel package cannot be had (a "SKIP: <reason>"
#        line says which); ctest maps it through SKIP_RETURN_CODE;
#   124  the VM did not finish within --timeout;
#   125  the VM stopped without reporting a result (kernel panic, /init died);
#   2    usage error.
#
# Environment:
#   BERTH_VMTEST_CACHE       cache dir (default ${XDG_CACHE_HOME:-/var/cache}/
#                            berth-vmtest; ~/.cache/berth-vmtest for non-root
#                            users without XDG_CACHE_HOME).
#   BERTH_VMTEST_KERNEL_PKG  Debian kernel package to use (default: the one
#                            already cached, else what linux-image-amd64
#                            depends on).
#
# The kernel is Debian's linux-image package fetched with `apt-get download`
# and unpacked with `dpkg -x` (never installed) into the cache, once per
# machine; later runs never touch the network. See README.md.
set -euo pipefail

readonly kResultTag=VMTEST-RESULT

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}
skip() {
  echo "SKIP: $*"
  exit 77
}
die() {
  echo "vmtest: $*" >&2
  exit "${2:-2}"
}
log() { echo "vmtest: $*" >&2; }

modules=()
files=()
envs=()
timeout_s=300
mem_mb=1024
append=""
quiet=quiet
keep=0

while (($#)); do
  case $1 in
    --modules)
      (($# >= 2)) || die "--modules needs a value"
      IFS=, read -r -a m <<<"$2"
      modules+=("${m[@]}")
      shift 2
      ;;
    --file)
      (($# >= 2)) || die "--file needs a value"
      files+=("$2")
      shift 2
      ;;
    --env)
      (($# >= 2)) || die "--env needs a value"
      [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env expects NAME=VALUE, got '$2'"
      envs+=("$2")
      shift 2
      ;;
    --timeout)
      [[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs seconds"
      timeout_s=$2
      shift 2
      ;;
    --mem)
      [[ ${2:-} =~ ^[0-9]+$ ]] || die "--mem needs megabytes"
      mem_mb=$2
      shift 2
      ;;
    --append)
      (($# >= 2)) || die "--append needs a value"
      append=$2
      shift 2
      ;;
    --verbose) quiet="" && shift ;;
    --keep) keep=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    --) shift && break ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
(($#)) || die "no program given (see --help)"

# The remaining words are programs separated by "--"; store each as one
# shell-quoted line to embed in /init.
shell_quote() {
  local s=${1//\'/\'\\\'\'}
  printf "'%s'" "$s"
}
# True when guest path $1 is the destination of a --file SRC:DST.
is_file_dst() {
  local f
  for f in "${files[@]}"; do
    [[ $f == *:"$1" ]] && return 0
  done
  return 1
}
commands=()
programs=()
current=""
for word in "$@" --; do
  if [[ $word == -- ]]; then
    [[ -n $current ]] || die "empty program between '--' separators"
    commands+=("$current")
    current=""
    continue
  fi
  if [[ -z $current ]]; then
    if [[ $word == */* ]] && ! is_file_dst "$word"; then
      [[ -x $word && -f $word ]] || die "'$word' is not an executable file"
      word=$(realpath "$word")
      programs+=("$word")
    fi
    current=$(shell_quote "$word")
  else
    current+=" $(shell_quote "$word")"
  fi
done

# --- host prerequisites -----------------------------------------------------
qemu=$(command -v qemu-system-x86_64 || true)
[[ -n $qemu ]] || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
# Not `busybox --list | grep -q`: grep exits early and pipefail sees SIGPIPE.
[[ -x /bin/busybox && $'\n'$(/bin/busybox --list 2>/dev/null)$'\n' == *$'\n'cpio$'\n'* ]] ||
  skip "/bin/busybox with cpio not found (apt-get install busybox-static)"
[[ $(uname -m) == x86_64 ]] || skip "host is $(uname -m), vmtest boots an amd64 kernel"
command -v gzip >/dev/null || skip "gzip not installed"

is_elf() {
  [[ $(head -c4 "$1" | od -An -c | tr -d ' ') == 177ELF ]]
}

# --- kernel cache -----------------------------------------------------------
if [[ -n ${BERTH_VMTEST_CACHE:-} ]]; then
  cache=$BERTH_VMTEST_CACHE
elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
  cache=$XDG_CACHE_HOME/berth-vmtest
elif [[ $(id -u) -eq 0 ]]; then
  cache=/var/cache/berth-vmtest
else
  cache=$HOME/.cache/berth-vmtest
fi
mkdir -p "$cache/kernels" || skip "cannot create cache dir $cache"

# Prints the kernel package linux-image-amd64 currently depends on.
resolve_kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ {print $2; exit}'
}

# Downloads and unpacks $1 into $cache/kernels/$1 unless it is complete
# already. Caller holds the cache lock.
fetch_kernel() {
  local pkg=$1 dest=$cache/kernels/$1 tmp deb
  [[ -f $dest/.complete ]] && return 0
  # Leftovers of a fetch that was killed (we hold the lock: none is running).
  rm -rf "$cache"/.fetch.*
  command -v apt-get >/dev/null || skip "apt-get not available to fetch $pkg"
  command -v dpkg >/dev/null || skip "dpkg not available to unpack $pkg"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  log "downloading $pkg (once per machine, into $cache)"
  # The _apt sandbox user cannot write into a root-owned temp dir.
  if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >"$tmp/apt.log" 2>&1); then
    cat "$tmp/apt.log" >&2
    rm -rf "$tmp"
    skip "apt-get download $pkg failed"
  fi
  deb=$(echo "$tmp"/*.deb)
  mkdir "$tmp/root"
  dpkg -x "$deb" "$tmp/root" || {
    rm -rf "$tmp"
    skip "dpkg -x $deb failed"
  }
  local kver
  kver=$(basename "$(echo "$tmp"/root/lib/modules/*)")
  [[ -f $tmp/root/boot/vmlinuz-$kver ]] || {
    rm -rf "$tmp"
    skip "$pkg has no boot/vmlinuz-$kver"
  }
  # The package ships no modules.dep (the postinst runs depmod); busybox's
  # depmod writes one so --modules can resolve dependencies.
  /bin/busybox depmod -b "$tmp/root" "$kver" || {
    rm -rf "$tmp"
    skip "depmod for $kver failed"
  }
  rm -rf "$tmp/root/usr"
  mkdir -p "$cache/debs"
  mv "$deb" "$cache/debs/"
  echo "$kver" >"$tmp/root/kver"
  touch "$tmp/root/.complete"
  rm -rf "$dest"
  mv "$tmp/root" "$dest"
  rm -rf "$tmp"
}

# Writes $1/vmlinux, the uncompressed kernel of $1/boot/vmlinuz-<kver>, or
# $1/.no-vmlinux when that cannot be done. qemu boots an ELF vmlinux through
# its PVH entry point, skipping the bzImage's self-decompression, which costs
# about 3 s under TCG. Caller holds the cache lock.
extract_vmlinux() {
  local dir=$1 kver off
  kver=$(<"$dir/kver")
  [[ -f $dir/vmlinux || -f $dir/.no-vmlinux ]] && return 0
  # Like the kernel's scripts/extract-vmlinux, for the xz that Debian uses.
  # (Not `tail | xz`: xz stops at the end of the stream and pipefail would
  # report tail's SIGPIPE.)
  off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$dir/boot/vmlinuz-$kver" | head -1 | cut -d: -f1)
  if grep -qx CONFIG_PVH=y "$dir/boot/config-$kver" && [[ -n $off ]] &&
    command -v xz >/dev/null &&
    xz -dc --single-stream <(tail -c +$((off + 1)) "$dir/boot/vmlinuz-$kver") \
      >"$dir/vmlinux.tmp" 2>/dev/null &&
    is_elf "$dir/vmlinux.tmp"; then
    mv "$dir/vmlinux.tmp" "$dir/vmlinux"
  else
    rm -f "$dir/vmlinux.tmp"
    log "cannot extract an uncompressed PVH vmlinux: booting the bzImage (slower)"
    touch "$dir/.no-vmlinux"
  fi
}

# One lock for the whole cache: concurrent ctest runs wait for one download.
exec {lock_fd}>"$cache/lock"
flock -w 900 "$lock_fd" || skip "timed out waiting for the cache lock $cache/lock"
pkg=${BERTH_VMTEST_KERNEL_PKG:-}
if [[ -z $pkg && -f $cache/current ]]; then
  pkg=$(<"$cache/current")
  [[ -f $cache/kernels/$pkg/.complete ]] || pkg=""
fi
if [[ -z $pkg ]]; then
  pkg=$(resolve_kernel_pkg)
  if [[ -z $pkg && $(id -u) -eq 0 ]]; then
    log "apt-cache does not know linux-image-amd64: apt-get update"
    apt-get update -qq >&2 || true
    pkg=$(resolve_kernel_pkg)
  fi
  [[ -n $pkg ]] || skip "cannot resolve the kernel package (apt-cache depends linux-image-amd64)"
fi
fetch_kernel "$pkg"
extract_vmlinux "$cache/kernels/$pkg"
[[ -n ${BERTH_VMTEST_KERNEL_PKG:-} ]] || echo "$pkg" >"$cache/current"
flock -u "$lock_fd"
exec {lock_fd}>&-

kdir=$cache/kernels/$pkg
kver=$(<"$kdir/kver")
kernel=$kdir/boot/vmlinuz-$kver
[[ -f $kdir/vmlinux ]] && kernel=$kdir/vmlinux
moddir=$kdir/lib/modules/$kver

# --- initramfs ----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-vmtest.XXXXXX")
qemu_pid=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  # timeout(1) passes the signal on to qemu.
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid"
  if ((keep)); then
    log "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage=$work/root
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,newroot,vmtest/modules}

# Copies host file $1 to guest path $2 (dereferencing symlinks): libraries.
put() {
  mkdir -p "$stage$(dirname "$2")"
  cp -L "$1" "$stage$2"
}
# Copies the shared libraries and the loader ELF file $1 needs to the same
# paths in the guest. Static executables and non-ELF files need none.
put_libs() {
  local out lib
  is_elf "$1" || return 0
  out=$(ldd "$1" 2>&1) || return 0 # "not a dynamic executable"
  if grep -q 'not found' <<<"$out"; then
    die "$1: missing shared libraries:"$'\n'"$(grep 'not found' <<<"$out")" 2
  fi
  for lib in $(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' <<<"$out"); do
    [[ -e $stage$lib ]] || put "$lib" "$lib"
  done
}

put /bin/busybox /bin/busybox
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
echo vmtest >"$stage/etc/hostname"
printf '127.0.0.1 localhost vmtest\n::1 localhost\n' >"$stage/etc/hosts"

# Test binaries built with debug info are several times larger than their
# code; the guest unpacks every byte of the initramfs under emulation, so
# programs go in without .debug_* sections (symbols stay).
put_program() {
  mkdir -p "$stage$(dirname "$2")"
  if command -v objcopy >/dev/null && is_elf "$1"; then
    objcopy --strip-debug "$1" "$stage$2"
  else
    cp -L "$1" "$stage$2"
  fi
}
for p in "${programs[@]}"; do
  put_program "$p" "$p"
  put_libs "$p"
done
for f in "${files[@]}"; do
  src=${f%%:*}
  dst=$src
  [[ $f == *:* ]] && dst=${f#*:}
  [[ -f $src ]] || die "--file $src: no such file"
  src=$(realpath "$src")
  [[ $dst == /* ]] || dst=$src
  put_program "$src" "$dst"
  put_libs "$src"
done

# Resolve --modules to .ko files in load order (dependencies first) from
# modules.dep, whose lines read "kernel/a.ko: kernel/b.ko kernel/c.ko".
declare -A mod_seen=()
mod_order=()
add_module() {
  local rel=$1 dep
  [[ -n ${mod_seen[$rel]:-} ]] && return 0
  mod_seen[$rel]=1
  for dep in $(awk -v m="$rel:" '$1 == m {$1 = ""; print; exit}' "$moddir/modules.dep"); do
    add_module "$dep"
  done
  mod_order+=("$rel")
}
for m in "${modules[@]}"; do
  [[ -n $m ]] || continue
  name=${m//-/_}
  if grep -qE "/${name}\.ko(\.[gx]z)?\$" <(tr - _ <"$moddir/modules.builtin"); then
    continue # built into the kernel
  fi
  # modules.dep spells names with either '-' or '_'; match both.
  pattern=${name//_/[-_]}
  rel=$(grep -oE "^[^:]*/${pattern}\.ko(\.[gx]z)?:" "$moddir/modules.dep" | head -1 | tr -d :)
  [[ -n $rel ]] || die "module '$m' not found in $moddir"
  add_module "$rel"
done
insmods=""
i=0
for rel in "${mod_order[@]}"; do
  dst=/vmtest/modules/$i-$(basename "${rel%.[gx]z}")
  case $rel in
    *.xz)
      command -v xz >/dev/null || die "module $rel is xz-compressed: install xz-utils" 1
      xz -dc "$moddir/$rel" >"$stage$dst" ;;
    *.gz) gzip -dc "$moddir/$rel" >"$stage$dst" ;;
    *) cp "$moddir/$rel" "$stage$dst" ;;
  esac
  insmods+="insmod $dst || echo 'vmtest: insmod $dst failed'"$'\n'
  i=$((i + 1))
done

# gtest reads its flags from GTEST_* too (GTEST_FILTER=...): pass them on.
while IFS= read -r name; do
  envs=("$name=${!name}" "${envs[@]}")
done < <(compgen -e | grep '^GTEST_' || true)
exports=""
for e in "${envs[@]}"; do
  exports+="export ${e%%=*}=$(shell_quote "${e#*=}")"$'\n'
done
runs=""
for c in "${commands[@]}"; do
  runs+="echo \"VMTEST-RUN: \"$(shell_quote "$c")"$'\n'
  runs+="$c </dev/null; r=\$?"$'\n'
  runs+="echo \"VMTEST-EXIT: \$r\"; [ \$rc -eq 0 ] && rc=\$r"$'\n'
done
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# Stage one copies the initramfs into a tmpfs and switch_roots into it:
# pivot_root(2) refuses to move the initial rootfs, and the runtime under
# test needs pivot_root. Stage two (/init again, now with $1 = stage2)
# mounts the API file systems and runs the programs.
cat >"$stage/init" <<EOF
#!/bin/busybox sh
export PATH=/bin:/sbin
if [ "\$1" != stage2 ]; then
  /bin/busybox --install -s /bin
  mount -t devtmpfs devtmpfs /dev
  exec </dev/console >/dev/console 2>&1
  mount -t tmpfs -o mode=0755 root /newroot
  for d in /*; do
    case \$d in /newroot|/proc|/sys|/dev) ;; *) cp -a "\$d" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/newroot
  mount --move /dev /newroot/dev
  exec switch_root /newroot /init stage2
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
# / is a tmpfs already; a tmpfs on /tmp would hide programs staged there.
chmod 1777 /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount --make-rshared /
hostname vmtest
ip link set lo up
$insmods
export HOME=/root BERTH_VMTEST=1 GTEST_COLOR=no
$exports
echo "VMTEST: kernel \$(uname -r), cgroup2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
cd /tmp
rc=0
$runs
echo "$kResultTag-$nonce: \$rc"
sync
# isa-debug-exit makes qemu exit with (byte << 1) | 1; the host reads the
# exact status from the line above, so clamp to 7 bits.
b=\$rc; [ \$b -gt 127 ] && b=127
printf "\\\\\$(printf %o \$b)" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
poweroff -f
EOF
chmod 0755 "$stage/init"

(cd "$stage" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$work/initramfs.gz"

# --- boot -------------------------------------------------------------------
# RDRAND seeds the guest's crng at once (CONFIG_RANDOM_TRUST_CPU=y); without
# it the first getrandom(2) waits about a second for jitter entropy.
accel=(-accel tcg -cpu 'qemu64,+rdrand')
if [[ -w /dev/kvm ]]; then
  accel=(-accel kvm -cpu host)
fi
bios=()
[[ -f /usr/share/qemu/qboot.rom ]] && bios=(-bios /usr/share/qemu/qboot.rom)
# cgroup_no_v1=all leaves cgroup v2 the only hierarchy; panic=-1 with
# -no-reboot turns a kernel panic (e.g. /init dying) into a qemu exit.
cmdline="console=ttyS0 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 $quiet $append"
serial=$work/serial.log
log "booting $kver ($pkg) with $(du -h "$work/initramfs.gz" | cut -f1) initramfs, timeout ${timeout_s}s"
start=$(date +%s.%N)
# The serial console ends lines with \r\n; a reader strips the \r while
# streaming to stdout and the log. qemu runs in the background so a signal to
# this script (ctest's timeout) can stop it through the trap.
mkfifo "$work/serial.fifo"
sed -u 's/\r$//' <"$work/serial.fifo" | tee "$serial" &
reader_pid=$!
timeout -k 5 "$timeout_s" "$qemu" "${accel[@]}" "${bios[@]}" -smp 1 -m "$mem_mb" \
  -nographic -no-reboot -monitor none -serial stdio \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -kernel "$kernel" -initrd "$work/initramfs.gz" -append "$cmdline" \
  </dev/null >"$work/serial.fifo" 2>"$work/qemu.err" &
qemu_pid=$!
set +e
wait "$qemu_pid"
qemu_rc=$?
qemu_pid=""
wait "$reader_pid"
set -e
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')

# Not anchored at ^: output without a final newline shares the line.
result=$(sed -n "s/.*$kResultTag-$nonce: \([0-9]*\)\$/\1/p" "$serial" | tail -1)
if [[ -n $result ]]; then
  log "guest exit status $result after ${elapsed}s"
  exit "$result"
fi
[[ -s $work/qemu.err ]] && cat "$work/qemu.err" >&2
if ((qemu_rc == 124 || qemu_rc == 137)); then
  log "VM timed out after ${timeout_s}s"
  exit 124
fi
log "VM stopped (qemu status $qemu_rc) after ${elapsed}s without a result line"
exit 125
