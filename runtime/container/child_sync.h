// The parent/child channel of container creation: a SOCK_SEQPACKET pair.
// The child reports progress ("need id maps", "ready") or one failure
// (errno + message with its context); the parent turns a failure into an
// Error, so "mount proc on /proc: EPERM" inside the child reaches the caller.
// Each message is one datagram; neither side is thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::runtime::container_internal {

enum class SyncKind : uint32_t { kNeedIdMaps = 1, kIdMapsDone, kReady, kError };

struct SyncMessage {
  SyncKind kind = SyncKind::kError;
  int err = 0;
  std::string text;
};

Status SendSync(int fd, SyncKind kind, int err = 0, const std::string& text = {});
// EPIPE-like end of stream (the child died without a word) -> ECHILD error.
Result<SyncMessage> ReceiveSync(int fd);

// Child side: reports `error` and exits. Never returns.
[[noreturn]] void FailChild(int sync_fd, const Error& error);

}  // namespace berth::runtime::container_internal
