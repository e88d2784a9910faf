#include "berth/common/ip.h"

#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace berth {
namespace {

using U128 = unsigned __int128;

U128 ToInt(const IpAddress& a) {
  U128 v = 0;
  for (size_t i = 0; i < a.size(); ++i) v = (v << 8) | a.bytes[i];
  return v;
}

IpAddress FromInt(int family, U128 v) {
  IpAddress a;
  a.family = family;
  const size_t n = family == AF_INET ? 4 : 16;
  for (size_t i = n; i-- > 0;) {
    a.bytes[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

U128 HostMask(const IpPrefix& p) {
  const int bits = p.address.is_v4() ? 32 : 128;
  const int host = bits - p.length;
  if (host == 0) return 0;
  if (host == 128) return ~U128{0};
  return (U128{1} << host) - 1;
}

}  // namespace

bool IpAddress::is_v4() const { return family == AF_INET; }

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  const std::string s(text);
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return Error::Invalid("\"" + s + "\" is not an IPv4 or IPv6 address");
}

std::string IpAddress::String() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "<none>";
  ::inet_ntop(family, bytes.data(), buf, sizeof(buf));
  return buf;
}

Result<IpPrefix> IpPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Error::Invalid("\"" + std::string(text) + "\": expected address/length");
  }
  IpPrefix p;
  BERTH_ASSIGN_OR_RETURN(p.address, IpAddress::Parse(text.substr(0, slash)));
  const std::string_view len = text.substr(slash + 1);
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), p.length);
  const int max = p.address.is_v4() ? 32 : 128;
  if (ec != std::errc() || end != len.data() + len.size() || p.length < 0 || p.length > max) {
    return Error::Invalid("\"" + std::string(text) + "\": prefix length must be 0-" +
                          std::to_string(max));
  }
  return p;
}

std::string IpPrefix::String() const { return address.String() + "/" + std::to_string(length); }

IpPrefix IpPrefix::Network() const {
  IpPrefix n = *this;
  n.address = FromInt(address.family, ToInt(address) & ~HostMask(*this));
  return n;
}

bool IpPrefix::Contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  return (ToInt(a) & ~HostMask(*this)) == (ToInt(address) & ~HostMask(*this));
}

uint64_t IpPrefix::Size() const {
  const U128 mask = HostMask(*this);
  if (mask >= U128{UINT64_MAX}) return UINT64_MAX;
  return static_cast<uint64_t>(mask) + 1;
}

IpAddress IpPrefix::Nth(uint64_t offset) const {
  return FromInt(address.family, (ToInt(address) & ~HostMask(*this)) + offset);
}

uint64_t IpPrefix::OffsetOf(const IpAddress& a) const {
  return static_cast<uint64_t>(ToInt(a) & HostMask(*this));
}

}  // namespace berth
