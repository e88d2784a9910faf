#include "collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "exposition.h"

#include "berth/cgroups/stats.h"
#include "berth/common/file.h"
#include "berth/common/unique_fd.h"

namespace berth::metrics {
namespace {

namespace fs = std::filesystem;

// What one scrape read for one target.
struct Reading {
  Labels labels;
  std::string rendered;  // RenderLabels(labels), once per scrape
  std::optional<std::map<std::string, uint64_t>> cpu_stat;
  std::optional<cgroups::CpuMax> cpu_max;
  std::optional<uint64_t> cpu_weight;
  std::optional<uint64_t> memory_current, swap_current;
  std::optional<std::optional<uint64_t>> memory_max;
  std::optional<std::map<std::string, uint64_t>> memory_stat, memory_events;
  std::vector<std::pair<std::string, cgroups::IoDeviceStats>> io;  // device name, stats
  std::optional<size_t> processes, threads;
  std::optional<cgroups::Pressure> psi_cpu, psi_memory, psi_io;
  std::optional<NetworkCounters> network;
  std::optional<RunqueueHistogram> runqueue;
  double start_time = 0;
};

std::string DeviceName(const fs::path& sysfs, uint64_t major, uint64_t minor) {
  std::string id = std::to_string(major) + ":" + std::to_string(minor);
  auto uevent = ReadFile(sysfs / "dev" / "block" / id / "uevent");
  if (uevent.ok()) {
    size_t pos = uevent->find("DEVNAME=");
    if (pos != std::string::npos) {
      size_t end = uevent->find('\n', pos);
      return "/dev/" + uevent->substr(pos + 8, end == std::string::npos ? end : end - pos - 8);
    }
  }
  return id;
}

// cAdvisor's conversion of cgroup v2 cpu.weight back to v1 shares.
uint64_t WeightToShares(uint64_t weight) { return 2 + ((weight - 1) * 262142) / 9999; }

// Reads a small cgroup file relative to an open directory. A file the
// cgroup lacks (controller not enabled) is nullopt, cheaply: no error object.
Result<std::optional<std::string>> ReadAt(int dirfd, const fs::path& dir, const char* name) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == EOPNOTSUPP || errno == ENODEV)
      return std::optional<std::string>();
    return Error::FromErrno("open " + (dir / name).string());
  }
  std::string out;
  char buf[16384];
  ssize_t n;
  // cgroup files are seq_files that hand out everything they have in one
  // read: a short read is the end, which saves the extra read(2) for EOF
  // (syscalls are most of a scrape's cost).
  while ((n = ::read(fd.get(), buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof(buf)) break;
  }
  if (n < 0) {
    if (errno == ENODEV || errno == EOPNOTSUPP) return std::optional<std::string>();
    return Error::FromErrno("read " + (dir / name).string());
  }
  return std::optional<std::string>(std::move(out));
}

// Reads `dir/file` into `out` with `parse`; a missing file leaves it empty.
template <typename T, typename Parse>
Status ReadInto(int dirfd, const fs::path& dir, const char* file, std::optional<T>& out,
                Parse parse) {
  BERTH_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadAt(dirfd, dir, file));
  if (!text) return {};
  Result<T> parsed = parse(*text);
  if (!parsed.ok()) return std::move(parsed).error().Wrap("parse " + (dir / file).string());
  out = std::move(parsed).value();
  return {};
}

Result<std::optional<Reading>> Read(const CollectorOptions& o, const Target& t) {
  const fs::path dir = o.cgroup_mount / fs::path(t.cgroup).relative_path();
  UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) {
    if (errno == ENOENT) return std::optional<Reading>();
    return Error::FromErrno("open " + dir.string());
  }
  struct stat st {};
  if (::fstat(dirfd.get(), &st) < 0) return Error::FromErrno("stat " + dir.string());
  Reading r;
  r.start_time =
      static_cast<double>(st.st_ctim.tv_sec) + static_cast<double>(st.st_ctim.tv_nsec) / 1e9;
  // cAdvisor's label set, in its order; id is the cgroup path.
  for (const char* key : {"container", "id", "image", "name", "namespace", "pod"}) {
    auto it = t.labels.find(key);
    std::string v = it == t.labels.end() ? "" : it->second;
    if (std::string(key) == "id") v = t.cgroup;
    r.labels.emplace_back(key, v);
  }
  r.rendered = RenderLabels(r.labels);
  // Only the files of controllers enabled here exist: skip the others
  // without a failed lookup each (cpu.stat, *.pressure and cgroup.* are core).
  std::optional<std::string> controllers_text;
  BERTH_TRY(ReadInto(dirfd.get(), dir, "cgroup.controllers", controllers_text,
                     [](std::string_view t) -> Result<std::string> { return std::string(t); }));
  const std::string controllers = " " + controllers_text.value_or("") + " ";
  auto has = [&](const char* c) {
    return controllers.find(std::string(" ") + c + " ") != std::string::npos ||
           controllers.find(std::string(" ") + c + "\n") != std::string::npos;
  };
  const bool cpu = has("cpu"), memory = has("memory"), io_ctl = has("io");
  BERTH_TRY(ReadInto(dirfd.get(), dir, "cpu.stat", r.cpu_stat, cgroups::ParseFlatKeyed));
  if (cpu) {
    BERTH_TRY(ReadInto(dirfd.get(), dir, "cpu.max", r.cpu_max, cgroups::ParseCpuMax));
    BERTH_TRY(ReadInto(dirfd.get(), dir, "cpu.weight", r.cpu_weight, cgroups::ParseNumber));
  }
  if (memory) {
    BERTH_TRY(ReadInto(dirfd.get(), dir, "memory.current", r.memory_current, cgroups::ParseNumber));
    BERTH_TRY(
        ReadInto(dirfd.get(), dir, "memory.swap.current", r.swap_current, cgroups::ParseNumber));
    BERTH_TRY(ReadInto(dirfd.get(), dir, "memory.max", r.memory_max, cgroups::ParseMaxOrNumber));
    BERTH_TRY(ReadInto(dirfd.get(), dir, "memory.stat", r.memory_stat, cgroups::ParseFlatKeyed));
    BERTH_TRY(
        ReadInto(dirfd.get(), dir, "memory.events", r.memory_events, cgroups::ParseFlatKeyed));
  }
  BERTH_TRY(ReadInto(dirfd.get(), dir, "cpu.pressure", r.psi_cpu, cgroups::ParsePressure));
  BERTH_TRY(ReadInto(dirfd.get(), dir, "memory.pressure", r.psi_memory, cgroups::ParsePressure));
  BERTH_TRY(ReadInto(dirfd.get(), dir, "io.pressure", r.psi_io, cgroups::ParsePressure));
  std::optional<std::vector<cgroups::IoDeviceStats>> io;
  if (io_ctl) BERTH_TRY(ReadInto(dirfd.get(), dir, "io.stat", io, cgroups::ParseIoStat));
  if (io) {
    for (const auto& d : *io) r.io.emplace_back(DeviceName(o.sysfs, d.major, d.minor), d);
  }
  auto count = [](std::string_view text) -> Result<size_t> { return cgroups::CountLines(text); };
  BERTH_TRY(ReadInto(dirfd.get(), dir, "cgroup.procs", r.processes, count));
  BERTH_TRY(ReadInto(dirfd.get(), dir, "cgroup.threads", r.threads, count));
  if (o.network) {
    // No entry yet: the container has sent and received nothing.
    BERTH_ASSIGN_OR_RETURN(std::optional<NetworkCounters> counters,
                           o.network->Lookup(st.st_ino).Wrap("network counters of " + t.cgroup));
    r.network = counters.value_or(NetworkCounters{});
  }
  if (o.runqueue) {
    BERTH_ASSIGN_OR_RETURN(r.runqueue,
                           o.runqueue->Lookup(st.st_ino).Wrap("run-queue latency of " + t.cgroup));
    if (!r.runqueue) r.runqueue = RunqueueHistogram{};
    // The same buckets for every container, populated or not.
    if (r.runqueue->counts.size() < kRunqueueBuckets) r.runqueue->counts.resize(kRunqueueBuckets);
  }
  return std::optional<Reading>(std::move(r));
}

std::optional<uint64_t> Key(const std::optional<std::map<std::string, uint64_t>>& m,
                            const char* key) {
  if (!m) return std::nullopt;
  auto it = m->find(key);
  if (it == m->end()) return std::nullopt;
  return it->second;
}

// One family: a sample per reading that has a value.
template <typename Fn>
void Emit(Exposition& out, const std::vector<Reading>& readings, const char* name, MetricType type,
          const char* help, Fn value, std::string_view extra = "") {
  bool started = false;
  for (const Reading& r : readings) {
    std::optional<double> v = value(r);
    if (!v) continue;
    if (!started) {
      out.Family(name, type, help);
      started = true;
    }
    out.SampleRendered("", r.rendered, extra, *v);
  }
}

std::optional<double> Usec(std::optional<uint64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v) / 1e6;
}

std::optional<double> D(std::optional<uint64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

void EmitPressure(Exposition& out, const std::vector<Reading>& rs, const char* resource,
                  std::optional<cgroups::Pressure> Reading::*field) {
  const std::string base = std::string("container_pressure_") + resource;
  const std::string waiting = base + "_waiting_seconds_total";
  const std::string stalled = base + "_stalled_seconds_total";
  Emit(out, rs, waiting.c_str(), MetricType::kCounter,
       "Total time duration tasks in the container have waited due to pressure (some).",
       [&](const Reading& r) -> std::optional<double> {
         if (!(r.*field) || !(r.*field)->some) return std::nullopt;
         return static_cast<double>((r.*field)->some->total_usec) / 1e6;
       });
  Emit(out, rs, stalled.c_str(), MetricType::kCounter,
       "Total time duration no tasks in the container could make progress due to pressure (full).",
       [&](const Reading& r) -> std::optional<double> {
         if (!(r.*field) || !(r.*field)->full) return std::nullopt;
         return static_cast<double>((r.*field)->full->total_usec) / 1e6;
       });
}

}  // namespace

Result<std::string> Collector::Collect(const std::vector<Target>& targets) const {
  std::vector<Reading> rs;
  rs.reserve(targets.size());
  for (const Target& t : targets) {
    BERTH_ASSIGN_OR_RETURN(std::optional<Reading> r, Read(options_, t));
    if (r) rs.push_back(std::move(*r));
  }
  Exposition out;
  out.Reserve(rs.size() * 2048);
  using T = MetricType;
  Emit(
      out, rs, "container_cpu_usage_seconds_total", T::kCounter,
      "Cumulative cpu time consumed in seconds.",
      [](const Reading& r) { return Usec(Key(r.cpu_stat, "usage_usec")); }, "cpu=\"total\"");
  Emit(out, rs, "container_cpu_user_seconds_total", T::kCounter,
       "Cumulative user cpu time consumed in seconds.",
       [](const Reading& r) { return Usec(Key(r.cpu_stat, "user_usec")); });
  Emit(out, rs, "container_cpu_system_seconds_total", T::kCounter,
       "Cumulative system cpu time consumed in seconds.",
       [](const Reading& r) { return Usec(Key(r.cpu_stat, "system_usec")); });
  Emit(out, rs, "container_cpu_cfs_periods_total", T::kCounter,
       "Number of elapsed enforcement period intervals.",
       [](const Reading& r) { return D(Key(r.cpu_stat, "nr_periods")); });
  Emit(out, rs, "container_cpu_cfs_throttled_periods_total", T::kCounter,
       "Number of throttled period intervals.",
       [](const Reading& r) { return D(Key(r.cpu_stat, "nr_throttled")); });
  Emit(out, rs, "container_cpu_cfs_throttled_seconds_total", T::kCounter,
       "Total time duration the container has been throttled.",
       [](const Reading& r) { return Usec(Key(r.cpu_stat, "throttled_usec")); });
  Emit(out, rs, "container_memory_usage_bytes", T::kGauge,
       "Current memory usage in bytes, including all memory regardless of when it was accessed",
       [](const Reading& r) { return D(r.memory_current); });
  Emit(
      out, rs, "container_memory_working_set_bytes", T::kGauge, "Current working set in bytes.",
      [](const Reading& r) -> std::optional<double> {
        if (!r.memory_current) return std::nullopt;
        const uint64_t inactive = Key(r.memory_stat, "inactive_file").value_or(0);
        return static_cast<double>(*r.memory_current > inactive ? *r.memory_current - inactive : 0);
      });
  Emit(out, rs, "container_memory_rss", T::kGauge, "Size of RSS in bytes.",
       [](const Reading& r) { return D(Key(r.memory_stat, "anon")); });
  Emit(out, rs, "container_memory_cache", T::kGauge, "Number of bytes of page cache memory.",
       [](const Reading& r) { return D(Key(r.memory_stat, "file")); });
  Emit(out, rs, "container_memory_swap", T::kGauge, "Container swap usage in bytes.",
       [](const Reading& r) { return D(r.swap_current); });
  Emit(out, rs, "container_oom_events_total", T::kCounter,
       "Count of out of memory events observed for the container",
       [](const Reading& r) { return D(Key(r.memory_events, "oom_kill")); });
  auto io_family = [&](const char* name, const char* help, uint64_t cgroups::IoDeviceStats::*f) {
    bool started = false;
    for (const Reading& r : rs) {
      for (const auto& [dev, s] : r.io) {
        if (!started) {
          out.Family(name, T::kCounter, help);
          started = true;
        }
        out.SampleRendered("", r.rendered, "device=\"" + EscapeLabelValue(dev) + "\"",
                           static_cast<double>(s.*f));
      }
    }
  };
  io_family("container_fs_reads_bytes_total", "Cumulative count of bytes read",
            &cgroups::IoDeviceStats::rbytes);
  io_family("container_fs_writes_bytes_total", "Cumulative count of bytes written",
            &cgroups::IoDeviceStats::wbytes);
  io_family("container_fs_reads_total", "Cumulative count of reads completed",
            &cgroups::IoDeviceStats::rios);
  io_family("container_fs_writes_total", "Cumulative count of writes completed",
            &cgroups::IoDeviceStats::wios);
  auto net = [&](const char* name, const char* help, uint64_t NetworkCounters::*f) {
    Emit(
        out, rs, name, T::kCounter, help,
        [f](const Reading& r) -> std::optional<double> {
          if (!r.network) return std::nullopt;
          return static_cast<double>((*r.network).*f);
        },
        "interface=\"eth0\"");
  };
  net("container_network_receive_bytes_total", "Cumulative count of bytes received",
      &NetworkCounters::rx_bytes);
  net("container_network_receive_packets_total", "Cumulative count of packets received",
      &NetworkCounters::rx_packets);
  net("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted",
      &NetworkCounters::tx_bytes);
  net("container_network_transmit_packets_total", "Cumulative count of packets transmitted",
      &NetworkCounters::tx_packets);
  Emit(out, rs, "container_processes", T::kGauge,
       "Number of processes running inside the container.",
       [](const Reading& r) -> std::optional<double> {
         if (!r.processes) return std::nullopt;
         return static_cast<double>(*r.processes);
       });
  Emit(out, rs, "container_threads", T::kGauge, "Number of threads running inside the container",
       [](const Reading& r) -> std::optional<double> {
         if (!r.threads) return std::nullopt;
         return static_cast<double>(*r.threads);
       });
  Emit(out, rs, "container_spec_cpu_quota", T::kGauge, "CPU quota of the container.",
       [](const Reading& r) -> std::optional<double> {
         if (!r.cpu_max || !r.cpu_max->quota_usec) return std::nullopt;
         return static_cast<double>(*r.cpu_max->quota_usec);
       });
  Emit(out, rs, "container_spec_cpu_period", T::kGauge, "CPU period of the container.",
       [](const Reading& r) -> std::optional<double> {
         if (!r.cpu_max) return std::nullopt;
         return static_cast<double>(r.cpu_max->period_usec);
       });
  Emit(out, rs, "container_spec_cpu_shares", T::kGauge, "CPU share of the container.",
       [](const Reading& r) -> std::optional<double> {
         if (!r.cpu_weight) return std::nullopt;
         return static_cast<double>(WeightToShares(*r.cpu_weight));
       });
  Emit(out, rs, "container_spec_memory_limit_bytes", T::kGauge, "Memory limit for the container.",
       [](const Reading& r) -> std::optional<double> {
         if (!r.memory_max) return std::nullopt;
         return static_cast<double>(r.memory_max->value_or(0));  // "max": 0, as cAdvisor
       });
  Emit(out, rs, "container_start_time_seconds", T::kGauge,
       "Start time of the container since unix epoch in seconds.",
       [](const Reading& r) -> std::optional<double> { return r.start_time; });
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Emit(out, rs, "container_last_seen", T::kGauge, "Last time a container was seen by the exporter",
       [now](const Reading&) -> std::optional<double> { return now; });
  bool runq_family = false;
  for (const Reading& r : rs) {
    if (!r.runqueue) continue;
    if (!runq_family) {
      out.Family("berth_container_runqueue_latency_seconds", T::kHistogram,
                 "Time the container's threads waited on a run queue before running.");
      runq_family = true;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < r.runqueue->counts.size(); ++i) {
      cumulative += r.runqueue->counts[i];
      const std::string le =
          "le=\"" + FormatValue(static_cast<double>(uint64_t{2} << i) / 1e6) + "\"";
      out.SampleRendered("_bucket", r.rendered, le, static_cast<double>(cumulative));
    }
    out.SampleRendered("_bucket", r.rendered, "le=\"+Inf\"",
                       static_cast<double>(r.runqueue->count));
    out.SampleRendered("_sum", r.rendered, "", static_cast<double>(r.runqueue->sum_ns) / 1e9);
    out.SampleRendered("_count", r.rendered, "", static_cast<double>(r.runqueue->count));
  }
  if (options_.services) {
    BERTH_ASSIGN_OR_RETURN(std::vector<ServiceCounters> services, options_.services->List());
    if (!services.empty()) {
      out.Family("berth_service_connections_total", T::kCounter,
                 "Connections the service load balancer translated, per service.");
      for (const auto& svc : services) {
        out.SampleRendered("", "service=\"" + EscapeLabelValue(svc.service) + "\"", "",
                           static_cast<double>(svc.connections));
      }
      out.Family("berth_service_backend_connections_total", T::kCounter,
                 "Connections the service load balancer sent to each backend.");
      for (const auto& svc : services) {
        for (const auto& [backend, n] : svc.backends) {
          out.SampleRendered("", "service=\"" + EscapeLabelValue(svc.service) + "\"",
                             "backend=\"" + EscapeLabelValue(backend) + "\"",
                             static_cast<double>(n));
        }
      }
    }
  }
  EmitPressure(out, rs, "cpu", &Reading::psi_cpu);
  EmitPressure(out, rs, "memory", &Reading::psi_memory);
  EmitPressure(out, rs, "io", &Reading::psi_io);
  return out.text();
}

Result<std::vector<Target>> ParseTargets(std::string_view json, std::string_view what) {
  const std::string doc(what);
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return Error::Invalid(doc + ": expected a JSON array of targets");
  std::vector<Target> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string path = doc + "[" + std::to_string(i) + "]";
    const auto& t = j[i];
    if (!t.is_object() || !t.contains("cgroup") || !t["cgroup"].is_string()) {
      return Error::Invalid(path + ".cgroup: expected a string");
    }
    Target target;
    target.cgroup = t["cgroup"].get<std::string>();
    if (target.cgroup.empty() || target.cgroup[0] != '/' ||
        target.cgroup.find("..") != std::string::npos) {
      return Error::Invalid(path + ".cgroup: \"" + target.cgroup +
                            "\" must be an absolute path inside the hierarchy");
    }
    if (t.contains("labels")) {
      if (!t["labels"].is_object()) return Error::Invalid(path + ".labels: expected an object");
      for (const auto& [k, v] : t["labels"].items()) {
        if (!v.is_string()) {
          std::string where = path;
          where.append(".labels.").append(k);
          return Error::Invalid(where + ": expected a string");
        }
        target.labels[k] = v.get<std::string>();
      }
    }
    out.push_back(std::move(target));
  }
  return out;
}

}  // namespace berth::metrics
