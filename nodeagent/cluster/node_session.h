// The node side of the control protocol, what kubelet does against the
// apiserver: register the Node, renew its Lease (namespace
// berth-node-lease), follow the pods bound to it (list + watch with
// fieldSelector spec.nodeName=<node>, resumed from the last revision after
// a dropped stream, listed again after a compacted one) and write their
// status back; finish the graceful deletion of its pods. Shared by the
// agent and by hollow nodes.
//
// Thread-safe: FollowPods runs on one thread; Stop() and the write calls
// may come from others.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "berth/api/control_client.h"

namespace berth::nodeagent {

inline constexpr std::string_view kNodeLeaseNamespace = "berth-node-lease";

struct NodeIdentity {
  std::string name;
  std::map<std::string, std::string> labels;
  v1::NodeResources capacity;
  v1::NodeResources allocatable;
  std::vector<v1::NodeAddress> addresses;
  int32_t lease_duration_seconds = 40;
};

class NodeSession {
 public:
  NodeSession(api::ControlClient& client, NodeIdentity identity);

  // Creates the Node, or updates the status of the existing one, Ready.
  Status Register();
  Status RenewLease();
  // Sets the Ready condition (heartbeat now).
  Status ReportReady(bool ready, const std::string& reason, const std::string& message);

  // Calls `on_event` for every event of a pod bound to this node until
  // Stop(). After a dropped stream it resumes from the last revision; when
  // that is too old it lists again, and every current pod arrives again as
  // ADDED (handlers must be idempotent). Returns only after Stop(), or on
  // an error that retrying cannot fix (EACCES).
  Status FollowPods(const std::function<void(const v1::WatchEvent&)>& on_event);
  void Stop();

  Status UpdatePodStatus(const v1::Pod& pod);
  // The last step of a graceful deletion: the containers are gone.
  Status FinishDeletion(const v1::Pod& pod);

  const std::string& name() const { return identity_.name; }

 private:
  api::ControlClient& client_;
  NodeIdentity identity_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  api::ControlWatch* watch_ = nullptr;  // the current stream, for Stop()
};

}  // namespace berth::nodeagent
