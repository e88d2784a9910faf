// Process attributes shared by the init and exec paths.
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "init.h"

#include "berth/common/unique_fd.h"
#include "berth/runtime/capabilities.h"

namespace berth::runtime::container_internal {
namespace {

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

std::vector<std::string> BuildEnv(const Process& process) {
  std::vector<std::string> env = process.env;
  bool has_path = false;
  for (const auto& e : env) has_path |= e.rfind("PATH=", 0) == 0;
  if (!has_path) env.emplace_back(kDefaultPath);
  return env;
}

Result<std::string> ResolveExecutable(const Process& process) {
  const std::string& name = process.args.at(0);
  auto check = [](const std::string& p) -> Status {
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) return Error::FromErrno("exec " + p);
    if (S_ISDIR(st.st_mode)) return Error::Sys(EACCES, "exec " + p + ": is a directory");
    if (::access(p.c_str(), X_OK) < 0) return Error::FromErrno("exec " + p);
    return Ok();
  };
  if (name.find('/') != std::string::npos) {
    BERTH_TRY(check(name));
    return name;
  }
  std::string path = BuildEnv(process).back();
  for (const auto& e : process.env) {
    if (e.rfind("PATH=", 0) == 0) path = e;
  }
  path = path.substr(5);
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find(':', pos);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(pos, end - pos);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (check(candidate).ok()) return candidate;
    pos = end + 1;
  }
  return Error::Sys(ENOENT, "exec " + name + ": not found in $PATH (" + path + ")");
}

Result<SeccompFilter> FilterFor(const ProcessPlan& plan) {
  if (plan.seccomp_bpf != nullptr && !plan.seccomp_bpf->empty()) {
    return SeccompFilter::FromBpf(*plan.seccomp_bpf, *plan.seccomp);
  }
  return SeccompFilter::Build(*plan.seccomp);
}

Result<bool> ApplyIdentity(const ProcessPlan& plan) {
  const Process& p = *plan.process;
  bool seccomp_pending = plan.seccomp != nullptr;
  if (seccomp_pending && !p.no_new_privileges) {
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which we
    // still hold here (runc orders it the same way).
    BERTH_ASSIGN_OR_RETURN(SeccompFilter f, FilterFor(plan));
    BERTH_TRY(f.Load());
    seccomp_pending = false;
  }
  BERTH_TRY(KeepCapsAcrossSetuid());
  const User& u = p.user;
  if (::setgroups(u.additional_gids.size(), u.additional_gids.data()) < 0 && errno != EPERM) {
    return Error::FromErrno("setgroups");
  }
  if (::setresgid(u.gid, u.gid, u.gid) < 0) {
    return Error::FromErrno("setresgid " + std::to_string(u.gid));
  }
  if (::setresuid(u.uid, u.uid, u.uid) < 0) {
    return Error::FromErrno("setresuid " + std::to_string(u.uid));
  }
  if (u.umask) ::umask(*u.umask);
  Capabilities caps = p.capabilities ? *p.capabilities : DefaultCapabilitySets();
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> warnings, ApplyCapabilities(caps));
  (void)warnings;  // the parent already reported unknown names from the spec
  if (p.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return Error::FromErrno("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return seccomp_pending;
}

Status PrepareFds(int preserve_fds, std::initializer_list<int> keep) {
  int last = 2 + preserve_fds;
  for (int fd = 3; fd <= last; ++fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
      return Error::FromErrno("keep fd " + std::to_string(fd));
    }
  }
  // Everything else above the preserved range is marked close-on-exec so no
  // runtime fd leaks into the container.
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    if (fd <= last) continue;
    bool kept = false;
    for (int k : keep) kept |= (k == fd);
    if (!kept) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);  // a racing dirfd may be gone: EBADF
  }
  return Ok();
}

void ExecProcess(const std::string& path, const Process& process,
                 const std::optional<SeccompFilter>* late_seccomp) {
  std::vector<std::string> env = BuildEnv(process);
  std::vector<char*> argv, envp;
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (late_seccomp != nullptr && late_seccomp->has_value()) {
    Status s = (*late_seccomp)->Load();
    if (!s.ok()) {
      dprintf(2, "berth: %s\n", s.error().ToString().c_str());
      _exit(127);
    }
  }
  ::execve(path.c_str(), argv.data(), envp.data());
  int err = errno;
  dprintf(2, "berth: exec %s: %s\n", path.c_str(), strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

}  // namespace berth::runtime::container_internal
