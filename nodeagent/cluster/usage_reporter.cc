#include "usage_reporter.h"

#include <map>

#include "berth/common/log.h"

namespace berth::nodeagent {

std::vector<metrics::UsageTarget> UsageTargets(const std::vector<PodStatus>& pods) {
  std::vector<metrics::UsageTarget> out;
  for (const auto& pod : pods) {
    for (const auto& c : pod.containers) {
      if (c.cgroup.empty() || c.state.kind != ContainerState::Kind::kRunning) continue;
      out.push_back({pod.uid, pod.namespace_, pod.name, c.name, c.cgroup});
    }
  }
  return out;
}

v1::UsageReport ToUsageReport(const std::string& node, const metrics::UsageWindow& window) {
  const int64_t end_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(window.end.time_since_epoch()).count();
  v1::UsageReport report;
  auto* n = report.mutable_node();
  n->set_name(node);
  n->set_timestamp_ms(end_ms);
  n->set_window_ms(window.length.count());
  n->mutable_usage()->set_cpu_nanocores(window.node.cpu_nanocores);
  n->mutable_usage()->set_memory_bytes(window.node.memory_bytes);
  std::map<std::string, v1::PodMetrics*> by_uid;
  for (const auto& c : window.containers) {
    v1::PodMetrics*& pod = by_uid[c.target.pod_uid];
    if (pod == nullptr) {
      pod = report.add_pods();
      pod->set_uid(c.target.pod_uid);
      pod->set_namespace_(c.target.namespace_);
      pod->set_name(c.target.pod);
      pod->set_timestamp_ms(end_ms);
      pod->set_window_ms(window.length.count());
    }
    auto* container = pod->add_containers();
    container->set_name(c.target.container);
    container->mutable_usage()->set_cpu_nanocores(c.usage.cpu_nanocores);
    container->mutable_usage()->set_memory_bytes(c.usage.memory_bytes);
  }
  return report;
}

UsageReporter::UsageReporter(api::ControlClient& client, const AgentBackend& agent,
                             std::string node, metrics::UsageMeterOptions meter,
                             std::chrono::milliseconds interval)
    : client_(client),
      agent_(agent),
      node_(std::move(node)),
      meter_(std::move(meter)),
      interval_(interval) {}

UsageReporter::~UsageReporter() { Stop(); }

void UsageReporter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void UsageReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UsageReporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    ReportOnce();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

void UsageReporter::ReportOnce() {
  auto window = meter_.Sample(UsageTargets(agent_.ListPods()));
  Status sent;
  if (!window.ok()) {
    sent = std::move(window).error();
  } else if (window->has_value()) {
    sent = client_.ReportUsage(ToUsageReport(node_, **window));
  }
  if (!sent.ok() && !failing_) {
    log::Warn("usage report", {{"node", node_}, {"error", sent.error().ToString()}});
  } else if (sent.ok() && failing_) {
    log::Info("usage report works again", {{"node", node_}});
  }
  failing_ = !sent.ok();
}

}  // namespace berth::nodeagent
