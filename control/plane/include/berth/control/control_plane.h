// Everything berth-control runs, wired in one object: the store, the
// registry with its admission plugins, the informers, the controllers,
// the scheduler and the gRPC service. berth-control's main and the tests
// that need a whole control plane (hollow nodes) build it the same way.
//
// Construction order matters and is kept here: controllers add their
// informer handlers first, then informers start, then controllers. Stop()
// (and the destructor) reverse it.
//
// Thread-safe after Start().
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "berth/common/error.h"
#include "berth/control/scheduler/scheduler.h"
#include "berth/control/scheduling/scheduler_service.h"

namespace berth::control {

class Registry;
class Store;

struct ControlPlaneOptions {
  std::filesystem::path data_dir;
  std::filesystem::path encryption_key;  // required for Secrets
  // Listen addresses: "unix:/path" (insecure, the local admin) and/or
  // "host:port" with TLS (tls_dir holds ca.crt, server.crt, server.key).
  std::vector<std::string> listen;
  std::filesystem::path tls_dir;
  std::string token_file_contents;
  scheduler::ScorePolicy policy = scheduler::ScorePolicy::kSpread;
  int64_t history_revisions = 100000;
  // Node lifecycle (shortened by tests).
  std::chrono::milliseconds node_grace{40000};
  std::chrono::milliseconds eviction_timeout{300000};
  std::filesystem::path audit_log;  // empty: none
  // ClusterIPs come from here; node ports from 30000-32767.
  std::string service_cidr = "10.96.0.0/12";
  // Nodes get /24 pod CIDRs from here.
  std::string cluster_cidr = "10.244.0.0/16";
  // The scheduler waits for StartScheduler() (a backlog built first, as a
  // benchmark measuring the scheduler alone needs).
  bool hold_scheduler = false;
};

class ControlPlane {
 public:
  static Result<std::unique_ptr<ControlPlane>> Start(const ControlPlaneOptions& options);
  ~ControlPlane();
  void Stop();

  Registry& registry();
  // Starts a held scheduler; a no-op when it runs already.
  Status StartScheduler();
  // Binds done (durably), pods found unschedulable, preemptions.
  SchedulerStats scheduler_stats() const;
  // The port a "host:0" listener got.
  int bound_port(size_t listener) const;

  struct Parts;

 private:
  explicit ControlPlane(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace berth::control
