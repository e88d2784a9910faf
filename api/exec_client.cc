#include "berth/api/exec_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "berth/api/grpc_status.h"
#include "berth/common/unique_fd.h"

namespace berth::api {
namespace {

using ExecStream = grpc::ClientReaderWriter<v1::ExecRequest, v1::ExecResponse>;

constexpr size_t kReadBytes = size_t{32} * 1024;

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno("write output");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

// Sets the size of `terminal_fd` into `size`; false when it has none.
bool TerminalSizeOf(int terminal_fd, v1::TerminalSize* size) {
  struct winsize ws {};
  if (terminal_fd < 0 || ::ioctl(terminal_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0) return false;
  size->set_width(ws.ws_col);
  size->set_height(ws.ws_row);
  return true;
}

// The local input of an exec, on a thread of its own: stdin until EOF, then
// stdin_close, and a resize whenever the terminal changed size. Stop()
// ends it; it writes to the stream under the lock the caller also takes
// to end its side.
class ExecInput {
 public:
  ExecInput(ExecStream* stream, std::mutex& write_mu, const ExecIo& io, bool forward_stdin,
            bool forward_resize)
      : stream_(stream),
        write_mu_(write_mu),
        io_(io),
        forward_stdin_(forward_stdin),
        forward_resize_(forward_resize) {}

  Status Start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return Error::FromErrno("pipe2");
    wake_read_.reset(fds[0]);
    wake_write_.reset(fds[1]);
    thread_ = std::thread([this] { Run(); });
    return Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    // EAGAIN: a wake-up byte is already pending, which is as good.
    (void)!::write(wake_write_.get(), "x", 1);
    thread_.join();
  }

 private:
  bool Send(const v1::ExecRequest& req) {
    std::lock_guard<std::mutex> lock(write_mu_);
    return stream_->Write(req);
  }

  void Run() {
    std::array<struct pollfd, 3> fds{{{forward_stdin_ ? io_.stdin_fd : -1, POLLIN, 0},
                                      {forward_resize_ ? io_.resize_fd : -1, POLLIN, 0},
                                      {wake_read_.get(), POLLIN, 0}}};
    std::vector<char> buf(kReadBytes);
    for (;;) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[2].revents != 0) return;
      if (fds[1].fd >= 0 && fds[1].revents != 0) {
        while (::read(fds[1].fd, buf.data(), buf.size()) > 0) {
        }
        v1::ExecRequest req;
        if (TerminalSizeOf(io_.terminal_fd, req.mutable_resize()) && !Send(req)) return;
      }
      if (fds[0].fd >= 0 && fds[0].revents != 0) {
        const ssize_t n = ::read(fds[0].fd, buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        v1::ExecRequest req;
        if (n > 0) {
          req.set_stdin(buf.data(), static_cast<size_t>(n));
        } else {
          // EOF, or an error reading stdin, which ends it the same way.
          req.set_stdin_close(true);
          fds[0].fd = -1;
        }
        if (!Send(req)) return;
      }
    }
  }

  ExecStream* stream_;
  std::mutex& write_mu_;
  const ExecIo& io_;
  bool forward_stdin_;
  bool forward_resize_;
  UniqueFd wake_read_, wake_write_;
  std::thread thread_;
};

// The local terminal in raw mode (no echo, no line editing, no signals from
// keys: ^C goes to the remote process) until destroyed.
class RawMode {
 public:
  static Result<std::unique_ptr<RawMode>> Enter(int fd) {
    struct termios saved {};
    if (::tcgetattr(fd, &saved) < 0) return Error::FromErrno("tcgetattr");
    struct termios raw = saved;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) < 0) return Error::FromErrno("tcsetattr raw");
    return std::unique_ptr<RawMode>(new RawMode(fd, saved));
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  // tcsetattr(3): nothing to do if the terminal cannot be restored on the way out.
  ~RawMode() { (void)::tcsetattr(fd_, TCSADRAIN, &saved_); }

 private:
  RawMode(int fd, const struct termios& saved) : fd_(fd), saved_(saved) {}
  int fd_;
  struct termios saved_;
};

// The write end of the SIGWINCH self-pipe. A signal handler can reach
// nothing but a global; only one WinchPipe exists at a time.
std::atomic<int> g_winch_write_fd{-1};

extern "C" void OnWinch(int /*sig*/) {
  const int saved_errno = errno;
  const int fd = g_winch_write_fd.load();
  if (fd >= 0) (void)!::write(fd, "w", 1);  // EAGAIN: a resize is already pending
  errno = saved_errno;
}

// SIGWINCH as a readable, non-blocking fd while it lives.
class WinchPipe {
 public:
  static Result<std::unique_ptr<WinchPipe>> Install() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return Error::FromErrno("pipe2");
    std::unique_ptr<WinchPipe> p(new WinchPipe(UniqueFd(fds[0]), UniqueFd(fds[1])));
    g_winch_write_fd.store(p->write_.get());
    struct sigaction sa {};
    sa.sa_handler = OnWinch;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGWINCH, &sa, &p->old_) < 0) {
      g_winch_write_fd.store(-1);
      return Error::FromErrno("sigaction SIGWINCH");
    }
    p->installed_ = true;
    return p;
  }
  WinchPipe(const WinchPipe&) = delete;
  WinchPipe& operator=(const WinchPipe&) = delete;
  ~WinchPipe() {
    if (installed_) (void)::sigaction(SIGWINCH, &old_, nullptr);
    g_winch_write_fd.store(-1);
  }
  int fd() const { return read_.get(); }

 private:
  WinchPipe(UniqueFd r, UniqueFd w) : read_(std::move(r)), write_(std::move(w)) {}
  UniqueFd read_, write_;
  struct sigaction old_ {};
  bool installed_ = false;
};

}  // namespace

Result<int> RunExec(v1::Agent::Stub& stub, const v1::ExecStart& start, const ExecIo& io) {
  grpc::ClientContext ctx;
  std::unique_ptr<ExecStream> stream = stub.Exec(&ctx);
  std::mutex write_mu;
  bool writes_done = false;

  v1::ExecRequest first;
  *first.mutable_start() = start;
  if (start.tty()) {
    v1::TerminalSize size;
    if (TerminalSizeOf(io.terminal_fd, &size))
      *first.mutable_start()->mutable_terminal_size() = size;
  }
  const bool forward_stdin = start.stdin() && io.stdin_fd >= 0;
  const bool forward_resize = start.tty() && io.resize_fd >= 0 && io.terminal_fd >= 0;
  ExecInput input(stream.get(), write_mu, io, forward_stdin, forward_resize);
  Status input_started = Ok();
  if (stream->Write(first)) {
    if (forward_stdin || forward_resize) {
      input_started = input.Start();
    } else {
      // Nothing to send: the process's stdin is ended at once.
      writes_done = true;
      (void)stream->WritesDone();
    }
  }
  if (!input_started.ok()) ctx.TryCancel();

  std::optional<int> exit_code;
  Status output = Ok();
  v1::ExecResponse resp;
  while (input_started.ok() && stream->Read(&resp)) {
    if (resp.has_exit()) {
      exit_code = resp.exit().exit_code();
      // The server ends the call once we end our side.
      input.Stop();
      std::lock_guard<std::mutex> lock(write_mu);
      if (!writes_done) (void)stream->WritesDone();
      writes_done = true;
      continue;
    }
    if (!output.ok()) continue;
    if (resp.has_stdout()) output = WriteAll(io.stdout_fd, resp.stdout());
    if (resp.has_stderr()) output = WriteAll(io.stderr_fd, resp.stderr());
    if (!output.ok()) ctx.TryCancel();
  }
  input.Stop();
  grpc::Status status = stream->Finish();
  BERTH_TRY(input_started);
  BERTH_TRY(output);
  if (!status.ok()) return FromGrpcStatus(status);
  if (!exit_code) return Error::Sys(EPROTO, "exec: the stream ended without an exit code");
  return *exit_code;
}

struct LocalTerminal::Parts {
  std::unique_ptr<WinchPipe> winch;
  std::unique_ptr<RawMode> raw;
};

Result<std::unique_ptr<LocalTerminal>> LocalTerminal::Open(int fd, bool raw) {
  auto parts = std::make_unique<Parts>();
  BERTH_ASSIGN_OR_RETURN(parts->winch, WinchPipe::Install());
  if (raw) {
    BERTH_ASSIGN_OR_RETURN(parts->raw, RawMode::Enter(fd));
  }
  return std::unique_ptr<LocalTerminal>(new LocalTerminal(std::move(parts)));
}

LocalTerminal::LocalTerminal(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
LocalTerminal::~LocalTerminal() = default;

int LocalTerminal::resize_fd() const { return parts_->winch->fd(); }

}  // namespace berth::api
