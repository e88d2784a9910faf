// IPv4 and IPv6 addresses and prefixes as values (pod networking, services): parsing, printing and
// the arithmetic IPAM needs (the n-th address of a prefix, membership, size). Values only;
// thread-safe. Errors: EINVAL naming the text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/error.h"

namespace berth {

struct IpAddress {
  int family = 0;                   // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  static Result<IpAddress> Parse(std::string_view text);
  std::string String() const;
  bool is_v4() const;
  size_t size() const { return is_v4() ? 4 : 16; }
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
  friend bool operator<(const IpAddress& a, const IpAddress& b) {
    return a.family != b.family ? a.family < b.family : a.bytes < b.bytes;
  }
};

// An address with a prefix length: a network ("10.1.0.0/24") or an
// interface address ("10.1.0.5/24").
struct IpPrefix {
  IpAddress address;
  int length = 0;

  static Result<IpPrefix> Parse(std::string_view text);
  std::string String() const;
  // The prefix with host bits cleared.
  IpPrefix Network() const;
  bool Contains(const IpAddress& a) const;
  // Number of addresses (saturates at 2^64 for large IPv6 prefixes).
  uint64_t Size() const;
  // The address `offset` past the network address; offset < Size().
  IpAddress Nth(uint64_t offset) const;
  // Offset of `a` from the network address; `a` must be inside.
  uint64_t OffsetOf(const IpAddress& a) const;
  friend bool operator==(const IpPrefix& a, const IpPrefix& b) {
    return a.address == b.address && a.length == b.length;
  }
};

}  // namespace berth
