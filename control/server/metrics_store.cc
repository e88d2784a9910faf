#include "berth/control/metrics_store.h"

#include <algorithm>

namespace berth::control {
namespace {

// A report is fresh for three windows: one late report is forgiven, two
// are not. The slack covers a window too short to absorb a busy moment.
constexpr int kFreshWindows = 3;
constexpr std::chrono::seconds kSlack{5};
constexpr std::chrono::minutes kPruneEvery{1};
constexpr std::chrono::minutes kForgetAfter{10};

}  // namespace

void MetricsStore::Report(const std::string& node, const v1::UsageReport& report,
                          Clock::time_point now) {
  Entry e;
  e.received = now;
  e.fresh_for =
      kFreshWindows * std::chrono::milliseconds(std::max<int64_t>(report.node().window_ms(), 0)) +
      kSlack;
  e.node = report.node();
  e.node.set_name(node);
  for (const auto& pod : report.pods()) {
    if (!pod.uid().empty()) e.pods[pod.uid()] = pod;
  }
  std::lock_guard lock(mu_);
  nodes_[node] = std::move(e);
  // Nodes that stopped reporting (deleted, or gone for good) are dropped
  // now and then, not on every report.
  if (now - last_prune_ < kPruneEvery) return;
  last_prune_ = now;
  std::erase_if(nodes_, [&](const auto& kv) { return now - kv.second.received > kForgetAfter; });
}

const MetricsStore::Entry* MetricsStore::FreshLocked(const std::string& node,
                                                     Clock::time_point now) const {
  const auto it = nodes_.find(node);
  if (it == nodes_.end() || now - it->second.received > it->second.fresh_for) return nullptr;
  return &it->second;
}

std::optional<v1::NodeMetrics> MetricsStore::Node(const std::string& node,
                                                  Clock::time_point now) const {
  std::lock_guard lock(mu_);
  const Entry* e = FreshLocked(node, now);
  if (e == nullptr) return std::nullopt;
  return e->node;
}

std::optional<v1::PodMetrics> MetricsStore::Pod(const std::string& node, const std::string& uid,
                                                Clock::time_point now) const {
  std::lock_guard lock(mu_);
  const Entry* e = FreshLocked(node, now);
  if (e == nullptr) return std::nullopt;
  const auto it = e->pods.find(uid);
  if (it == e->pods.end()) return std::nullopt;
  return it->second;
}

size_t MetricsStore::FreshNodes(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [name, e] : nodes_) n += now - e.received <= e.fresh_for ? 1 : 0;
  return n;
}

}  // namespace berth::control
