// The Agent client: unary calls with a deadline, log streams into a sink,
// and exec with local stdin, resizes and output pumped over the stream.
#include "agent_client.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "berth/api/grpc_status.h"
#include "berth/common/unique_fd.h"

namespace berth::nodeagent {

using api::FromGrpcStatus;
namespace {

constexpr auto kUnaryTimeout = std::chrono::seconds(30);

void SetUnaryDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kUnaryTimeout);
}

}  // namespace

Result<AgentClient> AgentClient::Connect(const std::filesystem::path& socket) {
  struct stat st {};
  if (::stat(socket.c_str(), &st) < 0) {
    return Error::FromErrno("connect to berth-agent at " + socket.string());
  }
  auto channel = grpc::CreateChannel("unix:" + socket.string(), grpc::InsecureChannelCredentials());
  return AgentClient(std::move(channel), socket.string());
}

Result<v1::ListPodsResponse> AgentClient::ListPods(const std::string& ns) {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::ListPodsRequest req;
  req.set_namespace_(ns);
  v1::ListPodsResponse resp;
  grpc::Status s = stub_->ListPods(&ctx, req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

Result<v1::Pod> AgentClient::GetPod(const std::string& ns, const std::string& name) {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::GetPodRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  v1::Pod resp;
  grpc::Status s = stub_->GetPod(&ctx, req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

Result<v1::Node> AgentClient::GetNode() {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::Node resp;
  grpc::Status s = stub_->GetNode(&ctx, v1::GetNodeRequest(), &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

namespace {

template <typename Reader>
Status DrainLogStream(grpc::ClientContext& ctx, Reader& reader, const AgentClient::LogSink& sink) {
  v1::LogChunk chunk;
  while (reader.Read(&chunk)) {
    Status s = sink(chunk.data());
    if (!s.ok()) {
      ctx.TryCancel();
      while (reader.Read(&chunk)) {
      }
      (void)reader.Finish();  // CANCELLED, by us
      return s;
    }
  }
  grpc::Status status = reader.Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return Ok();
}

}  // namespace

Status AgentClient::Logs(const v1::LogsRequest& request, const LogSink& sink) {
  grpc::ClientContext ctx;
  auto reader = stub_->Logs(&ctx, request);
  return DrainLogStream(ctx, *reader, sink);
}

Status AgentClient::Attach(const v1::AttachRequest& request, const LogSink& sink) {
  grpc::ClientContext ctx;
  auto reader = stub_->Attach(&ctx, request);
  return DrainLogStream(ctx, *reader, sink);
}

Result<int> AgentClient::Exec(const v1::ExecStart& start, const ExecIo& io) {
  return api::RunExec(*stub_, start, io);
}

}  // namespace berth::nodeagent
