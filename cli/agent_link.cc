#include "agent_link.h"

#include <sys/stat.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "berth/api/kinds.h"

namespace berth::cli {

Result<std::unique_ptr<v1::Agent::Stub>> ConnectAgent(api::ControlClient& client,
                                                      const std::string& node,
                                                      const std::string& pod,
                                                      const std::string& doing) {
  BERTH_ASSIGN_OR_RETURN(v1::Object n, client.Get("Node", "", node));
  const auto& annotations = n.node().metadata().annotations();
  const auto it = annotations.find(std::string(api::kAgentApiAnnotation));
  if (it == annotations.end() || it->second.rfind("unix:", 0) != 0) {
    return Error::Msg("pod " + pod + " runs on node " + node +
                      ", whose agent serves no API berth can reach (no " +
                      std::string(api::kAgentApiAnnotation) + " annotation)");
  }
  const std::string path = it->second.substr(5);
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0 || !S_ISSOCK(st.st_mode)) {
    return Error::Msg("pod " + pod + " runs on node " + node + ", whose agent API (" + it->second +
                      ") is not on this machine; " + doing +
                      " on other machines is not supported yet");
  }
  return v1::Agent::NewStub(grpc::CreateChannel(it->second, grpc::InsecureChannelCredentials()));
}

}  // namespace berth::cli
