// Hollow nodes, as Kubernetes' kubemark: many simulated agents in one
// process, each speaking the real node protocol (NodeSession: register,
// renew a lease every `lease_period`, follow its pods, report them Running
// and Ready after `ready_delay`, finish their graceful deletion) without
// creating containers. Pods get addresses from a per-node fake range
// (10.<node>.x.y). Freeze(node) simulates a dead node: no more lease
// renewals, status reports or deletions from it.
//
// Thread-safe. Pod watches run on gRPC's callback threads (no thread per
// node); `workers` threads each renew leases and resume dropped watches,
// and as many send the delayed status reports.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node_session.h"

#include "berth/api/control_client.h"

namespace berth::hollow {

struct HollowOptions {
  int nodes = 3;
  std::string prefix = "hollow-";
  std::chrono::milliseconds ready_delay{200};
  std::chrono::milliseconds lease_period{10000};
  int64_t cpu_milli = 4000;
  int64_t memory_bytes = 16LL << 30;
  int64_t pods = 110;
  // Threads reporting pod status and renewing leases (each renews the
  // leases of every workers-th node): a fleet of thousands needs several.
  int workers = 4;
  std::map<std::string, std::string> labels;
  // How long a deleted pod's containers take to stop before the node
  // finishes its deletion (a kubelet waits for them): 0, at once.
  std::chrono::milliseconds stop_delay{0};
};

class HollowFleet {
 public:
  // One client per node (each may carry its own node credentials), or the
  // same client for all: `client_for(i)` is called once per node.
  HollowFleet(HollowOptions options, std::function<api::ControlClient&(int)> client_for);
  ~HollowFleet();

  Status Start();
  void Stop();
  void Freeze(const std::string& node);
  std::vector<std::string> NodeNames() const;
  // Pods this fleet reported Running and has not seen deleted.
  size_t RunningPods() const;

 private:
  struct Node {
    std::unique_ptr<nodeagent::NodeSession> session;
    std::mutex watch_mu;
    std::unique_ptr<api::AsyncWatch> watch;  // guarded by watch_mu
    // The last event's revision: written by the watch's callbacks, read
    // when it is resumed after its end (ordered by rewatch_at).
    std::string revision;
    std::chrono::milliseconds backoff{200};
    // When to resume the ended watch (steady clock ticks); -1: watching.
    std::atomic<int64_t> rewatch_at{-1};
    std::atomic<bool> frozen{false};
    int index = 0;
    uint32_t next_ip = 1;
  };
  struct Report {
    std::chrono::steady_clock::time_point due;
    int node;
    v1::Pod pod;
    bool finish_deletion;
    bool operator>(const Report& o) const { return due > o.due; }
  };
  void Watch(Node& node);
  void OnWatchDone(Node& node, const Status& status);
  void OnPodEvent(int node, const v1::WatchEvent& event);
  void ReportLoop();
  void LeaseLoop(int worker);
  void Apply(const Report& report);

  HollowOptions options_;
  std::function<api::ControlClient&(int)> client_for_;
  std::vector<std::unique_ptr<Node>> nodes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Report, std::vector<Report>, std::greater<>> reports_;
  std::set<std::string> running_;  // pod uids reported Running
  std::set<std::string> pending_;  // pod uids with a report queued
  std::atomic<bool> stop_{false};
  std::vector<std::thread> reporters_;  // options_.workers each
  std::vector<std::thread> leasers_;
};

}  // namespace berth::hollow
