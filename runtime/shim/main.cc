// berth-shim: started by the agent through StartShim(); see shim.h.
#include <unistd.h>

#include <climits>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "setup.h"

#include "berth/common/log.h"

int main(int argc, char** argv) {
  namespace shim = berth::runtime::shim;
  CLI::App app{"berth-shim: monitors one container (started by berth-agent)", "berth-shim"};
  shim::SetupOptions o;
  shim::ShimConfig& c = o.config;
  app.add_option("--id", c.id)->required();
  app.add_option("--bundle", c.bundle)->required();
  app.add_option("--cgroup-mount", c.cgroup_mount)->required();
  app.add_option("--cgroup-path", c.cgroup_path)->required();
  app.add_option("--shim-cgroup", c.shim_cgroup);
  app.add_option("--seccomp-bpf", c.seccomp_bpf, "linux.seccomp precompiled");
  app.add_option("--state-dir", c.state_dir)->required();
  app.add_option("--log-path", c.log_path)->required();
  app.add_option("--log-max-bytes", c.log_max_bytes);
  app.add_option("--log-max-files", c.log_max_files);
  app.add_option("--sync-fd", o.sync_fd)->required();
  app.add_option("--monitor", o.monitor, "default: berth-shim-monitor beside this binary");
  CLI11_PARSE(app, argc, argv);
  if (o.monitor.empty()) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
      self[n] = '\0';
      o.monitor = std::filesystem::path(self).parent_path() / "berth-shim-monitor";
    }
  }
  berth::log::Options lo;
  // Warnings go to shim.log after the spawn (see setup.cc); during it fd 2 is
  // the container's stderr pipe, so only errors are logged directly.
  lo.level = berth::log::Level::kError;
  IgnoreError(berth::log::Init(lo), "logging falls back to stderr defaults");
  berth::Status s = shim::RunShimSetup(o);
  if (!s.ok()) (void)std::fprintf(stderr, "berth-shim: %s\n", s.error().ToString().c_str());
  return s.ok() ? 0 : 1;
}
