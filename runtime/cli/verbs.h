// The OCI runtime verbs behind berth-runtime, as crun and runc define them.
// Each returns the process exit code to use (0 on success; run and exec
// return the container process's status) or an Error the caller prints.
// Not thread-safe: verbs fork and install signal handlers.
#pragma once

#include <string>
#include <vector>

#include "berth/common/error.h"

namespace berth::runtime::cli {

struct GlobalOptions {
  std::string root = "/run/berth-runtime";
};

struct CreateFlags {
  std::string id;
  std::string bundle = ".";
  std::string console_socket;
  std::string pid_file;
  int preserve_fds = 0;
};

struct RunFlags {
  CreateFlags create;
  bool detach = false;
  bool keep = false;
};

struct ExecFlags {
  std::string id;
  std::vector<std::string> args;
  std::string process_file;
  bool tty = false;
  std::string console_socket;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // uid[:gid]
  bool detach = false;
  std::string pid_file;
  int preserve_fds = 0;
};

Result<int> Create(const GlobalOptions& g, const CreateFlags& f);
Result<int> Start(const GlobalOptions& g, const std::string& id);
Result<int> Run(const GlobalOptions& g, const RunFlags& f);
Result<int> State(const GlobalOptions& g, const std::string& id);
Result<int> Kill(const GlobalOptions& g, const std::string& id, const std::string& signal,
                 bool all);
Result<int> Delete(const GlobalOptions& g, const std::string& id, bool force);
Result<int> Exec(const GlobalOptions& g, const ExecFlags& f);
Result<int> List(const GlobalOptions& g, const std::string& format, bool quiet);
Result<int> Ps(const GlobalOptions& g, const std::string& id, const std::string& format);
Result<int> Pause(const GlobalOptions& g, const std::string& id);
Result<int> Resume(const GlobalOptions& g, const std::string& id);
// Writes a runc-style default config.json into `bundle`.
Result<int> WriteSpec(const std::string& bundle);

// "KILL", "SIGKILL" or "9" -> 9. EINVAL naming the signal.
Result<int> ParseSignal(const std::string& name);
// Resolves linux.cgroupsPath: absolute as is, relative under the caller's
// cgroup, empty -> /berth/<id>.
std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& self,
                              const std::string& id);

}  // namespace berth::runtime::cli
