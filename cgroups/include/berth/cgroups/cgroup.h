// cgroup v2: find the hierarchy, create and remove cgroups, move processes,
// apply limits, read stats, freeze, kill and wait for a cgroup to empty.
//
// A Cgroup is a handle naming one directory of the cgroup2 tree; it does not
// remove the directory when destroyed (see ScopedCgroup for that). All roots
// are parameters, so unit tests run the same code against a temp directory of
// fixture files. Never writes control files of the hierarchy root: the root's
// controllers belong to the host (systemd enables them for delegation).
// Methods are thread-compatible: distinct handles may be used concurrently.
// Errors carry the errno of the failing call and name the file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/cgroups/resources.h"
#include "berth/common/error.h"

namespace berth::cgroups {

// Where cgroup2 is mounted and which cgroup the calling process is in.
struct Hierarchy {
  std::filesystem::path mount;  // "/sys/fs/cgroup" or "/sys/fs/cgroup/unified"
  std::string self;             // from the "0::" line of /proc/self/cgroup, e.g. "/user.slice"
};

// Reads <proc>/self/mountinfo and <proc>/self/cgroup. ENOENT: no cgroup2 mount.
Result<Hierarchy> Discover(const std::filesystem::path& proc = "/proc");
// Pure parsers behind Discover, for tests and fuzzing.
Result<std::filesystem::path> FindCgroup2Mount(std::string_view mountinfo);
Result<std::string> ParseProcCgroup(std::string_view proc_self_cgroup);

struct ApplyOptions {
  // false: a resource whose controller is unavailable logs a warning naming
  // the controller; true: it is an error (ENOTSUP).
  bool strict = false;
};

struct CpuStats {
  uint64_t usage_usec = 0, user_usec = 0, system_usec = 0;
  uint64_t nr_periods = 0, nr_throttled = 0, throttled_usec = 0;
};

struct MemoryStats {
  uint64_t current = 0;
  std::optional<uint64_t> swap_current;
  std::map<std::string, uint64_t> stat;    // memory.stat
  std::map<std::string, uint64_t> events;  // memory.events: low high max oom oom_kill
};

struct IoDeviceStats {
  uint64_t major = 0, minor = 0;
  uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0, dbytes = 0, dios = 0;
};

struct PressureLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total_usec = 0;
};

struct Pressure {
  std::optional<PressureLine> some, full;
};

// Every field is optional in effect: files a host lacks are left empty,
// not errors (cpu.stat exists without the cpu controller, memory.* does not).
struct Stats {
  std::optional<CpuStats> cpu;
  std::optional<MemoryStats> memory;
  std::optional<uint64_t> pids_current;
  std::optional<uint64_t> pids_max;  // nullopt also for "max"
  std::vector<IoDeviceStats> io;
  std::optional<Pressure> cpu_pressure, memory_pressure, io_pressure;
};

class Cgroup {
 public:
  // `mount` is the cgroup2 mount; `path` is absolute within the hierarchy
  // ("/berth/pods/x"). Does not touch the filesystem.
  Cgroup(std::filesystem::path mount, std::string path);

  // Creates mount/path (and missing parents), then enables in each created or
  // existing non-root ancestor the controllers its cgroup.controllers offers
  // and its subtree_control lacks. Fails with the cgroup v2 "no internal
  // processes" reason when an ancestor holds processes. Existing: fine.
  static Result<Cgroup> Create(const std::filesystem::path& mount, std::string_view path);

  const std::filesystem::path& mount() const { return mount_; }
  const std::string& path() const { return path_; }
  std::filesystem::path dir() const;  // mount/path

  // Controllers available in this cgroup (cgroup.controllers).
  Result<std::vector<std::string>> Controllers() const;

  Status AddProcess(pid_t pid) const;            // cgroup.procs
  Result<std::vector<pid_t>> Processes() const;  // cgroup.procs
  Result<bool> Populated() const;                // cgroup.events

  // Writes the v2 files for `resources` (see limits.h for the mapping).
  // Returns warnings for skipped resources (unavailable controllers).
  Result<std::vector<std::string>> Apply(const Resources& resources,
                                         const ApplyOptions& options = {}) const;

  Result<Stats> ReadStats() const;

  // cgroup.freeze, then waits for "frozen 1" (or 0) in cgroup.events.
  Status Freeze(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  Status Thaw(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  Result<bool> Frozen() const;

  // SIGKILLs every process in the subtree: cgroup.kill where the kernel has
  // it (5.14+), else each pid of cgroup.procs recursively.
  Status Kill() const;

  // Waits until cgroup.events says "populated 0", sleeping in poll(2) on the
  // events file (the kernel signals POLLPRI on change), never spinning.
  // ETIMEDOUT when the deadline passes first.
  Status WaitEmpty(std::chrono::milliseconds timeout) const;

  // Removes this cgroup and its child cgroups, leaves first. EBUSY when a
  // cgroup still has processes. ENOENT is not an error.
  Status Remove() const;

 private:
  std::filesystem::path mount_;
  std::string path_;
};

// Removes its cgroup (kill, wait, remove) when destroyed unless released.
class ScopedCgroup {
 public:
  explicit ScopedCgroup(Cgroup cg) : cg_(std::move(cg)) {}
  ~ScopedCgroup();
  ScopedCgroup(const ScopedCgroup&) = delete;
  ScopedCgroup& operator=(const ScopedCgroup&) = delete;

  const Cgroup& get() const { return cg_; }
  const Cgroup* operator->() const { return &cg_; }
  Cgroup release() {
    released_ = true;
    return cg_;
  }

 private:
  Cgroup cg_;
  bool released_ = false;
};

}  // namespace berth::cgroups
