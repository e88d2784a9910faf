#include "exec_process.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include "berth/common/unique_fd.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

class ContainerExec final : public ExecProcess {
 public:
  ContainerExec(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err, bool tty)
      : pid_(pid), in_(std::move(in)), out_(std::move(out)), err_(std::move(err)), tty_(tty) {}
  ~ContainerExec() override {
    if (!reaped_) {
      Kill();
      IgnoreError(Wait(), "ECHILD: already reaped");
    }
  }
  int stdin_fd() const override { return tty_ ? (has_stdin_ ? out_.get() : -1) : in_.get(); }
  int stdout_fd() const override { return out_.get(); }
  int stderr_fd() const override { return err_.get(); }
  void set_has_stdin(bool v) { has_stdin_ = v; }

  Status Resize(unsigned width, unsigned height) override {
    if (!tty_) return Error::Invalid("resize: the exec has no terminal");
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(width);
    ws.ws_row = static_cast<unsigned short>(height);
    if (::ioctl(out_.get(), TIOCSWINSZ, &ws) < 0) return Error::FromErrno("TIOCSWINSZ");
    return Ok();
  }
  void CloseStdin() override {
    if (!tty_) {
      in_.reset();
    } else if (has_stdin_) {
      // EOF on a terminal is the EOF character (^D) at the start of a line.
      (void)!::write(out_.get(), "\x04", 1);
    }
  }
  Result<int> Wait() override {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return Error::FromErrno("waitpid exec process");
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Safe before the wait: an unreaped child's pid cannot be reused.
  void Kill() override {
    if (!reaped_) ::kill(pid_, SIGKILL);
  }

 private:
  pid_t pid_;
  UniqueFd in_, out_, err_;
  bool tty_;
  bool has_stdin_ = false;
  std::atomic<bool> reaped_{false};
};

Result<UniqueFd> ReceiveFd(int sock) {
  char data[1];
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return Error::FromErrno("recvmsg console fd");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) {
    return Error::Sys(EPROTO, "console socket: no file descriptor received");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return UniqueFd(fd);
}

Result<UniqueFd> ListenConsole(const fs::path& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::FromErrno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("console socket path too long: " + path.string());
  }
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    return Error::FromErrno("bind " + path.string());
  }
  if (::listen(s.get(), 1) < 0) return Error::FromErrno("listen " + path.string());
  return s;
}

}  // namespace

Result<std::unique_ptr<ExecProcess>> StartExecProcess(runtime::ExecOptions o, bool tty, bool stdin,
                                                      const fs::path& socket_dir) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return Error::FromErrno("open /dev/null");
  if (tty) {
    static std::atomic<unsigned> counter{0};
    const fs::path sock = socket_dir / ("exec-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(counter.fetch_add(1)) + ".sock");
    BERTH_ASSIGN_OR_RETURN(UniqueFd listener, ListenConsole(sock));
    o.process.terminal = true;
    o.console_socket = sock.string();
    Result<pid_t> pid = runtime::SpawnExec(o);
    if (!pid.ok()) {
      ::unlink(sock.c_str());
      return std::move(pid).error();
    }
    // The process connected and sent its pty master before it exec'd.
    UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ::unlink(sock.c_str());
    Result<UniqueFd> master =
        conn ? ReceiveFd(conn.get()) : Result<UniqueFd>(Error::FromErrno("accept console"));
    if (!master.ok()) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0);
      return std::move(master).error();
    }
    auto p = std::make_unique<ContainerExec>(*pid, UniqueFd(), std::move(master).value(),
                                             UniqueFd(), true);
    p->set_has_stdin(stdin);
    return std::unique_ptr<ExecProcess>(std::move(p));
  }
  int fds[3][2];
  UniqueFd ends[3][2];
  for (int i = 0; i < 3; ++i) {
    if (i == 0 && !stdin) continue;
    if (::pipe2(fds[i], O_CLOEXEC) < 0) return Error::FromErrno("pipe2");
    ends[i][0].reset(fds[i][0]);
    ends[i][1].reset(fds[i][1]);
  }
  o.process.terminal = false;
  o.stdio[0] = stdin ? ends[0][0].get() : null.get();
  o.stdio[1] = ends[1][1].get();
  o.stdio[2] = ends[2][1].get();
  BERTH_ASSIGN_OR_RETURN(pid_t pid, runtime::SpawnExec(o));
  return std::unique_ptr<ExecProcess>(std::make_unique<ContainerExec>(
      pid, std::move(ends[0][1]), std::move(ends[1][0]), std::move(ends[2][0]), false));
}

}  // namespace berth::nodeagent
