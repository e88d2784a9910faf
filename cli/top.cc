#include "top.h"

#include <algorithm>
#include <map>

#include "printers.h"

namespace berth::cli {
namespace {

int64_t MilliCpu(const v1::ResourceUsage& u) { return u.cpu_nanocores() / 1000000; }

std::string CpuText(const v1::ResourceUsage& u) { return std::to_string(MilliCpu(u)) + "m"; }

std::string MemoryText(const v1::ResourceUsage& u) {
  return std::to_string(u.memory_bytes() / (int64_t{1} << 20)) + "Mi";
}

// kubectl: int64(usage / allocatable * 100), "%".
std::string Percent(int64_t used, int64_t available) {
  if (available <= 0) return "<unknown>";
  return std::to_string(static_cast<int64_t>(static_cast<double>(used) /
                                             static_cast<double>(available) * 100)) +
         "%";
}

v1::ResourceUsage Sum(const v1::PodMetrics& pod) {
  v1::ResourceUsage total;
  for (const auto& c : pod.containers()) {
    total.set_cpu_nanocores(total.cpu_nanocores() + c.usage().cpu_nanocores());
    total.set_memory_bytes(total.memory_bytes() + c.usage().memory_bytes());
  }
  return total;
}

// Larger first for cpu and memory (kubectl's --sort-by), then by name.
template <typename T, typename Usage, typename Name>
void SortBy(std::vector<T>& items, TopSort sort, Usage usage, Name name) {
  std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) {
    if (sort == TopSort::kCpu && usage(a).cpu_nanocores() != usage(b).cpu_nanocores()) {
      return usage(a).cpu_nanocores() > usage(b).cpu_nanocores();
    }
    if (sort == TopSort::kMemory && usage(a).memory_bytes() != usage(b).memory_bytes()) {
      return usage(a).memory_bytes() > usage(b).memory_bytes();
    }
    return name(a) < name(b);
  });
}

}  // namespace

Result<TopSort> ParseTopSort(const std::string& text) {
  if (text.empty()) return TopSort::kName;
  if (text == "cpu") return TopSort::kCpu;
  if (text == "memory") return TopSort::kMemory;
  return Error::Invalid("--sort-by accepts only cpu or memory");
}

std::string PrintTopNodes(const std::vector<v1::Object>& nodes,
                          const std::vector<v1::NodeMetrics>& metrics, const TopOptions& o) {
  std::map<std::string, const v1::NodeMetrics*> by_name;
  for (const auto& m : metrics) by_name[m.name()] = &m;
  struct Row {
    std::string name;
    const v1::NodeMetrics* m;
    const v1::Node* node;
  };
  std::vector<Row> rows;
  std::vector<Row> missing;
  for (const auto& object : nodes) {
    const v1::Node& node = object.node();
    const auto it = by_name.find(node.metadata().name());
    Row row{node.metadata().name(), it == by_name.end() ? nullptr : it->second, &node};
    (row.m == nullptr ? missing : rows).push_back(row);
  }
  SortBy(
      rows, o.sort, [](const Row& r) -> const v1::ResourceUsage& { return r.m->usage(); },
      [](const Row& r) { return r.name; });
  std::string text = o.no_headers ? "" : "NAME\tCPU(cores)\tCPU%\tMEMORY(bytes)\tMEMORY%\n";
  for (const auto& r : rows) {
    const auto& alloc = r.node->status().allocatable();
    const int64_t cpu_alloc = alloc.cpu_milli(), mem_alloc = alloc.memory_bytes();
    text += r.name + "\t" + CpuText(r.m->usage()) + "\t" +
            Percent(MilliCpu(r.m->usage()), cpu_alloc) + "\t" + MemoryText(r.m->usage()) + "\t" +
            Percent(r.m->usage().memory_bytes(), mem_alloc) + "\n";
  }
  for (const auto& r : missing) {
    text += r.name + "\t<unknown>\t<unknown>\t<unknown>\t<unknown>\n";
  }
  return AlignColumns(text, 0, 3);
}

std::string PrintTopPods(std::vector<v1::PodMetrics> pods, const TopOptions& o) {
  SortBy(
      pods, o.sort, [](const v1::PodMetrics& p) { return Sum(p); },
      [](const v1::PodMetrics& p) { return p.namespace_() + "/" + p.name(); });
  std::string text;
  if (!o.no_headers) {
    if (o.with_namespace) text += "NAMESPACE\t";
    text += o.containers ? "POD\tNAME\tCPU(cores)\tMEMORY(bytes)\n"
                         : "NAME\tCPU(cores)\tMEMORY(bytes)\n";
  }
  for (const auto& p : pods) {
    const std::string prefix = o.with_namespace ? p.namespace_() + "\t" : "";
    if (!o.containers) {
      const auto total = Sum(p);
      text += prefix + p.name() + "\t" + CpuText(total) + "\t" + MemoryText(total) + "\n";
      continue;
    }
    for (const auto& c : p.containers()) {
      text += prefix + p.name() + "\t" + c.name() + "\t" + CpuText(c.usage()) + "\t" +
              MemoryText(c.usage()) + "\n";
    }
  }
  return AlignColumns(text, 0, 3);
}

}  // namespace berth::cli
