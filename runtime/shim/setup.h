// The setup half of berth-shim: daemonize, create the container with its
// stdout and stderr on pipes, start it, record shim.state, then exec the
// monitor. Reports the outcome to the agent on the sync fd: the monitor
// writes "ok\n"; a failure here writes "error <errno> <message>\n".
#pragma once

#include <filesystem>
#include <string>

#include "berth/runtime/shim/shim.h"

namespace berth::runtime::shim {

struct SetupOptions {
  ShimConfig config;
  int sync_fd = -1;
  std::filesystem::path monitor;  // berth-shim-monitor
};

// Returns only on failure, after reporting it on the sync fd; on success the
// process has become the monitor.
Status RunShimSetup(const SetupOptions& options);

}  // namespace berth::runtime::shim
