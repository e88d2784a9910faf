// The audit log: one JSON line per mutating request and per denied one
// (who, verb, object, result, latency), as kube-apiserver's audit backend
// writes at the Metadata level: never request or response bodies, so no
// Secret data. Size-based rotation keeps <path>.1 .. <path>.<keep>.
//
// Thread-safe. A failing write is reported once on stderr's log and then
// counted, never thrown at the request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"
#include "berth/control/auth.h"

namespace berth::control {

struct AuditRecord {
  Principal who;
  std::string verb;
  std::string kind;
  std::string namespace_;
  std::string name;
  bool allowed = true;
  std::string code;     // "OK", "NOT_FOUND", "PERMISSION_DENIED", ...
  std::string message;  // the error message, empty on success
  double latency_ms = 0;
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(std::filesystem::path path,
                                                uint64_t max_bytes = 100ULL << 20, int keep = 5);
  void Write(const AuditRecord& record);
  uint64_t Failures() const;

 private:
  AuditLog(std::filesystem::path path, uint64_t max_bytes, int keep, UniqueFd fd, uint64_t size);
  Status Rotate();

  std::filesystem::path path_;
  uint64_t max_bytes_;
  int keep_;
  mutable std::mutex mu_;
  UniqueFd fd_;
  uint64_t size_;
  uint64_t failures_ = 0;
};

}  // namespace berth::control
