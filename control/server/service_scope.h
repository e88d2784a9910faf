// ControlService::Scope: one request's caller, whether they may do what
// they ask, and the audit record of what happened. Private to the service's
// translation units.
#pragma once

#include <chrono>
#include <string>

#include "berth/api/grpc_status.h"
#include "berth/control/control_service.h"

namespace berth::control {

inline bool Mutating(const std::string& verb) {
  return verb != "get" && verb != "list" && verb != "watch";
}

// One request: who is calling, whether they may, and the audit record of
// what happened.
class ControlService::Scope {
 public:
  Scope(ControlService& service, grpc::ServerContextBase* ctx, Attributes attributes)
      : service_(service),
        attributes_(std::move(attributes)),
        start_(std::chrono::steady_clock::now()) {
    auto who = service_.options_.authenticator->Authenticate(*ctx);
    if (!who.ok()) {
      status_ = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, who.error().message());
      who_.user = "system:anonymous";
      Audit(false);
      return;
    }
    who_ = std::move(*who);
    if (auto st = service_.options_.authorizer->Authorize(who_, attributes_); !st.ok()) {
      status_ = api::ToGrpcStatus(st.error());
      Audit(false);
      return;
    }
    allowed_ = true;
  }

  bool allowed() const { return allowed_; }
  const grpc::Status& status() const { return status_; }
  const Principal& who() const { return who_; }

  // The request's outcome: audited when it changed (or tried to change)
  // something.
  grpc::Status Finish(grpc::Status status) {
    status_ = std::move(status);
    if (Mutating(attributes_.verb)) Audit(true);
    return status_;
  }

 private:
  void Audit(bool allowed) {
    if (service_.options_.audit == nullptr) return;
    AuditRecord r;
    r.who = who_;
    r.verb = attributes_.verb;
    r.kind = attributes_.kind;
    r.namespace_ = attributes_.namespace_;
    r.name = attributes_.name;
    r.allowed = allowed;
    r.code = api::GrpcCodeName(status_.error_code());
    if (!status_.ok()) r.message = status_.error_message();
    r.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
    service_.options_.audit->Write(r);
  }

  ControlService& service_;
  Attributes attributes_;
  std::chrono::steady_clock::time_point start_;
  Principal who_;
  bool allowed_ = false;
  grpc::Status status_;
};

}  // namespace berth::control
