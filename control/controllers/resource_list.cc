#include "berth/control/controllers/resource_list.h"

#include <algorithm>

#include "berth/common/quantity.h"

namespace berth::control {
namespace {

struct Suffix {
  std::string_view text;
  int64_t factor;
};

// resource.Quantity.String prints the largest suffix that keeps the value
// whole; binary suffixes first, as memory is mostly written in them.
constexpr Suffix kSuffixes[] = {
    {"Ei", int64_t{1} << 60},   {"Pi", int64_t{1} << 50}, {"Ti", int64_t{1} << 40},
    {"Gi", int64_t{1} << 30},   {"Mi", int64_t{1} << 20}, {"Ki", int64_t{1} << 10},
    {"E", 1000000000000000000}, {"P", 1000000000000000},  {"T", 1000000000000},
    {"G", 1000000000},          {"M", 1000000},           {"k", 1000},
};

Result<ResourceAmounts> PodAmounts(const v1::PodSpec& spec, bool limits) {
  ResourceAmounts total;
  auto list_of = [limits](const v1::Container& c) -> const auto& {
    return limits ? c.resources().limits() : c.resources().requests();
  };
  for (const v1::Container& c : spec.containers()) {
    BERTH_ASSIGN_OR_RETURN(ResourceAmounts amounts,
                           ParseResourceList(list_of(c)).Wrap("container " + c.name()));
    for (const auto& [name, value] : amounts) total[name] += value;
  }
  for (const v1::Container& c : spec.init_containers()) {
    BERTH_ASSIGN_OR_RETURN(ResourceAmounts amounts,
                           ParseResourceList(list_of(c)).Wrap("init container " + c.name()));
    for (const auto& [name, value] : amounts) {
      auto it = total.find(name);
      if (it == total.end()) {
        total.emplace(name, value);
      } else {
        it->second = std::max(it->second, value);
      }
    }
  }
  return total;
}

}  // namespace

bool IsCpuResource(std::string_view name) {
  return name == "cpu" || name == "requests.cpu" || name == "limits.cpu";
}

Result<int64_t> ParseResource(std::string_view name, std::string_view text) {
  auto value = IsCpuResource(name) ? ParseMilliCpu(text) : ParseBytes(text);
  return std::move(value).Wrap(std::string(name));
}

std::string FormatResource(std::string_view name, int64_t value) {
  if (IsCpuResource(name)) {
    if (value % 1000 == 0) return std::to_string(value / 1000);
    return std::to_string(value) + "m";
  }
  if (value == 0) return "0";
  for (const Suffix& s : kSuffixes) {
    if (value % s.factor == 0) return std::to_string(value / s.factor) + std::string(s.text);
  }
  return std::to_string(value);
}

Result<ResourceAmounts> ParseResourceList(
    const google::protobuf::Map<std::string, std::string>& list) {
  ResourceAmounts out;
  for (const auto& [name, text] : list) {
    if (name != "cpu" && name != "memory") continue;
    BERTH_ASSIGN_OR_RETURN(out[name], ParseResource(name, text));
  }
  return out;
}

Result<ResourceAmounts> PodRequests(const v1::PodSpec& spec) { return PodAmounts(spec, false); }

Result<ResourceAmounts> PodLimits(const v1::PodSpec& spec) { return PodAmounts(spec, true); }

bool IsTerminal(const v1::Pod& pod) {
  return pod.status().phase() == "Succeeded" || pod.status().phase() == "Failed";
}

}  // namespace berth::control
