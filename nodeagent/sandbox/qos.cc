#include "qos.h"

#include <algorithm>

namespace berth::nodeagent {
namespace {

constexpr uint64_t kMinShares = 2;
constexpr uint64_t kCfsPeriodUs = 100000;
constexpr int64_t kMinQuotaUs = 1000;

std::optional<int64_t> CpuRequest(const Resources& r) {
  return r.cpu_request_milli ? r.cpu_request_milli : r.cpu_limit_milli;
}
std::optional<int64_t> MemoryRequest(const Resources& r) {
  return r.memory_request_bytes ? r.memory_request_bytes : r.memory_limit_bytes;
}

uint64_t SharesFor(int64_t milli) {
  return std::max<uint64_t>(kMinShares, static_cast<uint64_t>(milli) * 1024 / 1000);
}

int64_t QuotaFor(int64_t milli) {
  return std::max<int64_t>(kMinQuotaUs, milli * static_cast<int64_t>(kCfsPeriodUs) / 1000);
}

}  // namespace

const char* QosClassName(QosClass q) {
  switch (q) {
    case QosClass::kGuaranteed:
      return "Guaranteed";
    case QosClass::kBurstable:
      return "Burstable";
    case QosClass::kBestEffort:
      return "BestEffort";
  }
  return "Burstable";
}

QosClass PodQosClass(const PodManifest& pod) {
  bool any = false, guaranteed = true;
  auto visit = [&](const ContainerSpec& c) {
    const Resources& r = c.resources;
    if (r.cpu_request_milli || r.cpu_limit_milli || r.memory_request_bytes ||
        r.memory_limit_bytes) {
      any = true;
    }
    if (!r.cpu_limit_milli || !r.memory_limit_bytes || CpuRequest(r) != r.cpu_limit_milli ||
        MemoryRequest(r) != r.memory_limit_bytes) {
      guaranteed = false;
    }
  };
  for (const auto& c : pod.init_containers) visit(c);
  for (const auto& c : pod.containers) visit(c);
  if (!any) return QosClass::kBestEffort;
  return guaranteed ? QosClass::kGuaranteed : QosClass::kBurstable;
}

cgroups::Resources ContainerResources(const Resources& r) {
  cgroups::Resources out;
  cgroups::CpuResources cpu;
  cpu.shares = CpuRequest(r) ? SharesFor(*CpuRequest(r)) : kMinShares;
  if (r.cpu_limit_milli) {
    cpu.quota = QuotaFor(*r.cpu_limit_milli);
    cpu.period = kCfsPeriodUs;
  }
  out.cpu = cpu;
  if (r.memory_limit_bytes) {
    cgroups::MemoryResources mem;
    mem.limit = *r.memory_limit_bytes;
    out.memory = mem;
  }
  return out;
}

cgroups::Resources PodResources(const PodManifest& pod) {
  int64_t cpu_req = 0, cpu_lim = 0, mem_lim = 0;
  bool all_cpu_limited = true, all_mem_limited = true;
  for (const auto& c : pod.containers) {
    cpu_req += CpuRequest(c.resources).value_or(0);
    if (c.resources.cpu_limit_milli) {
      cpu_lim += *c.resources.cpu_limit_milli;
    } else {
      all_cpu_limited = false;
    }
    if (c.resources.memory_limit_bytes) {
      mem_lim += *c.resources.memory_limit_bytes;
    } else {
      all_mem_limited = false;
    }
  }
  for (const auto& c : pod.init_containers) {
    cpu_req = std::max(cpu_req, CpuRequest(c.resources).value_or(0));
    if (all_cpu_limited && c.resources.cpu_limit_milli) {
      cpu_lim = std::max(cpu_lim, *c.resources.cpu_limit_milli);
    }
    if (all_mem_limited && c.resources.memory_limit_bytes) {
      mem_lim = std::max(mem_lim, *c.resources.memory_limit_bytes);
    }
  }
  cgroups::Resources out;
  cgroups::CpuResources cpu;
  cpu.shares = cpu_req > 0 ? SharesFor(cpu_req) : kMinShares;
  if (all_cpu_limited && cpu_lim > 0) {
    cpu.quota = QuotaFor(cpu_lim);
    cpu.period = kCfsPeriodUs;
  }
  out.cpu = cpu;
  if (all_mem_limited && mem_lim > 0) {
    cgroups::MemoryResources mem;
    mem.limit = mem_lim;
    out.memory = mem;
  }
  return out;
}

int OomScoreAdj(QosClass qos, const Resources& r, int64_t node_memory_bytes) {
  if (qos == QosClass::kGuaranteed) return -997;
  if (qos == QosClass::kBestEffort) return 1000;
  const int64_t request = MemoryRequest(r).value_or(0);
  int64_t adj = node_memory_bytes > 0 ? 1000 - (1000 * request) / node_memory_bytes : 1000;
  if (adj < 2) adj = 2;
  if (adj >= 1000) adj = 999;
  return static_cast<int>(adj);
}

}  // namespace berth::nodeagent
