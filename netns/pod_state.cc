// Pod records (pods/<id>.json) and the small helpers shared by the pod
// network's operations.
#include <fcntl.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "pod_network_impl.h"

#include "berth/common/file.h"
#include "berth/netns/namespace.h"

namespace berth::netns {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Result<PodRecord> ParseRecord(const std::string& text, const std::string& what) {
  auto j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return Error::Invalid(what + ": not a JSON object");
  try {
    PodRecord r;
    r.info.pod = j.at("pod").get<std::string>();
    r.info.netns = j.at("netns").get<std::string>();
    r.info.interface = j.at("interface").get<std::string>();
    r.info.host_interface = j.at("hostInterface").get<std::string>();
    r.mtu = j.value("mtu", 1500);
    for (const auto& a : j.at("addresses")) {
      BERTH_ASSIGN_OR_RETURN(IpPrefix p, IpPrefix::Parse(a.get<std::string>()));
      r.info.addresses.push_back(p);
    }
    for (const auto& g : j.at("gateways")) {
      BERTH_ASSIGN_OR_RETURN(IpAddress a, IpAddress::Parse(g.get<std::string>()));
      r.info.gateways.push_back(a);
    }
    return r;
  } catch (const Json::exception& e) {
    return Error::Invalid(what + ": " + e.what());
  }
}

}  // namespace

IpAddress RoutedGatewayV4() { return *IpAddress::Parse("169.254.1.1"); }
IpAddress RoutedGatewayV6() { return *IpAddress::Parse("fe80::ecee:eeff:feee:eeee"); }

Status WriteSysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return WriteFile(path, value).Wrap("sysctl " + key);
}

bool IsValidPodId(const std::string& pod) {
  if (pod.empty() || pod.size() > 128 || !std::isalnum(static_cast<unsigned char>(pod[0]))) {
    return false;
  }
  return std::all_of(pod.begin(), pod.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

fs::path PodNetwork::Impl::NetnsPath(const std::string& pod) const {
  return config.netns_dir / pod;
}

fs::path PodNetwork::Impl::RecordPath(const std::string& pod) const {
  return config.state_dir / "pods" / (pod + ".json");
}

std::string PodNetwork::Impl::HostLinkName(const std::string& pod) const {
  // FNV-1a: stable across builds, unlike std::hash.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : pod) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  (void)std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return config.link_prefix + std::string(hex, 15 - config.link_prefix.size());
}

std::vector<Ipam*> PodNetwork::Impl::Ipams() const {
  std::vector<Ipam*> out;
  if (ipam_v4) out.push_back(&*ipam_v4);
  if (ipam_v6) out.push_back(&*ipam_v6);
  return out;
}

Result<std::optional<PodRecord>> PodNetwork::Impl::LoadRecord(const std::string& pod) const {
  auto text = ReadFile(RecordPath(pod));
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return std::optional<PodRecord>();
    return std::move(text).error();
  }
  BERTH_ASSIGN_OR_RETURN(PodRecord r, ParseRecord(*text, RecordPath(pod).string()));
  return std::optional<PodRecord>(std::move(r));
}

Result<std::vector<PodRecord>> PodNetwork::Impl::LoadRecords() const {
  std::vector<PodRecord> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(config.state_dir / "pods", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(it->path()));
    BERTH_ASSIGN_OR_RETURN(PodRecord r, ParseRecord(text, it->path().string()));
    out.push_back(std::move(r));
  }
  if (ec) return Error::Sys(ec.value(), "list " + (config.state_dir / "pods").string());
  std::sort(out.begin(), out.end(),
            [](const PodRecord& a, const PodRecord& b) { return a.info.pod < b.info.pod; });
  return out;
}

Status PodNetwork::Impl::SaveRecord(const PodRecord& rec) const {
  Json addrs = Json::array();
  for (const auto& a : rec.info.addresses) addrs.push_back(a.String());
  Json gws = Json::array();
  for (const auto& g : rec.info.gateways) gws.push_back(g.String());
  Json j = {{"pod", rec.info.pod},
            {"netns", rec.info.netns.string()},
            {"interface", rec.info.interface},
            {"hostInterface", rec.info.host_interface},
            {"mtu", rec.mtu},
            {"addresses", addrs},
            {"gateways", gws}};
  return WriteFileAtomic(RecordPath(rec.info.pod), j.dump() + "\n", 0600);
}

Status PodNetwork::Impl::RemoveRecord(const std::string& pod) const {
  const fs::path p = RecordPath(pod);
  if (::unlink(p.c_str()) < 0 && errno != ENOENT) return Error::FromErrno("unlink " + p.string());
  return {};
}

}  // namespace berth::netns
