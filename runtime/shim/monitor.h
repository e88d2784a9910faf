// The long-lived half of berth-shim: after setup, berth-shim execs
// berth-shim-monitor, which still has the container's init as its child.
// It copies the container's stdout and stderr into the CRI log, reaps the
// init, and writes the exit file. Statically linked against berth_shim_core
// only, to stay small (RSS well under 2 MB) for the container's whole life.
// Single-threaded; owns the fds it is given.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "berth/runtime/shim/cri_log.h"

namespace berth::runtime::shim {

struct MonitorOptions {
  pid_t init_pid = -1;
  int64_t started_at_ns = 0;
  int stdout_fd = -1;  // read ends of the container's stdout and stderr pipes
  int stderr_fd = -1;
  CriLogOptions log;
  std::string exit_file;      // written once, durably, when the init is gone
  std::string memory_events;  // the container cgroup's memory.events; may not exist
  int ready_fd = -1;          // the agent's sync pipe: "ok\n" once running, then closed
};

// Parses "--key value" arguments (the monitor links no option library).
// Errors name the bad argument.
Result<MonitorOptions> ParseMonitorArgs(int argc, char** argv);

// Runs until the container's init exited and its output is drained; returns
// the monitor's exit code (0 once the exit file is written).
int RunMonitor(const MonitorOptions& options);

}  // namespace berth::runtime::shim
