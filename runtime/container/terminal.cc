// The container's terminal: a pty opened inside the container (after
// devpts is mounted) whose master goes to the caller over the console
// socket, as runc's console socket protocol does (one SCM_RIGHTS message).
#include <fcntl.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

#include "init.h"

#include "berth/common/unique_fd.h"

namespace berth::runtime::container_internal {
namespace {

Status SendFd(int sock, int fd) {
  char dummy = 'x';
  struct iovec iov {
    &dummy, 1
  };
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return Error::FromErrno("send pty master");
  return Ok();
}

}  // namespace

Result<UniqueFd> ConnectConsoleSocket(const std::string& console_socket) {
  if (console_socket.empty()) {
    return Error::Invalid("process.terminal is set but no --console-socket was given");
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return Error::FromErrno("socket");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (console_socket.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("console socket path too long: " + console_socket);
  }
  memcpy(addr.sun_path, console_socket.c_str(), console_socket.size());
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    return Error::FromErrno("connect to console socket " + console_socket);
  }
  return sock;
}

Status SetUpTerminal(int console_fd, const std::optional<ConsoleSize>& size) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Error::FromErrno("open /dev/ptmx");
  if (::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0) {
    return Error::FromErrno("unlock pty");
  }
  char name[64];
  if (::ptsname_r(master.get(), name, sizeof(name)) != 0) return Error::FromErrno("ptsname");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Error::FromErrno(std::string("open ") + name);
  if (size) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return Error::FromErrno("set console size");
  }
  BERTH_TRY(SendFd(console_fd, master.get()));
  if (::setsid() < 0) return Error::FromErrno("setsid");
  if (ioctl(slave.get(), TIOCSCTTY, 0) < 0) return Error::FromErrno("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave.get(), fd) < 0) return Error::FromErrno("dup2 pty slave");
  }
  return Ok();
}

}  // namespace berth::runtime::container_internal
