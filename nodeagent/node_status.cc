#include "node_status.h"

#include <unistd.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "berth/common/file.h"

namespace berth::nodeagent {
namespace {

namespace fs = std::filesystem;

// "MemTotal:  24576000 kB" -> bytes.
int64_t MemTotal(const fs::path& proc) {
  auto text = ReadFile(proc / "meminfo");
  if (!text.ok()) return 0;
  std::istringstream in(*text);
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemTotal:") return kb * 1024;
  }
  return 0;
}

// PSI "some avg10=1.23 ..." of /proc/pressure/<what>; -1 when unavailable.
double PressureAvg10(const fs::path& proc, const char* what) {
  auto text = ReadFile(proc / "pressure" / what);
  if (!text.ok()) return -1;
  double v = -1;
  if (std::sscanf(text->c_str(), "some avg10=%lf", &v) != 1) return -1;
  return v;
}

int64_t CountPids(const fs::path& proc) {
  int64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(proc, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) ++n;
  }
  return n;
}

}  // namespace

Result<NodeStatus> ReadNodeStatus(const NodeStatusInputs& in) {
  NodeStatus s;
  s.name = in.name;
  s.cgroup_root = in.cgroup_root;
  s.running_pods = in.running_pods;
  s.cpu_milli = static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)) * 1000;
  s.memory_bytes = MemTotal(in.proc);
  s.pods = in.max_pods;
  s.allocatable_cpu_milli = std::max<int64_t>(0, s.cpu_milli - in.reserved_cpu_milli);
  s.allocatable_memory_bytes = std::max<int64_t>(0, s.memory_bytes - in.reserved_memory_bytes);
  s.allocatable_pods = in.max_pods;

  std::vector<std::string> offered;
  if (auto text = ReadFile(in.cgroup_dir / "cgroup.controllers"); text.ok()) {
    std::istringstream words(*text);
    std::string w;
    while (words >> w) offered.push_back(w);
  }
  for (const char* c : {"cpu", "memory", "pids", "io"}) {
    const bool has = std::find(offered.begin(), offered.end(), c) != offered.end();
    (has ? s.controllers_enforced : s.controllers_missing).emplace_back(c);
  }

  const double mem = PressureAvg10(in.proc, "memory");
  NodeCondition memory{"MemoryPressure", mem >= in.memory_pressure_avg10,
                       mem < 0 ? "PressureUnknown" : "HasSufficientMemory", ""};
  if (memory.status) {
    memory.reason = "MemoryPressure";
    memory.message = "PSI memory some avg10=" + std::to_string(mem);
  }
  NodeCondition disk{"DiskPressure", false, "HasSufficientDisk", ""};
  struct statvfs vfs {};
  if (!in.state_dir.empty() && ::statvfs(in.state_dir.c_str(), &vfs) == 0 && vfs.f_blocks > 0) {
    const double free = static_cast<double>(vfs.f_bavail) / static_cast<double>(vfs.f_blocks);
    if (free < in.disk_free_min_ratio) {
      disk = {"DiskPressure", true, "DiskPressure",
              std::to_string(static_cast<int>(free * 100)) + "% free on " + in.state_dir.string()};
    }
  }
  NodeCondition pid{"PIDPressure", false, "HasSufficientPID", ""};
  if (auto max = ReadFile(in.proc / "sys/kernel/pid_max"); max.ok()) {
    const double limit = std::stod(*max);
    const double used = static_cast<double>(CountPids(in.proc));
    if (limit > 0 && (limit - used) / limit < in.pid_free_min_ratio) {
      pid = {"PIDPressure", true, "PIDPressure",
             std::to_string(static_cast<int64_t>(used)) + " of " +
                 std::to_string(static_cast<int64_t>(limit)) + " pids in use"};
    }
  }
  NodeCondition ready{"Ready", true, "AgentReady", ""};
  if (!s.controllers_missing.empty()) {
    std::string missing;
    for (const auto& c : s.controllers_missing) missing += (missing.empty() ? "" : ",") + c;
    ready.message = "cgroup controllers not available (limits not enforced): " + missing;
  }
  s.conditions = {ready, memory, disk, pid};
  return s;
}

}  // namespace berth::nodeagent
