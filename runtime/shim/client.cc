// The agent's side of berth-shim: start one, read back what it recorded.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <vector>

#include "berth/common/file.h"
#include "berth/common/unique_fd.h"
#include "berth/runtime/shim/shim.h"

extern char** environ;

namespace berth::runtime::shim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The shim's first line on the sync pipe: "ok" or "error <errno> <message>".
Status ParseSyncLine(const std::string& line, const ShimConfig& c) {
  if (line == "ok") return Ok();
  if (line.rfind("error ", 0) == 0) {
    std::string rest = line.substr(6);
    const size_t sp = rest.find(' ');
    int err = 0;
    try {
      err = std::stoi(rest.substr(0, sp));
    } catch (const std::exception&) {
      err = EIO;
    }
    return Error::Sys(err, sp == std::string::npos ? rest : rest.substr(sp + 1));
  }
  return Error::Sys(EIO, "shim for " + c.id + ": unexpected reply \"" + line + "\"");
}

// The last line berth-shim wrote to shim.log, for a shim that died silently.
std::string LastLogLine(const fs::path& state_dir) {
  auto text = ReadFile(state_dir / "shim.log");
  if (!text.ok()) return "no shim.log";
  std::string s = *text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

}  // namespace

Result<ShimState> StartShim(const fs::path& shim_binary, const ShimConfig& c,
                            std::chrono::milliseconds timeout) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return Error::FromErrno("pipe2");
  UniqueFd sync_r(p[0]), sync_w(p[1]);
  const std::string shim_log = (c.state_dir / "shim.log").string();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, shim_log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0640);
  posix_spawn_file_actions_adddup2(&actions, sync_w.get(), 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The agent's threads may block or handle signals; the shim starts clean.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = {shim_binary.string(),
                                   "--id",
                                   c.id,
                                   "--bundle",
                                   c.bundle.string(),
                                   "--cgroup-mount",
                                   c.cgroup_mount.string(),
                                   "--cgroup-path",
                                   c.cgroup_path,
                                   "--state-dir",
                                   c.state_dir.string(),
                                   "--log-path",
                                   c.log_path.string(),
                                   "--log-max-bytes",
                                   std::to_string(c.log_max_bytes),
                                   "--log-max-files",
                                   std::to_string(c.log_max_files),
                                   "--sync-fd",
                                   "3"};
  if (!c.shim_cgroup.empty()) {
    args.emplace_back("--shim-cgroup");
    args.push_back(c.shim_cgroup);
  }
  if (!c.seccomp_bpf.empty()) {
    args.emplace_back("--seccomp-bpf");
    args.push_back(c.seccomp_bpf.string());
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, shim_binary.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Error::Sys(rc, "spawn " + shim_binary.string());
  sync_w.reset();
  // The direct child forks the real shim and exits at once.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  std::string got;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (size_t nl = got.find('\n'); nl != std::string::npos) {
      BERTH_TRY(ParseSyncLine(got.substr(0, nl), c).Wrap("start container " + c.id));
      return ReadShimState(c.state_dir);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Error::Sys(ETIMEDOUT, "start container " + c.id + ": no answer from berth-shim in " +
                                       std::to_string(timeout.count()) + " ms");
    }
    pollfd pfd{sync_r.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Error::FromErrno("poll shim sync pipe");
    if (n <= 0) continue;
    char buf[1024];
    ssize_t r = ::read(sync_r.get(), buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return Error::Sys(EIO, "start container " + c.id + ": berth-shim exited without a word (" +
                                 LastLogLine(c.state_dir) + ")");
    }
    got.append(buf, static_cast<size_t>(r));
  }
}

Result<ShimState> ReadShimState(const fs::path& state_dir) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(state_dir / kShimStateFile));
  return ParseShimState(text).Wrap((state_dir / kShimStateFile).string());
}

Result<std::optional<ExitStatus>> ReadExitStatus(const fs::path& state_dir) {
  Result<std::string> text = ReadFile(state_dir / kExitFile);
  if (!text.ok()) {
    if (text.error().err() == ENOENT) return std::optional<ExitStatus>();
    return std::move(text).error();
  }
  BERTH_ASSIGN_OR_RETURN(ExitStatus s,
                         ParseExitStatus(*text).Wrap((state_dir / kExitFile).string()));
  return std::optional<ExitStatus>(s);
}

}  // namespace berth::runtime::shim
