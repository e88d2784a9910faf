// ClusterIP service load balancing at the socket layer, replacing
// kube-proxy as Cilium's socket LB does: cgroup connect4/6, sendmsg4/6,
// recvmsg4/6 and getpeername4/6 programs translate a service address to a
// backend once per connection (randomly, or by ClientIP affinity per network
// namespace), refuse connections to a service without backends with
// ECONNREFUSED, and show the service address to the application.
//
// Programs attach with BPF_F_ALLOW_MULTI semantics (bpf_link) at
// options.cgroup; maps and links are pinned under options.pin_dir (a bpffs
// directory, /sys/fs/bpf/berth/<node> in production), so dropping the owner
// (an agent restart) keeps services working, and Open() re-opens the same
// maps and swaps in the new programs. Uninstall() detaches and unpins.
//
// Updates never disturb traffic: new backend slots are written under a new
// revision, then the service entry switches to it, then the old slots go.
// Not thread-safe: one owner per node serialises updates. Errors name the
// service (address:port/protocol) and carry the errno of the bpf syscall.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/ip.h"

namespace berth::ebpf {

enum class Protocol { kTcp, kUdp };

struct Backend {
  IpAddress address;
  uint16_t port = 0;
  friend bool operator==(const Backend& a, const Backend& b) {
    return a.address == b.address && a.port == b.port;
  }
};

struct ServiceKey {
  IpAddress address;
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  // "10.96.0.10:80/TCP", "[fd00::10]:80/UDP"
  std::string String() const;
};

struct Service {
  ServiceKey key;
  std::vector<Backend> backends;
  // ClientIP session affinity: the same client (network namespace) keeps
  // its backend while it reconnects within this many seconds.
  std::optional<uint32_t> affinity_timeout_seconds;
};

struct ServiceState {
  Service service;
  uint64_t connections = 0;
  std::vector<uint64_t> backend_connections;  // parallel to service.backends
};

struct ServiceLbOptions {
  std::filesystem::path cgroup;   // cgroup2 directory the programs attach to
  std::filesystem::path pin_dir;  // on bpffs; created when missing
};

class ServiceLb {
 public:
  static Result<std::unique_ptr<ServiceLb>> Open(const ServiceLbOptions& options);
  ~ServiceLb();
  ServiceLb(const ServiceLb&) = delete;
  ServiceLb& operator=(const ServiceLb&) = delete;

  // Creates or replaces a service's backends (an empty list refuses connections).
  Status Upsert(const Service& service);
  // The same for many services with a few batched map updates (an agent's
  // full sync): all new slots, then all service entries, then the old slots.
  Status UpsertMany(const std::vector<Service>& services);
  // Removing an unknown service is fine.
  Status Delete(const ServiceKey& key);
  // What the maps hold, with connection counters, sorted by key.
  Result<std::vector<ServiceState>> List() const;
  // Detaches the programs and removes every pin: services stop working.
  Status Uninstall();

 private:
  struct Impl;
  explicit ServiceLb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the services and counters another process (the agent) keeps pinned
// under `pin_dir`, read-only, without loading or attaching anything: for
// metrics exporters and debugging tools.
Result<std::vector<ServiceState>> ReadPinnedServices(const std::filesystem::path& pin_dir);

}  // namespace berth::ebpf
