// The node side of the control protocol, what kubelet does against the
// apiserver: register the Node, renew its Lease (namespace
// berth-node-lease), watch the pods bound to it (fieldSelector
// spec.nodeName=<node>) and write their status back; finish the graceful
// deletion of its pods. Used by hollow nodes; the agent follows its pods
// with a Reflector.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "berth/api/control_client.h"

namespace berth::nodeagent {

inline constexpr std::string_view kNodeLeaseNamespace = "berth-node-lease";

struct NodeIdentity {
  std::string name;
  std::map<std::string, std::string> labels;
  // Set at registration and kept current on every later one (the agent's
  // API endpoint, api::kAgentApiAnnotation).
  std::map<std::string, std::string> annotations;
  v1::NodeResources capacity;
  v1::NodeResources allocatable;
  std::vector<v1::NodeAddress> addresses;
  int32_t lease_duration_seconds = 40;
};

class NodeSession {
 public:
  NodeSession(api::ControlClient& client, NodeIdentity identity);

  // Creates the Node or refreshes its status. `ready`: whether the node
  // can run pods now; an agent registers not ready (BerthAgentStarting)
  // and reports ready once it has started, so no pod is placed on a node
  // whose agent is still setting up (the kubelet's NotReady at start).
  Status Register(bool ready = true);
  Status RenewLease();
  // Sets the Ready condition (heartbeat now).
  Status ReportReady(bool ready, const std::string& reason, const std::string& message);

  // Watches the pods bound to this node from `revision` ("": lists first,
  // every current pod arriving as ADDED) on gRPC's callback threads, so a
  // process can keep thousands. The caller resumes after `on_done`: from
  // the last event's revision, or listing again after ERANGE (too old).
  std::unique_ptr<api::AsyncWatch> WatchPods(const std::string& revision,
                                             api::AsyncWatch::EventHandler on_event,
                                             api::AsyncWatch::DoneHandler on_done);

  Status UpdatePodStatus(const v1::Pod& pod);
  // The last step of a graceful deletion: the containers are gone.
  Status FinishDeletion(const v1::Pod& pod);

  const std::string& name() const { return identity_.name; }

 private:
  api::ControlClient& client_;
  NodeIdentity identity_;
};

}  // namespace berth::nodeagent
