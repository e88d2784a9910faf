#include "child_sync.h"

#include <unistd.h>

#include <sys/socket.h>

#include <cstring>

namespace berth::runtime::container_internal {
namespace {

struct Header {
  uint32_t kind;
  int32_t err;
};
constexpr size_t kMaxText = 4096;

}  // namespace

Status SendSync(int fd, SyncKind kind, int err, const std::string& text) {
  char buf[sizeof(Header) + kMaxText];
  Header h{static_cast<uint32_t>(kind), err};
  memcpy(buf, &h, sizeof(h));
  size_t n = std::min(text.size(), kMaxText);
  // A length-framed datagram: the text needs no terminator.
  // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
  memcpy(buf + sizeof(h), text.data(), n);
  ssize_t w;
  do {
    w = ::send(fd, buf, sizeof(h) + n, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return Error::FromErrno("send sync message");
  return Ok();
}

Result<SyncMessage> ReceiveSync(int fd) {
  char buf[sizeof(Header) + kMaxText];
  ssize_t n;
  do {
    n = ::recv(fd, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::FromErrno("receive sync message");
  if (n == 0) return Error::Sys(ECHILD, "container process exited during setup");
  if (static_cast<size_t>(n) < sizeof(Header)) return Error::Sys(EPROTO, "short sync message");
  Header h;
  memcpy(&h, buf, sizeof(h));
  SyncMessage m;
  m.kind = static_cast<SyncKind>(h.kind);
  m.err = h.err;
  m.text.assign(buf + sizeof(h), static_cast<size_t>(n) - sizeof(h));
  return m;
}

void FailChild(int sync_fd, const Error& error) {
  // The parent may be gone; nothing more to do about a failed send here.
  IgnoreError(SendSync(sync_fd, SyncKind::kError, error.err(), error.Chain()),
              "EPIPE: parent gone, the exit status still tells");
  _exit(1);
}

}  // namespace berth::runtime::container_internal
