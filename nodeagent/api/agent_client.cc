// The Agent client: unary calls with a deadline, log streams into a sink,
// and exec with local stdin, resizes and output pumped over the stream.
#include "agent_client.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "berth/api/grpc_status.h"
#include "berth/common/unique_fd.h"

namespace berth::nodeagent {

using api::FromGrpcStatus;
namespace {

using ExecStream = grpc::ClientReaderWriter<v1::ExecRequest, v1::ExecResponse>;

constexpr auto kUnaryTimeout = std::chrono::seconds(30);
constexpr size_t kReadBytes = size_t{32} * 1024;

void SetUnaryDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kUnaryTimeout);
}

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

}  // namespace

Result<AgentClient> AgentClient::Connect(const std::filesystem::path& socket) {
  struct stat st {};
  if (::stat(socket.c_str(), &st) < 0) {
    return Error::FromErrno("connect to berth-agent at " + socket.string());
  }
  auto channel = grpc::CreateChannel("unix:" + socket.string(), grpc::InsecureChannelCredentials());
  return AgentClient(std::move(channel), socket.string());
}

Result<v1::ListPodsResponse> AgentClient::ListPods(const std::string& ns) {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::ListPodsRequest req;
  req.set_namespace_(ns);
  v1::ListPodsResponse resp;
  grpc::Status s = stub_->ListPods(&ctx, req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

Result<v1::Pod> AgentClient::GetPod(const std::string& ns, const std::string& name) {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::GetPodRequest req;
  req.set_namespace_(ns);
  req.set_name(name);
  v1::Pod resp;
  grpc::Status s = stub_->GetPod(&ctx, req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

Result<v1::Node> AgentClient::GetNode() {
  grpc::ClientContext ctx;
  SetUnaryDeadline(ctx);
  v1::Node resp;
  grpc::Status s = stub_->GetNode(&ctx, v1::GetNodeRequest(), &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

namespace {

template <typename Reader>
Status DrainLogStream(grpc::ClientContext& ctx, Reader& reader, const AgentClient::LogSink& sink) {
  v1::LogChunk chunk;
  while (reader.Read(&chunk)) {
    Status s = sink(chunk.data());
    if (!s.ok()) {
      ctx.TryCancel();
      while (reader.Read(&chunk)) {
      }
      (void)reader.Finish();  // CANCELLED, by us
      return s;
    }
  }
  grpc::Status status = reader.Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return Ok();
}

}  // namespace

Status AgentClient::Logs(const v1::LogsRequest& request, const LogSink& sink) {
  grpc::ClientContext ctx;
  auto reader = stub_->Logs(&ctx, request);
  return DrainLogStream(ctx, *reader, sink);
}

Status AgentClient::Attach(const v1::AttachRequest& request, const LogSink& sink) {
  grpc::ClientContext ctx;
  auto reader = stub_->Attach(&ctx, request);
  return DrainLogStream(ctx, *reader, sink);
}

Result<int> AgentClient::Exec(const v1::ExecStart& start, const ExecIo& io) {
  grpc::ClientContext ctx;
  std::unique_ptr<ExecStream> stream = stub_->Exec(&ctx);
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

}  // namespace berth::nodeagent
