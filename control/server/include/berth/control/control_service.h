// berth.v1.Control over gRPC: each RPC is a thin translation between the
// request messages and the Registry, with errors mapped in one place
// (berth/api/grpc_status.h). Watch is a server stream that ends when the
// client goes away or the server shuts down; it sends BOOKMARK events with
// the current revision when asked so a client can resume cheaply.
//
// Every call is authenticated and authorized first (berth/control/auth.h);
// mutating calls and denied ones are written to the audit log.
//
// Watch runs on gRPC's callback API (control/server/watch_pump.h): open
// watches cost no thread each, which is what lets thousands of nodes keep
// their pod watches on one control service.
//
// ReportUsage and GetMetrics (control/server/metrics_rpc.cc) keep and serve
// the usage nodes report, in memory (berth/control/metrics_store.h).
//
// Thread-safe (gRPC calls handlers concurrently; the Registry is
// thread-safe).
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "control.grpc.pb.h"

#include "berth/control/audit_log.h"
#include "berth/control/auth.h"
#include "berth/control/metrics_store.h"
#include "berth/control/registry.h"
#include "berth/pki/pki.h"

namespace berth::control {

struct ControlServiceOptions {
  const Authenticator* authenticator = nullptr;  // required
  const Authorizer* authorizer = nullptr;        // required
  AuditLog* audit = nullptr;                     // optional
  // Signs joining nodes' certificates; without it Join is UNIMPLEMENTED.
  const pki::Certificate* ca = nullptr;
};

class WatchPump;

class ControlService final : public v1::Control::WithCallbackMethod_Watch<v1::Control::Service> {
 public:
  ControlService(Registry& registry, ControlServiceOptions options);
  ~ControlService() override;

  // Ends running watches (their streams finish with OK) and refuses new
  // ones. Call before the gRPC server's Shutdown.
  void Shutdown();
  // Watch streams open now.
  size_t OpenWatches() const;

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateRequest* req,
                      v1::Object* resp) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* req, v1::Object* resp) override;
  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                    v1::ListResponse* resp) override;
  grpc::Status Update(grpc::ServerContext* ctx, const v1::UpdateRequest* req,
                      v1::Object* resp) override;
  grpc::Status Apply(grpc::ServerContext* ctx, const v1::ApplyRequest* req,
                     v1::ApplyResponse* resp) override;
  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteRequest* req,
                      v1::Object* resp) override;
  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* ctx,
                                                  const v1::WatchRequest* req) override;
  grpc::Status Join(grpc::ServerContext* ctx, const v1::JoinRequest* req,
                    v1::JoinResponse* resp) override;
  grpc::Status ReportUsage(grpc::ServerContext* ctx, const v1::UsageReport* req,
                           v1::UsageReportResponse* resp) override;
  grpc::Status GetMetrics(grpc::ServerContext* ctx, const v1::MetricsRequest* req,
                          v1::MetricsResponse* resp) override;

 private:
  class Scope;
  Registry& registry_;
  ControlServiceOptions options_;
  std::unique_ptr<WatchPump> watches_;
  MetricsStore metrics_;
};

}  // namespace berth::control
