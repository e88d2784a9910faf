// The latest resource usage every node reported (berth.v1.UsageReport), in
// memory only: the role metrics-server plays beside a Kubernetes apiserver.
// A report replaces the node's previous one and stays fresh for three of
// its windows (plus a little slack for a late report), so a node that
// stops reporting drops out of `berth top` on its own.
//
// Pods are found by the node they are bound to and their uid, so a node's
// report speaks only for the pods bound to it, whatever else it claims.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "metrics.pb.h"

namespace berth::control {

class MetricsStore {
 public:
  using Clock = std::chrono::steady_clock;

  // Replaces what `node` reported before; the report's node name and every
  // pod are taken as the node's (the caller has authorized it as `node`).
  void Report(const std::string& node, const v1::UsageReport& report, Clock::time_point now);

  std::optional<v1::NodeMetrics> Node(const std::string& node, Clock::time_point now) const;
  // The pod `uid` as `node` last reported it.
  std::optional<v1::PodMetrics> Pod(const std::string& node, const std::string& uid,
                                    Clock::time_point now) const;

  // Nodes with a fresh report.
  size_t FreshNodes(Clock::time_point now) const;

 private:
  struct Entry {
    Clock::time_point received;
    Clock::duration fresh_for;
    v1::NodeMetrics node;
    std::map<std::string, v1::PodMetrics> pods;  // by uid
  };
  const Entry* FreshLocked(const std::string& node, Clock::time_point now) const;

  mutable std::mutex mu_;
  std::map<std::string, Entry> nodes_;
  Clock::time_point last_prune_;
};

}  // namespace berth::control
