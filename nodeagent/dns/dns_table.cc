#include "dns_table.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace berth::nodeagent::dns {
namespace {

// (namespace, name) of a Service and of its Endpoints.
using Key = std::pair<std::string, std::string>;

Key KeyOf(std::string_view ns, std::string_view name) {
  return {ns.empty() ? std::string("default") : std::string(ns), std::string(name)};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Lower case, one trailing dot removed: the form names are kept in.
std::string Normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return Lower(name);
}

// RFC 1123 label as Kubernetes validates object names: [a-z0-9-], 1-63.
bool IsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// A host name for a CNAME target: labels of [A-Za-z0-9_-], 1-63 each,
// at most 253 characters without the trailing dot.
bool IsHostName(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::optional<uint16_t> PortNumber(int32_t port) {
  if (port <= 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// "_<port>._<proto>.<base>", or nullopt when the port has no usable name.
std::optional<std::string> SrvName(std::string_view port_name, std::string_view protocol,
                                   const std::string& base) {
  std::string name = Lower(port_name);
  std::string proto = Lower(protocol.empty() ? std::string_view("TCP") : protocol);
  if (!IsLabel(name) || !IsLabel(proto)) return std::nullopt;
  return "_" + name + "._" + proto + "." + base;
}

Record AddressRecord(const std::string& name, const IpAddress& address) {
  Record r;
  r.name = name + ".";
  r.type = address.is_v4() ? kTypeA : kTypeAaaa;
  r.address = address;
  return r;
}

Record SrvRecord(const std::string& name, uint16_t port, const std::string& target) {
  Record r;
  r.name = name + ".";
  r.type = kTypeSrv;
  r.priority = 0;
  r.weight = 100;
  r.port = port;
  r.target = target + ".";
  return r;
}

// `name` is `domain` or below it (both normalized).
bool InDomain(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() && name.ends_with(domain) &&
                            name[name.size() - domain.size() - 1] == '.');
}

}  // namespace

std::string DashedAddress(const IpAddress& address) {
  std::string s = address.String();
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '.' || c == ':'; }, '-');
  return s;
}

struct DnsTable::State {
  struct Node {
    Key owner;
    std::vector<Record> records;
  };

  explicit State(std::string d) : domain(std::move(d)) {}

  // Calls fn for every ancestor of `name` strictly below the domain apex.
  template <typename Fn>
  void ForEachInterior(const std::string& name, Fn fn) const {
    size_t pos = name.find('.');
    while (pos != std::string::npos) {
      std::string parent = name.substr(pos + 1);
      if (parent.size() <= domain.size()) break;
      fn(parent);
      pos = name.find('.', pos + 1);
    }
  }

  // Makes `name` exist for `key` and adds `record` to it. A name another
  // Service already owns is left alone (only possible with invalid names,
  // which Rebuild rejects, but the table must stay consistent regardless).
  void Add(const Key& key, const std::string& name, const std::optional<Record>& record) {
    auto [it, inserted] = names.try_emplace(name);
    if (inserted) {
      it->second.owner = key;
      owned[key].push_back(name);
      ForEachInterior(name, [&](const std::string& parent) { ++interior[parent]; });
    } else if (it->second.owner != key) {
      return;
    }
    if (!record) return;
    auto& records = it->second.records;
    if (std::find(records.begin(), records.end(), *record) == records.end()) {
      records.push_back(*record);
    }
  }

  void Drop(const Key& key) {
    auto it = owned.find(key);
    if (it == owned.end()) return;
    for (const std::string& name : it->second) {
      names.erase(name);
      ForEachInterior(name, [&](const std::string& parent) {
        auto p = interior.find(parent);
        if (p != interior.end() && --p->second == 0) interior.erase(p);
      });
    }
    owned.erase(it);
  }

  // Regenerates every record of the Service `key` from the Service and its
  // Endpoints.
  void Rebuild(const Key& key) {
    Drop(key);
    auto sit = services.find(key);
    if (sit == services.end()) return;
    const std::string ns = Lower(key.first);
    const std::string svc_name = Lower(key.second);
    if (!IsLabel(ns) || !IsLabel(svc_name)) return;
    const std::string base = svc_name + "." + ns + ".svc." + domain;
    const v1::ServiceSpec& spec = sit->second.spec();
    Add(key, base, std::nullopt);

    if (spec.type() == "ExternalName") {
      if (!IsHostName(spec.external_name())) return;
      Record r;
      r.name = base + ".";
      r.type = kTypeCname;
      r.target = Normalize(spec.external_name()) + ".";
      Add(key, base, r);
      return;
    }

    // Named ports exist as names even when a headless service has no
    // endpoints yet: NODATA rather than NXDOMAIN.
    for (const v1::ServicePort& port : spec.ports()) {
      if (auto srv = SrvName(port.name(), port.protocol(), base)) Add(key, *srv, std::nullopt);
    }

    const bool headless = spec.cluster_ip() == "None" ||
                          (spec.cluster_ips_size() > 0 && spec.cluster_ips(0) == "None");
    if (!headless) {
      std::vector<std::string> ips(spec.cluster_ips().begin(), spec.cluster_ips().end());
      if (ips.empty()) ips.push_back(spec.cluster_ip());
      for (const std::string& text : ips) {
        auto ip = IpAddress::Parse(text);
        if (ip.ok()) Add(key, base, AddressRecord(base, *ip));
      }
      for (const v1::ServicePort& port : spec.ports()) {
        auto srv = SrvName(port.name(), port.protocol(), base);
        auto number = PortNumber(port.port());
        if (srv && number) Add(key, *srv, SrvRecord(*srv, *number, base));
      }
      return;
    }

    auto eit = endpoints.find(key);
    if (eit == endpoints.end()) return;
    for (const v1::EndpointSubset& subset : eit->second.subsets()) {
      std::vector<const v1::EndpointAddress*> addresses;
      for (const auto& a : subset.addresses()) addresses.push_back(&a);
      if (spec.publish_not_ready_addresses()) {
        for (const auto& a : subset.not_ready_addresses()) addresses.push_back(&a);
      }
      for (const v1::EndpointAddress* address : addresses) {
        auto ip = IpAddress::Parse(address->ip());
        if (!ip.ok()) continue;
        std::string host_name = Lower(address->hostname());
        if (!IsLabel(host_name)) host_name = DashedAddress(*ip);
        host_name.append(".").append(base);
        Add(key, base, AddressRecord(base, *ip));
        Add(key, host_name, AddressRecord(host_name, *ip));
        for (const v1::EndpointPort& port : subset.ports()) {
          auto srv = SrvName(port.name(), port.protocol(), base);
          auto number = PortNumber(port.port());
          if (srv && number) Add(key, *srv, SrvRecord(*srv, *number, host_name));
        }
      }
    }
  }

  const std::string domain;
  std::map<Key, v1::Service> services;
  std::map<Key, v1::Endpoints> endpoints;
  // Names each Service's records live under, to drop them on the next change.
  std::map<Key, std::vector<std::string>> owned;
  // Normalized name -> its records (possibly none: the name still exists).
  std::unordered_map<std::string, Node> names;
  // Empty non-terminals (RFC 8020: they exist, so NODATA, never NXDOMAIN):
  // ancestors of names, with the number of names below them.
  std::unordered_map<std::string, int> interior;
};

DnsTable::DnsTable(std::string_view domain)
    : domain_(Normalize(domain)), state_(std::make_unique<State>(domain_)) {}

DnsTable::~DnsTable() = default;

void DnsTable::SetService(const v1::Service& service) {
  Key key = KeyOf(service.metadata().namespace_(), service.metadata().name());
  std::unique_lock lock(mu_);
  state_->services[key] = service;
  state_->Rebuild(key);
}

void DnsTable::RemoveService(std::string_view ns, std::string_view name) {
  Key key = KeyOf(ns, name);
  std::unique_lock lock(mu_);
  state_->services.erase(key);
  state_->Rebuild(key);
}

void DnsTable::SetEndpoints(const v1::Endpoints& endpoints) {
  Key key = KeyOf(endpoints.metadata().namespace_(), endpoints.metadata().name());
  std::unique_lock lock(mu_);
  state_->endpoints[key] = endpoints;
  state_->Rebuild(key);
}

void DnsTable::RemoveEndpoints(std::string_view ns, std::string_view name) {
  Key key = KeyOf(ns, name);
  std::unique_lock lock(mu_);
  state_->endpoints.erase(key);
  state_->Rebuild(key);
}

void DnsTable::Replace(std::vector<v1::Service> services, std::vector<v1::Endpoints> endpoints) {
  // Built aside, swapped in under the lock: lookups keep being answered from
  // the old state meanwhile.
  auto fresh = std::make_unique<State>(domain_);
  for (v1::Service& s : services) {
    Key key = KeyOf(s.metadata().namespace_(), s.metadata().name());
    fresh->services[std::move(key)] = std::move(s);
  }
  for (v1::Endpoints& e : endpoints) {
    Key key = KeyOf(e.metadata().namespace_(), e.metadata().name());
    fresh->endpoints[std::move(key)] = std::move(e);
  }
  for (const auto& entry : fresh->services) fresh->Rebuild(entry.first);
  std::unique_lock lock(mu_);
  state_.swap(fresh);
}

Answer DnsTable::Lookup(std::string_view qname, uint16_t qtype) const {
  Answer answer;
  const std::string name = Normalize(qname);
  if (!InDomain(name, domain_)) return answer;

  std::shared_lock lock(mu_);
  const State& s = *state_;
  answer.rcode = Answer::kNoError;
  auto it = s.names.find(name);
  if (it == s.names.end()) {
    if (name != domain_ && !s.interior.contains(name)) answer.rcode = Answer::kNxDomain;
    return answer;
  }

  const std::vector<Record>& records = it->second.records;
  for (const Record& r : records) {
    if (qtype == kTypeAny || r.type == qtype) answer.answers.push_back(r);
  }
  if (answer.answers.empty() && qtype != kTypeCname) {
    // RFC 1034 3.6.2: a CNAME answers every type; chase it once when the
    // target is ours so the client needs no second query.
    auto cname = std::find_if(records.begin(), records.end(),
                              [](const Record& r) { return r.type == kTypeCname; });
    if (cname != records.end()) {
      answer.answers.push_back(*cname);
      auto target = s.names.find(Normalize(cname->target));
      if (target != s.names.end()) {
        for (const Record& r : target->second.records) {
          if (r.type == qtype) answer.answers.push_back(r);
        }
      }
    }
  }

  for (const Record& r : answer.answers) {
    if (r.type != kTypeSrv) continue;
    auto target = s.names.find(Normalize(r.target));
    if (target == s.names.end()) continue;
    for (const Record& a : target->second.records) {
      if (a.type != kTypeA && a.type != kTypeAaaa) continue;
      if (std::find(answer.additional.begin(), answer.additional.end(), a) ==
          answer.additional.end()) {
        answer.additional.push_back(a);
      }
    }
  }
  return answer;
}

}  // namespace berth::nodeagent::dns
