// Address management for one pod CIDR, as CNI's host-local plugin does it:
// one file per allocated address under <dir>/<cidr>/ (created with O_EXCL,
// holding the owner, fsynced with its directory), so allocations survive a
// crash or restart and two allocators never hand out the same address. The
// network address, the gateway (network + 1) and, for IPv4, the broadcast
// address are never handed out. Allocation continues round-robin after the
// last address handed out, so a released address is not reused at once.
//
// Thread- and process-safe: every change holds flock(2) on the range's lock
// file. Errors: ENOSPC when the range is exhausted (naming it and its size),
// EINVAL for a range too small to hold a pod, errno of the file operations.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "berth/common/error.h"
#include "berth/common/ip.h"

namespace berth::netns {

using berth::IpAddress;
using berth::IpPrefix;

class Ipam {
 public:
  static Result<Ipam> Open(const std::filesystem::path& dir, const IpPrefix& range);

  const IpPrefix& range() const { return range_; }
  // network + 1: the address the node side (bridge) holds.
  IpAddress Gateway() const { return range_.Nth(1); }

  // The owner's address in this range: the one it already holds, or a new one.
  Result<IpAddress> Allocate(const std::string& owner);
  // Frees whatever the owner holds; not holding anything is fine.
  Status Release(const std::string& owner);
  // Every allocation: address -> owner.
  Result<std::map<IpAddress, std::string>> List() const;

 private:
  Ipam(std::filesystem::path dir, IpPrefix range) : dir_(std::move(dir)), range_(range) {}
  std::filesystem::path dir_;
  IpPrefix range_;
};

}  // namespace berth::netns
