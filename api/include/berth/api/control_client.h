// A client of berth.v1.Control: the verbs as Result-returning calls (a
// failed call's gRPC status becomes the Error it stood for, see
// grpc_status.h) and watches as blocking readers or callbacks. Used by the CLI, the
// node agent and hollow nodes.
//
// Thread-safe: calls may run concurrently on one client (gRPC channels
// are). A Watch belongs to the thread reading it; Cancel() may be called
// from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "control.grpc.pb.h"

#include "berth/common/error.h"

namespace berth::api {

struct ClientCredentials {
  // PEM; empty ca_pem: an insecure channel (unix sockets, tests).
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  // A bearer token sent with every call (instead of a client certificate).
  std::string token;
  // The name the server certificate must carry (default: the host part of
  // the address).
  std::string server_name;
};

class ControlWatch {
 public:
  ControlWatch(std::unique_ptr<grpc::ClientContext> ctx,
               std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader);
  ~ControlWatch();
  // The next event; nullopt when the stream ended cleanly (server shutdown
  // or Cancel()); an error for a failed stream (ERANGE: too old, list
  // again).
  Result<std::optional<v1::WatchEvent>> Next();
  void Cancel();

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
  bool finished_ = false;
};

// A watch read by gRPC's callback threads, for processes that keep many
// (hollow nodes): no thread waits on it. `on_event` runs for each event in
// order, never two at once; `on_done` runs once when the stream ends, with
// OK after a clean end or a Cancel() and the error otherwise (ERANGE: too
// old, list again). Destroying it cancels the stream and waits for
// `on_done` to have run, so it must not be destroyed from its callbacks.
class AsyncWatch : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  using EventHandler = std::function<void(const v1::WatchEvent&)>;
  using DoneHandler = std::function<void(const Status&)>;
  AsyncWatch(v1::Control::Stub& stub, const v1::WatchRequest& request, const std::string& token,
             EventHandler on_event, DoneHandler on_done);
  ~AsyncWatch() override;
  void Cancel();

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  grpc::ClientContext ctx_;
  v1::WatchRequest request_;
  v1::WatchEvent event_;
  EventHandler on_event_;
  DoneHandler on_done_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

class ControlClient {
 public:
  // "unix:/run/berth/control.sock" or "host:port".
  static Result<std::unique_ptr<ControlClient>> Connect(const std::string& address,
                                                        const ClientCredentials& credentials = {});
  explicit ControlClient(std::shared_ptr<grpc::Channel> channel, std::string token = "");

  Result<v1::Object> Create(const v1::Object& object, bool dry_run = false);
  Result<v1::Object> Get(const std::string& kind, const std::string& ns, const std::string& name);
  Result<v1::ListResponse> List(const v1::ListRequest& request);
  Result<v1::Object> Update(const v1::Object& object, bool status = false);
  Result<v1::ApplyResponse> Apply(const std::string& manifest_json, const std::string& ns,
                                  bool dry_run = false);
  Result<v1::Object> Delete(const v1::DeleteRequest& request);
  Result<std::unique_ptr<ControlWatch>> Watch(const v1::WatchRequest& request);
  std::unique_ptr<AsyncWatch> WatchAsync(const v1::WatchRequest& request,
                                         AsyncWatch::EventHandler on_event,
                                         AsyncWatch::DoneHandler on_done);
  Result<v1::JoinResponse> Join(const std::string& node_name, const std::string& csr_pem);
  Status ReportUsage(const v1::UsageReport& report);
  Result<v1::MetricsResponse> GetMetrics(const v1::MetricsRequest& request);

  // Per-call deadline for unary calls (default 30 s).
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  std::unique_ptr<grpc::ClientContext> Context() const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Control::Stub> stub_;
  std::string token_;
  std::chrono::milliseconds timeout_{30000};
};

}  // namespace berth::api
