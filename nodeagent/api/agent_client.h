// A client of berth.v1.Agent on the agent's unix socket: what `berth-agent
// ctl` calls, usable from tests and tools.
//
// Ownership: an AgentClient owns its gRPC channel and stub; Exec borrows the
// fds in ExecIo for the call. Thread-safety: calls may run concurrently (the
// stub is thread-safe); each call is synchronous.
// Errors: a failed call returns FromGrpcStatus(status) (grpc_status.h): the
// agent's own message and errno, e.g. ENOENT for a pod it does not run.
// Connect returns the errno of stat(2) naming the socket when it is missing.
// Unary calls time out after 30 s (ETIMEDOUT); streams have no deadline.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/channel.h>

#include "agent.grpc.pb.h"

#include "berth/api/exec_client.h"
#include "berth/common/error.h"

namespace berth::nodeagent {

using api::ExecIo;

class AgentClient {
 public:
  static constexpr const char* kDefaultSocket = "/run/berth/agent.sock";

  // Makes the channel (it connects on the first call).
  static Result<AgentClient> Connect(const std::filesystem::path& socket);

  Result<v1::ListPodsResponse> ListPods(const std::string& ns = "");
  Result<v1::Pod> GetPod(const std::string& ns, const std::string& name);
  Result<v1::Node> GetNode();

  // Receives each chunk's text; an error from it cancels the call and is
  // returned.
  using LogSink = std::function<Status(std::string_view data)>;
  // Until the log ends (with follow: the container ends) or `sink` fails.
  Status Logs(const v1::LogsRequest& request, const LogSink& sink);
  Status Attach(const v1::AttachRequest& request, const LogSink& sink);

  // Runs `start.command` in the container with `io` as its local side and
  // returns the remote exit code.
  Result<int> Exec(const v1::ExecStart& start, const ExecIo& io);

  v1::Agent::Stub& stub() { return *stub_; }

 private:
  AgentClient(std::shared_ptr<grpc::Channel> channel, std::string socket)
      : channel_(std::move(channel)),
        stub_(v1::Agent::NewStub(channel_)),
        socket_(std::move(socket)) {}

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::string socket_;
};

}  // namespace berth::nodeagent
