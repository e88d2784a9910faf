#!/usr/bin/env bash
# Installs every Debian 12 package Berth's build, tests and benchmarks need.
# Idempotent: packages already installed are not fetched again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang lld llvm
  libclang-rt-14-dev clang-format clang-tidy git
  # libraries
  libseccomp-dev libcap-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libgtest-dev libgmock-dev libarchive-dev libssl-dev
  libcurl4-openssl-dev libnl-3-dev libnl-route-3-dev libbpf-dev bpftool
  libcpp-httplib-dev zlib1g-dev libyaml-cpp-dev libyaml-dev libsystemd-dev librocksdb-dev
  libldns-dev libjemalloc-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # runtime tests and benchmarks: test rootfs, peer runtimes, podman
  busybox-static crun runc podman uidmap iproute2 procps time
  docker-registry skopeo umoci apache2-utils containernetworking-plugins
  prometheus prometheus-node-exporter iptables curl bc ldnsutils jq
  # tools/vmtest: boots Debian's kernel under qemu
  qemu-system-x86 dpkg-dev xz-utils
)

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"

# docker-registry and prometheus are installed for tests that start their own
# instances on 127.0.0.1; do not leave the packages' system services running.
for svc in docker-registry prometheus prometheus-node-exporter; do
  if [[ " ${missing[*]} " == *" $svc "* ]] && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  fi
done
