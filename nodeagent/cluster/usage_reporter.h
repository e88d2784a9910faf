// The node's share of `berth top`: every interval, the usage of the node
// and of its running containers over the last window (metrics::UsageMeter),
// sent to berth-control as the node's UsageReport. A report that fails is
// logged once per failure streak and not retried: the next window
// replaces it.
//
// Thread-safe: Start and Stop from the owner; the loop runs on its own
// thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "agent_backend.h"
#include "usage_meter.h"

#include "berth/api/control_client.h"

namespace berth::nodeagent {

// The containers of `pods` that run now, as the meter's targets.
std::vector<metrics::UsageTarget> UsageTargets(const std::vector<PodStatus>& pods);
// A window as the node's report: containers grouped into their pods.
v1::UsageReport ToUsageReport(const std::string& node, const metrics::UsageWindow& window);

class UsageReporter {
 public:
  UsageReporter(api::ControlClient& client, const AgentBackend& agent, std::string node,
                metrics::UsageMeterOptions meter, std::chrono::milliseconds interval);
  ~UsageReporter();

  void Start();
  void Stop();

 private:
  void Loop();
  void ReportOnce();

  api::ControlClient& client_;
  const AgentBackend& agent_;
  const std::string node_;
  metrics::UsageMeter meter_;
  const std::chrono::milliseconds interval_;
  bool failing_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace berth::nodeagent
