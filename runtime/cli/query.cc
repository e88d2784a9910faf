// state, list, ps, pause, resume, exec, spec and signal names.
#include <pwd.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "default_spec.h"
#include "state.h"
#include "verbs.h"

#include "berth/cgroups/cgroup.h"
#include "berth/common/file.h"
#include "berth/runtime/container.h"

namespace berth::runtime::cli {
namespace {

constexpr const char* kOciVersion = "1.0.2";

Result<ContainerState> LoadWithStatus(const GlobalOptions& g, const std::string& id,
                                      ContainerStatus* status) {
  StateStore store(g.root);
  BERTH_ASSIGN_OR_RETURN(ContainerState s, store.Load(id));
  *status = ComputeStatus(Observe(s, store.Fifo(id)));
  return s;
}

std::string OwnerOf(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) < 0) return "";
  struct passwd* pw = getpwuid(st.st_uid);
  return pw != nullptr ? pw->pw_name : std::to_string(st.st_uid);
}

nlohmann::json StateJson(const ContainerState& s, ContainerStatus status) {
  return {{"ociVersion", kOciVersion},
          {"id", s.id},
          {"pid", status == ContainerStatus::kStopped ? 0 : s.pid},
          {"status", StatusName(status)},
          {"bundle", s.bundle},
          {"rootfs", s.rootfs},
          {"created", s.created},
          {"owner", s.owner},
          {"annotations", s.annotations}};
}

Result<std::pair<uid_t, gid_t>> ParseUser(const std::string& text) {
  size_t colon = text.find(':');
  try {
    size_t used = 0;
    unsigned long uid = std::stoul(text.substr(0, colon), &used);
    if (used != text.substr(0, colon).size()) throw std::invalid_argument("uid");
    unsigned long gid = 0;
    if (colon != std::string::npos) {
      std::string g = text.substr(colon + 1);
      gid = std::stoul(g, &used);
      if (used != g.size()) throw std::invalid_argument("gid");
    }
    return std::make_pair(static_cast<uid_t>(uid), static_cast<gid_t>(gid));
  } catch (const std::exception&) {
    return Error::Invalid("--user \"" + text + "\": want uid[:gid] as numbers");
  }
}

}  // namespace

Result<int> ParseSignal(const std::string& name) {
  if (name.empty()) return Error::Invalid("empty signal");
  if (std::isdigit(static_cast<unsigned char>(name[0]))) {
    try {
      size_t used = 0;
      int n = std::stoi(name, &used);
      if (used == name.size() && n > 0 && n < NSIG) return n;
    } catch (const std::exception&) {
    }
    return Error::Invalid("invalid signal \"" + name + "\"");
  }
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper = upper.substr(3);
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev != nullptr && upper == abbrev) return s;
  }
  return Error::Invalid("invalid signal \"" + name + "\"");
}

Result<int> State(const GlobalOptions& g, const std::string& id) {
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadWithStatus(g, id, &status));
  std::printf("%s\n", StateJson(s, status).dump(2).c_str());
  return 0;
}

Result<int> List(const GlobalOptions& g, const std::string& format, bool quiet) {
  StateStore store(g.root);
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> ids, store.List());
  if (quiet) {
    for (const auto& id : ids) std::printf("%s\n", id.c_str());
    return 0;
  }
  nlohmann::json all = nlohmann::json::array();
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"});
  for (const auto& id : ids) {
    auto s = store.Load(id);
    if (!s.ok()) continue;  // a container deleted concurrently
    ContainerStatus st = ComputeStatus(Observe(*s, store.Fifo(id)));
    std::string owner = OwnerOf(store.Dir(id));
    nlohmann::json j = StateJson(*s, st);
    j["owner"] = owner;
    all.push_back(j);
    rows.push_back({id, std::to_string(st == ContainerStatus::kStopped ? 0 : s->pid),
                    StatusName(st), s->bundle, s->created, owner});
  }
  if (format == "json") {
    std::printf("%s\n", all.dump().c_str());
    return 0;
  }
  if (format != "table") return Error::Invalid("--format: want table or json, got " + format);
  std::array<size_t, 6> width{};
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::printf("%-*s%s", static_cast<int>(width[i]), r[i].c_str(),
                  i + 1 < r.size() ? "   " : "\n");
    }
  }
  return 0;
}

Result<int> Ps(const GlobalOptions& g, const std::string& id, const std::string& format) {
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadWithStatus(g, id, &status));
  cgroups::Cgroup cg(s.cgroup_mount, s.cgroup_path);
  BERTH_ASSIGN_OR_RETURN(std::vector<pid_t> pids, cg.Processes());
  if (format == "json") {
    std::printf("%s\n", nlohmann::json(pids).dump().c_str());
    return 0;
  }
  if (format != "table") return Error::Invalid("--format: want table or json, got " + format);
  std::printf("%-8s %s\n", "PID", "CMD");
  for (pid_t p : pids) {
    auto cmd = ReadFile("/proc/" + std::to_string(p) + "/cmdline");
    std::string c = cmd.ok() ? *cmd : "";
    for (char& ch : c) {
      if (ch == '\0') ch = ' ';
    }
    std::printf("%-8d %s\n", p, std::string(Trim(c)).c_str());
  }
  return 0;
}

Result<int> Pause(const GlobalOptions& g, const std::string& id) {
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadWithStatus(g, id, &status));
  if (status != ContainerStatus::kRunning && status != ContainerStatus::kCreated) {
    return Error::Invalid("cannot pause container \"" + id + "\" in state " + StatusName(status));
  }
  BERTH_TRY(cgroups::Cgroup(s.cgroup_mount, s.cgroup_path).Freeze());
  return 0;
}

Result<int> Resume(const GlobalOptions& g, const std::string& id) {
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadWithStatus(g, id, &status));
  if (status != ContainerStatus::kPaused) {
    return Error::Invalid("cannot resume container \"" + id + "\" in state " + StatusName(status));
  }
  BERTH_TRY(cgroups::Cgroup(s.cgroup_mount, s.cgroup_path).Thaw());
  return 0;
}

Result<int> Exec(const GlobalOptions& g, const ExecFlags& f) {
  ContainerStatus status;
  BERTH_ASSIGN_OR_RETURN(ContainerState s, LoadWithStatus(g, f.id, &status));
  if (status != ContainerStatus::kRunning) {
    return Error::Invalid("cannot exec in container \"" + f.id + "\" in state " +
                          StatusName(status));
  }
  BERTH_ASSIGN_OR_RETURN(ParseResult parsed, LoadSpec(s.bundle));
  ExecOptions o;
  o.init_pid = s.pid;
  o.cgroup_mount = s.cgroup_mount;
  o.cgroup_path = s.cgroup_path;
  o.console_socket = f.console_socket;
  o.preserve_fds = f.preserve_fds;
  if (parsed.spec.linux_spec && parsed.spec.linux_spec->seccomp) {
    o.seccomp = parsed.spec.linux_spec->seccomp;
  }
  if (!f.process_file.empty()) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(f.process_file));
    BERTH_ASSIGN_OR_RETURN(o.process, ParseProcess(text).Wrap("--process " + f.process_file));
  } else {
    // As runc: start from the container's process and override.
    if (parsed.spec.process) o.process = *parsed.spec.process;
    if (f.args.empty()) return Error::Invalid("exec: no command given");
    o.process.args = f.args;
    o.process.terminal = f.tty;
    o.process.console_size.reset();
    for (const auto& e : f.env) o.process.env.push_back(e);
    if (!f.cwd.empty()) o.process.cwd = f.cwd;
    if (!f.user.empty()) {
      BERTH_ASSIGN_OR_RETURN(auto ug, ParseUser(f.user));
      o.process.user.uid = ug.first;
      o.process.user.gid = ug.second;
    }
  }
  BERTH_ASSIGN_OR_RETURN(pid_t pid, SpawnExec(o));
  if (!f.pid_file.empty()) {
    BERTH_TRY(WriteFileAtomic(f.pid_file, std::to_string(pid)).Wrap("--pid-file"));
  }
  if (f.detach) return 0;
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return Error::FromErrno("wait for exec process");
  }
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

Result<int> WriteSpec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  if (::access(path.c_str(), F_OK) == 0) {
    return Error::Sys(EEXIST, "File " + path + " exists. Remove it first");
  }
  BERTH_TRY(WriteFileAtomic(path, kDefaultSpecJson));
  return 0;
}

}  // namespace berth::runtime::cli
