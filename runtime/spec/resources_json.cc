// OCI linux.resources (config-linux.md "Control groups") as data.
#include "resources_json.h"

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
    // allow is REQUIRED by the spec.
    if (!d.Has("allow")) return Error::Invalid(d.Path("allow") + ": required");
    BERTH_TRY(d.Bool("allow", &rule.allow));
    BERTH_TRY(d.String("type", &rule.type));
    if (!rule.type.empty() && rule.type != "a" && rule.type != "b" && rule.type != "c") {
      return Error::Invalid(d.Path("type") + ": must be a, b or c, got \"" + rule.type + "\"");
    }
    BERTH_TRY(d.OptInt("major", &rule.major));
    BERTH_TRY(d.OptInt("minor", &rule.minor));
    BERTH_TRY(d.String("access", &rule.access));
    if (rule.access.find_first_not_of("rwm") != std::string::npos) {
      return Error::Invalid(d.Path("access") + ": must be made of r, w and m, got \"" +
                            rule.access + "\"");
    }
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

namespace {

using Json = nlohmann::ordered_json;

template <typename T>
void Put(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

void PutString(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

Json BlockIoDevicesToJson(const std::vector<cgroups::BlockIoDevice>& devices, bool throttle) {
  Json out = Json::array();
  for (const auto& d : devices) {
    Json e = {{"major", d.major}, {"minor", d.minor}};
    if (throttle) {
      e["rate"] = d.rate;
    } else {
      Put(e, "weight", d.weight);
      Put(e, "leafWeight", d.leaf_weight);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Json BlockIoToJson(const cgroups::BlockIoResources& b) {
  Json j = Json::object();
  Put(j, "weight", b.weight);
  Put(j, "leafWeight", b.leaf_weight);
  const std::pair<const char*, const std::vector<cgroups::BlockIoDevice>*> kLists[] = {
      {"weightDevice", &b.weight_device},
      {"throttleReadBpsDevice", &b.throttle_read_bps_device},
      {"throttleWriteBpsDevice", &b.throttle_write_bps_device},
      {"throttleReadIOPSDevice", &b.throttle_read_iops_device},
      {"throttleWriteIOPSDevice", &b.throttle_write_iops_device}};
  for (const auto& [key, list] : kLists) {
    if (!list->empty()) j[key] = BlockIoDevicesToJson(*list, list != &b.weight_device);
  }
  return j;
}

}  // namespace

nlohmann::ordered_json ResourcesToJson(const cgroups::Resources& res) {
  Json j = Json::object();
  if (!res.devices.empty()) {
    Json devices = Json::array();
    for (const auto& d : res.devices) {
      Json e = {{"allow", d.allow}};
      PutString(e, "type", d.type);
      Put(e, "major", d.major);
      Put(e, "minor", d.minor);
      PutString(e, "access", d.access);
      devices.push_back(std::move(e));
    }
    j["devices"] = std::move(devices);
  }
  if (res.memory) {
    const auto& m = *res.memory;
    Json mem = Json::object();
    Put(mem, "limit", m.limit);
    Put(mem, "reservation", m.reservation);
    Put(mem, "swap", m.swap);
    Put(mem, "kernel", m.kernel);
    Put(mem, "kernelTCP", m.kernel_tcp);
    Put(mem, "swappiness", m.swappiness);
    Put(mem, "disableOOMKiller", m.disable_oom_killer);
    Put(mem, "useHierarchy", m.use_hierarchy);
    Put(mem, "checkBeforeUpdate", m.check_before_update);
    j["memory"] = std::move(mem);
  }
  if (res.cpu) {
    const auto& c = *res.cpu;
    Json cpu = Json::object();
    Put(cpu, "shares", c.shares);
    Put(cpu, "quota", c.quota);
    Put(cpu, "period", c.period);
    Put(cpu, "realtimeRuntime", c.realtime_runtime);
    Put(cpu, "realtimePeriod", c.realtime_period);
    PutString(cpu, "cpus", c.cpus);
    PutString(cpu, "mems", c.mems);
    Put(cpu, "idle", c.idle);
    j["cpu"] = std::move(cpu);
  }
  if (res.pids) j["pids"] = {{"limit", res.pids->limit}};
  if (res.block_io) j["blockIO"] = BlockIoToJson(*res.block_io);
  if (!res.hugepage_limits.empty()) {
    Json limits = Json::array();
    for (const auto& h : res.hugepage_limits) {
      limits.push_back(Json{{"pageSize", h.page_size}, {"limit", h.limit}});
    }
    j["hugepageLimits"] = std::move(limits);
  }
  if (!res.unified.empty()) j["unified"] = res.unified;
  return j;
}

}  // namespace berth::runtime::spec_internal
