#include "resources_parse.h"

namespace berth::runtime::spec_internal {
namespace {

Status ParseCpu(JsonReader& r, cgroups::CpuResources* c) {
  BERTH_TRY(r.OptUint("shares", UINT64_MAX, &c->shares));
  BERTH_TRY(r.OptInt("quota", &c->quota));
  BERTH_TRY(r.OptUint("period", UINT64_MAX, &c->period));
  BERTH_TRY(r.OptInt("realtimeRuntime", &c->realtime_runtime));
  BERTH_TRY(r.OptUint("realtimePeriod", UINT64_MAX, &c->realtime_period));
  BERTH_TRY(r.String("cpus", &c->cpus));
  BERTH_TRY(r.String("mems", &c->mems));
  return r.OptInt("idle", &c->idle);
}

Status ParseMemory(JsonReader& r, cgroups::MemoryResources* m) {
  BERTH_TRY(r.OptInt("limit", &m->limit));
  BERTH_TRY(r.OptInt("reservation", &m->reservation));
  BERTH_TRY(r.OptInt("swap", &m->swap));
  BERTH_TRY(r.OptInt("kernel", &m->kernel));
  BERTH_TRY(r.OptInt("kernelTCP", &m->kernel_tcp));
  BERTH_TRY(r.OptUint("swappiness", UINT64_MAX, &m->swappiness));
  BERTH_TRY(r.OptBool("disableOOMKiller", &m->disable_oom_killer));
  BERTH_TRY(r.OptBool("useHierarchy", &m->use_hierarchy));
  return r.OptBool("checkBeforeUpdate", &m->check_before_update);
}

Status ParseBlockIoDevices(JsonReader& r, const char* key, bool throttle,
                           std::vector<cgroups::BlockIoDevice>* out) {
  return r.Array(key, [&](JsonReader& d) -> Status {
    cgroups::BlockIoDevice dev;
    BERTH_TRY(d.Int("major", &dev.major, true));
    BERTH_TRY(d.Int("minor", &dev.minor, true));
    if (throttle) {
      BERTH_TRY(d.Uint("rate", UINT64_MAX, &dev.rate, true));
    } else {
      BERTH_TRY(d.OptUint("weight", UINT16_MAX, &dev.weight));
      BERTH_TRY(d.OptUint("leafWeight", UINT16_MAX, &dev.leaf_weight));
    }
    out->push_back(dev);
    return Ok();
  });
}

Status ParseBlockIo(JsonReader& r, cgroups::BlockIoResources* b) {
  BERTH_TRY(r.OptUint("weight", UINT16_MAX, &b->weight));
  BERTH_TRY(r.OptUint("leafWeight", UINT16_MAX, &b->leaf_weight));
  BERTH_TRY(ParseBlockIoDevices(r, "weightDevice", false, &b->weight_device));
  BERTH_TRY(ParseBlockIoDevices(r, "throttleReadBpsDevice", true, &b->throttle_read_bps_device));
  BERTH_TRY(ParseBlockIoDevices(r, "throttleWriteBpsDevice", true, &b->throttle_write_bps_device));
  BERTH_TRY(ParseBlockIoDevices(r, "throttleReadIOPSDevice", true, &b->throttle_read_iops_device));
  return ParseBlockIoDevices(r, "throttleWriteIOPSDevice", true, &b->throttle_write_iops_device);
}

}  // namespace

Status ParseResources(JsonReader& r, cgroups::Resources* res) {
  BERTH_TRY(r.Array("devices", [&](JsonReader& d) -> Status {
    cgroups::DeviceCgroupRule rule;
    BERTH_TRY(d.Bool("allow", &rule.allow));
    BERTH_TRY(d.String("type", &rule.type));
    BERTH_TRY(d.OptInt("major", &rule.major));
    BERTH_TRY(d.OptInt("minor", &rule.minor));
    BERTH_TRY(d.String("access", &rule.access));
    res->devices.push_back(std::move(rule));
    return Ok();
  }));
  BERTH_TRY(r.Object("cpu", [&](JsonReader& c) {
    res->cpu.emplace();
    return ParseCpu(c, &*res->cpu);
  }));
  BERTH_TRY(r.Object("memory", [&](JsonReader& m) {
    res->memory.emplace();
    return ParseMemory(m, &*res->memory);
  }));
  BERTH_TRY(r.Object("pids", [&](JsonReader& p) -> Status {
    res->pids.emplace();
    return p.Int("limit", &res->pids->limit, true);
  }));
  BERTH_TRY(r.Object("blockIO", [&](JsonReader& b) {
    res->block_io.emplace();
    return ParseBlockIo(b, &*res->block_io);
  }));
  BERTH_TRY(r.Array("hugepageLimits", [&](JsonReader& h) -> Status {
    cgroups::HugepageLimit limit;
    BERTH_TRY(h.String("pageSize", &limit.page_size, true));
    BERTH_TRY(h.Uint("limit", UINT64_MAX, &limit.limit, true));
    res->hugepage_limits.push_back(std::move(limit));
    return Ok();
  }));
  return r.StringMap("unified", &res->unified);
}

}  // namespace berth::runtime::spec_internal
