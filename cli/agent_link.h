// The node agent's own API (berth.v1.Agent) for the verbs berth-control
// does not serve: logs and exec. A node advertises where its agent serves
// it (the berth.dev/agent-api annotation); berth reaches a unix socket
// there when the node runs on this machine, as every node of `berth up`
// does. Nodes on other machines need the agent's API served over the
// network (not yet): the error says so, naming `doing` ("exec into pods").
#pragma once

#include <memory>
#include <string>

#include "agent.grpc.pb.h"

#include "berth/api/control_client.h"
#include "berth/common/error.h"

namespace berth::cli {

Result<std::unique_ptr<v1::Agent::Stub>> ConnectAgent(api::ControlClient& client,
                                                      const std::string& node,
                                                      const std::string& pod,
                                                      const std::string& doing);

}  // namespace berth::cli
