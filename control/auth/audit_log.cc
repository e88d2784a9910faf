#include "berth/control/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "berth/common/clock.h"
#include "berth/common/log.h"

namespace berth::control {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(std::filesystem::path path, uint64_t max_bytes,
                                                 int keep) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return Error::FromErrno("open audit log " + path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno("stat audit log " + path.string());
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(path), max_bytes, keep, std::move(fd),
                                                static_cast<uint64_t>(st.st_size)));
}

AuditLog::AuditLog(std::filesystem::path path, uint64_t max_bytes, int keep, UniqueFd fd,
                   uint64_t size)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep), fd_(std::move(fd)), size_(size) {}

uint64_t AuditLog::Failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

Status AuditLog::Rotate() {
  // path.N-1 -> path.N ... path -> path.1, then a fresh file.
  for (int i = keep_ - 1; i >= 1; --i) {
    const auto from = path_.string() + "." + std::to_string(i);
    const auto to = path_.string() + "." + std::to_string(i + 1);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return Error::FromErrno("rotate " + from);
    }
  }
  if (::rename(path_.c_str(), (path_.string() + ".1").c_str()) != 0) {
    return Error::FromErrno("rotate " + path_.string());
  }
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return Error::FromErrno("reopen " + path_.string());
  fd_ = std::move(fd);
  size_ = 0;
  return {};
}

void AuditLog::Write(const AuditRecord& r) {
  nlohmann::json line = {
      {"time", NowRfc3339Nano()}, {"user", r.who.user},
      {"groups", r.who.groups},   {"verb", r.verb},
      {"kind", r.kind},           {"namespace", r.namespace_},
      {"name", r.name},           {"decision", r.allowed ? "allow" : "deny"},
      {"code", r.code},           {"latencyMs", r.latency_ms},
  };
  if (!r.message.empty()) line["message"] = r.message;
  const std::string text = line.dump() + "\n";
  std::lock_guard lock(mu_);
  if (size_ + text.size() > max_bytes_ && size_ > 0) {
    if (auto st = Rotate(); !st.ok()) {
      if (failures_++ == 0)
        log::Warn("audit log rotation failed", {{"error", st.error().ToString()}});
    }
  }
  const ssize_t n = ::write(fd_.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    if (failures_++ == 0) log::Warn("audit log write failed", {{"path", path_.string()}});
    return;
  }
  size_ += text.size();
}

}  // namespace berth::control
