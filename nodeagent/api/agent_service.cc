// berth.v1.Agent: pods, logs (tail, since, follow), exec, attach and the
// node, served over the AgentBackend; and the unix-socket server.
#include "agent_service.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "convert.h"
#include "cri_reader.h"

#include "berth/api/grpc_status.h"
#include "berth/common/log.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/cri_log.h"

namespace berth::nodeagent {

using api::ToGrpcStatus;
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ExecStream = grpc::ServerReaderWriter<v1::ExecResponse, v1::ExecRequest>;

// How often a long call looks at its cancellation.
constexpr int kPollMs = 200;
// How often a follow asks the backend whether the container still runs.
constexpr auto kContainerCheckInterval = std::chrono::seconds(1);
// A LogChunk or an exec output message is sent once it holds this much.
constexpr size_t kChunkBytes = size_t{64} * 1024;
// After the exit code is sent, how long the client has to end its side.
constexpr auto kExecCloseGrace = std::chrono::seconds(5);
constexpr int64_t kNsPerSecond = 1'000'000'000;

std::string NamespaceOrDefault(const std::string& ns) { return ns.empty() ? "default" : ns; }

int64_t RealtimeNowNs() {
  struct timespec ts {};
  (void)clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

grpc::Status Invalid(const std::string& what) { return ToGrpcStatus(Error::Invalid(what)); }

// Log lines as text, in chunks of about kChunkBytes. A timestamp prefixes
// each line, not each P chunk of it (a follow returns those one by one).
class LogChunkWriter {
 public:
  LogChunkWriter(grpc::ServerWriter<v1::LogChunk>* writer, bool timestamps)
      : writer_(writer), timestamps_(timestamps) {}

  // False once the client is gone.
  bool Add(const LogLine& line) {
    if (timestamps_ && at_line_start_) {
      data_ += runtime::shim::FormatRfc3339Nano(line.time_ns);
      data_ += ' ';
    }
    data_ += line.content;
    if (!line.partial) data_ += '\n';
    at_line_start_ = !line.partial;
    return data_.size() < kChunkBytes || Flush();
  }

  bool Flush() {
    if (data_.empty()) return true;
    v1::LogChunk chunk;
    chunk.set_data(std::move(data_));
    data_.clear();
    return writer_->Write(chunk);
  }

 private:
  grpc::ServerWriter<v1::LogChunk>* writer_;
  bool timestamps_;
  bool at_line_start_ = true;
  std::string data_;
};

// The container a log call reads, for a follow to see it end.
struct FollowTarget {
  std::string ns, pod, container;
};

// True when the followed container no longer runs (terminated, waiting to
// restart, or restarted since `restarts` was taken) or its pod is gone.
// Sets *restarts on the first call (when it is negative).
bool ContainerEnded(const AgentBackend& backend, const FollowTarget& t, int* restarts) {
  auto pod = backend.GetPod(t.ns, t.pod);
  if (!pod.ok()) return pod.error().err() == ENOENT;
  const ContainerStatus* found = nullptr;
  if (t.container.empty()) {
    if (pod->containers.size() == 1) found = &pod->containers.front();
  } else {
    for (const auto* list : {&pod->containers, &pod->init_containers}) {
      for (const ContainerStatus& c : *list) {
        if (c.name == t.container) found = &c;
      }
    }
  }
  // Which container LogPath chose is the backend's business: without a
  // match, follow until the client cancels.
  if (found == nullptr) return false;
  if (*restarts < 0) *restarts = found->restart_count;
  return found->state.kind != ContainerState::Kind::kRunning || found->restart_count != *restarts;
}

// Sends what `follower` returns until the container ends (then OK), the
// client cancels or goes away (CANCELLED), or the follower fails. Records
// from the start of the follow with a time at or before `sent_until_ns`
// were sent already and are skipped; records before `since_ns` are too.
grpc::Status FollowLog(grpc::ServerContext* ctx, const AgentBackend& backend,
                       const FollowTarget& target, LogFollower& follower, LogChunkWriter& out,
                       std::optional<int64_t> sent_until_ns, std::optional<int64_t> since_ns) {
  int restarts = -1;
  Clock::time_point next_check = Clock::now();
  for (;;) {
    if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "the client cancelled"};
    bool ended = false;
    if (Clock::now() >= next_check) {
      ended = ContainerEnded(backend, target, &restarts);
      next_check = Clock::now() + kContainerCheckInterval;
    }
    // Once the container has ended, read what it wrote last without waiting.
    auto lines = follower.Poll(ended ? 0 : kPollMs);
    if (!lines.ok()) return ToGrpcStatus(std::move(lines).error().Wrap("follow log"));
    for (const LogLine& l : *lines) {
      if (sent_until_ns) {
        if (l.time_ns <= *sent_until_ns) continue;
        sent_until_ns.reset();  // the overlap with the read is a prefix
      }
      if (since_ns && l.time_ns < *since_ns) continue;
      if (!out.Add(l)) return {grpc::StatusCode::CANCELLED, "the client went away"};
    }
    if (!out.Flush()) return {grpc::StatusCode::CANCELLED, "the client went away"};
    if (ended) return grpc::Status::OK;
  }
}

Status SetNonBlocking(int fd) {
  if (fd < 0) return Ok();
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error::FromErrno("set O_NONBLOCK on fd " + std::to_string(fd));
  }
  return Ok();
}

// One exec call: output is pumped to the stream on the handler's thread,
// input from the stream on a thread of its own (a sync gRPC stream allows
// one reader and one writer at a time).
class ExecSession {
 public:
  ExecSession(grpc::ServerContext* ctx, ExecStream* stream, ExecProcess& process)
      : ctx_(ctx), stream_(stream), process_(process) {}

  grpc::Status Run() {
    for (int fd : {process_.stdin_fd(), process_.stdout_fd(), process_.stderr_fd()}) {
      Status s = SetNonBlocking(fd);
      if (!s.ok()) {
        process_.Kill();
        IgnoreError(process_.Wait(), "any: the process was killed; its status does not matter");
        return ToGrpcStatus(std::move(s).error().Wrap("exec"));
      }
    }
    std::thread input([this] { PumpInput(); });
    grpc::Status result = PumpOutput();
    if (!result.ok()) process_.Kill();
    Result<int> exit_code = WaitForExit(result);
    stop_.store(true);
    if (result.ok() && !exit_code.ok()) {
      result = ToGrpcStatus(std::move(exit_code).error().Wrap("exec: wait for the process"));
    } else if (result.ok()) {
      v1::ExecResponse resp;
      resp.mutable_exit()->set_exit_code(*exit_code);
      if (!stream_->Write(resp)) result = {grpc::StatusCode::CANCELLED, "the client went away"};
    }
    // The input thread ends when the client ends its side of the stream;
    // a client that does not is cancelled after a grace.
    if (result.ok()) {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, kExecCloseGrace, [this] { return input_done_; })) ctx_->TryCancel();
    } else {
      ctx_->TryCancel();
    }
    input.join();
    return result;
  }

 private:
  // Until every output fd reaches its end (a pty master reads EIO once the
  // terminal's last user exits), the call is cancelled or the client goes.
  grpc::Status PumpOutput() {
    std::array<struct pollfd, 2> fds{
        {{process_.stdout_fd(), POLLIN, 0}, {process_.stderr_fd(), POLLIN, 0}}};
    std::vector<char> buf(kChunkBytes);
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      if (ctx_->IsCancelled()) return {grpc::StatusCode::CANCELLED, "the client cancelled"};
      if (::poll(fds.data(), fds.size(), kPollMs) < 0 && errno != EINTR) {
        return ToGrpcStatus(Error::FromErrno("exec: poll the process's output"));
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
        if (n > 0) {
          v1::ExecResponse resp;
          if (i == 0) {
            resp.set_stdout(buf.data(), static_cast<size_t>(n));
          } else {
            resp.set_stderr(buf.data(), static_cast<size_t>(n));
          }
          if (!stream_->Write(resp)) return {grpc::StatusCode::CANCELLED, "the client went away"};
        } else if (n == 0 || errno == EIO) {
          fds[i].fd = -1;  // the end; poll(2) skips negative fds
        } else if (errno != EAGAIN && errno != EINTR) {
          return ToGrpcStatus(Error::FromErrno("exec: read the process's output"));
        }
      }
    }
    return grpc::Status::OK;
  }

  // The process may outlive its output (it closed stdout and stderr): wait
  // on a thread of its own and kill it if the call is cancelled meanwhile
  // (ExecProcess allows Kill to race with Wait).
  Result<int> WaitForExit(grpc::Status& result) {
    std::future<Result<int>> exited =
        std::async(std::launch::async, [this] { return process_.Wait(); });
    while (exited.wait_for(std::chrono::milliseconds(kPollMs)) != std::future_status::ready) {
      if (result.ok() && ctx_->IsCancelled()) {
        result = {grpc::StatusCode::CANCELLED, "the client cancelled"};
        process_.Kill();
      }
    }
    return exited.get();
  }

  // Writes all of `data` to the process's stdin. EPIPE (it closed its
  // stdin or exited) and a stop end the input.
  Status WriteStdin(std::string_view data) {
    const int fd = process_.stdin_fd();
    while (!data.empty()) {
      if (stop_.load() || ctx_->IsCancelled()) return Error::Sys(ECANCELED, "exec stdin");
      struct pollfd pfd = {fd, POLLOUT, 0};
      if (::poll(&pfd, 1, kPollMs) < 0 && errno != EINTR) return Error::FromErrno("poll stdin");
      if ((pfd.revents & (POLLOUT | POLLERR | POLLHUP)) == 0) continue;
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Error::FromErrno("write stdin");
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Ok();
  }

  void PumpInput() {
    // A write to a pipe whose reader exited raises SIGPIPE; blocked here,
    // it stays pending on this thread (dropped when it ends) and the write
    // fails with EPIPE instead of killing the agent.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    (void)pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

    bool stdin_open = process_.stdin_fd() >= 0;
    v1::ExecRequest req;
    while (stream_->Read(&req)) {
      switch (req.msg_case()) {
        case v1::ExecRequest::kStdin:
          if (stdin_open) {
            Status s = WriteStdin(req.stdin());
            if (!s.ok()) {
              log::Debug("exec: stdin dropped", {{"error", s.error().ToString()}});
              stdin_open = false;
            }
          }
          break;
        case v1::ExecRequest::kStdinClose:
          if (stdin_open) process_.CloseStdin();
          stdin_open = false;
          break;
        case v1::ExecRequest::kResize:
          IgnoreError(process_.Resize(req.resize().width(), req.resize().height()),
                      "EINVAL: the exec has no terminal to resize");
          break;
        case v1::ExecRequest::kStart:
        case v1::ExecRequest::MSG_NOT_SET:
          log::Debug("exec: ignored a request that is neither stdin nor a resize");
          break;
      }
    }
    // The client ended its side: that is the end of the process's input.
    if (stdin_open) process_.CloseStdin();
    std::lock_guard<std::mutex> lock(mu_);
    input_done_ = true;
    cv_.notify_all();
  }

  grpc::ServerContext* ctx_;
  ExecStream* stream_;
  ExecProcess& process_;
  std::atomic<bool> stop_{false};  // the process has exited: drop further input
  std::mutex mu_;
  std::condition_variable cv_;
  bool input_done_ = false;  // guarded by mu_
};

// True when something accepts connections on the unix socket `path`.
bool SocketAnswers(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  path.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof(addr)) == 0;
}

// The parent directory exists and nothing but a stale socket was at `path`.
Status PrepareSocketPath(const fs::path& path) {
  if (path.empty()) return Error::Invalid("the agent API socket path is empty");
  if (path.string().size() >= sizeof(sockaddr_un::sun_path)) {
    return Error::Sys(ENAMETOOLONG, "unix socket path " + path.string());
  }
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Error::Sys(ec.value(), "create directory " + path.parent_path().string());
  }
  // bind(2) needs both; gRPC would only log why it could not listen.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (::access(dir.c_str(), W_OK | X_OK) < 0) {
    return Error::FromErrno("make the agent API socket in " + dir.string());
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return Ok();
    return Error::FromErrno("stat " + path.string());
  }
  if (!S_ISSOCK(st.st_mode)) return Error::Sys(EEXIST, path.string() + " is not a socket");
  if (SocketAnswers(path)) {
    return Error::Sys(EADDRINUSE, "another process serves the agent API on " + path.string());
  }
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    return Error::FromErrno("remove stale socket " + path.string());
  }
  return Ok();
}

}  // namespace

grpc::Status AgentService::ListPods(grpc::ServerContext* /*ctx*/, const v1::ListPodsRequest* req,
                                    v1::ListPodsResponse* resp) {
  std::vector<PodStatus> pods = backend_.ListPods();
  std::sort(pods.begin(), pods.end(), [](const PodStatus& a, const PodStatus& b) {
    return a.namespace_ != b.namespace_ ? a.namespace_ < b.namespace_ : a.name < b.name;
  });
  for (const PodStatus& p : pods) {
    if (req->namespace_().empty() || p.namespace_ == req->namespace_()) {
      *resp->add_items() = PodToProto(p);
    }
  }
  return grpc::Status::OK;
}

grpc::Status AgentService::GetPod(grpc::ServerContext* /*ctx*/, const v1::GetPodRequest* req,
                                  v1::Pod* resp) {
  if (req->name().empty()) return Invalid("get pod: the pod name is empty");
  const std::string ns = NamespaceOrDefault(req->namespace_());
  auto pod = backend_.GetPod(ns, req->name());
  if (!pod.ok())
    return ToGrpcStatus(std::move(pod).error().Wrap("get pod " + ns + "/" + req->name()));
  *resp = PodToProto(*pod);
  return grpc::Status::OK;
}

grpc::Status AgentService::Logs(grpc::ServerContext* ctx, const v1::LogsRequest* req,
                                grpc::ServerWriter<v1::LogChunk>* writer) {
  if (req->pod().empty()) return Invalid("logs: the pod name is empty");
  const std::string ns = NamespaceOrDefault(req->namespace_());
  const std::string what = "logs of pod " + ns + "/" + req->pod() +
                           (req->container().empty() ? "" : " container " + req->container());
  LogQuery query;
  if (req->has_tail_lines() && req->tail_lines() != -1) {
    if (req->tail_lines() < 0) {
      return Invalid(what + ": tail_lines " + std::to_string(req->tail_lines()) +
                     " must be >= 0 or -1 (all)");
    }
    query.tail_lines = req->tail_lines();
  }
  if (req->since_seconds() < 0) {
    return Invalid(what + ": since_seconds " + std::to_string(req->since_seconds()) +
                   " must be > 0");
  }
  if (req->since_seconds() > 0 && req->has_since_time()) {
    return Invalid(what + ": since_seconds and since_time are exclusive");
  }
  if (req->since_seconds() > 0) {
    query.since_ns = RealtimeNowNs() - req->since_seconds() * kNsPerSecond;
  } else if (req->has_since_time()) {
    query.since_ns = NsFromTimestamp(req->since_time());
  }

  auto path = backend_.LogPath(ns, req->pod(), req->container(), req->previous());
  if (!path.ok()) return ToGrpcStatus(std::move(path).error().Wrap(what));
  // The previous instance has ended: there is nothing more to follow.
  const bool follow = req->follow() && !req->previous();
  std::optional<LogFollower> follower;
  if (follow) {
    auto f = LogFollower::Open(*path);
    if (!f.ok()) return ToGrpcStatus(std::move(f).error().Wrap(what));
    follower.emplace(std::move(*f));
  }
  auto lines = ReadLogs(*path, query);
  if (!lines.ok()) return ToGrpcStatus(std::move(lines).error().Wrap(what));

  LogChunkWriter out(writer, req->timestamps());
  std::optional<int64_t> sent_until_ns;
  for (const LogLine& l : *lines) {
    if (!out.Add(l)) return {grpc::StatusCode::CANCELLED, "the client went away"};
    sent_until_ns = std::max(sent_until_ns.value_or(l.time_ns), l.time_ns);
  }
  if (!out.Flush()) return {grpc::StatusCode::CANCELLED, "the client went away"};
  if (!follow) return grpc::Status::OK;
  return FollowLog(ctx, backend_, {ns, req->pod(), req->container()}, *follower, out, sent_until_ns,
                   query.since_ns);
}

grpc::Status AgentService::Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req,
                                  grpc::ServerWriter<v1::LogChunk>* writer) {
  if (req->pod().empty()) return Invalid("attach: the pod name is empty");
  const std::string ns = NamespaceOrDefault(req->namespace_());
  const std::string what = "attach to pod " + ns + "/" + req->pod() +
                           (req->container().empty() ? "" : " container " + req->container());
  auto path = backend_.LogPath(ns, req->pod(), req->container(), false);
  if (!path.ok()) return ToGrpcStatus(std::move(path).error().Wrap(what));
  auto follower = LogFollower::Open(*path);
  if (!follower.ok()) return ToGrpcStatus(std::move(follower).error().Wrap(what));
  LogChunkWriter out(writer, false);
  return FollowLog(ctx, backend_, {ns, req->pod(), req->container()}, *follower, out, std::nullopt,
                   std::nullopt);
}

grpc::Status AgentService::Exec(grpc::ServerContext* ctx, ExecStream* stream) {
  v1::ExecRequest first;
  if (!stream->Read(&first)) return Invalid("exec: the stream ended before the start message");
  if (!first.has_start()) return Invalid("exec: the first message must be start");
  const v1::ExecStart& start = first.start();
  if (start.pod().empty()) return Invalid("exec: the pod name is empty");
  if (start.command().empty()) return Invalid("exec: the command is empty");
  const std::string ns = NamespaceOrDefault(start.namespace_());
  const std::vector<std::string> command(start.command().begin(), start.command().end());
  std::optional<runtime::ConsoleSize> size;
  if (start.tty() && start.has_terminal_size()) {
    size = runtime::ConsoleSize{start.terminal_size().height(), start.terminal_size().width()};
  }
  auto process = backend_.StartExec(ns, start.pod(), start.container(), command, start.tty(),
                                    start.stdin(), size);
  if (!process.ok()) {
    return ToGrpcStatus(std::move(process).error().Wrap("exec in pod " + ns + "/" + start.pod()));
  }
  log::Debug("exec", {{"pod", ns + "/" + start.pod()}, {"command", command.front()}});
  ExecSession session(ctx, stream, **process);
  return session.Run();
}

grpc::Status AgentService::GetNode(grpc::ServerContext* /*ctx*/, const v1::GetNodeRequest* /*req*/,
                                   v1::Node* resp) {
  auto node = backend_.GetNodeStatus();
  if (!node.ok()) return ToGrpcStatus(std::move(node).error().Wrap("get node status"));
  *resp = NodeToProto(*node);
  return grpc::Status::OK;
}

Result<std::unique_ptr<AgentServer>> AgentServer::Start(AgentBackend& backend,
                                                        const fs::path& socket_path) {
  BERTH_TRY(PrepareSocketPath(socket_path));
  std::unique_ptr<AgentServer> server(new AgentServer(backend, socket_path));
  const std::string address = "unix:" + socket_path.string();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&server->service_);
  server->server_ = builder.BuildAndStart();
  if (!server->server_) {
    return Error::Msg("serve the agent API on " + address +
                      ": gRPC could not listen (see its log)");
  }
  // The socket is made with the umask; group members may connect too.
  if (::chmod(socket_path.c_str(), 0660) < 0) {
    Error err = Error::FromErrno("chmod 0660 " + socket_path.string());
    server->Shutdown();
    return err;
  }
  log::Info("serving the agent API", {{"socket", socket_path.string()}});
  return server;
}

void AgentServer::Shutdown() {
  if (!server_) return;
  // Follows and execs run until cancelled: cancel them after a grace.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
  if (::unlink(socket_path_.c_str()) < 0 && errno != ENOENT) {
    log::Warn("remove the agent API socket", {{"socket", socket_path_.string()},
                                              {"error", Error::FromErrno("unlink").ToString()}});
  }
}

}  // namespace berth::nodeagent
