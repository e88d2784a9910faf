// The OCI runtime's state directory: <root>/<id>/state.json (written
// atomically) and <root>/<id>/exec.fifo while the container is "created".
// The status is never stored: it is computed from the process (pid alive with
// the recorded start time), the fifo and the cgroup's freezer, so a crash
// never leaves a stale status. Not thread-safe; verbs on one id serialize on
// the directory's flock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "berth/common/error.h"
#include "berth/common/unique_fd.h"

namespace berth::runtime::cli {

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22 at creation
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC
  std::string owner;
  std::string cgroup_mount;
  std::string cgroup_path;
  std::map<std::string, std::string> annotations;
};

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(ContainerStatus s);

// What the status is computed from; separate so it is unit-testable.
struct Observed {
  bool alive = false;  // pid exists with the recorded start time
  bool fifo_present = false;
  bool frozen = false;
};
ContainerStatus ComputeStatus(const Observed& o);

// ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most 1024 bytes. EINVAL naming the id.
Status ValidateId(const std::string& id);

std::string ToJson(const ContainerState& s);
Result<ContainerState> FromJson(const std::string& text);

class StateStore {
 public:
  explicit StateStore(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path Dir(const std::string& id) const { return root_ / id; }
  std::filesystem::path Fifo(const std::string& id) const { return Dir(id) / "exec.fifo"; }

  // mkdir of the container's directory: EEXIST names the id as taken.
  Status Reserve(const std::string& id) const;
  Status Save(const ContainerState& s) const;
  // ENOENT: "container <id> does not exist".
  Result<ContainerState> Load(const std::string& id) const;
  Status Remove(const std::string& id) const;
  Result<std::vector<std::string>> List() const;
  // flock(LOCK_EX) on the container's directory, held by the returned fd.
  Result<UniqueFd> Lock(const std::string& id) const;

 private:
  std::filesystem::path root_;
};

// Observes the live facts for `s` (proc, fifo, cgroup.freeze).
Observed Observe(const ContainerState& s, const std::filesystem::path& fifo);

}  // namespace berth::runtime::cli
