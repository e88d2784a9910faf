// berth-shim: one monitor process per container, like conmon. The agent
// starts it with StartShim(); it daemonizes (so it is nobody's child but
// init's and outlives the agent), sets the container up through the runtime
// library with pipes as its stdout and stderr, starts it, records who it is
// in <state_dir>/shim.state, and then execs the small statically linked
// berth-shim-monitor, which keeps the container as its child, writes
// CRI-format log lines with rotation, waits for the container and records
// its exit status durably in <state_dir>/exit. An agent that restarts reads
// both files back: ReadShimState() and ReadExitStatus().
//
// The file formats are "key=value" lines, parsed strictly. Functions are
// thread-safe (StartShim uses posix_spawn, never fork, so an agent with many
// threads may call it). Errors: the setup error the shim reported (errno and
// message, e.g. ENOENT for a missing executable in the image), ETIMEDOUT when
// the shim did not answer in time, EINVAL for malformed state files, ENOENT
// for a state directory without them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "berth/common/error.h"

namespace berth::runtime::shim {

struct ShimConfig {
  std::string id;                // container instance, for messages
  std::filesystem::path bundle;  // absolute; holds config.json
  std::filesystem::path cgroup_mount;
  std::string cgroup_path;  // the container's cgroup inside the mount
  std::string shim_cgroup;  // where the shim itself lives (inside the mount); empty: stays put
  std::filesystem::path state_dir;  // exists; shim.state, exit, shim.log, exec.fifo
  std::filesystem::path log_path;   // CRI log file; its directory exists
  uint64_t log_max_bytes = 10 << 20;
  int log_max_files = 5;
  // linux.seccomp of the bundle, precompiled; empty: the shim compiles it.
  std::filesystem::path seccomp_bpf;
};

// Who runs the container: written once the container's process runs.
struct ShimState {
  pid_t shim_pid = -1;
  uint64_t shim_start_time = 0;  // field 22 of /proc/<pid>/stat, against pid reuse
  pid_t init_pid = -1;
  uint64_t init_start_time = 0;
  int64_t started_at_ns = 0;  // CLOCK_REALTIME when the process was started
};

struct ExitStatus {
  int exit_code = 0;  // as a shell reports it: 128 + signal when killed
  int signal = 0;     // 0 unless killed by a signal
  bool oom_killed = false;
  int64_t started_at_ns = 0;
  int64_t finished_at_ns = 0;
};

inline constexpr const char* kShimStateFile = "shim.state";
inline constexpr const char* kExitFile = "exit";

// Starts berth-shim (the binary at `shim_binary`; berth-shim-monitor must sit
// beside it) and waits until the container runs or its setup failed.
Result<ShimState> StartShim(const std::filesystem::path& shim_binary, const ShimConfig& config,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

Result<ShimState> ReadShimState(const std::filesystem::path& state_dir);
// nullopt while the container runs (no exit file yet).
Result<std::optional<ExitStatus>> ReadExitStatus(const std::filesystem::path& state_dir);

std::string FormatShimState(const ShimState& s);
Result<ShimState> ParseShimState(std::string_view text);
std::string FormatExitStatus(const ExitStatus& s);
Result<ExitStatus> ParseExitStatus(std::string_view text);

// Writes `data` to `path` so that after a crash the file is either absent,
// the old one, or complete: a temporary file, fsync, rename, fsync of the
// directory. `sync` false skips the fsyncs: still atomic when a process
// crashes, not across a power loss (for state that dies with the node's
// processes anyway). Needs nothing but libc (the monitor uses it).
Status WriteFileDurably(const std::string& path, std::string_view data, bool sync = true);

}  // namespace berth::runtime::shim
