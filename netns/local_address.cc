#include <sys/socket.h>

#include <cerrno>

#include "nl.h"

#include "berth/netns/namespace.h"
#include "berth/netns/pod_network.h"

namespace berth::netns {

Status AddLocalAddress(const std::filesystem::path& node_netns, const IpPrefix& address) {
  auto add = [&]() -> Status {
    BERTH_ASSIGN_OR_RETURN(detail::NlSocket nl, detail::NlSocket::Open());
    BERTH_ASSIGN_OR_RETURN(int lo, detail::LinkIndex(nl, "lo"));
    Status st = detail::AddAddress(nl, lo, address, address.address.family == AF_INET6);
    if (!st.ok() && st.error().err() == EEXIST) return {};
    return st;
  };
  if (node_netns.empty()) return add().Wrap("add " + address.String() + " to lo");
  BERTH_ASSIGN_OR_RETURN(UniqueFd ns, OpenNetns(node_netns));
  return InNetns(ns.get(), add)
      .Wrap("add " + address.String() + " to lo in " + node_netns.string());
}

}  // namespace berth::netns
