#include "usage_meter.h"

#include <unistd.h>

#include <charconv>
#include <sstream>

#include "berth/cgroups/stats.h"
#include "berth/common/file.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

std::optional<uint64_t> Number(std::string_view text) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return v;
}

// Resident pages of every process in the cgroup and its descendants.
int64_t ResidentBytes(const fs::path& dir, const fs::path& proc) {
  static const int64_t kPage = ::sysconf(_SC_PAGESIZE);
  int64_t total = 0;
  std::error_code ec;
  std::vector<fs::path> dirs{dir};
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path());
  }
  for (const auto& d : dirs) {
    auto procs = ReadFile(d / "cgroup.procs");
    if (!procs.ok()) continue;
    std::istringstream in(*procs);
    std::string pid;
    while (in >> pid) {
      // statm: size resident shared text lib data dt (pages).
      auto statm = ReadFile(proc / pid / "statm");
      if (!statm.ok()) continue;  // exited since
      std::istringstream fields(*statm);
      uint64_t size = 0, resident = 0;
      if (fields >> size >> resident) total += static_cast<int64_t>(resident) * kPage;
    }
  }
  return total;
}

}  // namespace

Result<uint64_t> ParseProcStatBusyTicks(std::string_view proc_stat) {
  const auto eol = proc_stat.find('\n');
  std::string line(proc_stat.substr(0, eol));
  std::istringstream in(line);
  std::string label;
  in >> label;
  if (label != "cpu") return Error::Invalid("/proc/stat: first line is not the \"cpu\" total");
  // user nice system idle iowait irq softirq steal (guest time is in user).
  uint64_t v[8] = {};
  for (auto& x : v) {
    if (!(in >> x)) return Error::Invalid("/proc/stat: \"cpu\" line has fewer than 8 fields");
  }
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

Result<int64_t> ParseMeminfoUsed(std::string_view meminfo) {
  std::optional<uint64_t> total, available;
  std::istringstream in{std::string(meminfo)};
  std::string key;
  uint64_t kb = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (!(fields >> key >> kb)) continue;
    if (key == "MemTotal:") total = kb;
    if (key == "MemAvailable:") available = kb;
  }
  if (!total || !available) return Error::Invalid("/proc/meminfo: no MemTotal or MemAvailable");
  return static_cast<int64_t>(*total - std::min(*total, *available)) * 1024;
}

Result<uint64_t> UsageMeter::NodeBusyNs() const {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(options_.proc / "stat"));
  BERTH_ASSIGN_OR_RETURN(uint64_t ticks, ParseProcStatBusyTicks(text));
  static const uint64_t kHz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return ticks * (1000000000 / kHz);
}

Result<int64_t> UsageMeter::NodeMemory() const {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(options_.proc / "meminfo"));
  return ParseMeminfoUsed(text);
}

std::optional<uint64_t> UsageMeter::CgroupCpuUsec(const std::string& cgroup) const {
  auto text = ReadFile(options_.cgroup_mount / fs::path(cgroup).relative_path() / "cpu.stat");
  if (!text.ok()) return std::nullopt;
  auto stat = cgroups::ParseFlatKeyed(*text);
  if (!stat.ok()) return std::nullopt;
  const auto it = stat->find("usage_usec");
  if (it == stat->end()) return std::nullopt;
  return it->second;
}

int64_t UsageMeter::CgroupMemory(const std::string& cgroup) const {
  const fs::path dir = options_.cgroup_mount / fs::path(cgroup).relative_path();
  auto current = ReadFile(dir / "memory.current");
  if (!current.ok()) return ResidentBytes(dir, options_.proc);
  const auto bytes = Number(*current);
  if (!bytes) return 0;
  uint64_t inactive_file = 0;
  if (auto text = ReadFile(dir / "memory.stat"); text.ok()) {
    if (auto stat = cgroups::ParseFlatKeyed(*text); stat.ok()) {
      if (auto it = stat->find("inactive_file"); it != stat->end()) inactive_file = it->second;
    }
  }
  return static_cast<int64_t>(*bytes - std::min(*bytes, inactive_file));
}

Result<std::optional<UsageWindow>> UsageMeter::Sample(const std::vector<UsageTarget>& targets) {
  Reading now;
  now.at = std::chrono::steady_clock::now();
  BERTH_ASSIGN_OR_RETURN(now.node_busy_ns, NodeBusyNs());
  for (const auto& t : targets) {
    if (auto usec = CgroupCpuUsec(t.cgroup)) now.cpu_usec[t.cgroup] = *usec;
  }
  std::optional<Reading> previous = std::move(last_);
  last_ = now;
  if (!previous) return std::optional<UsageWindow>();

  const auto elapsed_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.at - previous->at).count();
  if (elapsed_ns <= 0) return std::optional<UsageWindow>();
  const auto rate = [&](uint64_t before, uint64_t after, uint64_t scale) {
    // A counter that went back (a cgroup made anew under the same path)
    // has no rate for this window.
    if (after < before) return int64_t{0};
    return static_cast<int64_t>(static_cast<double>(after - before) * static_cast<double>(scale) *
                                1e9 / static_cast<double>(elapsed_ns));
  };
  UsageWindow w;
  w.end = std::chrono::system_clock::now();
  w.length = std::chrono::duration_cast<std::chrono::milliseconds>(now.at - previous->at);
  w.node.cpu_nanocores = rate(previous->node_busy_ns, now.node_busy_ns, 1);
  BERTH_ASSIGN_OR_RETURN(w.node.memory_bytes, NodeMemory());
  for (const auto& t : targets) {
    const auto after = now.cpu_usec.find(t.cgroup);
    const auto before = previous->cpu_usec.find(t.cgroup);
    if (after == now.cpu_usec.end() || before == previous->cpu_usec.end()) continue;
    ContainerUsage c{t, {}};
    c.usage.cpu_nanocores = rate(before->second, after->second, 1000);
    c.usage.memory_bytes = CgroupMemory(t.cgroup);
    w.containers.push_back(std::move(c));
  }
  return std::optional<UsageWindow>(std::move(w));
}

}  // namespace berth::metrics
