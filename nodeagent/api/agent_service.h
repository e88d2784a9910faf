// berth.v1.Agent (api/agent.proto) over an AgentBackend, and the server
// that serves it on a unix socket.
//
// AgentService owns nothing but references the backend, which must outlive
// it. Thread-safe: gRPC calls every method from its own threads, and the
// backend is thread-safe. Errors: every backend Error becomes a gRPC status
// through ToGrpcStatus (grpc_status.h), message kept.
//
// Logs with follow: the LogFollower is opened before the existing lines are
// read, so nothing written at that moment is lost; the follower's first
// records that the read already sent (time <= the last line sent) are
// skipped. Only a line written in several P chunks at that very moment can
// show its later chunks twice. A follow, an Attach and an Exec each hold a
// gRPC thread until they end; they look at the call's cancellation at least
// every 200 ms. An exec whose client cancels has its process killed; after
// the exit code is sent, the client has 5 s to end its side of the stream
// (WritesDone) before the call is cancelled.
//
// AgentServer owns the grpc::Server and the socket file. Start and Shutdown
// are not to be called concurrently; Shutdown cancels calls still running
// (follows, execs) after a short grace and removes the socket.
#pragma once

#include <filesystem>
#include <memory>

#include <grpcpp/server.h>

#include "agent.grpc.pb.h"
#include "agent_backend.h"

#include "berth/common/error.h"

namespace berth::nodeagent {

class AgentService final : public v1::Agent::Service {
 public:
  explicit AgentService(AgentBackend& backend) : backend_(backend) {}

  grpc::Status ListPods(grpc::ServerContext* ctx, const v1::ListPodsRequest* req,
                        v1::ListPodsResponse* resp) override;
  grpc::Status GetPod(grpc::ServerContext* ctx, const v1::GetPodRequest* req,
                      v1::Pod* resp) override;
  grpc::Status Logs(grpc::ServerContext* ctx, const v1::LogsRequest* req,
                    grpc::ServerWriter<v1::LogChunk>* writer) override;
  grpc::Status Exec(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<v1::ExecResponse, v1::ExecRequest>* stream) override;
  grpc::Status Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req,
                      grpc::ServerWriter<v1::LogChunk>* writer) override;
  grpc::Status GetNode(grpc::ServerContext* ctx, const v1::GetNodeRequest* req,
                       v1::Node* resp) override;

 private:
  AgentBackend& backend_;
};

class AgentServer {
 public:
  // Serves `backend` on unix:<socket_path>: creates the parent directory,
  // replaces a stale socket file (EADDRINUSE when an agent still answers on
  // it, EEXIST when the path is not a socket) and makes the socket mode
  // 0660. `backend` must outlive the server.
  static Result<std::unique_ptr<AgentServer>> Start(AgentBackend& backend,
                                                    const std::filesystem::path& socket_path);

  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;
  ~AgentServer() { Shutdown(); }

  // Stops accepting calls, cancels those still running after a grace of
  // one second, waits for them, and removes the socket. Idempotent.
  void Shutdown();

  const std::filesystem::path& socket_path() const { return socket_path_; }

 private:
  AgentServer(AgentBackend& backend, std::filesystem::path socket_path)
      : service_(backend), socket_path_(std::move(socket_path)) {}

  AgentService service_;
  std::filesystem::path socket_path_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace berth::nodeagent
