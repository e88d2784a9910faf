#include "monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <sys/signalfd.h>
#include <sys/wait.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/shim.h"

namespace berth::runtime::shim {
namespace {

// How long output may still arrive after the init is gone: processes that
// escaped the container's pid namespace teardown could hold the pipes open
// forever, and the exit must be recorded regardless.
constexpr int kDrainAfterExitMs = 2000;

void Report(const char* what, const Error& e) {
  std::string line = std::string("berth-shim-monitor: ") + what + ": " + e.ToString() + "\n";
  (void)!::write(2, line.data(), line.size());
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "oom_kill N" of memory.events; -1 when the file or line is missing (no
// memory controller: the exit cannot be attributed to the OOM killer).
int64_t ReadOomKills(const std::string& path) {
  if (path.empty()) return -1;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return -1;
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return -1;
  std::string_view text(buf, static_cast<size_t>(n));
  constexpr std::string_view kKey = "oom_kill ";
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line = text.substr(at, nl == std::string_view::npos ? nl : nl - at);
    if (line.substr(0, kKey.size()) == kKey) {
      int64_t v = -1;
      return ParseInt(line.substr(kKey.size()), &v) ? v : -1;
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return -1;
}

struct Stream {
  int fd;
  LogStream kind;
  bool open;
};

}  // namespace

Result<MonitorOptions> ParseMonitorArgs(int argc, char** argv) {
  MonitorOptions o;
  for (int i = 1; i < argc; i += 2) {
    std::string_view key = argv[i];
    if (i + 1 >= argc) return Error::Invalid(std::string(key) + ": missing value");
    std::string_view value = argv[i + 1];
    bool ok = true;
    if (key == "--init-pid") {
      ok = ParseInt(value, &o.init_pid);
    } else if (key == "--started-at") {
      ok = ParseInt(value, &o.started_at_ns);
    } else if (key == "--stdout-fd") {
      ok = ParseInt(value, &o.stdout_fd);
    } else if (key == "--stderr-fd") {
      ok = ParseInt(value, &o.stderr_fd);
    } else if (key == "--ready-fd") {
      ok = ParseInt(value, &o.ready_fd);
    } else if (key == "--log-path") {
      o.log.path = std::string(value);
    } else if (key == "--log-max-bytes") {
      ok = ParseInt(value, &o.log.max_bytes);
    } else if (key == "--log-max-files") {
      ok = ParseInt(value, &o.log.max_files);
    } else if (key == "--exit-file") {
      o.exit_file = std::string(value);
    } else if (key == "--memory-events") {
      o.memory_events = std::string(value);
    } else {
      return Error::Invalid(std::string(key) + ": unknown argument");
    }
    if (!ok) return Error::Invalid(std::string(key) + ": bad value \"" + std::string(value) + "\"");
  }
  if (o.init_pid <= 0 || o.stdout_fd < 0 || o.stderr_fd < 0 || o.exit_file.empty() ||
      o.log.path.empty()) {
    return Error::Invalid(
        "--init-pid, --stdout-fd, --stderr-fd, --log-path and --exit-file are required");
  }
  return o;
}

int RunMonitor(const MonitorOptions& options) {
  // SIGCHLD through a signalfd; the agent's SIGTERM/SIGHUP are not ours to
  // act on (the agent stops containers by signalling them, not the shim).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) (void)::signal(sig, SIG_IGN);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) Report("signalfd", Error::FromErrno("signalfd"));

  const int64_t oom_before = ReadOomKills(options.memory_events);
  Result<CriLogWriter> opened = CriLogWriter::Open(options.log);
  std::optional<CriLogWriter> log;
  if (opened.ok()) {
    log.emplace(std::move(opened).value());
  } else {
    // Keep draining the pipes so the container never blocks on a full one.
    Report("open log", opened.error());
  }
  if (options.ready_fd >= 0) {
    (void)!::write(options.ready_fd, "ok\n", 3);
    ::close(options.ready_fd);
  }

  Stream streams[2] = {{options.stdout_fd, LogStream::kStdout, true},
                       {options.stderr_fd, LogStream::kStderr, true}};
  for (auto& s : streams) ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);

  int wait_status = 0;
  bool exited = false;
  int64_t finished_at = 0;
  auto reap = [&] {
    for (;;) {
      int st = 0;
      pid_t pid = ::waitpid(-1, &st, WNOHANG);
      if (pid <= 0) return;
      if (pid == options.init_pid) {
        exited = true;
        wait_status = st;
        finished_at = RealtimeNanos();
      }
    }
  };
  reap();  // the init may have exited before the signalfd existed
  char buf[64 * 1024];
  int64_t drain_deadline = 0;
  for (;;) {
    if (exited && !streams[0].open && !streams[1].open) break;
    int timeout = -1;
    if (exited) {
      const int64_t now_ms = RealtimeNanos() / 1000000;
      if (drain_deadline == 0) drain_deadline = now_ms + kDrainAfterExitMs;
      if (now_ms >= drain_deadline) break;
      timeout = static_cast<int>(drain_deadline - now_ms);
    }
    pollfd fds[3] = {{streams[0].open ? streams[0].fd : -1, POLLIN, 0},
                     {streams[1].open ? streams[1].fd : -1, POLLIN, 0},
                     {sigfd ? sigfd.get() : -1, POLLIN, 0}};
    if (!sigfd && !exited) timeout = 100;  // no signalfd: poll for the exit
    int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) {
      Report("poll", Error::FromErrno("poll"));
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = ::read(streams[i].fd, buf, sizeof(buf));
      if (got > 0) {
        if (log) {
          Status w = log->Write(streams[i].kind, std::string_view(buf, static_cast<size_t>(got)),
                                RealtimeNanos());
          if (!w.ok()) Report("write log", w.error());
        }
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        streams[i].open = false;
        if (log)
          IgnoreError(log->Flush(streams[i].kind, RealtimeNanos()), "reported as lost output");
      }
    }
    if (fds[2].revents != 0) {
      signalfd_siginfo info;
      while (::read(sigfd.get(), &info, sizeof(info)) == sizeof(info)) {
      }
    }
    if (!exited) reap();
  }
  for (auto& s : streams) {
    if (s.open && log) IgnoreError(log->Flush(s.kind, RealtimeNanos()), "best effort at exit");
  }

  ExitStatus status;
  status.started_at_ns = options.started_at_ns;
  status.finished_at_ns = finished_at;
  if (WIFEXITED(wait_status)) {
    status.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    status.signal = WTERMSIG(wait_status);
    status.exit_code = 128 + status.signal;
  }
  const int64_t oom_after = ReadOomKills(options.memory_events);
  status.oom_killed = oom_before >= 0 && oom_after > oom_before;
  Status written = WriteFileDurably(options.exit_file, FormatExitStatus(status));
  if (!written.ok()) {
    Report("write exit file", written.error());
    return 1;
  }
  return 0;
}

}  // namespace berth::runtime::shim
